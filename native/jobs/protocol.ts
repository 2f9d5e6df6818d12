/**
 * Messages between the job runner and its worker processes (over the child-process IPC channel, in the
 * desktop app too: workers are forked there as well). Plain JSON. Paths are absolute: workers know nothing of the catalogue.
 */
import type { TileQuality } from '../api/contract.ts';
import type { GroundTruthScores } from '../reconstruction/ground-truth.ts';
import type { ReconstructionSettings, RunInputFiles } from '../reconstruction/pipeline.ts';
import type { TileResultData } from './queue/tile-payload.ts';

export interface Tiling {
  tileSize: number;
  overlap: number;
}

/** What every task of one run shares. */
export interface RunContext {
  runId: number;
  inputs: RunInputFiles;
  settings: ReconstructionSettings;
  tiling: Tiling;
  backend: string;
  /** Where the run's tile results go (runs/<id>/tiles). */
  tileFolder: string;
}

export type Task =
  /** Find which tiles have cloud (reads the mask, and the target where there is cloud). */
  | { kind: 'survey'; run: RunContext }
  /** `warmFrom`: a warm-started run's finished tile whose weights file to start from (a missing file: a cold start). */
  | { kind: 'tile'; run: RunContext; tileIndex: number; warmFrom?: { tileIndex: number; file: string } }
  /** Blend the run's tiles into its outputs; a ground-truth run's result is then scored, and so are its reconstructed tiles. */
  | {
      kind: 'mosaic';
      run: RunContext;
      outputs: { out: string; uncertainty?: string; maskOut?: string };
      scoreTiles?: number[];
      /** A run of chosen tiles: only the cloud inside them is scored (elsewhere the input, the truth itself, is kept). */
      scoreWithin?: number[];
    }
  /**
   * A tile from the queue (`clearsky worker`, jobs/queue/): the job's data as it came from Redis, checked and
   * unpacked by the worker; `runId` only names the task for progress and cancel. Answered with `queued`.
   */
  | { kind: 'queued-tile'; run: { runId: number }; job: string; data: unknown };

export type ToWorker = { type: 'task'; task: Task } | { type: 'cancel'; runId: number };

/** Per tile: clear (nothing to do), cloudy (to reconstruct), or all cloud (nothing to learn from: cannot be done). */
export type TileSurveyState = 'clear' | 'cloudy' | 'all-cloud';
export type SurveyResult = { tiles: { index: number; window: { x: number; y: number; width: number; height: number }; state: TileSurveyState }[] };
export type TileResult = { resultFile: string; loss: number | null; seconds: number; quality: TileQuality };

export type FromWorker =
  | { type: 'ready'; backend: string; pid: number }
  | { type: 'progress'; runId: number; tileIndex: number; step: number; steps: number; loss: number; elapsedSeconds: number }
  | { type: 'done'; runId: number; kind: Task['kind']; tileIndex?: number; survey?: SurveyResult; tile?: TileResult; metrics?: GroundTruthScores; queued?: TileResultData }
  | { type: 'failed'; runId: number; kind: Task['kind']; tileIndex?: number; error: string; userError: boolean; cancelled: boolean };

/** The one message of a worker started with CLEARSKY_WORKER_PROBE=1 (jobs/pool.ts probeBackends), which then exits. */
export interface ProbeAnswer {
  type: 'backends';
  detected: string;
  available: string[];
}
