/**
 * How long a run would take before it starts, from what this project has measured: the seconds its finished
 * DIP tiles took per training step on a backend, scaled to the new run's tile size (a step's cost grows with
 * the tile's pixels), times its cloudy tiles, steps and seeds. Pure functions: the run dialog fetches the tiles
 * (getRun) and says where the figure comes from; with no finished tile on that backend it says so, rather than
 * guess.
 */
import type { RunRecord, SceneRecord, TileRecord } from '../../../native/api/contract.ts';

/** The paper fits 4000 steps; far fewer leave the network short of the scene's detail. */
export const PAPER_STEPS = 4000;
export const FEW_STEPS = 1000;

/** A measured figure: seconds per step of a 256² tile (one seed) on a backend, from a run's finished tiles. */
export interface StepFigure {
  backend: string;
  /** Seconds per training step, scaled to a 256 × 256 tile. */
  secondsPerStep256: number;
  runId: number;
  tiles: number;
  /** The steps (× seeds) and tile size it was measured at: a tile's fixed costs (reading, writing, starting) weigh in short tiles. */
  steps: number;
  tileSize: number;
}

/** Below this many steps a tile's fixed costs weigh in: a figure from such tiles is an upper bound. */
export const SHORT_TILE_STEPS = 500;

/** The backend a run recorded, as chosen in the dialog ('native', 'webgpu', …): its first word. */
export function backendName(recorded: string | null): string | null {
  return recorded ? (recorded.split(/[\s(]/)[0] ?? null) : null;
}

/**
 * The figure of one finished DIP run: the median over its done tiles of seconds ÷ (steps × seeds), scaled to a
 * 256² tile by pixel count. Null for a baseline, a run without a backend, or without a timed tile.
 */
export function stepFigure(run: RunRecord, tiles: readonly TileRecord[]): StepFigure | null {
  const backend = backendName(run.backend);
  if (run.request.method !== 'dip' || !backend) return null;
  const steps = run.request.steps * run.request.seeds.length;
  const perStep = tiles
    .filter((t) => t.status === 'done' && t.seconds !== null && t.seconds > 0)
    .map((t) => (t.seconds! / steps) * ((256 * 256) / (t.window.width * t.window.height)))
    .sort((a, b) => a - b);
  if (perStep.length === 0) return null;
  return { backend, secondsPerStep256: perStep[Math.floor(perStep.length / 2)], runId: run.id, tiles: perStep.length, steps, tileSize: run.request.tileSize };
}

/**
 * The runs worth asking for their tiles: this project's DIP runs that finished tiles on `backend`, those with the
 * most work per tile (steps × seeds × tile pixels: the least weighed by fixed costs) first, then the newest.
 */
export function timedRuns(runs: readonly RunRecord[], backend: string): RunRecord[] {
  const work = (r: RunRecord) => r.request.steps * r.request.seeds.length * r.request.tileSize ** 2;
  return runs.filter((r) => r.request.method === 'dip' && backendName(r.backend) === backend && r.tiles.done > 0).sort((a, b) => work(b) - work(a) || b.id - a.id);
}

/** Seconds the run would take on one worker: cloudy tiles × steps × seeds × the figure scaled to the tile size. */
export function estimateSeconds(figure: StepFigure, cloudyTiles: number, steps: number, seeds: number, tileSize: number): number {
  return cloudyTiles * steps * seeds * figure.secondsPerStep256 * ((tileSize * tileSize) / (256 * 256));
}

/**
 * mtfit starts at its baseline (cloned seamlessly) and, measured on Slovenia, gets worse with more steps: at 50 it is
 * still ahead of plain reference-fit, at 100 behind it (docs/measurements.md, "Seamless cloning").
 */
export const MTFIT_STEPS = 50;

/**
 * Why the steps are too few for a result (a warning, not a refusal: fine for a trial); for mtfit, why they are
 * too many; null when they are right.
 */
export function fewStepsWarning(steps: number, mode?: string): string | null {
  if (mode === 'mtfit') {
    if (!Number.isFinite(steps) || steps <= MTFIT_STEPS) return null;
    return `${steps} steps: mtfit starts at the reference-fit baseline, cloned seamlessly, and as measured more steps take it away from it: beyond ${MTFIT_STEPS} it fell below the plain baseline. Try ${MTFIT_STEPS} or fewer (the default is 25).`;
  }
  if (!Number.isFinite(steps) || steps >= FEW_STEPS) return null;
  return `${steps} steps is far below what the method needs (the paper fits ${PAPER_STEPS}): the network will not have learnt the scene’s detail yet. Fine for a trial, not for a result.`;
}

/** The SAR scenes on the target's grid (same size, CRS and geotransform): the ones a run can use as they are. */
export function sarFitting(target: SceneRecord, sarScenes: readonly SceneRecord[]): SceneRecord[] {
  const a = target.grid;
  return sarScenes.filter((s) => s.grid.width === a.width && s.grid.height === a.height && s.grid.epsg === a.epsg && JSON.stringify(s.grid.geoTransform) === JSON.stringify(a.geoTransform));
}
