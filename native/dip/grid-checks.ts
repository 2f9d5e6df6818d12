/**
 * Guards for functions that combine several images of one scene: every pixel-wise comparison or fill assumes
 * the same grid, and a silent mismatch would give plausible-looking nonsense.
 */
import { InputError } from '../errors.ts';
import type { Image, Mask } from './image.ts';

/** Throws an InputError unless `b` has the size and band count of `a`. */
export function checkSameImageGrid(a: Image, b: Image, aName: string, bName: string): void {
  if (a.width !== b.width || a.height !== b.height) {
    throw new InputError(undefined, `${bName} is ${b.width}×${b.height}, ${aName} is ${a.width}×${a.height}`);
  }
  if (a.bands !== b.bands) throw new InputError(undefined, `${bName} has ${b.bands} bands, ${aName} has ${a.bands}`);
  checkImageData(a, aName);
  checkImageData(b, bName);
}

/** Throws an InputError unless the mask covers the image's grid. */
export function checkMaskGrid(image: Image, mask: Mask, imageName: string): void {
  if (mask.width !== image.width || mask.height !== image.height) {
    throw new InputError(undefined, `mask is ${mask.width}×${mask.height}, ${imageName} is ${image.width}×${image.height}`);
  }
  if (mask.data.length !== mask.width * mask.height) {
    throw new InputError(undefined, `mask holds ${mask.data.length} pixels, expected ${mask.width}×${mask.height}`);
  }
}

function checkImageData(image: Image, name: string): void {
  if (image.data.length !== image.width * image.height * image.bands) {
    throw new InputError(undefined, `${name} holds ${image.data.length} values, expected ${image.width}×${image.height}×${image.bands}`);
  }
}
