/**
 * Turns runs in the catalogue into work for the worker pool, and the workers' answers back into catalogue
 * state and events:
 *
 *   queued --survey--> running --tiles (any worker, any order)--> mosaicking --mosaic--> done | partial | failed
 *
 * All state lives in the catalogue (run-store.ts), so the runner can be killed at any moment: `start()`
 * recovers interrupted tiles and carries on where it stopped, never recomputing a finished tile. A tile whose
 * worker crashes is retried up to `maxAttempts` times, then marked failed; the run completes with what
 * succeeded and says so (`partial`).
 */
import { existsSync, readdirSync, rmSync, type Dirent } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ApiEvent, ResultRecord, RunStatus } from '../api.ts';
import { RUNS_FOLDER, type Project } from '../catalogue/project.ts';
import { TileResultFolder } from '../raster/tile-results.ts';
import { WorkerPool, type WorkerLaunch } from './pool.ts';
import type { FromWorker, RunContext, Task } from './protocol.ts';
import { RunStore } from './run-store.ts';

export interface RunnerOptions {
  workers?: number;
  backend?: string;
  /** Attempts per tile before it is marked failed. Default 3. */
  maxAttempts?: number;
  /** How worker processes are started (the Electron shell's own binary); default Node with tsx. */
  launch?: WorkerLaunch;
}

export class JobRunner {
  readonly store: RunStore;
  private readonly pool: WorkerPool;
  private readonly listeners = new Set<(event: ApiEvent) => void>();
  /** Runs whose survey or mosaic is with a worker, so they are not handed out twice. */
  private readonly stageBusy = new Set<number>();
  private readonly maxAttempts: number;
  private backend = 'unknown';
  private stopped = false;
  private readonly watch: NodeJS.Timeout;

  constructor(
    private readonly project: Project,
    options: RunnerOptions = {},
  ) {
    this.store = new RunStore(project.db);
    this.maxAttempts = options.maxAttempts ?? 3;
    this.pool = new WorkerPool({
      workers: options.workers,
      backend: options.backend,
      launch: options.launch,
      onMessage: (worker, message) => this.onMessage(worker, message),
      onCrash: (worker, task, reason) => this.onCrash(task, reason),
      onBroken: (reason) => {
        // Nothing can run: say so on every run that was waiting, rather than wait forever.
        for (const run of this.store.activeRuns()) {
          this.store.setStatus(run.id, 'failed', reason);
          this.emitRun(run.id);
        }
      },
    });
    // Another process (`clearsky cancel`, a second window) may cancel a run in the catalogue; notice it here.
    this.watch = setInterval(() => this.noticeCancels(), 1000);
    this.watch.unref();
  }

  /** Recovers what a previous process left running, then starts handing out work. */
  start(): void {
    this.store.recoverInterrupted((runId, index) => {
      const tile = this.store.tile(runId, index);
      const file = path.join(this.tileFolder(runId), TileResultFolder.fileName(this.rowCol(runId, tile.index)));
      return existsSync(file) ? this.project.relative(file) : null;
    });
    for (const run of this.store.activeRuns()) removeStaleTemporaries(this.runFolder(run.id));
    this.dispatch();
  }

  subscribe(listener: (event: ApiEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Call after a run row was created: it is picked up at once. */
  submitted(runId: number): void {
    this.emitRun(runId);
    this.dispatch();
  }

  cancel(runId: number): void {
    const status = this.store.status(runId);
    if (!['queued', 'running', 'mosaicking'].includes(status)) return;
    this.store.cancel(runId);
    this.stageBusy.delete(runId);
    this.pool.cancel(runId);
    this.emitRun(runId);
  }

  /** The process id of a worker computing for the run, if any. */
  workerPid(runId: number): number | undefined {
    return this.pool.pidBusyWith(runId);
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearInterval(this.watch);
    await this.pool.close();
  }

  private noticeCancels(): void {
    for (const runId of this.pool.busyRuns()) {
      if (this.store.status(runId) === 'cancelled') {
        this.stageBusy.delete(runId);
        this.pool.cancel(runId);
        this.emitRun(runId);
      }
    }
  }

  /** Hands work to every idle worker: surveys and mosaics first (they unblock a run), then tiles. */
  private dispatch(): void {
    if (this.stopped) return;
    for (let worker = this.pool.idle(); worker; worker = this.pool.idle()) {
      const task = this.nextStageTask() ?? this.nextTileTask(worker);
      if (!task) return;
      this.pool.assign(worker, task);
    }
  }

  private nextStageTask(): Task | undefined {
    for (const run of this.store.activeRuns()) {
      if (this.stageBusy.has(run.id)) continue;
      if (run.status === 'queued' || (run.status === 'running' && !this.store.hasPlan(run.id))) {
        this.stageBusy.add(run.id);
        return { kind: 'survey', run: this.context(run.id) };
      }
      if (run.status === 'running') {
        const counts = this.store.tileCounts(run.id);
        if (counts.pending === 0 && counts.running === 0 && counts.done === 0 && counts.failed > 0) {
          // A mosaic of no reconstructed tile is the input itself: no result is registered as if it were one.
          const first = this.store.tiles(run.id).find((t) => t.status === 'failed' && t.error)?.error;
          this.store.setStatus(run.id, 'failed', `all ${counts.failed} cloudy tile${counts.failed === 1 ? '' : 's'} failed, so there is no reconstruction${first ? ` (first: ${first})` : ''}`);
          this.emitRun(run.id);
          continue;
        }
        if (counts.pending === 0 && counts.running === 0) {
          this.stageBusy.add(run.id);
          this.store.setStatus(run.id, 'mosaicking');
          this.emitRun(run.id);
          const dir = this.runFolder(run.id);
          const { request } = this.store.parameters(run.id);
          const dip = request.method === 'dip';
          return {
            kind: 'mosaic',
            run: this.context(run.id),
            outputs: {
              out: path.join(dir, 'result.tif'),
              uncertainty: dip && request.seeds.length > 1 ? path.join(dir, 'uncertainty.tif') : undefined,
              maskOut: path.join(dir, 'mask.tif'),
            },
            scoreTiles: request.groundTruth ? this.store.tiles(run.id).filter((t) => t.status === 'done').map((t) => t.index) : undefined,
          };
        }
      }
    }
    return undefined;
  }

  private nextTileTask(worker: string): Task | undefined {
    const claimed = this.store.claimTile(worker);
    if (!claimed) return undefined;
    this.emitTile(claimed.runId, claimed.index);
    return { kind: 'tile', run: this.context(claimed.runId), tileIndex: claimed.index };
  }

  private onMessage(worker: string, message: FromWorker): void {
    if (message.type === 'ready') {
      this.backend = message.backend;
    } else if (message.type === 'progress') {
      const tileSeconds = message.step > 0 ? (message.elapsedSeconds / message.step) * message.steps : null;
      const etaSeconds = tileSeconds === null ? null : tileSeconds - message.elapsedSeconds;
      this.emit({ type: 'progress', runId: message.runId, tileIndex: message.tileIndex, step: message.step, steps: message.steps, loss: message.loss, etaSeconds, runEtaSeconds: this.runEta(message.runId, tileSeconds, etaSeconds) });
    } else if (message.type === 'done') {
      this.onDone(message);
    } else {
      this.onFailed(message.runId, message.kind, message.tileIndex, message.error, message.userError, message.cancelled);
    }
    void worker;
    this.dispatch();
  }

  private onDone(message: Extract<FromWorker, { type: 'done' }>): void {
    const { runId } = message;
    this.stageBusy.delete(runId);
    if (this.store.status(runId) === 'cancelled') return;
    if (message.kind === 'survey') {
      this.store.planned(runId, message.survey!.tiles, this.backend);
      void fs.mkdir(this.tileFolder(runId), { recursive: true });
      this.emitRun(runId);
    } else if (message.kind === 'tile') {
      const tile = message.tile!;
      this.store.tileDone(runId, message.tileIndex!, this.project.relative(tile.resultFile), tile.loss, tile.seconds);
      this.emitTile(runId, message.tileIndex!);
      this.emitRun(runId);
    } else {
      const counts = this.store.tileCounts(runId);
      const dir = this.runFolder(runId);
      const results: { kind: ResultRecord['kind']; file: string }[] = [{ kind: 'reconstruction', file: this.project.relative(path.join(dir, 'result.tif')) }];
      if (existsSync(path.join(dir, 'uncertainty.tif'))) results.push({ kind: 'uncertainty', file: this.project.relative(path.join(dir, 'uncertainty.tif')) });
      results.push({ kind: 'mask', file: this.project.relative(path.join(dir, 'mask.tif')) });
      const status: RunStatus = counts.failed === 0 ? 'done' : counts.done === 0 ? 'failed' : 'partial';
      const note = counts.failed > 0 ? `${counts.failed} of ${counts.done + counts.failed} cloudy tiles failed and keep the input` : null;
      this.store.finished(runId, results, status, note, message.metrics);
      this.emitRun(runId);
    }
  }

  private onFailed(runId: number, kind: Task['kind'], tileIndex: number | undefined, error: string, userError: boolean, cancelled: boolean): void {
    this.stageBusy.delete(runId);
    const status = this.store.status(runId);
    if (cancelled || status === 'cancelled') {
      if (tileIndex !== undefined) this.store.tileReleased(runId, tileIndex);
      return;
    }
    if (kind === 'tile' && tileIndex !== undefined) {
      // A user error (bad input) will not go away on a retry; anything else might (a crash, memory).
      const outcome = this.store.tileFailed(runId, tileIndex, error, userError ? 0 : this.maxAttempts);
      this.emitTile(runId, tileIndex);
      if (outcome === 'failed') this.emitRun(runId);
      return;
    }
    // A survey or mosaic that fails fails the run: its inputs or outputs are wrong, not one tile.
    this.store.setStatus(runId, 'failed', error);
    this.emitRun(runId);
  }

  private onCrash(task: Task | undefined, reason: string): void {
    if (task) this.onFailed(task.run.runId, task.kind, task.kind === 'tile' ? task.tileIndex : undefined, reason, false, false);
    // The replacement worker says 'ready' when it has loaded the engine, and dispatch runs then.
  }

  /** The run's time left: tiles not yet started at the mean time of its finished tiles (or this one's), shared by the workers. */
  private runEta(runId: number, tileSeconds: number | null, etaSeconds: number | null): number | null {
    const { mean } = this.project.db.prepare(`SELECT AVG(seconds) AS mean FROM tiles WHERE run_id = ? AND status = 'done'`).get(runId) as { mean: number | null };
    const perTile = mean ?? tileSeconds;
    if (perTile === null || etaSeconds === null) return null;
    const { pending } = this.store.tileCounts(runId);
    return etaSeconds + (pending * perTile) / this.pool.size;
  }

  private context(runId: number): RunContext {
    const { request, inputs } = this.store.parameters(runId);
    const resolve = (p: string) => this.project.resolve(p);
    return {
      runId,
      inputs: {
        ...inputs,
        target: resolve(inputs.target),
        mask: resolve(inputs.mask),
        references: inputs.references?.map(resolve),
        sar: inputs.sar && resolve(inputs.sar),
      },
      settings: { method: request.method, mode: request.mode, steps: request.steps, seeds: request.seeds, stitch: request.stitch, groundTruth: request.groundTruth },
      tiling: { tileSize: request.tileSize, overlap: request.overlap },
      backend: this.backend,
      tileFolder: this.tileFolder(runId),
    };
  }

  private runFolder(runId: number): string {
    return path.join(this.project.dir, RUNS_FOLDER, String(runId));
  }

  private tileFolder(runId: number): string {
    return path.join(this.runFolder(runId), 'tiles');
  }

  private rowCol(runId: number, index: number): { row: number; col: number } {
    // Tiles are stored row-major; their grid position follows from the distinct x positions of the plan.
    const tiles = this.store.tiles(runId);
    const xs = [...new Set(tiles.map((t) => t.window.x))].sort((a, b) => a - b);
    const tile = tiles[index];
    return { row: Math.floor(index / xs.length), col: xs.indexOf(tile.window.x) };
  }

  private emitRun(runId: number): void {
    this.emit({ type: 'run', run: this.store.record(runId) });
  }

  private emitTile(runId: number, index: number): void {
    this.emit({ type: 'tile', runId, tile: this.store.tile(runId, index) });
  }

  private emit(event: ApiEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

/**
 * A process killed while writing leaves its temporary file (`.name.<pid>-<random>.tmp`, never the result
 * itself, which appears by rename). Only one runner works a project, so at its start they are all stale.
 */
function removeStaleTemporaries(folder: string): void {
  for (const entry of readdirSafe(folder)) {
    const file = path.join(folder, entry.name);
    if (entry.isDirectory()) removeStaleTemporaries(file);
    else if (entry.name.startsWith('.') && entry.name.endsWith('.tmp')) rmSync(file, { force: true });
  }
}

function readdirSafe(folder: string): Dirent[] {
  try {
    return readdirSync(folder, { withFileTypes: true });
  } catch {
    return [];
  }
}
