/**
 * Small pictures of a run for its QA report: the area before and after (true colour where the bands are
 * there, with the mask outline in the map's cyan) and the uncertainty on the map's ramp, encoded as PNG
 * data: URIs so that the report is one file. Rasters are read in row chunks and sampled every `step` pixels
 * (nearest), so a full Sentinel-2 tile never sits in memory.
 */
import { PNG } from 'pngjs';
import { throwIfCancelled } from '../errors.ts';
import { readBands, withRaster, type Raster } from '../raster/tiff/geotiff-reader.ts';
import { resolveBands } from '../raster/sentinel/bands.ts';
import type { Window } from '../raster/tiff/raster-info.ts';

/** The longest side of a thumbnail, in pixels. */
export const THUMBNAIL_SIDE = 480;
/** The map's mask outline colour (renderer/src/map/outline-layer.ts draws it cyan). */
export const OUTLINE_CYAN: readonly [number, number, number] = [0, 255, 255];
/** The map's uncertainty ramp (renderer/src/map/scene-layer.ts SPREAD_RAMP): position, RGB. */
export const SPREAD_RAMP: readonly (readonly [number, readonly [number, number, number]])[] = [
  [0, [68, 1, 84]],
  [0.5, [33, 145, 140]],
  [1, [253, 231, 37]],
];

/** A raster sampled onto a thumbnail grid: `bands` values a pixel, HWC. */
export interface Sampled {
  width: number;
  height: number;
  bands: number;
  data: Float32Array;
  nodata: number | null;
}

/** The sampling step that brings `width × height` within THUMBNAIL_SIDE. */
export function thumbnailStep(width: number, height: number): number {
  return Math.max(1, Math.ceil(Math.max(width, height) / THUMBNAIL_SIDE));
}

/** Bands `indexes` (0-based) of `file` over `window` (default all of it), every `step`-th pixel; `signal` is checked between reads. */
export async function sampleRaster(file: string, indexes: (raster: Raster) => number[], step: number, window?: Window, signal?: AbortSignal): Promise<Sampled> {
  return withRaster(file, async (raster) => {
    const bands = indexes(raster);
    const area = window ?? { x: 0, y: 0, width: raster.width, height: raster.height };
    const width = Math.ceil(area.width / step);
    const height = Math.ceil(area.height / step);
    const data = new Float32Array(width * height * bands.length);
    // About 4 M values a read: whole rows, a multiple of the step.
    const chunkRows = Math.max(step, Math.floor(4_000_000 / (area.width * bands.length) / step) * step);
    for (let y0 = 0; y0 < area.height; y0 += chunkRows) {
      throwIfCancelled(signal);
      const rows = Math.min(chunkRows, area.height - y0);
      const image = await readBands(raster, bands, { x: area.x, y: area.y + y0, width: area.width, height: rows });
      for (let r = 0; r < rows; r += step) {
        const ty = (y0 + r) / step;
        for (let tx = 0; tx < width; tx++) {
          const from = (r * area.width + tx * step) * bands.length;
          data.set(image.data.subarray(from, from + bands.length), (ty * width + tx) * bands.length);
        }
      }
    }
    return { width, height, bands: bands.length, data, nodata: raster.nodata };
  });
}

/** True colour (B04, B03, B02) where the file has those bands, else its first band in grey. */
export function displayBands(raster: Raster): number[] {
  try {
    return resolveBands(raster, ['B04', 'B03', 'B02']);
  } catch {
    return [0];
  }
}

/** The 2–98 % cut of each band (the map's default stretch), leaving out nodata and NaN. */
export function bandCuts(image: Sampled, low = 0.02, high = 0.98): { min: number; max: number }[] {
  const cuts = [];
  for (let b = 0; b < image.bands; b++) {
    const values: number[] = [];
    for (let i = b; i < image.data.length; i += image.bands) {
      const v = image.data[i];
      if (!Number.isNaN(v) && v !== image.nodata) values.push(v);
    }
    values.sort((p, q) => p - q);
    if (values.length === 0) {
      cuts.push({ min: 0, max: 1 });
      continue;
    }
    const at = (q: number) => values[Math.min(values.length - 1, Math.round(q * (values.length - 1)))];
    const min = at(low);
    const max = at(high);
    cuts.push({ min, max: max > min ? max : min + 1 });
  }
  return cuts;
}

/** RGBA pixels of `image` stretched with `cuts` (one band: grey); nodata is transparent. */
export function stretchToRgba(image: Sampled, cuts: { min: number; max: number }[]): Uint8Array {
  const rgba = new Uint8Array(image.width * image.height * 4);
  for (let p = 0; p < image.width * image.height; p++) {
    let missing = false;
    for (let c = 0; c < 3; c++) {
      const b = image.bands >= 3 ? c : 0;
      const v = image.data[p * image.bands + b];
      if (Number.isNaN(v) || v === image.nodata) missing = true;
      const { min, max } = cuts[b];
      rgba[p * 4 + c] = Math.round(255 * Math.min(1, Math.max(0, (v - min) / (max - min))));
    }
    rgba[p * 4 + 3] = missing ? 0 : 255;
  }
  return rgba;
}

/** Paints the boundary of the mask (cloud pixels with a clear 4-neighbour, on the thumbnail grid) in cyan. */
export function drawOutline(rgba: Uint8Array, mask: Sampled): void {
  const { width, height } = mask;
  const cloud = (x: number, y: number) => x >= 0 && y >= 0 && x < width && y < height && mask.data[y * width + x] > 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!cloud(x, y)) continue;
      const edge = x === 0 || y === 0 || x === width - 1 || y === height - 1 || !cloud(x - 1, y) || !cloud(x + 1, y) || !cloud(x, y - 1) || !cloud(x, y + 1);
      if (!edge) continue;
      const i = (y * width + x) * 4;
      [rgba[i], rgba[i + 1], rgba[i + 2], rgba[i + 3]] = [...OUTLINE_CYAN, 255];
    }
  }
}

/** The colour of `t` (0–1) on SPREAD_RAMP. */
export function rampColour(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, t));
  for (let i = 1; i < SPREAD_RAMP.length; i++) {
    const [p1, c1] = SPREAD_RAMP[i];
    const [p0, c0] = SPREAD_RAMP[i - 1];
    if (x <= p1) {
      const f = (x - p0) / (p1 - p0);
      return [0, 1, 2].map((k) => Math.round(c0[k] + f * (c1[k] - c0[k]))) as [number, number, number];
    }
  }
  return [...SPREAD_RAMP[SPREAD_RAMP.length - 1][1]] as [number, number, number];
}

/**
 * The uncertainty (mean spread over its bands) on the ramp, from 0 to its 98th percentile among the pixels
 * that were reconstructed (0 elsewhere, drawn dark grey); returns the pixels and the value at the ramp's top.
 */
export function uncertaintyToRgba(image: Sampled): { rgba: Uint8Array; top: number } {
  const n = image.width * image.height;
  const mean = new Float32Array(n);
  for (let p = 0; p < n; p++) {
    let sum = 0;
    for (let b = 0; b < image.bands; b++) sum += image.data[p * image.bands + b];
    mean[p] = sum / image.bands;
  }
  const positive = Array.from(mean).filter((v) => v > 0 && Number.isFinite(v)).sort((a, b) => a - b);
  const top = positive.length > 0 ? positive[Math.min(positive.length - 1, Math.round(0.98 * (positive.length - 1)))] : 1;
  const rgba = new Uint8Array(n * 4);
  for (let p = 0; p < n; p++) {
    const colour = mean[p] > 0 ? rampColour(mean[p] / top) : [40, 40, 40];
    rgba.set([...colour, 255], p * 4);
  }
  return { rgba, top };
}

/** The ramp itself as a `width × 12` strip, for the report's legend. */
export function rampStrip(width = 240): { width: number; height: number; rgba: Uint8Array } {
  const height = 12;
  const rgba = new Uint8Array(width * height * 4);
  for (let x = 0; x < width; x++) {
    const colour = rampColour(x / (width - 1));
    for (let y = 0; y < height; y++) rgba.set([...colour, 255], (y * width + x) * 4);
  }
  return { width, height, rgba };
}

/** A PNG of RGBA pixels as a data: URI. */
export function pngDataUri(width: number, height: number, rgba: Uint8Array): string {
  const png = new PNG({ width, height });
  png.data = Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength);
  return `data:image/png;base64,${PNG.sync.write(png).toString('base64')}`;
}
