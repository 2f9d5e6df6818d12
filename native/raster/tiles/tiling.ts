/**
 * Splitting a scene into overlapping tiles for the network, and the feathered weights that blend the tiles'
 * results back into one mosaic without seams.
 *
 * Tiles are `tileSize` squares placed every `tileSize - overlap` pixels; the last tile of a row or column is
 * moved back to end at the scene's edge, so every tile is full size (the network's receptive field sees as
 * much context at the edge as inside) and the scene needs no padding. A scene smaller than a tile is one tile.
 */
import type { Window } from '../tiff/raster-info.ts';

export interface TilingOptions {
  /** Tile edge in pixels. Default 256. */
  tileSize?: number;
  /** Pixels shared by neighbouring tiles, over which their results are blended. Default 32. */
  overlap?: number;
}

export const DEFAULT_TILE_SIZE = 256;
export const DEFAULT_OVERLAP = 32;

export interface Tile {
  /** Row-major position in the plan, 0-based. */
  index: number;
  row: number;
  col: number;
  window: Window;
}

export interface TilePlan {
  width: number;
  height: number;
  tileSize: number;
  overlap: number;
  rows: number;
  cols: number;
  tiles: Tile[];
}

export function planTiles(width: number, height: number, options: TilingOptions = {}): TilePlan {
  const tileSize = options.tileSize ?? DEFAULT_TILE_SIZE;
  const overlap = options.overlap ?? DEFAULT_OVERLAP;
  if (!Number.isInteger(tileSize) || tileSize < 16) throw new RangeError(`tile size must be an integer of at least 16 pixels, not ${tileSize}`);
  if (!Number.isInteger(overlap) || overlap < 0 || overlap > tileSize / 2) {
    throw new RangeError(`overlap must be an integer from 0 to half the tile size (${tileSize / 2}), not ${overlap}`);
  }
  const xs = starts(width, tileSize, overlap);
  const ys = starts(height, tileSize, overlap);
  const tiles: Tile[] = [];
  for (const [row, y] of ys.entries()) {
    for (const [col, x] of xs.entries()) {
      tiles.push({ index: tiles.length, row, col, window: { x, y, width: Math.min(tileSize, width), height: Math.min(tileSize, height) } });
    }
  }
  return { width, height, tileSize, overlap, rows: ys.length, cols: xs.length, tiles };
}

function starts(length: number, size: number, overlap: number): number[] {
  if (length <= size) return [0];
  const stride = size - overlap;
  const positions: number[] = [];
  for (let start = 0; start + size < length; start += stride) positions.push(start);
  positions.push(length - size);
  return positions;
}

/**
 * The blending weight of a tile at each of its pixels (row-major, the tile's size): 1 in the middle, falling
 * linearly towards any edge that is inside the scene over `overlap` pixels, never quite to 0 (so a pixel only
 * one tile covers still gets its value). Edges on the scene border do not fall off: no tile continues there.
 */
export function featherWeights(tile: Window, plan: Pick<TilePlan, 'width' | 'height' | 'overlap'>): Float32Array {
  const ramp = (distance: number): number => (plan.overlap === 0 ? 1 : Math.min(1, (distance + 0.5) / plan.overlap));
  const along = (start: number, length: number, total: number): Float32Array => {
    const w = new Float32Array(length);
    for (let i = 0; i < length; i++) {
      const fromStart = start > 0 ? ramp(i) : 1;
      const fromEnd = start + length < total ? ramp(length - 1 - i) : 1;
      w[i] = Math.min(fromStart, fromEnd);
    }
    return w;
  };
  const wx = along(tile.x, tile.width, plan.width);
  const wy = along(tile.y, tile.height, plan.height);
  const weights = new Float32Array(tile.width * tile.height);
  for (let row = 0; row < tile.height; row++) {
    for (let col = 0; col < tile.width; col++) weights[row * tile.width + col] = wx[col] * wy[row];
  }
  return weights;
}

/** The part of window `a` that also lies in `b`, or null. */
export function intersect(a: Window, b: Window): Window | null {
  const x = Math.max(a.x, b.x);
  const y = Math.max(a.y, b.y);
  const right = Math.min(a.x + a.width, b.x + b.width);
  const bottom = Math.min(a.y + a.height, b.y + b.height);
  return right > x && bottom > y ? { x, y, width: right - x, height: bottom - y } : null;
}
