/**
 * The job runner's tiles of runs sent to the queue (RunRequest.queue): instead of the local worker pool, each
 * pending tile of such a run is claimed in the catalogue exactly as a local worker would claim it, its sources
 * are read here and submitted to the TileQueue, and its outcome is written and recorded here, like a local
 * tile's: the result file atomically (TileResultFolder), then `RunStore.tileDone` (owner and status checked in
 * the same statement), and only then the job is settled (removed from Redis). Survey and mosaic stay with the
 * local pool.
 *
 * At most `inFlight` tiles are on the queue at once (all runs together), so Redis holds a bounded number of
 * payloads however large the scene. A tile on the queue is `running` in the catalogue, so an owner that is
 * killed leaves it to `recover` (pending again) and the next owner submits it again under the same job id:
 * the queue answers with the job already waiting, running or finished, so nothing is computed twice, and a
 * tile already recorded is never recorded again (tileDone only records a running tile).
 */
import path from 'node:path';
import type { Project } from '../../catalogue/project.ts';
import { openRunInputs, planRun, readTileSources, type RunInputs } from '../../reconstruction/pipeline.ts';
import { TileResultFolder } from '../../raster/tiles/tile-results.ts';
import type { TilePlan } from '../../raster/tiles/tiling.ts';
import type { RunContext } from '../protocol.ts';
import type { RunStore } from '../run-store.ts';
import type { QueuedOutcome, QueuedProgress, TileQueueClient } from './contract.ts';
import { TileQueue } from './tile-queue.ts';
import { projectQueueUrl, projectRunKey, redactQueueUrl } from './project-queue.ts';

/** How a runner reaches a queue: the default (tile-queue.ts) connects to Redis; tests may give their own. */
export type QueueConnect = (url: string) => TileQueueClient | Promise<TileQueueClient>;

/** The default queue: BullMQ on Redis (tile-queue.ts), connected and checked before the first tile goes. */
export const connectTileQueue: QueueConnect = (url) => TileQueue.open(url);

export interface QueuedRunsOptions {
  project: Project;
  store: RunStore;
  owner: string;
  /** Attempts per tile on the queue (a worker that dies counts as one). */
  attempts: number;
  /** Tiles on the queue at once, all runs together. */
  inFlight: number;
  connect: QueueConnect;
  context(runId: number): RunContext;
  tileFolder(runId: number): string;
  emitTile(runId: number, index: number): void;
  emitRun(runId: number): void;
  progress(runId: number, tileIndex: number, progress: QueuedProgress, parallel: number): void;
  /** After a tile's outcome was recorded: the run may be ready to mosaic. */
  changed(): void;
}

interface OpenRun {
  inputs: RunInputs;
  plan: TilePlan;
  folder: TileResultFolder;
}

export class QueuedRuns {
  private client: { url: string; queue: Promise<TileQueueClient> } | undefined;
  /** Tiles on the queue: `<runId>:<index>` → runKey. */
  private readonly inFlight = new Map<string, { runId: number; index: number; runKey: string }>();
  private readonly open = new Map<number, Promise<OpenRun>>();
  private pumping = false;
  private again = false;
  private closed = false;
  /** Reported once per cause, not every second. */
  private lastError: string | undefined;

  constructor(private readonly options: QueuedRunsOptions) {}

  /** Whether the run's tiles go to the queue. */
  isQueued(runId: number): boolean {
    return this.options.store.parameters(runId).request.queue === true;
  }

  /** How many tiles of the run are on the queue now. */
  onQueue(runId: number): number {
    let n = 0;
    for (const t of this.inFlight.values()) if (t.runId === runId) n++;
    return n;
  }

  /** Sends pending tiles of this owner's queued runs until `inFlight` are on the queue. */
  pump(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    void this.fill()
      .catch((error: unknown) => this.report(`the queue: ${(error as Error).message}`))
      .finally(() => {
        this.pumping = false;
        if (this.again) {
          this.again = false;
          this.pump();
        }
      });
  }

  /**
   * A run cancelled here or elsewhere: its waiting tiles leave the queue, its running ones stop on their workers.
   * Its tiles stay followed until their (cancelled) outcomes come, so that their jobs are settled too.
   */
  async cancel(runId: number): Promise<void> {
    if (!this.client) return;
    const queue = await this.client.queue;
    await queue.cancelRun(projectRunKey(this.options.project.db, runId));
  }

  /** A run this owner no longer works (taken over, finished): its tiles on the queue are no longer followed here. */
  forget(runId: number): void {
    for (const [key, t] of this.inFlight) if (t.runId === runId) this.inFlight.delete(key);
    const open = this.open.get(runId);
    this.open.delete(runId);
    void open?.then((o) => o.inputs.close()).catch(() => undefined);
  }

  /** Stops following the queue. Tiles on it stay there: `clearsky resume` (or the next start) picks them up. */
  async close(): Promise<void> {
    this.closed = true;
    for (const runId of [...this.open.keys()]) this.forget(runId);
    this.inFlight.clear();
    const client = this.client;
    this.client = undefined;
    if (client) await (await client.queue.catch(() => undefined))?.close();
  }

  private async fill(): Promise<void> {
    const { store, owner } = this.options;
    while (!this.closed && this.inFlight.size < this.options.inFlight) {
      const claimed = store.claimTile('queue', owner, 'queued');
      if (!claimed) return;
      const { runId, index } = claimed;
      this.options.emitTile(runId, index);
      const url = projectQueueUrl(this.options.project.db);
      if (url === null) {
        this.failTile(runId, index, 'the run is to be sent to a queue, but the project has none set (clearsky run … --queue URL, or the app’s project settings)', true);
        continue;
      }
      const runKey = projectRunKey(this.options.project.db, runId);
      const key = `${runId}:${index}`;
      try {
        const queue = await this.queue(url);
        const run = await this.openRun(runId);
        const tile = run.plan.tiles[index];
        const context = this.options.context(runId);
        const { engine: _engine, ...settings } = context.settings;
        void _engine; // engine internals stay with each worker
        const sources = await readTileSources(run.inputs, tile);
        // Followed before it is submitted: a job already finished answers at once.
        this.inFlight.set(key, { runId, index, runKey });
        await queue.submit({ runKey, tileIndex: index, settings, sources, backend: store.parameters(runId).request.backend, attempts: this.options.attempts });
        this.lastError = undefined;
        // Cancelled while it was being read and sent: off the queue again (its outcome, when it comes, settles
        // the job); taken over by another owner: that one follows it now.
        if (store.status(runId) === 'cancelled') await queue.cancelRun(runKey);
        else if (!store.owns(runId, owner)) this.inFlight.delete(key);
      } catch (error) {
        this.inFlight.delete(key);
        const message = (error as Error).message?.split('\n')[0] ?? String(error);
        this.failTile(runId, index, `could not send the tile to the queue ${redactQueueUrl(url)}: ${message}`, false);
        this.report(`run ${runId} tile ${index}: could not send it to the queue ${redactQueueUrl(url)}: ${message}`);
        return; // tried again at the next beat, not in a tight loop against a queue that is down
      }
    }
  }

  /** One attempt of the tile failed here (not on a worker): pending again while attempts remain. */
  private failTile(runId: number, index: number, error: string, final: boolean): void {
    const outcome = this.options.store.tileFailed(runId, index, error, final ? 0 : this.options.attempts, this.options.owner);
    if (outcome === null) return;
    this.options.emitTile(runId, index);
    if (outcome === 'failed') {
      this.options.emitRun(runId);
      this.options.changed();
    }
  }

  private queue(url: string): Promise<TileQueueClient> {
    if (this.client?.url !== url) {
      const previous = this.client;
      if (previous) void previous.queue.then((q) => q.close()).catch(() => undefined);
      const queue = Promise.resolve(this.options.connect(url)).then((q) => {
        q.onProgress((runKey, tileIndex, progress) => this.onProgress(runKey, tileIndex, progress));
        q.onOutcome((runKey, tileIndex, outcome) => void this.onOutcome(q, runKey, tileIndex, outcome).catch((error: unknown) => this.report(`run ${runKey} tile ${tileIndex}: ${(error as Error).message}`)));
        return q;
      });
      // A queue that cannot be reached is tried again at the next tile, not kept broken.
      queue.catch(() => {
        if (this.client?.queue === queue) this.client = undefined;
      });
      this.client = { url, queue };
    }
    return this.client.queue;
  }

  private openRun(runId: number): Promise<OpenRun> {
    let open = this.open.get(runId);
    if (!open) {
      const context = this.options.context(runId);
      open = (async () => {
        const inputs = await openRunInputs(context.inputs);
        const plan = planRun(inputs, context.tiling);
        return { inputs, plan, folder: await TileResultFolder.open(this.options.tileFolder(runId), plan, inputs.target.info, inputs.area) };
      })();
      open.catch(() => this.open.delete(runId));
      this.open.set(runId, open);
    }
    return open;
  }

  private onProgress(runKey: string, tileIndex: number, progress: QueuedProgress): void {
    const tile = this.find(runKey, tileIndex);
    if (tile) this.options.progress(tile.runId, tileIndex, progress, Math.max(1, this.onQueue(tile.runId)));
  }

  private find(runKey: string, tileIndex: number): { runId: number; index: number; runKey: string } | undefined {
    for (const t of this.inFlight.values()) if (t.runKey === runKey && t.index === tileIndex) return t;
    return undefined;
  }

  private async onOutcome(queue: TileQueueClient, runKey: string, tileIndex: number, outcome: QueuedOutcome): Promise<void> {
    const tile = this.find(runKey, tileIndex);
    if (!tile) return; // another owner's tile, or a run this owner let go
    const { store, owner } = this.options;
    const { runId, index } = tile;
    try {
      const status = store.status(runId);
      const recordable = store.owns(runId, owner) && store.tile(runId, index).status === 'running';
      if (outcome.type === 'done') {
        if (recordable) {
          const run = await this.openRun(runId);
          await run.folder.write(run.plan.tiles[index], outcome.image, outcome.bandNames);
          const resultFile = this.options.project.relative(path.join(run.folder.folder, TileResultFolder.fileName(run.plan.tiles[index])));
          if (store.tileDone(runId, index, resultFile, outcome.loss, outcome.seconds, owner, outcome.quality)) {
            store.setBackend(runId, `${outcome.backend} (queue ${queue.display})`);
            this.options.emitTile(runId, index);
            this.options.emitRun(runId);
          }
        }
      } else if (outcome.cancelled || status === 'cancelled') {
        store.tileReleased(runId, index, owner);
      } else if (recordable) {
        // The queue already tried it `attempts` times (or the input is bad): no further local attempt.
        this.failTile(runId, index, outcome.error, true);
      }
    } finally {
      this.inFlight.delete(`${runId}:${index}`);
      // A cancelled run's last tile back: its inputs are closed.
      if (!store.owns(runId, owner) && this.onQueue(runId) === 0) this.forget(runId);
    }
    // Recorded (or not ours to record): the job and its payload leave Redis.
    await queue.settle(runKey, tileIndex);
    this.options.changed();
    this.pump();
  }

  private report(message: string): void {
    if (message === this.lastError) return;
    this.lastError = message;
    console.error(`clearsky: ${message}`);
  }
}
