/**
 * Polygons burnt into a raster grid: a pixel is inside when its centre is, by the even-odd rule over all the
 * polygon's rings (so holes, and self-overlaps, are outside), as `gdal_rasterize` does without ALL_TOUCHED.
 * Coordinates are map coordinates (the grid's CRS), turned into pixel coordinates by the inverse of the
 * geotransform (rotated grids included); without a geotransform they are pixel coordinates.
 */
import type { GeoTransform } from '../tiff/raster-info.ts';

export type Position = [number, number];
/** Rings of [x, y]; the first is the outline, the others holes. A ring need not repeat its first point. */
export type PolygonRings = Position[][];

/** Map coordinates → pixel coordinates (column, row; pixel (i, j) spans [i, i+1] × [j, j+1]). */
export function mapToPixel(transform: GeoTransform | null): (p: Position) => Position {
  const [x0, a, b, y0, d, e] = transform ?? [0, 1, 0, 0, 0, 1];
  const det = a * e - b * d;
  if (det === 0 || !Number.isFinite(det)) throw new RangeError('the grid\'s geotransform cannot be inverted');
  return ([x, y]) => {
    const dx = x - x0;
    const dy = y - y0;
    return [(e * dx - b * dy) / det, (-d * dx + a * dy) / det];
  };
}

/**
 * Sets `value` at every pixel of `target` (row-major, `width` × `height`) whose centre is inside `polygon`
 * (pixel coordinates). Returns how many pixels it covers, and whether its bounding box reaches the grid at all.
 */
export function burnPolygon(target: Uint8Array, width: number, height: number, polygon: PolygonRings, value: number): { pixels: number; touchesGrid: boolean } {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const ring of polygon) {
    for (const [x, y] of ring) {
      minX = Math.min(minX, x);
      maxX = Math.max(maxX, x);
      minY = Math.min(minY, y);
      maxY = Math.max(maxY, y);
    }
  }
  const touchesGrid = maxX > 0 && minX < width && maxY > 0 && minY < height;
  if (!touchesGrid) return { pixels: 0, touchesGrid };
  let pixels = 0;
  const firstRow = Math.max(0, Math.floor(minY - 0.5));
  const lastRow = Math.min(height - 1, Math.ceil(maxY - 0.5));
  const crossings: number[] = [];
  for (let row = firstRow; row <= lastRow; row++) {
    const cy = row + 0.5;
    crossings.length = 0;
    for (const ring of polygon) {
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        const [xi, yi] = ring[i];
        const [xj, yj] = ring[j];
        // Half-open in y: a vertex on the scan line is counted once, horizontal edges never.
        if (yi > cy !== yj > cy) crossings.push(xi + ((cy - yi) / (yj - yi)) * (xj - xi));
      }
    }
    crossings.sort((p, q) => p - q);
    for (let k = 0; k + 1 < crossings.length; k += 2) {
      // Centres col + 0.5 with left ≤ centre < right.
      const from = Math.max(0, Math.ceil(crossings[k] - 0.5));
      const to = Math.min(width - 1, Math.ceil(crossings[k + 1] - 0.5) - 1);
      for (let col = from; col <= to; col++) {
        target[row * width + col] = value;
        pixels++;
      }
    }
  }
  return { pixels, touchesGrid };
}
