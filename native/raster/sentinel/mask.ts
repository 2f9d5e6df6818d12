/**
 * Cloud masks from GeoTIFF bands: any non-zero value is cloud (1), zero is clear (0). Other mask sources
 * (SCL classes, cloud probability) build on `readMaskBand`.
 */
import { InputError } from '../../errors.ts';
import { createMask, type Image, type Mask } from '../../dip/image.ts';
import { readBands, withRaster, type Raster } from '../tiff/geotiff-reader.ts';
import { assertSameGrid, type GridInfo } from '../geo/grid.ts';
import { assertFinite } from './preprocess.ts';
import { nodataTest } from '../tiff/data-types.ts';
import type { Window } from '../tiff/raster-info.ts';

/** One band (0-based) of an open raster as a mask. NaN or infinite values are an InputError. */
export async function readMaskBand(raster: Raster, bandIndex = 0, window?: Window): Promise<Mask> {
  const image = await readBands(raster, [bandIndex], window);
  assertFinite(image, raster.path);
  const mask = createMask(image.width, image.height);
  for (let i = 0; i < image.data.length; i++) mask.data[i] = image.data[i] !== 0 ? 1 : 0;
  return mask;
}

export interface ReadMaskOptions {
  /** 0-based band index; default 0. */
  band?: number;
  /** When given, the mask file must be on this raster's grid (InputError naming both otherwise). */
  like?: GridInfo;
}

/** Reads a mask file (one band of it). */
export async function readMask(path: string, options: ReadMaskOptions = {}): Promise<Mask> {
  return withRaster(path, async (raster) => {
    if (options.like) assertSameGrid(options.like, raster);
    return readMaskBand(raster, options.band ?? 0);
  });
}

/** A mask that covers every pixel leaves nothing to fit the network to: an InputError naming `file`. */
export function assertHasClearPixels(mask: Mask, file: string): void {
  if (!mask.data.includes(0)) {
    throw new InputError(file, `the mask marks all ${mask.width * mask.height} pixels as cloud; at least some must be clear`);
  }
}

/**
 * Pixels that are `nodata` in every band (outside the swath, fill): neither cloud to reconstruct nor clear
 * pixels to fit. Null when there are none (or no nodata value), so callers can skip the bookkeeping.
 */
export function nodataMask(image: Image, nodata: number | null): Mask | null {
  if (nodata === null) return null;
  const isNodata = nodataTest(nodata);
  const mask = createMask(image.width, image.height);
  let found = false;
  for (let pixel = 0; pixel < mask.data.length; pixel++) {
    let all = true;
    for (let band = 0; band < image.bands && all; band++) all = isNodata(image.data[pixel * image.bands + band]);
    if (all) {
      mask.data[pixel] = 1;
      found = true;
    }
  }
  return found ? mask : null;
}
