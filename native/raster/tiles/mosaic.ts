/**
 * Blending reconstructed tiles back into one scene, window by window, so a whole scene streams from the tile
 * results to the GeoTIFF writer in bounded memory.
 *
 * Each output pixel covered by reconstructed tiles is their feathered-weighted mean (tiling.ts); a pixel no
 * reconstructed tile covers (a tile without cloud is never optimised) and every pixel the caller keeps
 * (clear pixels when stitching, nodata) is the input's value, exactly.
 */
import type { Image } from '../../dip/image.ts';
import type { BlockSource } from '../tiff/geotiff-writer.ts';
import type { Window } from '../tiff/raster-info.ts';
import { featherWeights, intersect, type TilePlan } from './tiling.ts';

/** Where reconstructed tiles come from (a folder of tile files, or memory in tests). */
export interface TileResults {
  /** Was this tile (by plan index) reconstructed? */
  has(index: number): boolean;
  /** Its result, the tile's size, pixel-interleaved, in output units. */
  read(index: number): Promise<Image>;
}

export interface MosaicOptions {
  plan: TilePlan;
  results: TileResults;
  /** Bands of the tile results that make up the mosaic: [first, first + count). Default: all of them. */
  bands?: { first: number; count: number };
  /** The input's values of a window (pixel-interleaved, `count` bands): what uncovered and kept pixels show. */
  readInput(window: Window): Promise<Float32Array>;
  /**
   * Pixels (row-major, window-sized, 1 = keep) that show the input whatever the tiles say; none if absent.
   * Given the window's input values, so nodata can be found without reading them again.
   */
  readKeep?(window: Window, input: Float32Array): Promise<Uint8Array>;
}

/** The mosaic as a BlockSource for `writeGeoTiffFromBlocks`. */
export function mosaicSource(options: MosaicOptions, bandCount: number): BlockSource {
  const { plan } = options;
  const first = options.bands?.first ?? 0;
  const count = options.bands?.count ?? bandCount;
  // All interior tiles share one weight pattern; border tiles differ. Keyed by which edges fall off.
  const weightCache = new Map<string, Float32Array>();
  const weightsOf = (tile: Window): Float32Array => {
    const key = [tile.x > 0, tile.y > 0, tile.x + tile.width < plan.width, tile.y + tile.height < plan.height, tile.width, tile.height].join();
    let weights = weightCache.get(key);
    if (!weights) weightCache.set(key, (weights = featherWeights(tile, plan)));
    return weights;
  };

  return {
    width: plan.width,
    height: plan.height,
    bands: count,
    async read(window) {
      const out = await options.readInput(window);
      const tiles = [...tilesTouching(plan, window)].filter((tile) => options.results.has(tile.index));
      if (tiles.length === 0) return out;
      const keep = options.readKeep ? await options.readKeep(window, out) : undefined;
      const sum = new Float32Array(window.width * window.height * count);
      const weightSum = new Float32Array(window.width * window.height);
      for (const tile of tiles) {
        const part = intersect(window, tile.window)!;
        const result = await options.results.read(tile.index);
        const weights = weightsOf(tile.window);
        const resultBands = result.bands;
        for (let row = 0; row < part.height; row++) {
          const tileRow = part.y + row - tile.window.y;
          const outRow = part.y + row - window.y;
          for (let col = 0; col < part.width; col++) {
            const tilePixel = tileRow * tile.window.width + (part.x + col - tile.window.x);
            const outPixel = outRow * window.width + (part.x + col - window.x);
            const w = weights[tilePixel];
            weightSum[outPixel] += w;
            const from = tilePixel * resultBands + first;
            const to = outPixel * count;
            for (let b = 0; b < count; b++) sum[to + b] += w * result.data[from + b];
          }
        }
      }
      for (let pixel = 0; pixel < weightSum.length; pixel++) {
        if (weightSum[pixel] === 0 || keep?.[pixel]) continue;
        for (let b = 0; b < count; b++) out[pixel * count + b] = sum[pixel * count + b] / weightSum[pixel];
      }
      return out;
    },
  };
}

/** The tiles whose windows meet `window`, found from the regular spacing rather than by scanning the plan. */
function* tilesTouching(plan: TilePlan, window: Window) {
  const stride = plan.tileSize - plan.overlap;
  // Start one tile early: the last tile of a row/column is shifted back and may begin before its stride slot.
  const firstCol = Math.max(0, Math.floor((window.x - plan.tileSize) / stride));
  const firstRow = Math.max(0, Math.floor((window.y - plan.tileSize) / stride));
  for (let row = firstRow; row < plan.rows; row++) {
    const sample = plan.tiles[row * plan.cols].window;
    if (sample.y >= window.y + window.height) break;
    if (sample.y + sample.height <= window.y) continue;
    for (let col = firstCol; col < plan.cols; col++) {
      const tile = plan.tiles[row * plan.cols + col];
      if (tile.window.x >= window.x + window.width) break;
      if (tile.window.x + tile.window.width <= window.x) continue;
      yield tile;
    }
  }
}
