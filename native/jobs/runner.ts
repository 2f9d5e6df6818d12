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
 *
 * Several processes may work one project, each with its runner: a runner works only the runs whose lease it
 * holds (lease.ts). It takes the runs it creates, and free or stale ones (at start, and each second while a
 * worker is idle); it recovers a run's interrupted tiles and deletes its temporary files only after taking it,
 * never a live owner's. Every second it refreshes its heartbeat, and stops work on a run cancelled or taken
 * over elsewhere; on close it gives its unfinished runs back. Runs other processes work are watched: their
 * status and tile counts come as `run` events within a second (step progress stays in the owner's process).
 */
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { isActiveRun, type ApiEvent, type ResultRecord, type RunStatus } from '../api/contract.ts';
import { RUNS_FOLDER, type Project } from '../catalogue/project.ts';
import { sweepStaleTemporaries } from '../raster/tiff/temporaries.ts';
import { TileResultFolder } from '../raster/tiles/tile-results.ts';
import { removeWeightsFiles, warmStartDonor, weightsPath } from '../reconstruction/warm-start.ts';
import { HEARTBEAT_MS, newOwnerId } from './lease.ts';
import { WorkerPool, type WorkerLaunch } from './pool.ts';
import type { FromWorker, RunContext, Task } from './protocol.ts';
import { NOT_RECONSTRUCTED, RunStore } from './run-store.ts';
import { connectTileQueue, QueuedRuns, type QueueConnect } from './queue/queued-runs.ts';
import type { QueuedProgress } from './queue/contract.ts';

export interface RunnerOptions {
  workers?: number;
  backend?: string;
  /** Attempts per tile before it is marked failed. Default 3. */
  maxAttempts?: number;
  /** How worker processes are started (the Electron shell's own binary); default Node with tsx. */
  launch?: WorkerLaunch;
  /** Emit `run` events for runs other processes work (polled each second). Default true; the command line says no. */
  watchOthers?: boolean;
  /** Runs sent to a queue (RunRequest.queue): how to reach it (default: BullMQ on Redis) and how many tiles may be on it at once (default 8). */
  queue?: { connect?: QueueConnect; inFlight?: number };
}

export class JobRunner {
  readonly store: RunStore;
  /** This runner's id as the owner of the runs it works (host:pid:random). */
  readonly owner = newOwnerId();
  /** Runs this runner holds and has not yet seen end: the ones to stop if they are cancelled or taken over. */
  private readonly mine = new Set<number>();
  /** Runs other processes work, with what was last said of them (status and tile counts). */
  private readonly watched = new Map<number, string>();
  /** The newest run the watch has looked at, and the runs created here (their events are this runner's own). */
  private newestWatched: number;
  private readonly createdHere = new Set<number>();
  private readonly watchOthers: boolean;
  private readonly pool: WorkerPool;
  private readonly listeners = new Set<(event: ApiEvent) => void>();
  /** Runs whose survey or mosaic is with a worker, so they are not handed out twice. */
  private readonly stageBusy = new Set<number>();
  private readonly maxAttempts: number;
  private backend = 'unknown';
  private stopped = false;
  private readonly watch: NodeJS.Timeout;
  /** The tiles of runs sent to a queue (queue/queued-runs.ts): claimed and recorded here, computed elsewhere. */
  private readonly queued: QueuedRuns;

  constructor(
    private readonly project: Project,
    options: RunnerOptions = {},
  ) {
    this.store = new RunStore(project.db);
    this.maxAttempts = options.maxAttempts ?? 3;
    this.watchOthers = options.watchOthers ?? true;
    this.newestWatched = this.store.runsAfter(0).at(-1)?.id ?? 0;
    this.pool = new WorkerPool({
      workers: options.workers,
      backend: options.backend,
      launch: options.launch,
      onMessage: (worker, message) => this.onMessage(worker, message),
      onCrash: (worker, task, reason) => this.onCrash(task, reason),
      onBroken: (reason) => {
        // Nothing can run: say so on every run that was waiting, rather than wait forever.
        for (const run of this.store.activeRuns(this.owner)) {
          this.store.setStatus(run.id, 'failed', reason, this.owner);
          this.mine.delete(run.id);
          this.emitRun(run.id);
        }
      },
    });
    this.queued = new QueuedRuns({
      project,
      store: this.store,
      owner: this.owner,
      attempts: this.maxAttempts,
      inFlight: options.queue?.inFlight ?? 8,
      connect: options.queue?.connect ?? connectTileQueue,
      context: (runId) => this.context(runId),
      tileFolder: (runId) => this.tileFolder(runId),
      emitTile: (runId, index) => this.emitTile(runId, index),
      emitRun: (runId) => this.emitRun(runId),
      progress: (runId, tileIndex, progress, parallel) => this.emitProgress(runId, tileIndex, progress, parallel),
      changed: () => this.dispatch(),
    });
    // Another process (`clearsky cancel`, a second window) may cancel or take over a run; notice it here.
    this.watch = setInterval(() => this.tick(), HEARTBEAT_MS);
    this.watch.unref();
  }

  /** Takes the runs that are free or whose owner is gone, recovers what was left running, and starts handing out work. */
  start(): void {
    this.claim();
    this.dispatch();
  }

  /** The unfinished runs this runner works now. */
  owned(): number[] {
    return [...this.mine];
  }

  subscribe(listener: (event: ApiEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Call after a run row was created (with this runner as its owner, or free): it is picked up at once. */
  submitted(runId: number): void {
    this.createdHere.add(runId);
    if (this.store.owns(runId, this.owner)) this.mine.add(runId);
    else this.claim(runId);
    this.emitRun(runId);
    this.dispatch();
  }

  cancel(runId: number): void {
    const status = this.store.status(runId);
    if (!isActiveRun(status)) return;
    this.store.cancel(runId);
    this.stageBusy.delete(runId);
    this.mine.delete(runId);
    this.pool.cancel(runId);
    if (this.queued.isQueued(runId)) this.queued.cancel(runId).catch((error: unknown) => console.error(`clearsky: run ${runId}: could not cancel its tiles on the queue: ${(error as Error).message}`));
    this.emitRun(runId);
  }

  /** The process id of a worker computing for the run, if any. */
  workerPid(runId: number): number | undefined {
    return this.pool.pidBusyWith(runId);
  }

  /** Stops the workers, then gives back the runs still unfinished (their interrupted tiles pending again): any process may take them. */
  async close(): Promise<void> {
    this.stopped = true;
    clearInterval(this.watch);
    // Tiles on the queue stay there: whoever resumes the run finds them waiting, running or done.
    await this.queued.close();
    await this.pool.close();
    try {
      for (const run of this.store.activeRuns(this.owner)) this.store.recover(run.id, this.owner, this.resultLookup, true);
    } catch (error) {
      // The catalogue held by another process past the busy timeout: the lease stays, and is stale once this process has exited.
      if (!(error as { code?: string }).code?.startsWith('SQLITE_BUSY')) throw error;
    }
    this.mine.clear();
  }

  /**
   * Takes the free and stale runs (or only `runId`), and makes each resumable here: tiles the previous owner
   * left running are recovered, and its temporary files (a killed writer's, never a whole result) deleted.
   */
  private claim(runId?: number): void {
    for (const { id } of this.store.claimRuns(this.owner, runId)) {
      if (!this.store.recover(id, this.owner, this.resultLookup)) continue;
      // A process killed while writing leaves its temporary file, never the result itself (which appears by
      // rename); those of processes that are gone are swept (an orphaned worker still alive keeps its own).
      sweepStaleTemporaries(this.runFolder(id), { recursive: true });
      this.mine.add(id);
      this.emitRun(id);
    }
  }

  private readonly resultLookup = (runId: number, index: number): string | null => {
    const file = path.join(this.tileFolder(runId), TileResultFolder.fileName(this.rowCol(runId, index)));
    return existsSync(file) ? this.project.relative(file) : null;
  };

  /** Each second: the heartbeat, runs lost or cancelled elsewhere, free runs for idle workers, other processes' runs. */
  private tick(): void {
    if (this.stopped) return;
    try {
      const working = new Set([...this.mine, ...this.pool.busyRuns()]);
      // A runner with nothing to work does not write to the catalogue each second.
      const held = new Set(working.size > 0 ? this.store.heartbeat(this.owner) : []);
      for (const runId of working) {
        if (held.has(runId)) continue;
        // Cancelled (`clearsky cancel`, another window) or taken over by another process: stop working it.
        this.mine.delete(runId);
        this.stageBusy.delete(runId);
        this.pool.cancel(runId);
        if (this.store.status(runId) === 'cancelled') {
          if (this.queued.isQueued(runId)) this.queued.cancel(runId).catch((error: unknown) => console.error(`clearsky: run ${runId}: could not cancel its tiles on the queue: ${(error as Error).message}`));
        } else this.queued.forget(runId);
        this.emitRun(runId);
      }
      if (this.pool.idle()) {
        this.claim();
        this.dispatch();
      } else this.queued.pump();
      if (this.watchOthers && this.listeners.size > 0) this.watchOtherRuns();
    } catch (error) {
      // A catalogue locked by another process past the busy timeout: try again next beat.
      if (!(error as { code?: string }).code?.startsWith('SQLITE_BUSY')) throw error;
    }
  }

  /** A `run` event when a run another process works changes status or tile counts, and when it ends. */
  private watchOtherRuns(): void {
    const active = new Set<number>();
    for (const run of this.store.activeRuns()) {
      if (this.mine.has(run.id)) continue;
      active.add(run.id);
      const record = this.store.record(run.id);
      const seen = JSON.stringify([record.status, record.tiles, record.lease?.owner ?? null]);
      if (this.watched.get(run.id) === seen) continue;
      this.watched.set(run.id, seen);
      this.emit({ type: 'run', run: record });
    }
    for (const runId of this.watched.keys()) {
      if (active.has(runId)) continue;
      this.watched.delete(runId);
      if (!this.mine.has(runId)) this.emitRun(runId);
    }
    // A run another process created and finished between two beats was never active here: say that it ended.
    for (const run of this.store.runsAfter(this.newestWatched)) {
      this.newestWatched = run.id;
      if (!active.has(run.id) && !this.mine.has(run.id) && !this.createdHere.has(run.id)) this.emitRun(run.id);
    }
  }

  /** Hands work to every idle worker: surveys and mosaics first (they unblock a run), then tiles. */
  private dispatch(): void {
    if (this.stopped) return;
    this.queued.pump();
    for (let worker = this.pool.idle(); worker; worker = this.pool.idle()) {
      const task = this.nextStageTask() ?? this.nextTileTask(worker);
      if (!task) return;
      this.pool.assign(worker, task);
    }
  }

  private nextStageTask(): Task | undefined {
    for (const run of this.store.activeRuns(this.owner)) {
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
          this.store.setStatus(run.id, 'failed', `all ${counts.failed} cloudy tile${counts.failed === 1 ? '' : 's'} failed, so there is no reconstruction${first ? ` (first: ${first})` : ''}`, this.owner);
          this.emitRun(run.id);
          continue;
        }
        if (counts.pending === 0 && counts.running === 0) {
          if (!this.store.setStatus(run.id, 'mosaicking', null, this.owner)) continue;
          this.stageBusy.add(run.id);
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
            scoreWithin: request.groundTruth ? request.tiles : undefined,
          };
        }
      }
    }
    return undefined;
  }

  private nextTileTask(worker: string): Task | undefined {
    const claimed = this.store.claimTile(worker, this.owner, 'local');
    if (!claimed) return undefined;
    this.emitTile(claimed.runId, claimed.index);
    const run = this.context(claimed.runId);
    return { kind: 'tile', run, tileIndex: claimed.index, warmFrom: run.settings.warmStart ? this.warmStartDonor(claimed.runId, claimed.index) : undefined };
  }

  /** A warm-started run's tile starts from the nearest finished tile whose weights are there (warm-start.ts). */
  private warmStartDonor(runId: number, index: number): { tileIndex: number; file: string } | undefined {
    const tiles = this.store.tiles(runId);
    // Row-major, as rowCol reads them (computed once here: a run may have thousands of tiles).
    const xs = [...new Set(tiles.map((t) => t.window.x))].sort((a, b) => a - b);
    const grid = { tiles: tiles.map((t, i) => ({ index: i, row: Math.floor(i / xs.length), col: xs.indexOf(t.window.x) })) };
    const file = (i: number) => weightsPath(this.tileFolder(runId), grid.tiles[i]);
    const donor = warmStartDonor(grid, grid.tiles[index], (i) => tiles[i].status === 'done' && existsSync(file(i)));
    return donor === undefined ? undefined : { tileIndex: donor, file: file(donor) };
  }

  private onMessage(worker: string, message: FromWorker): void {
    if (message.type === 'ready') {
      this.backend = message.backend;
    } else if (message.type === 'progress') {
      this.emitProgress(message.runId, message.tileIndex, message, this.pool.size);
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
    // A run taken over by another process meanwhile is not written to (the tick says it was lost).
    if (message.kind === 'survey') {
      // Tiles the user did not choose keep the input, as clear ones do.
      const chosen = this.store.parameters(runId).request.tiles;
      const only = chosen && new Set(chosen);
      const tiles = message.survey!.tiles.map((t) => (only && !only.has(t.index) ? { ...t, state: 'clear' as const } : t));
      if (!this.store.planned(runId, tiles, this.backend, this.owner)) return;
      void fs.mkdir(this.tileFolder(runId), { recursive: true });
      this.emitRun(runId);
    } else if (message.kind === 'tile') {
      const tile = message.tile!;
      if (!this.store.tileDone(runId, message.tileIndex!, this.project.relative(tile.resultFile), tile.loss, tile.seconds, this.owner, tile.quality)) return;
      this.emitTile(runId, message.tileIndex!);
      this.emitRun(runId);
    } else {
      const counts = this.store.tileCounts(runId);
      const dir = this.runFolder(runId);
      const results: { kind: ResultRecord['kind']; file: string }[] = [{ kind: 'reconstruction', file: this.project.relative(path.join(dir, 'result.tif')) }];
      if (existsSync(path.join(dir, 'uncertainty.tif'))) results.push({ kind: 'uncertainty', file: this.project.relative(path.join(dir, 'uncertainty.tif')) });
      results.push({ kind: 'mask', file: this.project.relative(path.join(dir, 'mask.tif')) });
      const status: RunStatus = counts.failed === 0 ? 'done' : counts.done === 0 ? 'failed' : 'partial';
      // A run finished as it was after a cancel says so, rather than that its tiles failed.
      const skipped = this.store.tiles(runId).filter((t) => t.status === 'failed' && t.error === NOT_RECONSTRUCTED).length;
      const note = counts.failed === 0 ? null : skipped === counts.failed ? `finished as it was after a cancel: ${skipped} of ${counts.done + counts.failed} cloudy tiles were not reconstructed and keep the input` : `${counts.failed} of ${counts.done + counts.failed} cloudy tiles failed and keep the input`;
      if (this.store.parameters(runId).request.warmStart) removeWeightsFiles(this.tileFolder(runId));
      if (!this.store.finished(runId, results, status, note, this.owner, message.metrics)) return;
      this.mine.delete(runId);
      this.queued.forget(runId);
      this.emitRun(runId);
    }
  }

  private onFailed(runId: number, kind: Task['kind'], tileIndex: number | undefined, error: string, userError: boolean, cancelled: boolean): void {
    this.stageBusy.delete(runId);
    const status = this.store.status(runId);
    if (cancelled || status === 'cancelled') {
      if (tileIndex !== undefined) this.store.tileReleased(runId, tileIndex, this.owner);
      return;
    }
    if (kind === 'tile' && tileIndex !== undefined) {
      // A user error (bad input) will not go away on a retry; anything else might (a crash, memory).
      const outcome = this.store.tileFailed(runId, tileIndex, error, userError ? 0 : this.maxAttempts, this.owner);
      if (outcome === null) return;
      this.emitTile(runId, tileIndex);
      if (outcome === 'failed') this.emitRun(runId);
      return;
    }
    // A survey or mosaic that fails fails the run: its inputs or outputs are wrong, not one tile.
    if (!this.store.setStatus(runId, 'failed', error, this.owner)) return;
    this.mine.delete(runId);
    this.emitRun(runId);
  }

  private onCrash(task: Task | undefined, reason: string): void {
    if (task) this.onFailed(task.run.runId, task.kind, task.kind === 'tile' ? task.tileIndex : undefined, reason, false, false);
    // The replacement worker says 'ready' when it has loaded the engine, and dispatch runs then.
  }

  /** A tile's step progress (from a local worker, or a queue's: `parallel` tiles of the run at once) with its and the run's ETA. */
  private emitProgress(runId: number, tileIndex: number, progress: QueuedProgress, parallel: number): void {
    const tileSeconds = progress.step > 0 ? (progress.elapsedSeconds / progress.step) * progress.steps : null;
    const etaSeconds = tileSeconds === null ? null : tileSeconds - progress.elapsedSeconds;
    this.emit({ type: 'progress', runId, tileIndex, step: progress.step, steps: progress.steps, loss: progress.loss, etaSeconds, runEtaSeconds: this.runEta(runId, tileSeconds, etaSeconds, parallel) });
  }

  /** The run's time left: tiles not yet started at the mean time of its finished tiles (or this one's), shared by `parallel` workers. */
  private runEta(runId: number, tileSeconds: number | null, etaSeconds: number | null, parallel: number): number | null {
    const { mean } = this.project.db.prepare(`SELECT AVG(seconds) AS mean FROM tiles WHERE run_id = ? AND status = 'done'`).get(runId) as { mean: number | null };
    const perTile = mean ?? tileSeconds;
    if (perTile === null || etaSeconds === null) return null;
    const { pending } = this.store.tileCounts(runId);
    return etaSeconds + (pending * perTile) / parallel;
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
      // Tiles on a queue start cold (their weights would have to travel through Redis): such a run is not called warm.
      settings: { method: request.method, mode: request.mode, steps: request.steps, seeds: request.seeds, stitch: request.stitch, groundTruth: request.groundTruth, warmStart: request.warmStart && !request.queue },
      tiling: { tileSize: request.tileSize, overlap: request.overlap },
      // A queued run's mosaic says where its tiles were computed (queued-runs.ts records the workers' backend).
      backend: (request.queue ? this.store.record(runId).backend : null) ?? this.backend,
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


