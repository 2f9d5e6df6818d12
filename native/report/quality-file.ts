/**
 * The quality file written beside an exported reconstruction (`OUT.quality.json`): per cloudy tile its final
 * loss, the seeds' spread under its mask, its steps and its loss curve per seed. The blind-setting quality
 * signal (no ground truth) travels with the GeoTIFF, so whoever opens it in QGIS can see which tiles are unsure.
 */
import type { LossCurve, RunRecord, TileLossCurves, TileRecord } from '../api/contract.ts';

export const QUALITY_FORMAT = 'clearsky-quality/1';

export interface QualityFile {
  format: typeof QUALITY_FORMAT;
  /** The project's run; `clearsky inpaint` (no project) writes id and name null and status `done`, or `partial` when a tile failed. */
  run: { id: number | null; name: string | null; method: string; mode: string | null; steps: number | null; seeds: number[]; status: string };
  /** What the numbers mean, for a reader without the docs. */
  units: { loss: string; spread: string; window: string; curves: string };
  tiles: {
    index: number;
    /** Pixels of the exported GeoTIFF (the run's area). */
    window: TileRecord['window'];
    status: TileRecord['status'];
    finalLoss: number | null;
    spread: number | null;
    /** The training steps each seed ran (the last step of its curve); null without a curve. */
    steps: number | null;
    seconds: number | null;
    curves: LossCurve[];
    /** Why a failed tile failed (it keeps the input); null otherwise. */
    error: string | null;
  }[];
}

/** `out.tif` → `out.quality.json` (any `.tif`/`.tiff` suffix, any case, is replaced). */
export function qualityPath(destination: string): string {
  return `${destination.replace(/\.tiff?$/i, '')}.quality.json`;
}

/** The quality file's content from the run's record, its tiles and their curves (the cloudy tiles only). */
export function qualityFile(run: RunRecord, tiles: readonly TileRecord[], curves: readonly TileLossCurves[]): QualityFile {
  const byIndex = new Map(curves.map((c) => [c.index, c.curves]));
  const r = run.request;
  const dip = r.method === 'dip';
  return withTiles(
    { id: run.id, name: run.name, method: r.method, mode: dip ? r.mode : null, steps: dip ? r.steps : null, seeds: r.seeds, status: run.status },
    tiles.filter((t) => t.status !== 'clear').map((t) => ({ index: t.index, window: t.window, status: t.status, finalLoss: t.loss, spread: t.spread, seconds: t.seconds, curves: byIndex.get(t.index) ?? [], error: t.error })),
  );
}

/** One tile of a run outside any project (`clearsky inpaint --quality`), as the command saw it finish. */
export type InpaintQualityTile = Omit<QualityFile['tiles'][number], 'steps'>;

/** The quality file of `clearsky inpaint` (no project, no run id): the same format as an export's. */
export function inpaintQualityFile(settings: { method: string; mode: string | null; steps: number | null; seeds: number[] }, tiles: readonly InpaintQualityTile[]): QualityFile {
  // As a project's run: a failed tile (keeping the input) makes the result partial.
  const status = tiles.some((t) => t.status === 'failed') ? 'partial' : 'done';
  return withTiles({ id: null, name: null, ...settings, status }, [...tiles].sort((a, b) => a.index - b.index));
}

function withTiles(run: QualityFile['run'], tiles: readonly InpaintQualityTile[]): QualityFile {
  return {
    format: QUALITY_FORMAT,
    run,
    units: {
      loss: 'masked mean squared error over the known pixels the network fits, in the network\'s scale (each channel mapped to 1/6..5/6 of its range, docs/engine.md); finalLoss is the last seed\'s',
      spread: 'median over the tile\'s masked pixels of the standard deviation across seeds (mean over bands), digital numbers; null with one seed',
      window: 'pixels of the exported GeoTIFF: x, y of the top-left corner, width, height',
      curves: 'per seed: step (last step of each bucket), loss (mean of the readings in it), min (lowest reading); at most 200 points',
    },
    // steps: the last step of the last seed's curve, what the tile really ran (a cancelled run stops early).
    tiles: tiles.map((t) => ({ index: t.index, window: t.window, status: t.status, finalLoss: t.finalLoss, spread: t.spread, steps: t.curves.at(-1)?.step.at(-1) ?? null, seconds: t.seconds, curves: t.curves, error: t.error })),
  };
}
