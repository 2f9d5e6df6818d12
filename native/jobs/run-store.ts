/**
 * The persistent state of runs and their tiles in the catalogue: the job queue is these two tables. Every
 * change is one statement or one transaction, so a kill at any moment leaves a consistent catalogue that
 * `recover` turns back into a resumable queue.
 *
 * Several processes may open one project. Each unfinished run has at most one owner (lease.ts): the writes
 * that work a run (planning it, claiming and recording tiles, mosaicking, finishing) take the owner and change
 * nothing unless it still holds the lease, checked in the same statement or transaction. Transactions that read
 * before they write are IMMEDIATE: they take the write lock first, so two processes cannot both read a tile or a
 * lease as free, and a deferred read-then-write cannot fail with SQLITE_BUSY when another process wrote between.
 */
import type Database from 'better-sqlite3';
import { ACTIVE_RUN_STATUSES, isActiveRun, isFinishedRun, type LossCurve, type ResultRecord, type RunMetrics, type RunRecord, type RunRequest, type RunStatus, type TileLossCurves, type TileQuality, type TileRecord, type TileStatus } from '../api/contract.ts';
import type { GroundTruthScores } from '../reconstruction/ground-truth.ts';
import { InputError } from '../errors.ts';
import { thinCurve } from '../dip/loss-curve.ts';
import { isStale } from './lease.ts';
import type { RunInputFiles } from '../reconstruction/pipeline.ts';
import type { TileSurveyState } from './protocol.ts';
import type { Window } from '../raster/tiff/raster-info.ts';

/** What a run row's `parameters` column holds: the validated request and its input files (project-relative). */
export interface RunParameters {
  request: RunRequest;
  inputs: RunInputFiles;
}

interface RunRow {
  id: number;
  name: string | null;
  parameters: string;
  status: RunStatus;
  backend: string | null;
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  metrics: string | null;
  owner: string | null;
  heartbeat_at: string | null;
}

interface TileRow {
  run_id: number;
  idx: number;
  x: number;
  y: number;
  width: number;
  height: number;
  status: TileStatus;
  attempts: number;
  result_file: string | null;
  loss: number | null;
  seconds: number | null;
  metrics: string | null;
  error: string | null;
  spread: number | null;
  curves: string | null;
}

const now = () => new Date().toISOString();

/** The unfinished statuses as an SQL list, e.g. `('queued', 'running', 'mosaicking')` (constants, not user input). */
const ACTIVE = `(${ACTIVE_RUN_STATUSES.map((s) => `'${s}'`).join(', ')})`;
/** True while the owner (2nd parameter) holds the lease of an unfinished run (1st parameter). */
const OWNS = `EXISTS (SELECT 1 FROM runs WHERE id = ? AND owner = ? AND status IN ${ACTIVE})`;

/** The error of a tile left undone when its cancelled run was finished as it was (it keeps the input). */
export const NOT_RECONSTRUCTED = 'not reconstructed: the run was cancelled and finished as it was (keeps the input)';

/** Says where a tile's result file is if it was written (whole: files appear by rename), else null. */
export type ResultLookup = (runId: number, index: number) => string | null;

export class RunStore {
  constructor(private readonly db: Database.Database) {}

  /** Queues a run; with an owner, that owner holds its lease from the start (no other process can take it first). */
  createRun(request: RunRequest, inputs: RunInputFiles, ids: { targetSceneId: number; maskId: number; refId?: number; sarSceneId?: number }, owner?: string): number {
    const parameters: RunParameters = { request, inputs };
    const at = now();
    const info = this.db
      .prepare(
        `INSERT INTO runs (name, target_scene_id, mask_id, ref_id, sar_scene_id, parameters, status, created_at, owner, heartbeat_at)
         VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?)`,
      )
      .run(request.name ?? null, ids.targetSceneId, ids.maskId, ids.refId ?? null, ids.sarSceneId ?? null, JSON.stringify(parameters), at, owner ?? null, owner ? at : null);
    return Number(info.lastInsertRowid);
  }

  /**
   * Takes the lease of every unfinished run that is free or stale (or only of `runId`), in one transaction;
   * returns the runs taken. The caller then recovers each (`recover`): what the previous owner left running.
   */
  claimRuns(owner: string, runId?: number): { id: number; previous: string | null }[] {
    return this.db.transaction(() => {
      const rows = this.db
        .prepare(`SELECT id, owner, heartbeat_at FROM runs WHERE status IN ${ACTIVE} AND (owner IS NULL OR owner != ?) AND (? IS NULL OR id = ?) ORDER BY id`)
        .all(owner, runId ?? null, runId ?? null) as Pick<RunRow, 'id' | 'owner' | 'heartbeat_at'>[];
      const take = this.db.prepare('UPDATE runs SET owner = ?, heartbeat_at = ? WHERE id = ?');
      const taken: { id: number; previous: string | null }[] = [];
      const at = now();
      for (const row of rows) {
        if (!isStale(row.owner, row.heartbeat_at)) continue;
        take.run(owner, at, row.id);
        taken.push({ id: row.id, previous: row.owner });
      }
      return taken;
    }).immediate();
  }

  /** The owner still holds these runs' leases: refreshes their heartbeat. Returns the unfinished runs it holds. */
  heartbeat(owner: string): number[] {
    this.db.prepare(`UPDATE runs SET heartbeat_at = ? WHERE owner = ? AND status IN ${ACTIVE}`).run(now(), owner);
    return (this.db.prepare(`SELECT id FROM runs WHERE owner = ? AND status IN ${ACTIVE} ORDER BY id`).all(owner) as { id: number }[]).map((r) => r.id);
  }

  /** Whether `owner` holds the lease of the run, and the run is unfinished. */
  owns(runId: number, owner: string): boolean {
    return (this.db.prepare(`SELECT ${OWNS} AS owns`).get(runId, owner) as { owns: number }).owns === 1;
  }

  /**
   * The run's tiles left running by a previous owner (killed, or this one closing) were interrupted, not wrong.
   * A tile whose result file was written before the interruption is done; any other goes back to pending. A run
   * interrupted while mosaicking mosaics again (outputs are written atomically). With `release`, the lease is
   * then given up, so any process may take the run. Only the owner can do this: a live owner's running tiles are
   * its own business.
   */
  recover(runId: number, owner: string, resultExists: ResultLookup, release = false): boolean {
    return this.db.transaction(() => {
      if (!this.owns(runId, owner)) return false;
      for (const row of this.db.prepare(`SELECT idx FROM tiles WHERE run_id = ? AND status = 'running'`).all(runId) as { idx: number }[]) {
        const file = resultExists(runId, row.idx);
        if (file) this.db.prepare(`UPDATE tiles SET status = 'done', result_file = ?, updated_at = ? WHERE run_id = ? AND idx = ?`).run(file, now(), runId, row.idx);
        else this.db.prepare(`UPDATE tiles SET status = 'pending', attempts = MAX(0, attempts - 1), updated_at = ? WHERE run_id = ? AND idx = ?`).run(now(), runId, row.idx);
      }
      this.db.prepare(`UPDATE runs SET status = 'running' WHERE id = ? AND status = 'mosaicking'`).run(runId);
      if (release) this.db.prepare('UPDATE runs SET owner = NULL, heartbeat_at = NULL WHERE id = ?').run(runId);
      return true;
    }).immediate();
  }

  parameters(runId: number): RunParameters {
    return JSON.parse(this.row(runId).parameters) as RunParameters;
  }

  /** Records the tile plan of a run (after its survey) and starts it, in one transaction; false if `owner` lost the run. */
  planned(runId: number, tiles: { index: number; window: Window; state: TileSurveyState }[], backend: string, owner: string): boolean {
    const insert = this.db.prepare(
      `INSERT INTO tiles (run_id, idx, x, y, width, height, status, error, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const status: Record<TileSurveyState, TileStatus> = { clear: 'clear', cloudy: 'pending', 'all-cloud': 'failed' };
    return this.db.transaction(() => {
      if (!this.owns(runId, owner)) return false;
      const at = now();
      for (const t of tiles) {
        const error = t.state === 'all-cloud' ? 'the tile is entirely cloud: no clear pixel to learn from (use larger tiles)' : null;
        insert.run(runId, t.index, t.window.x, t.window.y, t.window.width, t.window.height, status[t.state], error, at);
      }
      this.db.prepare(`UPDATE runs SET status = 'running', backend = ?, started_at = COALESCE(started_at, ?) WHERE id = ?`).run(backend, at, runId);
      return true;
    }).immediate();
  }

  hasPlan(runId: number): boolean {
    return this.db.prepare('SELECT 1 FROM tiles WHERE run_id = ? LIMIT 1').get(runId) !== undefined;
  }

  /** The runs created after run `afterId` (ids only grow), oldest first. */
  runsAfter(afterId: number): { id: number; status: RunStatus }[] {
    return this.db.prepare('SELECT id, status FROM runs WHERE id > ? ORDER BY id').all(afterId) as { id: number; status: RunStatus }[];
  }

  /** Runs that still have work (held by `owner`, when given): oldest first. */
  activeRuns(owner?: string): { id: number; status: RunStatus; owner: string | null }[] {
    return this.db
      .prepare(`SELECT id, status, owner FROM runs WHERE status IN ${ACTIVE} AND (? IS NULL OR owner = ?) ORDER BY id`)
      .all(owner ?? null, owner ?? null) as { id: number; status: RunStatus; owner: string | null }[];
  }

  /**
   * Takes the next pending tile of the owner's oldest running run, marking it running; null when there is none.
   * `runs` picks the runs computed here ('local', the worker pool's) or those sent to a queue ('queued').
   */
  claimTile(worker: string, owner: string, runs: 'local' | 'queued' | 'any' = 'any'): { runId: number; index: number; window: Window } | null {
    const queued = `COALESCE(json_extract(r.parameters, '$.request.queue'), 0)`;
    const which = runs === 'any' ? '' : runs === 'queued' ? `AND ${queued} = 1` : `AND ${queued} = 0`;
    return this.db.transaction(() => {
      const row = this.db
        .prepare(
          `SELECT t.run_id, t.idx, t.x, t.y, t.width, t.height FROM tiles t JOIN runs r ON r.id = t.run_id
           WHERE t.status = 'pending' AND r.status = 'running' AND r.owner = ? ${which} ORDER BY t.run_id, t.idx LIMIT 1`,
        )
        .get(owner) as Pick<TileRow, 'run_id' | 'idx' | 'x' | 'y' | 'width' | 'height'> | undefined;
      if (!row) return null;
      this.db
        .prepare(`UPDATE tiles SET status = 'running', attempts = attempts + 1, worker = ?, updated_at = ? WHERE run_id = ? AND idx = ?`)
        .run(worker, now(), row.run_id, row.idx);
      return { runId: row.run_id, index: row.idx, window: { x: row.x, y: row.y, width: row.width, height: row.height } };
    }).immediate();
  }

  /**
   * Records a tile's result; false (nothing written) when `owner` no longer holds the run, or the tile is not
   * running (already recorded, or given back): a result that arrives twice is recorded once.
   */
  tileDone(runId: number, index: number, resultFile: string, loss: number | null, seconds: number, owner: string, quality?: TileQuality): boolean {
    const curves = quality && quality.curves.length > 0 ? JSON.stringify(quality.curves) : null;
    const info = this.db
      .prepare(`UPDATE tiles SET status = 'done', result_file = ?, loss = ?, seconds = ?, spread = ?, curves = ?, error = NULL, updated_at = ? WHERE run_id = ? AND idx = ? AND status = 'running' AND ${OWNS}`)
      .run(resultFile, loss, seconds, quality?.spread ?? null, curves, now(), runId, index, runId, owner);
    return info.changes > 0;
  }

  /** A failed attempt: back to pending while attempts remain, else failed with the error; null when `owner` lost the run. */
  tileFailed(runId: number, index: number, error: string, maxAttempts: number, owner: string): TileStatus | null {
    return this.db.transaction(() => {
      if (!this.owns(runId, owner)) return null;
      const { attempts } = this.db.prepare('SELECT attempts FROM tiles WHERE run_id = ? AND idx = ?').get(runId, index) as { attempts: number };
      const status: TileStatus = attempts >= maxAttempts ? 'failed' : 'pending';
      this.db.prepare(`UPDATE tiles SET status = ?, error = ?, updated_at = ? WHERE run_id = ? AND idx = ?`).run(status, error, now(), runId, index);
      return status;
    }).immediate();
  }

  /** A tile given back without fault of its own (cancel, shutdown): pending again, the attempt not counted. */
  tileReleased(runId: number, index: number, owner: string): void {
    this.db
      .prepare(`UPDATE tiles SET status = 'pending', attempts = MAX(0, attempts - 1), updated_at = ? WHERE run_id = ? AND idx = ? AND status = 'running' AND ${OWNS}`)
      .run(now(), runId, index, runId, owner);
  }

  tileCounts(runId: number): RunRecord['tiles'] {
    const counts = { total: 0, pending: 0, running: 0, done: 0, failed: 0, clear: 0 };
    for (const row of this.db.prepare('SELECT status, COUNT(*) AS n FROM tiles WHERE run_id = ? GROUP BY status').all(runId) as { status: TileStatus; n: number }[]) {
      counts[row.status] = row.n;
      counts.total += row.n;
    }
    return counts;
  }

  tiles(runId: number): TileRecord[] {
    return (this.db.prepare('SELECT * FROM tiles WHERE run_id = ? ORDER BY idx').all(runId) as TileRow[]).map(tileRecord);
  }

  /**
   * The loss curves of the run's finished tiles (or of `indexes`, whatever their state), each thinned to
   * `points` per seed: a 600-tile run's overview asks for few points, one tile's plot for all of them.
   */
  lossCurves(runId: number, indexes?: readonly number[], points?: number): TileLossCurves[] {
    this.row(runId); // an unknown run is an InputError
    const rows = this.db.prepare('SELECT idx, status, loss, spread, curves FROM tiles WHERE run_id = ? ORDER BY idx').all(runId) as Pick<TileRow, 'idx' | 'status' | 'loss' | 'spread' | 'curves'>[];
    const wanted = indexes && new Set(indexes);
    return rows
      .filter((row) => (wanted ? wanted.has(row.idx) : row.status === 'done'))
      .map((row) => {
        const curves = row.curves === null ? [] : (JSON.parse(row.curves) as LossCurve[]);
        return { index: row.idx, status: row.status, loss: row.loss, spread: row.spread, curves: points ? curves.map((c) => thinCurve(c, points)) : curves };
      });
  }

  tile(runId: number, index: number): TileRecord {
    return tileRecord(this.db.prepare('SELECT * FROM tiles WHERE run_id = ? AND idx = ?').get(runId, index) as TileRow);
  }

  /** Sets the status of a run `owner` holds; false (nothing changed) when it does not. */
  setStatus(runId: number, status: RunStatus, error: string | null, owner: string): boolean {
    const finished = isFinishedRun(status) ? now() : null;
    return this.db
      .prepare(`UPDATE runs SET status = ?, error = COALESCE(?, error), finished_at = COALESCE(?, finished_at) WHERE id = ? AND ${OWNS}`)
      .run(status, error, finished, runId, runId, owner).changes > 0;
  }

  /** The backend a run's tiles were computed on, as the record shows it (a queued run's: its workers'). */
  setBackend(runId: number, backend: string): void {
    this.db.prepare('UPDATE runs SET backend = ? WHERE id = ? AND (backend IS NULL OR backend != ?)').run(backend, runId, backend);
  }

  status(runId: number): RunStatus {
    return this.row(runId).status;
  }

  /** Registers the run's result layers, its scores against ground truth (if any) and its final status together; false when `owner` lost the run. */
  finished(runId: number, results: { kind: ResultRecord['kind']; file: string }[], status: RunStatus, error: string | null, owner: string, metrics?: GroundTruthScores): boolean {
    return this.db.transaction(() => {
      if (!this.owns(runId, owner)) return false;
      const insert = this.db.prepare('INSERT OR REPLACE INTO results (run_id, kind, file, created_at) VALUES (?, ?, ?, ?)');
      for (const r of results) insert.run(runId, r.kind, r.file, now());
      if (metrics) {
        this.db.prepare('UPDATE runs SET metrics = ? WHERE id = ?').run(JSON.stringify(metrics.run), runId);
        const tile = this.db.prepare('UPDATE tiles SET metrics = ? WHERE run_id = ? AND idx = ?');
        for (const t of metrics.tiles) tile.run(JSON.stringify(t.metrics), runId, t.index);
      }
      this.setStatus(runId, status, error, owner);
      return true;
    }).immediate();
  }

  /**
   * Cancels a run that is still queued or running (a finished run stays as it is), from any process: its owner
   * notices (JobRunner checks every second) and stops its workers.
   */
  cancel(runId: number): void {
    this.db.transaction(() => {
      if (!isActiveRun(this.status(runId))) return;
      this.db.prepare(`UPDATE tiles SET status = 'pending', attempts = MAX(0, attempts - 1) WHERE run_id = ? AND status = 'running'`).run(runId);
      this.db.prepare(`UPDATE runs SET status = 'cancelled', finished_at = ? WHERE id = ?`).run(now(), runId);
    }).immediate();
  }

  /**
   * A cancelled run goes on (`'resume'`: the tiles still to do are worked, finished ones kept) or is finished as
   * it is (`'finish'`: the tiles not yet reconstructed are marked failed, saying why, so the mosaic keeps the
   * input there and the run ends partial). Either way it is unfinished again and `owner`'s (or free, without one).
   */
  reopen(runId: number, how: 'resume' | 'finish', owner?: string): void {
    this.db.transaction(() => {
      const status = this.status(runId);
      if (status !== 'cancelled') throw new InputError(undefined, `run ${runId} is ${status}: only a cancelled run can be ${how === 'resume' ? 'resumed' : 'finished as it is'}`);
      const counts = this.tileCounts(runId);
      if (how === 'finish') {
        if (counts.done === 0) throw new InputError(undefined, `run ${runId} has no finished tile yet: nothing to export (resume it instead)`);
        this.db
          .prepare(`UPDATE tiles SET status = 'failed', error = ?, updated_at = ? WHERE run_id = ? AND status IN ('pending', 'running')`)
          .run(NOT_RECONSTRUCTED, now(), runId);
      }
      const next: RunStatus = counts.total > 0 ? 'running' : 'queued';
      this.db.prepare('UPDATE runs SET status = ?, error = NULL, finished_at = NULL, owner = ?, heartbeat_at = ? WHERE id = ?').run(next, owner ?? null, owner ? now() : null, runId);
    }).immediate();
  }

  /** Deletes a run that is over (its tiles and result records go with it); one still going on is refused. */
  deleteRun(runId: number): void {
    this.db.transaction(() => {
      const status = this.status(runId);
      if (isActiveRun(status)) throw new InputError(undefined, `run ${runId} is ${status}: cancel it first, then delete it`);
      this.db.prepare('DELETE FROM runs WHERE id = ?').run(runId);
    }).immediate();
  }

  record(runId: number): RunRecord {
    const row = this.row(runId);
    return {
      id: row.id,
      name: row.name,
      request: (JSON.parse(row.parameters) as RunParameters).request,
      status: row.status,
      backend: row.backend,
      error: row.error,
      createdAt: row.created_at,
      startedAt: row.started_at,
      finishedAt: row.finished_at,
      tiles: this.tileCounts(runId),
      results: this.db.prepare('SELECT id, run_id AS runId, kind, file, created_at AS createdAt FROM results WHERE run_id = ? ORDER BY id').all(runId) as ResultRecord[],
      metrics: parseMetrics(row.metrics),
      lease: row.owner !== null && isActiveRun(row.status) ? { owner: row.owner, heartbeatAt: row.heartbeat_at, stale: isStale(row.owner, row.heartbeat_at) } : null,
    };
  }

  list(): RunRecord[] {
    return (this.db.prepare('SELECT id FROM runs ORDER BY id').all() as { id: number }[]).map((r) => this.record(r.id));
  }

  private row(runId: number): RunRow {
    const row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(runId) as RunRow | undefined;
    if (!row) throw new InputError(undefined, `there is no run ${runId} in this project`);
    return row;
  }
}

function tileRecord(row: TileRow): TileRecord {
  return {
    runId: row.run_id,
    index: row.idx,
    window: { x: row.x, y: row.y, width: row.width, height: row.height },
    status: row.status,
    attempts: row.attempts,
    loss: row.loss,
    spread: row.spread,
    seconds: row.seconds,
    error: row.error,
    resultFile: row.result_file,
    metrics: parseMetrics(row.metrics),
  };
}

function parseMetrics(json: string | null): RunMetrics | null {
  return json === null ? null : (JSON.parse(json) as RunMetrics);
}
