/**
 * The loss curves as the app shows them (pure, unit-tested in test/unit/renderer/renderer-loss-curves.test.ts): the
 * points of a tile still training, grown from the `progress` events, and the outline colour of a tile by its
 * quality signal (final loss or seed spread) — an outline only, never a fill over the image under QA.
 */
import type { ApiEvent, LossCurve, TileRecord } from '../../../native/api/contract.ts';

/** Per run, per tile: a list of [step, loss] per seed, as the progress events said them. */
export type LiveLoss = Record<number, Record<number, [number, number][][]>>;

/** The most live points kept per seed (the events come about once a second). */
const MAX_LIVE_POINTS = 400;

/**
 * Adds a progress event's reading. A tile's steps count on across its seeds (seed k's step s is
 * k × stepsPerSeed + s), so the seed is found from the step; a step that goes back starts the tile afresh
 * (it was retried or resumed).
 */
export function addProgress(live: LiveLoss, event: Extract<ApiEvent, { type: 'progress' }>, stepsPerSeed: number): LiveLoss {
  if (!(event.loss > 0) || !Number.isFinite(event.loss) || event.step < 1 || stepsPerSeed < 1) return live;
  const seed = Math.floor((event.step - 1) / stepsPerSeed);
  const step = event.step - seed * stepsPerSeed;
  const run = live[event.runId] ?? {};
  let seeds = run[event.tileIndex] ?? [];
  const last = seeds.at(-1)?.at(-1);
  const lastSeed = seeds.length - 1;
  if (last && (seed < lastSeed || (seed === lastSeed && step <= last[0]))) seeds = [];
  seeds = [...seeds];
  while (seeds.length <= seed) seeds.push([]);
  const points = [...seeds[seed], [step, event.loss] as [number, number]];
  seeds[seed] = points.length > MAX_LIVE_POINTS ? points.filter((_, i) => i % 2 === 1 || i === points.length - 1) : points;
  return { ...live, [event.runId]: { ...run, [event.tileIndex]: seeds } };
}

/** The live points of a tile as curves (seed numbers from the run's seeds), for the plot. */
export function liveCurves(live: LiveLoss, runId: number, tileIndex: number, seeds: readonly number[]): LossCurve[] {
  return (live[runId]?.[tileIndex] ?? []).map((points, i) => ({
    seed: seeds[i] ?? i,
    step: points.map(([s]) => s),
    loss: points.map(([, v]) => v),
    min: points.map(([, v]) => v),
  }));
}

export type QualityBy = 'status' | 'loss' | 'spread';

export function qualityValue(tile: Pick<TileRecord, 'loss' | 'spread' | 'status'>, by: QualityBy): number | null {
  if (by === 'status' || tile.status !== 'done') return null;
  const value = by === 'loss' ? tile.loss : tile.spread;
  return value !== null && Number.isFinite(value) && value > 0 ? value : null;
}

/** The range of the finished tiles' values, or null when none has one. */
export function qualityRange(tiles: readonly Pick<TileRecord, 'loss' | 'spread' | 'status'>[], by: QualityBy): { low: number; high: number } | null {
  const values = tiles.map((t) => qualityValue(t, by)).filter((v): v is number => v !== null);
  return values.length ? { low: Math.min(...values), high: Math.max(...values) } : null;
}

/**
 * The outline ramp (plasma): violet for the surest tile to bright yellow for the least sure. No green or red
 * (the done and failed states) and no cyan (the mask outline).
 */
export const QUALITY_RAMP = ['#5c3bd6', '#9c179e', '#cc4778', '#f89540', '#f0f921'];

/** A tile's outline colour: its value's place between the run's lowest and highest, on a log scale. */
export function qualityColour(value: number, range: { low: number; high: number }): string {
  const span = Math.log(range.high) - Math.log(range.low);
  const t = span > 0 ? (Math.log(value) - Math.log(range.low)) / span : 0;
  const k = Math.min(QUALITY_RAMP.length - 1, Math.max(0, Math.round(t * (QUALITY_RAMP.length - 1))));
  return QUALITY_RAMP[k];
}
