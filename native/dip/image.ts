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

/** A rectangle of pixels: column and row of its top-left corner, and its size. */
export interface PixelWindow {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The pixels of `window` (inside the image), all bands. */
export function cropImage(image: Image, window: PixelWindow): Image {
  const out = createImage(window.width, window.height, image.bands);
  const rowLength = window.width * image.bands;
  for (let row = 0; row < window.height; row++) {
    const from = ((window.y + row) * image.width + window.x) * image.bands;
    out.data.set(image.data.subarray(from, from + rowLength), row * rowLength);
  }
  return out;
}

/** The pixels of `window` (inside the mask). */
export function cropMask(mask: Mask, window: PixelWindow): Mask {
  const out = createMask(window.width, window.height);
  for (let row = 0; row < window.height; row++) {
    const from = (window.y + row) * mask.width + window.x;
    out.data.set(mask.data.subarray(from, from + window.width), row * window.width);
  }
  return out;
}

/**
 * The image with every band of its masked pixels set to 0: all a method may see of a target whose pixels under
 * the mask are ground truth (nothing there can leak into a reconstruction that is scored against them).
 */
export function hideMasked(image: Image, mask: Mask): Image {
  const out = { ...image, data: image.data.slice() };
  for (let p = 0; p < mask.data.length; p++) if (mask.data[p]) out.data.fill(0, p * image.bands, (p + 1) * image.bands);
  return out;
}
