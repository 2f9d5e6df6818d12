/**
 * The in-memory image types every part of the engine shares.
 *
 * Pixel-interleaved (HWC) float32 is the layout tfjs uses for NHWC tensors, so an Image converts to and
 * from a tensor without a transpose or copy of the layout.
 */

/** A multi-band image: `data[(row * width + col) * bands + band]`. */
export interface Image {
  width: number;
  height: number;
  bands: number;
  data: Float32Array;
}

/** A cloud mask on an image grid: 1 = cloud or shadow (to reconstruct), 0 = clear. Row-major, one byte a pixel. */
export interface Mask {
  width: number;
  height: number;
  data: Uint8Array;
}

export function createImage(width: number, height: number, bands: number): Image {
  return { width, height, bands, data: new Float32Array(width * height * bands) };
}

export function createMask(width: number, height: number): Mask {
  return { width, height, data: new Uint8Array(width * height) };
}

/** The fraction of pixels marked as cloud. */
export function maskCover(mask: Mask): number {
  let n = 0;
  for (const v of mask.data) n += v ? 1 : 0;
  return n / mask.data.length;
}
