// The app's loss curves (renderer/src/state/loss-curves.ts): a tile's curve grows from the progress events,
// one line per seed although the events count steps on across seeds; a retried tile starts afresh; tile
// outlines take a colour by final loss or seed spread, on a log scale between the run's lowest and highest.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ApiEvent } from '../../../native/api/contract.ts';
import { addProgress, liveCurves, QUALITY_RAMP, qualityColour, qualityRange, qualityValue, type LiveLoss } from '../../../renderer/src/state/loss-curves.ts';

/** A progress event as the runner sends it: `steps` is the tile's steps over all its seeds. */
const progress = (tileIndex: number, step: number, loss: number, seeds = 2, stepsPerSeed = 100): Extract<ApiEvent, { type: 'progress' }> => ({
  type: 'progress',
  runId: 7,
  tileIndex,
  step,
  steps: stepsPerSeed * seeds,
  loss,
  etaSeconds: null,
  runEtaSeconds: null,
});

describe('a tile’s curve grows from the progress events', () => {
  it('puts each reading on its seed’s line, at the step within that seed', () => {
    let live: LiveLoss = {};
    for (const [step, loss] of [[20, 0.5], [60, 0.2], [100, 0.1], [130, 0.4], [200, 0.09]] as const) live = addProgress(live, progress(3, step, loss), 100);
    assert.deepEqual(live[7][3], [[[20, 0.5], [60, 0.2], [100, 0.1]], [[30, 0.4], [100, 0.09]]]);
    assert.deepEqual(liveCurves(live, 7, 3, [5, 9]).map((c) => [c.seed, c.step, c.loss]), [[5, [20, 60, 100], [0.5, 0.2, 0.1]], [9, [30, 100], [0.4, 0.09]]]);
    assert.deepEqual(liveCurves(live, 7, 4, [5, 9]), [], 'a tile without readings has no curve');
  });

  it('starts a tile afresh when its steps go back (retried, or resumed elsewhere), and ignores a loss that cannot be drawn', () => {
    let live: LiveLoss = {};
    live = addProgress(live, progress(1, 150, 0.2), 100);
    live = addProgress(live, progress(1, 40, 0.6), 100);
    assert.deepEqual(live[7][1], [[[40, 0.6]]]);
    const same = addProgress(live, progress(1, 50, Number.NaN), 100);
    assert.equal(same, live);
    assert.equal(addProgress(live, progress(1, 60, 0), 100), live);
  });

  it('leaves the state it was given as it was (the page replaces it whole)', () => {
    const before: LiveLoss = {};
    const after = addProgress(before, progress(0, 10, 0.3), 100);
    assert.deepEqual(before, {});
    assert.notEqual(after, before);
  });
});

describe('tile outlines by quality', () => {
  const tiles = [
    { status: 'done' as const, loss: 0.001, spread: 5 },
    { status: 'done' as const, loss: 0.01, spread: 50 },
    { status: 'done' as const, loss: 0.1, spread: null },
    { status: 'running' as const, loss: null, spread: null },
  ];
  it('takes the finished tiles’ values only', () => {
    assert.deepEqual(qualityRange(tiles, 'loss'), { low: 0.001, high: 0.1 });
    assert.deepEqual(qualityRange(tiles, 'spread'), { low: 5, high: 50 });
    assert.equal(qualityRange(tiles, 'status'), null);
    assert.equal(qualityValue(tiles[3], 'loss'), null);
  });
  it('colours the lowest violet, the highest yellow and the middle of a log scale in between', () => {
    const range = { low: 0.001, high: 0.1 };
    assert.equal(qualityColour(0.001, range), QUALITY_RAMP[0]);
    assert.equal(qualityColour(0.1, range), QUALITY_RAMP.at(-1));
    assert.equal(qualityColour(0.01, range), QUALITY_RAMP[2], 'ten times the lowest is half way on a log scale');
    assert.equal(qualityColour(3, { low: 3, high: 3 }), QUALITY_RAMP[0], 'one value: no ramp to place it on');
  });
});
