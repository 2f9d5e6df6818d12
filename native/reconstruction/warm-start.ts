/**
 * Warm start (beyond the paper, off by default): a tile's network starts from the weights of a tile of the same
 * run that is already finished, preferably an adjacent one, instead of from random ones.
 *
 * Weights travel as a file beside the tile's result (`tile-rR-cC.weights.bin` in the run's tile folder), written
 * atomically before the result: a finished tile always has its weights unless someone removed them, and a
 * tile whose chosen neighbour's weights are gone (a resumed run, a cleaned folder) simply starts cold. Which
 * tile a tile started from depends on which were finished when it began (with several workers, on timing), so
 * it is recorded in the tile's result (CLEARSKY_WARM_START) rather than recomputed.
 */
import { readdirSync, rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { NetworkWeights } from '../dip/network.ts';
import { InputError } from '../errors.ts';
import { writeFileAtomically } from '../raster/tiff/atomic-file.ts';
import type { Tile } from '../raster/tiles/tiling.ts';

/** The metadata item of a tile's result that names the tile its network started from ('none': a cold start). */
export const WARM_START_ITEM = 'CLEARSKY_WARM_START';

/** The file of a tile's final weights inside the run's tile folder. */
export function weightsFileName(tile: Pick<Tile, 'row' | 'col'>): string {
  return `tile-r${tile.row}-c${tile.col}.weights.bin`;
}

/** How a tile is named in provenance: its file-name stem and its index. */
export function tileLabel(tile: Pick<Tile, 'row' | 'col' | 'index'>): string {
  return `tile-r${tile.row}-c${tile.col} (index ${tile.index})`;
}

/**
 * The finished tile to start `tile` from: an edge neighbour first (left, above, right, below), then a corner
 * one, then the nearest on the grid (ties: the lowest index); undefined when no tile is finished.
 */
export function warmStartDonor(plan: { tiles: readonly Pick<Tile, 'row' | 'col' | 'index'>[] }, tile: Pick<Tile, 'row' | 'col' | 'index'>, finished: (index: number) => boolean): number | undefined {
  let best: { index: number; rank: number } | undefined;
  for (const other of plan.tiles) {
    if (other.index === tile.index || !finished(other.index)) continue;
    const dr = Math.abs(other.row - tile.row);
    const dc = Math.abs(other.col - tile.col);
    // Edge neighbours rank 1–4 in a fixed order, corners 5, then by squared grid distance.
    const edge = dr + dc === 1 ? (other.col < tile.col ? 1 : other.row < tile.row ? 2 : other.col > tile.col ? 3 : 4) : 0;
    const rank = edge || (dr === 1 && dc === 1 ? 5 : 5 + dr * dr + dc * dc);
    if (!best || rank < best.rank) best = { index: other.index, rank };
  }
  return best?.index;
}

/** One network's weights per seed, in seed order. */
export type SeedWeights = NetworkWeights[];

const MAGIC = 'clearsky-weights';

/**
 * Writes the weights: a little-endian u32 header length, a JSON header (format, each network's tensor shapes),
 * then every tensor's float32 values in order.
 */
export async function writeWeightsFile(file: string, weights: SeedWeights): Promise<number> {
  const header = Buffer.from(JSON.stringify({ format: MAGIC, version: 1, networks: weights.map((w) => w.shapes) }));
  const parts = [Buffer.alloc(4), header, ...weights.flatMap((w) => w.values.map((v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength)))];
  parts[0].writeUInt32LE(header.length, 0);
  const bytes = parts.reduce((n, p) => n + p.length, 0);
  await writeFileAtomically(file, async (handle) => {
    for (const part of parts) await handle.write(part);
  });
  return bytes;
}

/** Reads weights written by writeWeightsFile; undefined when the file is not there. A damaged file is refused. */
export async function readWeightsFile(file: string): Promise<SeedWeights | undefined> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const damaged = (problem: string) => new InputError(file, `is not a Clearsky weights file: ${problem}`);
  if (bytes.length < 4) throw damaged('too short');
  const headerLength = bytes.readUInt32LE(0);
  if (4 + headerLength > bytes.length) throw damaged('its header runs past the end');
  let header: { format?: unknown; networks?: unknown };
  try {
    header = JSON.parse(bytes.subarray(4, 4 + headerLength).toString('utf8')) as typeof header;
  } catch {
    throw damaged('its header is not JSON');
  }
  const networks = header.networks;
  if (header.format !== MAGIC || !Array.isArray(networks) || !networks.every((n) => Array.isArray(n) && n.every((s) => Array.isArray(s) && s.every((d) => Number.isInteger(d) && d > 0)))) {
    throw damaged('its header does not describe networks');
  }
  let at = 4 + headerLength;
  const weights = (networks as number[][][]).map((shapes) => ({
    shapes,
    values: shapes.map((shape) => {
      const count = shape.reduce((n, d) => n * d, 1);
      if (at + count * 4 > bytes.length) throw damaged('it ends before its last tensor');
      // A copy: the tensor must be aligned, and must not keep the whole file alive.
      const values = new Float32Array(count);
      Buffer.from(values.buffer).set(bytes.subarray(at, at + count * 4));
      at += count * 4;
      return values;
    }),
  }));
  if (at !== bytes.length) throw damaged(`${bytes.length - at} bytes after its last tensor`);
  return weights;
}

/** The weights file of a tile in a run's tile folder. */
export function weightsPath(tileFolder: string, tile: Pick<Tile, 'row' | 'col'>): string {
  return path.join(tileFolder, weightsFileName(tile));
}

/**
 * Removes a run's weights files once its mosaic is written: ~10 MB a tile and seed, needed only while tiles
 * remain to be computed.
 */
export function removeWeightsFiles(tileFolder: string): void {
  let names: string[];
  try {
    names = readdirSync(tileFolder);
  } catch {
    return;
  }
  for (const name of names) if (name.endsWith('.weights.bin')) rmSync(path.join(tileFolder, name), { force: true });
}
