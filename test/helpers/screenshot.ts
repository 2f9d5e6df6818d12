/**
 * What the end-to-end tests measure on screenshots (PNGs read back with pngjs): regions' luminance and colours,
 * how two screenshots differ, and the cyan of the mask outline. A region is a `Box` in screenshot pixels; its
 * edges are rounded to whole pixels and it is clipped to the image.
 */
import type { PNG } from 'pngjs';

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Calls `visit` with the byte offset (RGBA) of each pixel of `box` in `png`, row by row. */
function eachPixel(png: PNG, box: Box, visit: (i: number) => void): void {
  for (let y = Math.max(0, Math.round(box.y)); y < Math.min(png.height, Math.round(box.y + box.height)); y++) {
    for (let x = Math.max(0, Math.round(box.x)); x < Math.min(png.width, Math.round(box.x + box.width)); x++) visit((y * png.width + x) * 4);
  }
}

/** The luminance (Rec. 601 weights) of the pixel at byte offset `i`. */
function luma(data: Buffer, i: number): number {
  return 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
}

/** Mean and standard deviation of the luminance of a region (a blank map is uniform: sd near 0), and its share of opaque pixels. */
export function luminanceStats(png: PNG, box: Box): { opaque: number; mean: number; sd: number } {
  let n = 0;
  let opaque = 0;
  let sum = 0;
  let sum2 = 0;
  eachPixel(png, box, (i) => {
    const l = luma(png.data, i);
    n++;
    if (png.data[i + 3] > 0) opaque++;
    sum += l;
    sum2 += l * l;
  });
  const mean = sum / n;
  return { opaque: opaque / n, mean, sd: Math.sqrt(Math.max(0, sum2 / n - mean * mean)) };
}

/** Mean red, green and blue of a region. */
export function channelMeans(png: PNG, box: Box): [number, number, number] {
  const sum = [0, 0, 0];
  let n = 0;
  eachPixel(png, box, (i) => {
    for (let c = 0; c < 3; c++) sum[c] += png.data[i + c];
    n++;
  });
  return sum.map((v) => v / n) as [number, number, number];
}

/** Mean absolute difference of the luminance of two same-sized screenshots over `box`. */
export function luminanceDifference(a: PNG, b: PNG, box: Box): number {
  let sum = 0;
  let n = 0;
  eachPixel(a, box, (i) => {
    sum += Math.abs(luma(a.data, i) - luma(b.data, i));
    n++;
  });
  return sum / n;
}

/** Mean absolute difference of the colours (per channel) of two same-sized regions: `a` of `pa` and `b` of `pb`. */
export function colourDifference(pa: PNG, a: Box, pb: PNG, b: Box): number {
  let sum = 0;
  let n = 0;
  const width = Math.min(Math.round(a.width), Math.round(b.width));
  const height = Math.min(Math.round(a.height), Math.round(b.height));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = ((Math.round(a.y) + y) * pa.width + Math.round(a.x) + x) * 4;
      const j = ((Math.round(b.y) + y) * pb.width + Math.round(b.x) + x) * 4;
      for (let c = 0; c < 3; c++) sum += Math.abs(pa.data[i + c] - pb.data[j + c]);
      n += 3;
    }
  }
  return sum / n;
}

/** Pixels of `box` whose colour differs by more than `threshold` (in any channel) between two same-sized screenshots. */
export function changedPixels(a: PNG, b: PNG, box: Box, threshold = 30): number {
  let count = 0;
  eachPixel(a, box, (i) => {
    if (Math.max(Math.abs(a.data[i] - b.data[i]), Math.abs(a.data[i + 1] - b.data[i + 1]), Math.abs(a.data[i + 2] - b.data[i + 2])) > threshold) count++;
  });
  return count;
}

/** Cyan pixels (the mask outline, #00FFFF) in `box`; `minGreenBlue` allows for antialiasing. */
export function cyanPixels(png: PNG, box: Box, minGreenBlue = 200): number {
  let count = 0;
  eachPixel(png, box, (i) => {
    if (png.data[i] < 90 && png.data[i + 1] > minGreenBlue && png.data[i + 2] > minGreenBlue) count++;
  });
  return count;
}
