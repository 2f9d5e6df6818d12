/**
 * How the page's picture of the runs follows the API: replies and events arrive in any order (a reply can be
 * overtaken by the events it caused), so a run's record only moves forward; the live state of runs going on
 * (each tile's latest step, the tiles finished so far, the run's ETA) is merged from events and dropped when
 * the run ends. Pure functions over plain values: `state/runs.svelte.ts` keeps their results in runes.
 */
import { isFinishedRun, type ApiEvent, type RefRecord, type RunRecord, type RunStatus, type SceneRecord, type TileRecord } from '../../../native/api/contract.ts';
import type { RasterOverlay } from '../map/overlays.ts';
import type { TileProgress } from '../tools/run-options.ts';

/** A finished tile of a run still going on: shown on the map until the run's mosaic replaces it. */
export interface LiveTile {
  index: number;
  file: string;
}

/** What the page knows of runs going on, by run id (and tile index), from events. */
export interface RunLive {
  /** The latest `progress` of each tile being fitted. */
  progress: Record<number, Record<number, TileProgress>>;
  /** The tiles finished so far, for runs the page follows (see `followLiveTiles`). */
  liveTiles: Record<number, LiveTile[]>;
  /** Seconds left for the whole run; null once it is over or unknown. */
  eta: Record<number, number | null>;
}

/** Nothing known yet. */
export function emptyLive(): RunLive {
  return { progress: {}, liveTiles: {}, eta: {} };
}

/** How far a run has got; its status only moves forward while the app is open. */
export const RUN_STAGE: Record<RunStatus, number> = { queued: 0, running: 1, mosaicking: 2, done: 3, partial: 3, failed: 3, cancelled: 3 };

/**
 * `runs` with `run` in it: replacing the record of the same id unless that one is further on (startRun's
 * 'queued' reply after the survey's 'running' event), or added first (newest first). The same array when
 * nothing changes.
 */
export function upsertRun(runs: readonly RunRecord[], run: RunRecord, resumed = false): RunRecord[] {
  const index = runs.findIndex((r) => r.id === run.id);
  if (index < 0) return [run, ...runs];
  // A cancelled run that is resumed or finished as it is starts over from 'running' (the reply to resumeRun or
  // finishRun says so); otherwise an older picture never replaces a newer one.
  const restarted = resumed && runs[index].status === 'cancelled';
  if (!restarted && RUN_STAGE[runs[index].status] > RUN_STAGE[run.status]) return runs as RunRecord[];
  return runs.map((r, i) => (i === index ? run : r));
}

/** Starts following a run's finished tiles (none known yet); unchanged when it is followed already. */
export function followLiveTiles(live: RunLive, runId: number): RunLive {
  if (live.liveTiles[runId]) return live;
  return { ...live, liveTiles: { ...live.liveTiles, [runId]: [] } };
}

/** Whether the page follows a run's finished tiles already. */
export function followsLiveTiles(live: RunLive, runId: number): boolean {
  return live.liveTiles[runId] !== undefined;
}

/**
 * Adds a finished tile to a followed run's live tiles; a run not followed (it ended meanwhile, and its result
 * replaced them) or a tile known already leaves `live` as it is.
 */
export function addLiveTile(live: RunLive, runId: number, index: number, file: string): RunLive {
  const tiles = live.liveTiles[runId];
  if (!tiles || tiles.some((t) => t.index === index)) return live;
  return { ...live, liveTiles: { ...live.liveTiles, [runId]: [...tiles, { index, file }] } };
}

/** Adds the tiles a run finished before the page knew of it (opened mid-run) from its tile list. */
export function addFinishedTiles(live: RunLive, runId: number, tileList: readonly TileRecord[]): RunLive {
  let next = live;
  for (const tile of tileList) if (tile.status === 'done' && tile.resultFile) next = addLiveTile(next, runId, tile.index, tile.resultFile);
  return next;
}

/** A deleted run: nothing of it is followed any more. */
export function forgetRun(live: RunLive, runId: number): RunLive {
  return { progress: without(live.progress, runId), liveTiles: without(live.liveTiles, runId), eta: without(live.eta, runId) };
}

function without<T>(record: Record<number, T>, key: number): Record<number, T> {
  const { [key]: _gone, ...rest } = record;
  return rest;
}

/**
 * The live state after one event: a finished run's progress and live tiles go (its result layers replace
 * them; a cancelled run keeps its finished tiles) and its ETA becomes null; a finished tile joins the live tiles and, unless it is running, leaves the
 * progress; a `progress` event sets its tile's step and loss and the run's ETA.
 */
export function applyRunEvent(live: RunLive, event: ApiEvent): RunLive {
  if (event.type === 'run') {
    if (!isFinishedRun(event.run.status)) return live;
    const id = event.run.id;
    // A cancelled run has no mosaic: its finished tiles stay on the map (it can be resumed or finished as it is).
    const liveTiles = event.run.status === 'cancelled' ? live.liveTiles : without(live.liveTiles, id);
    return { progress: without(live.progress, id), liveTiles, eta: { ...live.eta, [id]: null } };
  }
  if (event.type === 'tile') {
    const { runId, tile } = event;
    let next = tile.status === 'done' && tile.resultFile ? addLiveTile(live, runId, tile.index, tile.resultFile) : live;
    const tiles = next.progress[runId];
    if (tile.status !== 'running' && tiles && tile.index in tiles) next = { ...next, progress: { ...next.progress, [runId]: without(tiles, tile.index) } };
    return next;
  }
  if (event.type !== 'progress') return live;
  const fitting: TileProgress = { step: event.step, steps: event.steps, loss: event.loss };
  return {
    ...live,
    progress: { ...live.progress, [event.runId]: { ...live.progress[event.runId], [event.tileIndex]: fitting } },
    eta: { ...live.eta, [event.runId]: event.runEtaSeconds },
  };
}

/** A run's tile on the map: its step while fitted, its own SSIM under the mask once scored (ground-truth runs). */
export function tileLabel(live: RunLive, runId: number, tile: TileRecord): string | undefined {
  const fitting = live.progress[runId]?.[tile.index];
  if (tile.status === 'running' && fitting) return `${fitting.step}/${fitting.steps}`;
  const ssim = tile.metrics?.masked.ssim;
  return ssim != null ? `SSIM ${ssim.toFixed(3)}` : undefined;
}

/**
 * What the map draws over `scene`: the references shown, then the scene's runs from oldest to newest (the
 * newest on top), each with its tiles finished so far (one group in the layer list) and its reconstruction
 * and uncertainty results.
 */
export function runOverlays(
  scene: SceneRecord | null,
  runs: readonly RunRecord[],
  live: RunLive,
  refs: readonly RefRecord[],
  shownRefIds: readonly number[],
): RasterOverlay[] {
  const out: RasterOverlay[] = [];
  for (const ref of refs) if (shownRefIds.includes(ref.id)) out.push({ key: `ref-${ref.id}`, label: `Reference ${ref.name}`, file: ref.file, bands: ref.bands, kind: 'reference' });
  if (!scene) return out;
  for (const run of [...runs].reverse()) {
    if (run.request.targetSceneId !== scene.id) continue;
    const bands = run.request.bands ?? scene.bands;
    const tiles = live.liveTiles[run.id] ?? [];
    for (const tile of tiles) {
      const done = `${tiles.length} tile${tiles.length === 1 ? '' : 's'} done`;
      const group = { key: `tiles-${run.id}`, label: run.status === 'cancelled' ? `Run #${run.id} (cancelled): ${done}` : `Run #${run.id}: ${done} so far` };
      out.push({ key: `tile-${run.id}-${tile.index}`, label: `Run #${run.id} tile ${tile.index}`, file: tile.file, bands, kind: 'reconstruction', group });
    }
    for (const result of run.results) {
      if (result.kind !== 'reconstruction' && result.kind !== 'uncertainty') continue;
      out.push({ key: `result-${result.id}`, label: `Run #${run.id} ${result.kind}`, file: result.file, bands, kind: result.kind });
    }
  }
  return out;
}
