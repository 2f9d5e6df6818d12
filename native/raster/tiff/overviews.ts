/**
 * Reduced-resolution levels (overviews) of a raster, as GDAL's COG driver makes them by default: levels 2, 4,
 * 8 … each half the size of the one before (rounded up), until a level fits in one tile. Each level is made
 * from the one before by 2×2 blocks: the mean of the block's valid pixels ('average': nodata values and NaN
 * are left out; a block with none gives nodata) or its top-left pixel ('nearest', for masks and classes —
 * GDAL's choice for a factor of 2 too). At an odd edge a block has only the pixels that exist.
 *
 * The functions work on horizontal strips (a run of whole rows) so that a writer can make every level while
 * the full resolution streams through one strip at a time.
 */

export type OverviewResampling = 'average' | 'nearest';

export interface LevelShape {
  width: number;
  height: number;
  tilesAcross: number;
  tilesDown: number;
}

/** Full resolution first, then each overview, for tiles of `tileSize`; only the first when `overviews` is false. */
export function levelShapes(width: number, height: number, tileSize: number, overviews: boolean): LevelShape[] {
  const shape = (w: number, h: number): LevelShape => ({
    width: w,
    height: h,
    tilesAcross: Math.ceil(w / tileSize),
    tilesDown: Math.ceil(h / tileSize),
  });
  const levels = [shape(width, height)];
  let w = width;
  let h = height;
  while (overviews && (w > tileSize || h > tileSize)) {
    w = Math.ceil(w / 2);
    h = Math.ceil(h / 2);
    levels.push(shape(w, h));
  }
  return levels;
}

/** A pixel-interleaved array of whole rows; numbers already in the output type's range. */
export interface Samples {
  length: number;
  [index: number]: number;
}

export interface DownsampleSpec {
  resampling: OverviewResampling;
  bands: number;
  /** The nodata value (left out of averages, written for blocks without valid pixels), or null. NaN is never valid. */
  nodata: number | null;
  /** Integer output: means are rounded (half up) and clipped to [min, max] as full-resolution values are. */
  integer: boolean;
  min: number;
  max: number;
}

/**
 * Halves `rows` rows of `source` (`width` pixels wide) into `target`, a level of width ceil(width / 2),
 * starting at its row `targetRow`. Returns the number of rows written: ceil(rows / 2).
 */
export function downsampleRows(
  source: Samples,
  width: number,
  rows: number,
  target: Samples,
  targetRow: number,
  spec: DownsampleSpec,
): number {
  const { bands } = spec;
  const targetWidth = Math.ceil(width / 2);
  const targetRows = Math.ceil(rows / 2);
  const sourceStride = width * bands;
  const targetStride = targetWidth * bands;
  for (let oy = 0; oy < targetRows; oy++) {
    const top = 2 * oy * sourceStride;
    const bottom = 2 * oy + 1 < rows ? top + sourceStride : -1;
    const out = (targetRow + oy) * targetStride;
    if (spec.resampling === 'nearest') {
      for (let ox = 0; ox < targetWidth; ox++) {
        const from = top + 2 * ox * bands;
        const to = out + ox * bands;
        for (let b = 0; b < bands; b++) target[to + b] = source[from + b];
      }
      continue;
    }
    averageRow(source, width, top, bottom, target, out, spec);
  }
  return targetRows;
}

function averageRow(source: Samples, width: number, top: number, bottom: number, target: Samples, out: number, spec: DownsampleSpec): void {
  const { bands, integer, min, max } = spec;
  const nodata = spec.nodata;
  const hasNodata = nodata !== null && !Number.isNaN(nodata);
  const empty = nodata ?? NaN;
  const targetWidth = Math.ceil(width / 2);
  for (let ox = 0; ox < targetWidth; ox++) {
    const left = 2 * ox * bands;
    const hasRight = 2 * ox + 1 < width;
    const to = out + ox * bands;
    for (let b = 0; b < bands; b++) {
      let sum = 0;
      let count = 0;
      // The block's up to four pixels; NaN fails `v === v`, nodata fails the second test.
      let v = source[top + left + b];
      if (v === v && !(hasNodata && v === nodata)) {
        sum += v;
        count++;
      }
      if (hasRight) {
        v = source[top + left + bands + b];
        if (v === v && !(hasNodata && v === nodata)) {
          sum += v;
          count++;
        }
      }
      if (bottom >= 0) {
        v = source[bottom + left + b];
        if (v === v && !(hasNodata && v === nodata)) {
          sum += v;
          count++;
        }
        if (hasRight) {
          v = source[bottom + left + bands + b];
          if (v === v && !(hasNodata && v === nodata)) {
            sum += v;
            count++;
          }
        }
      }
      if (count === 0) {
        target[to + b] = empty;
      } else if (integer) {
        const rounded = Math.round(sum / count);
        target[to + b] = rounded < min ? min : rounded > max ? max : rounded;
      } else {
        target[to + b] = sum / count;
      }
    }
  }
}
