/**
 * Scale-out over BullMQ on Redis: what the process that owns a run (the job runner, `clearsky inpaint --queue`)
 * and the `clearsky worker` processes on other machines agree on. The owner reads each cloudy tile's sources,
 * sends them with the run's settings as one queue job, and gets the tile's reconstruction back through the
 * queue; it writes and records the result itself, exactly like a local tile. Workers need no shared disk and
 * know nothing of projects or catalogues.
 *
 *   owner ──TileQueue.submit──▶ Redis (BullMQ queue "clearsky-tiles") ──▶ clearsky worker ──▶ local worker process
 *         ◀──progress / outcome (QueueEvents, and polling)──◀── job progress / return value
 *
 * A job's id is stable (tile-payload.ts tileJobId: the runKey percent-encoded, `#`, the tile index; BullMQ
 * refuses most ids with a `:`), so an owner that restarts and submits a tile again finds the
 * job already waiting, running or finished: nothing is computed twice when it can be avoided. The owner removes
 * a finished job (`settle`) only after it recorded the result, so a result that arrived while the owner was
 * gone is still there when it resumes.
 */
import type { TileQuality } from '../../api/contract.ts';
import type { Image } from '../../dip/image.ts';
import type { ReconstructionSettings, TileSources } from '../../reconstruction/pipeline.ts';

/** The queue's name in Redis (one per Redis database; several projects and owners share it). */
export const TILE_QUEUE_NAME = 'clearsky-tiles';

/** How a tile of a run is reconstructed: the run's settings as the worker needs them (no engine internals). */
export type QueuedSettings = Omit<ReconstructionSettings, 'engine'>;

/** One tile for the queue, as the owner hands it to `TileQueue.submit`. */
export interface QueuedTile {
  /**
   * Names the run across processes and machines, stable across the owner's restarts: a project run's is
   * `<project id>:<run id>`, a `clearsky inpaint`'s a random one. Cancel addresses it.
   */
  runKey: string;
  tileIndex: number;
  settings: QueuedSettings;
  sources: TileSources;
  /** Backend choice for the worker ('auto' lets each worker pick its best). */
  backend: string;
  /** Tries before the tile fails: a worker that dies or stalls counts as one. */
  attempts: number;
}

/** Step progress of a queued tile, as the worker reports it about once a second. */
export interface QueuedProgress {
  step: number;
  steps: number;
  loss: number;
  elapsedSeconds: number;
}

/** How a queued tile ended. */
export type QueuedOutcome =
  | {
      type: 'done';
      /** The tile's reconstruction in digital numbers (then the spread bands with several seeds), as reconstructTile returns it. */
      image: Image;
      bandNames: string[];
      loss: number | null;
      /** The worker's time on the tile. */
      seconds: number;
      /** The backend the worker used, and which worker (host and pid). */
      backend: string;
      worker: string;
      /** The loss curve per seed and the seeds' spread; absent from a worker older than this field. */
      quality?: TileQuality;
    }
  | { type: 'failed'; error: string; userError: boolean; cancelled: boolean };

/** The owner's side of the queue (native/jobs/queue/tile-queue.ts implements it). */
export interface TileQueueClient {
  /** The queue's URL with any password replaced by `***`: the only form ever logged or shown. */
  readonly display: string;
  /**
   * Puts the tile on the queue, unless a job with its id is already there (waiting, running, or finished and not
   * yet settled): then its outcome comes as if just submitted. Resolves once Redis holds the job.
   */
  submit(tile: QueuedTile): Promise<void>;
  /** Follows the tiles' step progress (all runs; filter by runKey). */
  onProgress(listener: (runKey: string, tileIndex: number, progress: QueuedProgress) => void): () => void;
  /** Each submitted tile's outcome, once per submit (from QueueEvents, or found by polling after a reconnect). */
  onOutcome(listener: (runKey: string, tileIndex: number, outcome: QueuedOutcome) => void): () => void;
  /** Removes a finished tile's job and its result from Redis: call after the result was written and recorded. */
  settle(runKey: string, tileIndex: number): Promise<void>;
  /** Stops a run's tiles: waiting ones are removed, running ones are aborted by their workers within seconds. */
  cancelRun(runKey: string): Promise<void>;
  close(): Promise<void>;
}
