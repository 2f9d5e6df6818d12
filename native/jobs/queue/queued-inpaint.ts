/**
 * `clearsky inpaint --queue URL`: the cloudy tiles of one scene sent to `clearsky worker` processes through the
 * queue instead of being reconstructed in this process. Each tile's sources are read as it is submitted and at
 * most `inFlight` tiles are on the queue at once, so Redis (and this process) hold a bounded number of tiles
 * whatever the scene's size; each result is written into the run's tile folder as it comes back, in whatever
 * order the workers finish, and settled (removed from Redis) once written. The caller mosaics as usual.
 */
import { randomBytes } from 'node:crypto';
import { InputError } from '../../errors.ts';
import type { FitProgress } from '../../dip/optimise.ts';
import { readTileSources, type ReconstructionSettings, type RunInputs } from '../../reconstruction/pipeline.ts';
import type { TileResultFolder } from '../../raster/tiles/tile-results.ts';
import type { Tile } from '../../raster/tiles/tiling.ts';
import type { TileQuality } from '../../api/contract.ts';
import type { QueuedOutcome, TileQueueClient } from './contract.ts';

export interface QueuedTilesOptions {
  queue: TileQueueClient;
  inputs: RunInputs;
  tiles: Tile[];
  settings: ReconstructionSettings;
  backend: string;
  folder: TileResultFolder;
  /** Tries per tile (a worker that dies counts as one). Default 3. */
  attempts?: number;
  /** Tiles on the queue at once. Default 4. */
  inFlight?: number;
  signal?: AbortSignal;
  onProgress?: (tile: Tile, progress: FitProgress) => void;
  onTileDone?: (done: number, total: number) => void;
  /** A tile whose data was refused (bad input in its window, or by its worker's engine): it fails alone. */
  onTileFailed?: (tile: Tile, reason: string) => void;
}

/** What the workers said of the tiles: for the run's summary. */
export interface QueuedTilesSummary {
  /** The backends the workers used, and the workers, as they reported them. */
  backends: string[];
  workers: string[];
  /** The workers' time on each tile, and the last tile's final loss. */
  seconds: number[];
  finalLoss: number | null;
  /** Each tile's outcome as its worker reported it, in the order they came back (for the quality file). */
  tiles: { index: number; loss: number | null; seconds: number; quality?: TileQuality }[];
  /** The tiles refused for their data (not sent, or refused by the worker): they keep the input. */
  failed: { index: number; reason: string }[];
}

/**
 * Reconstructs `tiles` on the queue into `folder`. A tile refused for its data (an InputError reading it, or a
 * worker's user error) is listed in `failed` and the others go on, as in this process; any other failure
 * rejects with that tile (the rest are cancelled).
 */
export async function reconstructOnQueue(options: QueuedTilesOptions): Promise<QueuedTilesSummary> {
  const { queue, tiles, signal } = options;
  const runKey = `inpaint:${randomBytes(8).toString('hex')}`;
  const limit = Math.max(1, options.inFlight ?? 4);
  const byIndex = new Map(tiles.map((tile) => [tile.index, tile]));
  const summary: QueuedTilesSummary = { backends: [], workers: [], seconds: [], finalLoss: null, tiles: [], failed: [] };
  const { engine: _engine, ...settings } = options.settings;
  void _engine; // engine internals stay with each worker
  let next = 0;
  let done = 0;
  let onQueue = 0;

  return new Promise<QueuedTilesSummary>((resolve, reject) => {
    let finished = false;
    const finish = (error?: Error) => {
      if (finished) return;
      finished = true;
      stopProgress();
      stopOutcome();
      signal?.removeEventListener('abort', abort);
      if (error) {
        // The other tiles are of no use now: they leave the queue (and stop on their workers).
        void queue.cancelRun(runKey).catch(() => undefined).finally(() => reject(error));
      } else resolve(summary);
    };
    const abort = () => finish(Object.assign(new Error('cancelled'), { name: 'AbortError' }));
    signal?.addEventListener('abort', abort);
    if (signal?.aborted) return abort();

    const stopProgress = queue.onProgress((key, index, progress) => {
      const tile = byIndex.get(index);
      if (key === runKey && tile) options.onProgress?.(tile, progress);
    });
    const stopOutcome = queue.onOutcome((key, index, outcome) => {
      if (key !== runKey || !byIndex.has(index) || finished) return;
      void settle(index, outcome).then(
        () => {
          if (done === tiles.length) finish();
          else submitMore();
        },
        (error: unknown) => finish(error as Error),
      );
    });

    const failTile = (tile: Tile, reason: string) => {
      done++;
      summary.failed.push({ index: tile.index, reason });
      options.onTileFailed?.(tile, reason);
      options.onTileDone?.(done, tiles.length);
    };
    const settle = async (index: number, outcome: QueuedOutcome) => {
      onQueue--;
      if (outcome.type === 'failed') {
        await queue.settle(runKey, index);
        const tile = byIndex.get(index)!;
        if (outcome.userError && !outcome.cancelled) return failTile(tile, outcome.error);
        const where = `tile ${tiles.indexOf(tile) + 1}/${tiles.length} (row ${tile.row + 1}, col ${tile.col + 1})`;
        throw new Error(`${where} failed on the queue: ${outcome.error}`);
      }
      await options.folder.write(byIndex.get(index)!, outcome.image, outcome.bandNames);
      await queue.settle(runKey, index);
      done++;
      summary.seconds.push(outcome.seconds);
      summary.finalLoss = outcome.loss;
      summary.tiles.push({ index, loss: outcome.loss, seconds: outcome.seconds, quality: outcome.quality });
      if (!summary.backends.includes(outcome.backend)) summary.backends.push(outcome.backend);
      if (!summary.workers.includes(outcome.worker)) summary.workers.push(outcome.worker);
      options.onTileDone?.(done, tiles.length);
    };

    // One submission at a time: each reads its tile's sources just before it goes.
    let submitting = false;
    const submitMore = () => {
      if (submitting || finished) return;
      submitting = true;
      void (async () => {
        while (!finished && onQueue < limit && next < tiles.length) {
          const tile = tiles[next++];
          const sources = await readTileSources(options.inputs, tile).catch((error: unknown) => {
            // Bad data in this tile's window (NaN values…): the tile fails here, the others are sent.
            if (error instanceof InputError) return error;
            throw error;
          });
          if (sources instanceof InputError) {
            failTile(tile, sources.message);
            if (done === tiles.length) finish();
            continue;
          }
          onQueue++;
          await queue.submit({ runKey, tileIndex: tile.index, settings, sources, backend: options.backend, attempts: options.attempts ?? 3 });
        }
      })()
        .catch((error: unknown) => finish(new Error(`could not send a tile to the queue ${queue.display}: ${(error as Error).message}`)))
        .finally(() => {
          submitting = false;
          // An outcome may have come while this loop was awaiting: go on from there.
          if (!finished && onQueue < limit && next < tiles.length) submitMore();
        });
    };
    if (tiles.length === 0) return finish();
    submitMore();
  });
}
