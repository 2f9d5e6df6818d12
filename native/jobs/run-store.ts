/**
 * The persistent state of runs and their tiles in the catalogue: the job queue is these two tables. Every
 * change is one statement or one transaction, so a kill at any moment leaves a consistent catalogue that
 * `recoverInterrupted` turns back into a resumable queue.
 */
import type Database from 'better-sqlite3';
import type { ResultRecord, RunMetrics, RunRecord, RunRequest, RunStatus, TileRecord, TileStatus } from '../api.ts';
import type { GroundTruthScores } from '../ground-truth.ts';
import { InputError } from '../errors.ts';
import type { RunInputFiles } from '../pipeline.ts';
import type { TileSurveyState } from './protocol.ts';
import type { Window } from '../raster/raster-info.ts';

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
}

const now = () => new Date().toISOString();

export class RunStore {
  constructor(private readonly db: Database.Database) {}

  createRun(request: RunRequest, inputs: RunInputFiles, ids: { targetSceneId: number; maskId: number; refId?: number; sarSceneId?: number }): number {
    const parameters: RunParameters = { request, inputs };
    const info = this.db
      .prepare(
        `INSERT INTO runs (name, target_scene_id, mask_id, ref_id, sar_scene_id, parameters, status, created_at)
         VALUES (?, ?, ?, ?, ?, ?, 'queued', ?)`,
      )
      .run(request.name ?? null, ids.targetSceneId, ids.maskId, ids.refId ?? null, ids.sarSceneId ?? null, JSON.stringify(parameters), now());
    return Number(info.lastInsertRowid);
  }

  parameters(runId: number): RunParameters {
    return JSON.parse(this.row(runId).parameters) as RunParameters;
  }

  /** Records the tile plan of a run (after its survey) and starts it, in one transaction. */
  planned(runId: number, tiles: { index: number; window: Window; state: TileSurveyState }[], backend: string): void {
    const insert = this.db.prepare(
      `INSERT INTO tiles (run_id, idx, x, y, width, height, status, error, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const status: Record<TileSurveyState, TileStatus> = { clear: 'clear', cloudy: 'pending', 'all-cloud': 'failed' };
    this.db.transaction(() => {
      const at = now();
      for (const t of tiles) {
        const error = t.state === 'all-cloud' ? 'the tile is entirely cloud: no clear pixel to learn from (use larger tiles)' : null;
        insert.run(runId, t.index, t.window.x, t.window.y, t.window.width, t.window.height, status[t.state], error, at);
      }
      this.db.prepare(`UPDATE runs SET status = 'running', backend = ?, started_at = COALESCE(started_at, ?) WHERE id = ?`).run(backend, at, runId);
    })();
  }

  hasPlan(runId: number): boolean {
    return this.db.prepare('SELECT 1 FROM tiles WHERE run_id = ? LIMIT 1').get(runId) !== undefined;
  }

  /** Runs that still have work: oldest first. */
  activeRuns(): { id: number; status: RunStatus }[] {
    return this.db.prepare(`SELECT id, status FROM runs WHERE status IN ('queued', 'running', 'mosaicking') ORDER BY id`).all() as { id: number; status: RunStatus }[];
  }

  /** Takes the next pending tile of the oldest running run, marking it running; null when there is none. */
  claimTile(worker: string): { runId: number; index: number; window: Window } | null {
    return this.db.transaction(() => {
      const row = this.db
        .prepare(
          `SELECT t.run_id, t.idx, t.x, t.y, t.width, t.height FROM tiles t JOIN runs r ON r.id = t.run_id
           WHERE t.status = 'pending' AND r.status = 'running' ORDER BY t.run_id, t.idx LIMIT 1`,
        )
        .get() as Pick<TileRow, 'run_id' | 'idx' | 'x' | 'y' | 'width' | 'height'> | undefined;
      if (!row) return null;
      this.db
        .prepare(`UPDATE tiles SET status = 'running', attempts = attempts + 1, worker = ?, updated_at = ? WHERE run_id = ? AND idx = ?`)
        .run(worker, now(), row.run_id, row.idx);
      return { runId: row.run_id, index: row.idx, window: { x: row.x, y: row.y, width: row.width, height: row.height } };
    })();
  }

  tileDone(runId: number, index: number, resultFile: string, loss: number | null, seconds: number): void {
    this.db
      .prepare(`UPDATE tiles SET status = 'done', result_file = ?, loss = ?, seconds = ?, error = NULL, updated_at = ? WHERE run_id = ? AND idx = ?`)
      .run(resultFile, loss, seconds, now(), runId, index);
  }

  /** A failed attempt: back to pending while attempts remain, else failed with the error. */
  tileFailed(runId: number, index: number, error: string, maxAttempts: number): TileStatus {
    const { attempts } = this.db.prepare('SELECT attempts FROM tiles WHERE run_id = ? AND idx = ?').get(runId, index) as { attempts: number };
    const status: TileStatus = attempts >= maxAttempts ? 'failed' : 'pending';
    this.db.prepare(`UPDATE tiles SET status = ?, error = ?, updated_at = ? WHERE run_id = ? AND idx = ?`).run(status, error, now(), runId, index);
    return status;
  }

  /** A tile given back without fault of its own (cancel, shutdown): pending again, the attempt not counted. */
  tileReleased(runId: number, index: number): void {
    this.db
      .prepare(`UPDATE tiles SET status = 'pending', attempts = MAX(0, attempts - 1), updated_at = ? WHERE run_id = ? AND idx = ? AND status = 'running'`)
      .run(now(), runId, index);
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

  tile(runId: number, index: number): TileRecord {
    return tileRecord(this.db.prepare('SELECT * FROM tiles WHERE run_id = ? AND idx = ?').get(runId, index) as TileRow);
  }

  setStatus(runId: number, status: RunStatus, error: string | null = null): void {
    const finished = ['done', 'partial', 'failed', 'cancelled'].includes(status) ? now() : null;
    this.db.prepare('UPDATE runs SET status = ?, error = COALESCE(?, error), finished_at = COALESCE(?, finished_at) WHERE id = ?').run(status, error, finished, runId);
  }

  status(runId: number): RunStatus {
    return this.row(runId).status;
  }

  /** Registers the run's result layers, its scores against ground truth (if any) and its final status together. */
  finished(runId: number, results: { kind: ResultRecord['kind']; file: string }[], status: RunStatus, error: string | null, metrics?: GroundTruthScores): void {
    this.db.transaction(() => {
      const insert = this.db.prepare('INSERT OR REPLACE INTO results (run_id, kind, file, created_at) VALUES (?, ?, ?, ?)');
      for (const r of results) insert.run(runId, r.kind, r.file, now());
      if (metrics) {
        this.db.prepare('UPDATE runs SET metrics = ? WHERE id = ?').run(JSON.stringify(metrics.run), runId);
        const tile = this.db.prepare('UPDATE tiles SET metrics = ? WHERE run_id = ? AND idx = ?');
        for (const t of metrics.tiles) tile.run(JSON.stringify(t.metrics), runId, t.index);
      }
      this.setStatus(runId, status, error);
    })();
  }

  /** Cancels a run that is still queued or running (a finished run stays as it is). */
  cancel(runId: number): void {
    this.db.transaction(() => {
      if (!['queued', 'running', 'mosaicking'].includes(this.status(runId))) return;
      this.db.prepare(`UPDATE tiles SET status = 'pending', attempts = MAX(0, attempts - 1) WHERE run_id = ? AND status = 'running'`).run(runId);
      this.setStatus(runId, 'cancelled');
    })();
  }

  /**
   * After a crash or kill: tiles left running were interrupted, not wrong. A tile whose result file was
   * written (atomically, so it is whole) before the kill is done; any other goes back to pending.
   */
  recoverInterrupted(resultExists: (runId: number, index: number) => string | null): void {
    this.db.transaction(() => {
      for (const row of this.db.prepare(`SELECT run_id, idx FROM tiles WHERE status = 'running'`).all() as { run_id: number; idx: number }[]) {
        const file = resultExists(row.run_id, row.idx);
        if (file) this.db.prepare(`UPDATE tiles SET status = 'done', result_file = ?, updated_at = ? WHERE run_id = ? AND idx = ?`).run(file, now(), row.run_id, row.idx);
        else this.tileReleased(row.run_id, row.idx);
      }
      // A run interrupted while mosaicking mosaics again (outputs are written atomically).
      this.db.prepare(`UPDATE runs SET status = 'running' WHERE status = 'mosaicking'`).run();
    })();
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
    seconds: row.seconds,
    error: row.error,
    resultFile: row.result_file,
    metrics: parseMetrics(row.metrics),
  };
}

function parseMetrics(json: string | null): RunMetrics | null {
  return json === null ? null : (JSON.parse(json) as RunMetrics);
}
