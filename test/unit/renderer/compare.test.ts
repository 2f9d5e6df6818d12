// The Compare view's pure helpers: panel titles, the scores line, the tile picker's choices, a window's extent
// and the number of columns.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunMetrics, RunRecord } from '../../../native/api/contract.ts';
import { gridColumns, metricsLine, runTitle, tileChoices, windowExtent } from '../../../renderer/src/compare/compare.ts';
import type { GeoTransform } from '../../../renderer/src/tools/geometry.ts';

const GT: GeoTransform = [465000, 10, 0, 5080000, 0, -10];

function run(id: number, request: Partial<RunRecord['request']> = {}): Pick<RunRecord, 'id' | 'request'> {
  return {
    id,
    request: { targetSceneId: 1, maskId: 2, method: 'dip', mode: 'basic', steps: 4000, seeds: [0], stitch: true, tileSize: 64, overlap: 16, backend: 'auto', groundTruth: false, ...request } as RunRecord['request'],
  };
}

test('a panel is titled by its run: mode, steps and seeds; a baseline by its method', () => {
  assert.equal(runTitle(run(12, { mode: 'mt', steps: 4000, seeds: [0, 1, 2] })), '#12 mt · 4000 steps · 3 seeds');
  assert.equal(runTitle(run(3, { steps: 1, seeds: [7] })), '#3 basic · 1 step · 1 seed');
  assert.equal(runTitle(run(13, { method: 'idw-fill' })), '#13 idw-fill (baseline)');
  assert.equal(runTitle(run(14, { method: 'reference-fit' })), '#14 reference-fit (baseline)');
});

test('the scores line shows SSIM, RMSE and PSNR under the mask, dashes where undefined, nothing without scores', () => {
  const metrics: RunMetrics = {
    masked: { ssim: 0.91234, rmse: 0.03149, mae: 0.02, psnr: 30.44, sam: 0.05 },
    whole: { ssim: 0.99, rmse: 0.01, mae: 0.005, psnr: 40, sam: 0.01 },
    maskedPixels: 1234,
  };
  assert.equal(metricsLine(metrics), 'SSIM 0.912 · RMSE 0.031 · PSNR 30.4 dB under the mask');
  assert.equal(metricsLine({ ...metrics, masked: { ...metrics.masked, ssim: null, psnr: null } }), 'SSIM – · RMSE 0.031 · PSNR – under the mask');
  assert.equal(metricsLine(null), null);
  assert.equal(metricsLine(undefined), null);
});

test('a pixel window’s map extent', () => {
  assert.deepEqual(windowExtent(GT, { x: 36, y: 37, width: 64, height: 64 }), [465360, 5078990, 466000, 5079630]);
});

test('the tile picker lists each reconstructed window once, in the scene’s pixels, with its cloud and whose it is', () => {
  const done = (index: number, x: number, y: number) => ({ index, window: { x, y, width: 64, height: 64 }, status: 'done' as const });
  const choices = tileChoices([
    { run: run(1), tiles: [done(0, 0, 0), done(1, 36, 0), { index: 2, window: { x: 0, y: 37, width: 64, height: 64 }, status: 'clear' }], preview: [{ index: 0, cloudFraction: 0.234 }, { index: 1, cloudFraction: 0.5 }] },
    { run: run(2), tiles: [done(1, 36, 0), done(0, 0, 0)] },
    // Over an area: its tiles' windows are in the area's pixels.
    { run: run(3, { area: { x: 36, y: 37, width: 64, height: 64 } }), tiles: [done(0, 0, 0)] },
  ]);
  assert.deepEqual(
    choices.map((c) => [c.key, c.label, c.runIds]),
    [
      ['0,0,64,64', 'Tile 0 · 23 % cloud · #1, #2', [1, 2]],
      ['36,0,64,64', 'Tile 1 · 50 % cloud · #1, #2', [1, 2]],
      ['36,37,64,64', 'Tile 0 · #3', [3]],
    ],
  );
  assert.deepEqual(choices[1].indexByRun, { 1: 1, 2: 1 });
  // Every run has the tile: no run ids in the label.
  assert.deepEqual(tileChoices([{ run: run(1), tiles: [done(5, 0, 0)], preview: [{ index: 5, cloudFraction: 0.1 }] }]).map((c) => c.label), ['Tile 5 · 10 % cloud']);
});

test('the panels take 2 or 3 columns, whichever gives each map the larger square', () => {
  assert.equal(gridColumns(1, 960, 700), 1);
  assert.equal(gridColumns(2, 960, 700), 2);
  assert.equal(gridColumns(3, 960, 720), 2);
  assert.equal(gridColumns(3, 1600, 500), 3);
  assert.equal(gridColumns(6, 1500, 700), 3);
});
