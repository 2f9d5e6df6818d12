/**
 * Reading a raster resampled onto another grid: the explicit `--resample` of an auxiliary source (a 20 m
 * SCL, a coarser cloud probability, a reference in another UTM zone) onto the target's grid, instead of a
 * silent misalignment.
 *
 * Each output pixel takes the source value at its centre's position in the source:
 * - same CRS: a pure affine map between the two geotransforms (pixel centres, GDAL's convention);
 * - different CRS: proj4 maps target coordinates to source coordinates. Doing that for every pixel is slow
 *   (proj4 runs in JS, ~1 µs a point), so we transform a coarse lattice (every 16 pixels, plus the last row
 *   and column) and interpolate bilinearly in between, as GDAL's approximate transformer does. Over 16 pixels
 *   of 10 m the curvature of a UTM ↔ UTM or UTM ↔ Web Mercator mapping is far below a millimetre.
 * Only the source window the output needs is read, never the whole source.
 *
 * Output pixels outside the source, or whose source value is nodata (or NaN), are NaN: the caller decides
 * what that means (a mask: clear; an auxiliary band: invalid).
 *
 * Methods: 'nearest' (the source pixel containing the centre; for classes and masks), 'bilinear' (the four
 * nearest source centres, weights renormalised over the valid ones, so a nodata neighbour does not pull the
 * value towards the nodata value), 'average' (for downsampling: the mean of the source pixels under the output
 * pixel's footprint, each weighted by the overlapping area of its axis-aligned bounding box).
 */
import { InputError } from '../../errors.ts';
import { createImage, type Image } from '../../dip/image.ts';
import { coordinateTransform, sameCrs } from './crs.ts';
import { assertWindowInside, readBands, type Raster } from '../tiff/geotiff-reader.ts';
import type { GridInfo } from './grid.ts';
import type { GeoTransform, Window } from '../tiff/raster-info.ts';

export type ResampleMethod = 'nearest' | 'bilinear' | 'average';

export const RESAMPLE_METHODS: readonly ResampleMethod[] = ['nearest', 'bilinear', 'average'];

/** Pixels between the points proj4 transforms exactly; positions in between are interpolated bilinearly. */
export const LATTICE_STEP = 16;

/** GDAL's nudge in nearest-neighbour lookups: a centre exactly on a source pixel edge takes the pixel right/below. */
const NEAREST_EPSILON = 1e-10;

/**
 * Bands (0-based) of `raster` for `window` (default: all) of the `target` grid, resampled with `method`.
 * Returns an Image of the window's size, HWC float32, NaN where there is no valid source value.
 */
export async function readBandsOnGrid(
  raster: Raster,
  bandIndexes: readonly number[],
  target: GridInfo,
  window: Window = { x: 0, y: 0, width: target.width, height: target.height },
  method: ResampleMethod = 'nearest',
): Promise<Image> {
  if (!RESAMPLE_METHODS.includes(method)) throw new RangeError(`readBandsOnGrid: unknown method '${String(method)}'`);
  assertWindowInside(target, window);
  const mapper = gridMapper(raster, target);
  const shift = mapper.integerShift();
  if (shift) return readShifted(raster, bandIndexes, window, shift);

  const { width, height } = window;
  // Source pixel coordinates (continuous; pixel (i, j) spans [i, i+1) × [j, j+1)) of the output centres, or corners for 'average'.
  const corners = method === 'average';
  const cols = corners ? width + 1 : width;
  const rows = corners ? height + 1 : height;
  const offset = corners ? 0 : 0.5;
  const uv = mapper.map(window.x + offset, window.y + offset, cols, rows);

  const needed = neededSourceWindow(uv, method, raster);
  const out = createImage(width, height, bandIndexes.length);
  out.data.fill(NaN);
  if (needed === null) return out;
  const source = await readBands(raster, bandIndexes, needed);
  const valid = validity(raster.nodata);
  const sampler = { source, origin: needed, extent: { width: raster.width, height: raster.height }, valid, out };
  if (method === 'nearest') sampleNearest(sampler, uv);
  else if (method === 'bilinear') sampleBilinear(sampler, uv);
  else sampleAverage(sampler, uv, width, height);
  return out;
}

/** Do all pixel centres of `target` lie inside `raster`'s extent? (Checked along the target's border.) */
export function coversGrid(raster: GridInfo, target: GridInfo): boolean {
  const mapper = gridMapper(raster, target);
  const { width: w, height: h } = target;
  const borders = [
    mapper.map(0.5, 0.5, w, 1),
    mapper.map(0.5, h - 0.5, w, 1),
    mapper.map(0.5, 0.5, 1, h),
    mapper.map(w - 0.5, 0.5, 1, h),
  ];
  return borders.every((uv) => {
    for (let i = 0; i < uv.length; i += 2) {
      if (!(uv[i] >= 0 && uv[i] <= raster.width && uv[i + 1] >= 0 && uv[i + 1] <= raster.height)) return false;
    }
    return true;
  });
}

interface GridMapper {
  /**
   * Source pixel coordinates, interleaved (u0, v0, u1, v1, …), of the target pixel-space points
   * (x0 + i, y0 + j) for i < cols, j < rows, row by row. NaN where the transformation fails.
   */
  map(x0: number, y0: number, cols: number, rows: number): Float64Array;
  /** The (dx, dy) when the grids are the same up to a whole-pixel shift (source pixel = target pixel + shift), else null. */
  integerShift(): { dx: number; dy: number } | null;
}

/** Maps target pixel coordinates to source pixel coordinates. InputError for rasters without georeferencing or with a CRS we cannot transform. */
export function gridMapper(source: GridInfo, target: GridInfo): GridMapper {
  const s = source.geoTransform;
  const t = target.geoTransform;
  if (s === null) throw new InputError(source.path, `has no georeferencing, so it cannot be resampled onto the grid of ${target.path}`);
  if (t === null) throw new InputError(target.path, `has no georeferencing, so ${source.path} cannot be resampled onto its grid`);
  const inverse = invert(s, source.path);
  if (sameCrs(source.crs, target.crs)) {
    // target pixel → map coordinates → source pixel, composed into one affine map.
    const composite = compose(inverse, t);
    return {
      map: (x0, y0, cols, rows) => {
        const uv = new Float64Array(cols * rows * 2);
        let k = 0;
        for (let j = 0; j < rows; j++) {
          for (let i = 0; i < cols; i++) {
            const [u, v] = apply(composite, x0 + i, y0 + j);
            uv[k++] = u;
            uv[k++] = v;
          }
        }
        return uv;
      },
      integerShift: () => integerShiftOf(composite, Math.max(target.width, target.height)),
    };
  }
  const transform = coordinateTransform(target, source);
  return {
    map: (x0, y0, cols, rows) => {
      // Exact transformation on a coarse lattice, bilinear interpolation in between.
      const latticeCols = latticeIndexes(cols);
      const latticeRows = latticeIndexes(rows);
      const lattice = new Float64Array(latticeCols.length * latticeRows.length * 2);
      let k = 0;
      for (const j of latticeRows) {
        for (const i of latticeCols) {
          const [x, y] = apply(t, x0 + i, y0 + j);
          lattice[k++] = x;
          lattice[k++] = y;
        }
      }
      transform(lattice);
      for (let p = 0; p < lattice.length; p += 2) {
        const [u, v] = apply(inverse, lattice[p], lattice[p + 1]);
        lattice[p] = Number.isFinite(u) ? u : NaN;
        lattice[p + 1] = Number.isFinite(v) ? v : NaN;
      }
      return interpolateLattice(lattice, latticeCols, latticeRows, cols, rows);
    },
    integerShift: () => null,
  };
}

function latticeIndexes(n: number): number[] {
  const indexes: number[] = [];
  for (let i = 0; i < n - 1; i += LATTICE_STEP) indexes.push(i);
  indexes.push(n - 1);
  return indexes;
}

function interpolateLattice(lattice: Float64Array, latticeCols: number[], latticeRows: number[], cols: number, rows: number): Float64Array {
  const uv = new Float64Array(cols * rows * 2);
  const stride = latticeCols.length * 2;
  let k = 0;
  let lj = 0;
  for (let j = 0; j < rows; j++) {
    while (lj < latticeRows.length - 2 && latticeRows[lj + 1] <= j) lj++;
    const r0 = latticeRows[lj];
    const r1 = latticeRows[Math.min(lj + 1, latticeRows.length - 1)];
    const fy = r1 === r0 ? 0 : (j - r0) / (r1 - r0);
    let li = 0;
    for (let i = 0; i < cols; i++) {
      while (li < latticeCols.length - 2 && latticeCols[li + 1] <= i) li++;
      const c0 = latticeCols[li];
      const c1 = latticeCols[Math.min(li + 1, latticeCols.length - 1)];
      const fx = c1 === c0 ? 0 : (i - c0) / (c1 - c0);
      const li1 = Math.min(li + 1, latticeCols.length - 1);
      const lj1 = Math.min(lj + 1, latticeRows.length - 1);
      for (let axis = 0; axis < 2; axis++) {
        const a = lattice[lj * stride + li * 2 + axis];
        const b = lattice[lj * stride + li1 * 2 + axis];
        const c = lattice[lj1 * stride + li * 2 + axis];
        const d = lattice[lj1 * stride + li1 * 2 + axis];
        uv[k++] = (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy;
      }
    }
  }
  return uv;
}

function apply(t: GeoTransform, x: number, y: number): [number, number] {
  return [t[0] + x * t[1] + y * t[2], t[3] + x * t[4] + y * t[5]];
}

function invert(t: GeoTransform, file: string): GeoTransform {
  const det = t[1] * t[5] - t[2] * t[4];
  if (!Number.isFinite(det) || det === 0) throw new InputError(file, 'its geotransform is degenerate (zero pixel size)');
  return [
    (t[2] * t[3] - t[0] * t[5]) / det,
    t[5] / det,
    -t[2] / det,
    (t[0] * t[4] - t[1] * t[3]) / det,
    -t[4] / det,
    t[1] / det,
  ];
}

/** a ∘ b: first b, then a. */
function compose(a: GeoTransform, b: GeoTransform): GeoTransform {
  return [
    a[0] + a[1] * b[0] + a[2] * b[3],
    a[1] * b[1] + a[2] * b[4],
    a[1] * b[2] + a[2] * b[5],
    a[3] + a[4] * b[0] + a[5] * b[3],
    a[4] * b[1] + a[5] * b[4],
    a[4] * b[2] + a[5] * b[5],
  ];
}

/** Same tolerance as grid.ts: corners within 1/1000 pixel over the whole grid. */
function integerShiftOf(c: GeoTransform, extent: number): { dx: number; dy: number } | null {
  const tolerance = 1e-3;
  const dx = Math.round(c[0]);
  const dy = Math.round(c[3]);
  const close =
    Math.abs(c[0] - dx) <= tolerance &&
    Math.abs(c[3] - dy) <= tolerance &&
    (Math.abs(c[1] - 1) + Math.abs(c[2]) + Math.abs(c[4]) + Math.abs(c[5] - 1)) * extent <= tolerance;
  return close ? { dx, dy } : null;
}

/** The grids differ by whole pixels only: copy the overlapping source window, NaN elsewhere and on nodata. */
async function readShifted(raster: Raster, bandIndexes: readonly number[], window: Window, shift: { dx: number; dy: number }): Promise<Image> {
  const out = createImage(window.width, window.height, bandIndexes.length);
  out.data.fill(NaN);
  const x0 = Math.max(window.x + shift.dx, 0);
  const y0 = Math.max(window.y + shift.dy, 0);
  const x1 = Math.min(window.x + shift.dx + window.width, raster.width);
  const y1 = Math.min(window.y + shift.dy + window.height, raster.height);
  if (x1 <= x0 || y1 <= y0) return out;
  const source = await readBands(raster, bandIndexes, { x: x0, y: y0, width: x1 - x0, height: y1 - y0 });
  const valid = validity(raster.nodata);
  const bands = bandIndexes.length;
  for (let row = 0; row < y1 - y0; row++) {
    const outRow = y0 + row - (window.y + shift.dy);
    for (let col = 0; col < x1 - x0; col++) {
      const outCol = x0 + col - (window.x + shift.dx);
      const from = (row * (x1 - x0) + col) * bands;
      const to = (outRow * window.width + outCol) * bands;
      for (let b = 0; b < bands; b++) {
        const value = source.data[from + b];
        out.data[to + b] = valid(value) ? value : NaN;
      }
    }
  }
  return out;
}

function validity(nodata: number | null): (value: number) => boolean {
  if (nodata === null || Number.isNaN(nodata)) return (value) => !Number.isNaN(value);
  return (value) => value !== nodata && !Number.isNaN(value);
}

/** The smallest source window holding every pixel the samples touch, clipped to the source; null if none. */
function neededSourceWindow(uv: Float64Array, method: ResampleMethod, raster: GridInfo): Window | null {
  let uMin = Infinity;
  let uMax = -Infinity;
  let vMin = Infinity;
  let vMax = -Infinity;
  for (let k = 0; k < uv.length; k += 2) {
    const u = uv[k];
    const v = uv[k + 1];
    if (Number.isNaN(u) || Number.isNaN(v)) continue;
    if (u < uMin) uMin = u;
    if (u > uMax) uMax = u;
    if (v < vMin) vMin = v;
    if (v > vMax) vMax = v;
  }
  if (uMin === Infinity) return null;
  // Columns touched: nearest floor(u); bilinear floor(u − ½) and the next; average floor(u) … ceil(u) − 1.
  const low = (value: number) => Math.floor(method === 'bilinear' ? value - 0.5 : method === 'nearest' ? value + NEAREST_EPSILON : value);
  const high = (value: number) => Math.floor(method === 'bilinear' ? value - 0.5 : method === 'nearest' ? value + NEAREST_EPSILON : value) + (method === 'nearest' ? 0 : 1);
  const x0 = Math.max(0, low(uMin));
  const y0 = Math.max(0, low(vMin));
  const x1 = Math.min(raster.width - 1, high(uMax));
  const y1 = Math.min(raster.height - 1, high(vMax));
  if (x1 < x0 || y1 < y0) return null;
  return { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

interface Sampler {
  source: Image;
  /** Where `source` lies in the raster. */
  origin: Window;
  /** The raster's size. */
  extent: { width: number; height: number };
  valid: (value: number) => boolean;
  out: Image;
}

function sampleNearest({ source, origin, valid, out }: Sampler, uv: Float64Array): void {
  const bands = out.bands;
  for (let p = 0, k = 0; p < out.width * out.height; p++, k += 2) {
    const col = Math.floor(uv[k] + NEAREST_EPSILON) - origin.x;
    const row = Math.floor(uv[k + 1] + NEAREST_EPSILON) - origin.y;
    // NaN coordinates fail these comparisons too.
    if (!(col >= 0 && col < origin.width && row >= 0 && row < origin.height)) continue;
    const from = (row * origin.width + col) * bands;
    for (let b = 0; b < bands; b++) {
      const value = source.data[from + b];
      if (valid(value)) out.data[p * bands + b] = value;
    }
  }
}

function sampleBilinear({ source, origin, extent, valid, out }: Sampler, uv: Float64Array): void {
  const bands = out.bands;
  const sums = new Float64Array(bands);
  const weights = new Float64Array(bands);
  for (let p = 0, k = 0; p < out.width * out.height; p++, k += 2) {
    const u = uv[k];
    const v = uv[k + 1];
    // Centres outside the source extent are outside, whatever their neighbours.
    if (!(u >= 0 && u <= extent.width && v >= 0 && v <= extent.height)) continue;
    const x = u - 0.5 - origin.x;
    const y = v - 0.5 - origin.y;
    const c0 = Math.floor(x);
    const r0 = Math.floor(y);
    const fx = x - c0;
    const fy = y - r0;
    sums.fill(0);
    weights.fill(0);
    for (let dr = 0; dr < 2; dr++) {
      const row = r0 + dr;
      const wy = dr === 0 ? 1 - fy : fy;
      if (row < 0 || row >= origin.height || wy === 0) continue;
      for (let dc = 0; dc < 2; dc++) {
        const col = c0 + dc;
        const w = wy * (dc === 0 ? 1 - fx : fx);
        if (col < 0 || col >= origin.width || w === 0) continue;
        const from = (row * origin.width + col) * bands;
        for (let b = 0; b < bands; b++) {
          const value = source.data[from + b];
          if (!valid(value)) continue;
          sums[b] += w * value;
          weights[b] += w;
        }
      }
    }
    for (let b = 0; b < bands; b++) if (weights[b] > 0) out.data[p * bands + b] = sums[b] / weights[b];
  }
}

/** `uv` holds the output pixel corners: (width + 1) × (height + 1) points. */
function sampleAverage({ source, origin, valid, out }: Sampler, uv: Float64Array, width: number, height: number): void {
  const bands = out.bands;
  const sums = new Float64Array(bands);
  const weights = new Float64Array(bands);
  const corner = (col: number, row: number) => ((row * (width + 1)) + col) * 2;
  for (let row = 0; row < height; row++) {
    for (let col = 0; col < width; col++) {
      let uMin = Infinity;
      let uMax = -Infinity;
      let vMin = Infinity;
      let vMax = -Infinity;
      for (const k of [corner(col, row), corner(col + 1, row), corner(col, row + 1), corner(col + 1, row + 1)]) {
        uMin = Math.min(uMin, uv[k]);
        uMax = Math.max(uMax, uv[k]);
        vMin = Math.min(vMin, uv[k + 1]);
        vMax = Math.max(vMax, uv[k + 1]);
      }
      if (!(uMax > uMin && vMax > vMin)) continue; // NaN corners too
      sums.fill(0);
      weights.fill(0);
      const c0 = Math.max(Math.floor(uMin) - origin.x, 0);
      const c1 = Math.min(Math.ceil(uMax) - origin.x, origin.width);
      const r0 = Math.max(Math.floor(vMin) - origin.y, 0);
      const r1 = Math.min(Math.ceil(vMax) - origin.y, origin.height);
      for (let r = r0; r < r1; r++) {
        const wy = Math.min(r + 1 + origin.y, vMax) - Math.max(r + origin.y, vMin);
        if (wy <= 0) continue;
        for (let c = c0; c < c1; c++) {
          const w = wy * (Math.min(c + 1 + origin.x, uMax) - Math.max(c + origin.x, uMin));
          if (w <= 0) continue;
          const from = (r * origin.width + c) * bands;
          for (let b = 0; b < bands; b++) {
            const value = source.data[from + b];
            if (!valid(value)) continue;
            sums[b] += w * value;
            weights[b] += w;
          }
        }
      }
      const p = row * width + col;
      for (let b = 0; b < bands; b++) if (weights[b] > 0) out.data[p * bands + b] = sums[b] / weights[b];
    }
  }
}

