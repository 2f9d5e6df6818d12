/**
 * Are two rasters on the same pixel grid (CRS, geotransform, size)? Every source of one reconstruction must
 * be, or pixels would silently pair up with the wrong ground. The transform is compared where it matters:
 * two grids match when every pixel corner lies within 1/1000 of a pixel of its counterpart.
 */
import { InputError } from '../../errors.ts';
import { sameCrs } from './crs.ts';
import type { Crs, GeoTransform, RasterInfo } from '../tiff/raster-info.ts';

export type GridInfo = Pick<RasterInfo, 'path' | 'width' | 'height' | 'crs' | 'geoTransform'>;

/** Fraction of a pixel by which corresponding pixel corners may differ (float noise in stored transforms). */
const PIXEL_TOLERANCE = 1e-3;

/** What differs between the grids of `a` and `b`, phrased from b's side ("size is 100×101, not 256×256"); empty if none. */
export function gridDifferences(a: GridInfo, b: GridInfo): string[] {
  const differences: string[] = [];
  if (a.width !== b.width || a.height !== b.height) {
    differences.push(`size is ${b.width}×${b.height}, not ${a.width}×${a.height}`);
  }
  if (!sameCrs(a.crs, b.crs)) differences.push(`CRS is ${crsName(b.crs)}, not ${crsName(a.crs)}`);
  differences.push(...transformDifferences(a, b));
  return differences;
}

/** Throws an InputError naming both files and what differs, unless `b` is on the grid of `a`. */
export function assertSameGrid(a: GridInfo, b: GridInfo): void {
  const differences = gridDifferences(a, b);
  if (differences.length > 0) {
    throw new InputError(b.path, `is not on the grid of ${a.path}: ${differences.join('; ')}`);
  }
}

function crsName(crs: Crs | null): string {
  return crs === null ? 'not set' : crs.epsg !== null ? `EPSG:${crs.epsg}` : crs.description;
}

function transformDifferences(a: GridInfo, b: GridInfo): string[] {
  const ta = a.geoTransform;
  const tb = b.geoTransform;
  if (ta === null || tb === null) {
    return ta === tb ? [] : [`georeferencing is ${ta === null ? 'present' : 'missing'}, not ${ta === null ? 'missing' : 'present'}`];
  }
  const pixelSize = Math.min(Math.hypot(ta[1], ta[4]), Math.hypot(ta[2], ta[5]));
  const tolerance = PIXEL_TOLERANCE * pixelSize;
  const extent = Math.max(a.width, a.height, b.width, b.height);
  if (maxCornerDistance(ta, tb, Math.max(a.width, b.width), Math.max(a.height, b.height)) <= tolerance) return [];

  const differences: string[] = [];
  if (Math.hypot(ta[0] - tb[0], ta[3] - tb[3]) > tolerance) {
    differences.push(`origin is (${show(tb[0])}, ${show(tb[3])}), not (${show(ta[0])}, ${show(ta[3])})`);
  }
  if ((Math.abs(ta[1] - tb[1]) + Math.abs(ta[5] - tb[5])) * extent > tolerance) {
    differences.push(`pixel size is ${show(tb[1])} × ${show(tb[5])}, not ${show(ta[1])} × ${show(ta[5])}`);
  }
  if ((Math.abs(ta[2] - tb[2]) + Math.abs(ta[4] - tb[4])) * extent > tolerance) {
    differences.push(`rotation terms are (${show(tb[2])}, ${show(tb[4])}), not (${show(ta[2])}, ${show(ta[4])})`);
  }
  return differences;
}

function maxCornerDistance(ta: GeoTransform, tb: GeoTransform, width: number, height: number): number {
  let distance = 0;
  for (const [col, row] of [[0, 0], [width, 0], [0, height], [width, height]]) {
    const dx = ta[0] + col * ta[1] + row * ta[2] - (tb[0] + col * tb[1] + row * tb[2]);
    const dy = ta[3] + col * ta[4] + row * ta[5] - (tb[3] + col * tb[4] + row * tb[5]);
    distance = Math.max(distance, Math.hypot(dx, dy));
  }
  return distance;
}

function show(value: number): string {
  return String(Number(value.toFixed(6)));
}
