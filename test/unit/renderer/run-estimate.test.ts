// The run dialog's estimate (renderer/src/tools/run-estimate.ts): a step timed on this project's finished DIP
// tiles of a backend, scaled to the new tile size, times cloudy tiles × steps × seeds; none without such tiles;
// the warning for far too few steps; and which SAR scenes fit the target's grid (the one preselected).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunRecord, SceneRecord, TileRecord } from '../../../native/api/contract.ts';
import { backendName, estimateSeconds, fewStepsWarning, sarFitting, stepFigure, timedRuns } from '../../../renderer/src/tools/run-estimate.ts';

function run(id: number, extra: Partial<RunRecord> & { method?: 'dip' | 'idw-fill'; steps?: number; seeds?: number[] } = {}): RunRecord {
  const { method = 'dip', steps = 100, seeds = [0], ...rest } = extra;
  return {
    id,
    name: null,
    request: { targetSceneId: 1, maskId: 2, method, mode: 'basic', steps, seeds, stitch: true, tileSize: 128, overlap: 16, backend: 'auto', groundTruth: false },
    status: 'done',
    backend: 'native',
    error: null,
    createdAt: '',
    startedAt: null,
    finishedAt: null,
    tiles: { total: 4, pending: 0, running: 0, done: 3, failed: 0, clear: 1 },
    results: [],
    metrics: null,
    ...rest,
  };
}

const tile = (index: number, seconds: number | null, status: TileRecord['status'] = 'done', size = 128): TileRecord => ({
  runId: 1, index, window: { x: 0, y: 0, width: size, height: size }, status, attempts: 1, loss: null, spread: null, seconds, error: null, resultFile: null, metrics: null,
});

test('a step is timed on the finished tiles: median seconds per step and seed, scaled to a 256² tile', () => {
  // 100 steps × 2 seeds on 128² tiles: 20, 30 and 40 s → 0.1, 0.15, 0.2 s a step at 128², ×4 at 256².
  const figure = stepFigure(run(4, { seeds: [0, 1] }), [tile(0, 20), tile(1, 40), tile(2, 30), tile(3, null, 'clear'), tile(4, 99, 'failed')]);
  assert.deepEqual(figure, { backend: 'native', secondsPerStep256: 0.6, runId: 4, tiles: 3, steps: 200, tileSize: 128 });
  // 6 cloudy 256² tiles × 4000 steps × 1 seed × 0.6 s = 14400 s; at 128² a quarter of that.
  assert.equal(estimateSeconds(figure!, 6, 4000, 1, 256), 14400);
  assert.equal(estimateSeconds(figure!, 6, 4000, 1, 128), 3600);
  assert.equal(estimateSeconds(figure!, 6, 4000, 3, 128), 10800);
});

test('no figure from a baseline, a run without a backend or without a timed tile', () => {
  assert.equal(stepFigure(run(1, { method: 'idw-fill' }), [tile(0, 2)]), null);
  assert.equal(stepFigure(run(1, { backend: null }), [tile(0, 2)]), null);
  assert.equal(stepFigure(run(1), [tile(0, null), tile(1, 5, 'pending')]), null);
});

test('the runs that can time a backend: DIP runs with finished tiles recorded on it, the most work per tile first, then the newest', () => {
  const runs = [run(1), run(2, { backend: 'webgpu (SwiftShader driver 5.0.0; google swiftshader; software)' }), run(3, { method: 'idw-fill' }), run(5), run(6, { tiles: { total: 2, pending: 2, running: 0, done: 0, failed: 0, clear: 0 } }), run(7, { steps: 20 }), run(8, { steps: 4000 })];
  assert.deepEqual(timedRuns(runs, 'native').map((r) => r.id), [8, 5, 1, 7]);
  assert.deepEqual(timedRuns(runs, 'webgpu').map((r) => r.id), [2]);
  assert.deepEqual(timedRuns(runs, 'wasm'), []);
  assert.equal(backendName('webgpu (SwiftShader driver 5.0.0)'), 'webgpu');
  assert.equal(backendName(null), null);
});

test('far fewer steps than the method needs are warned about; enough are not', () => {
  assert.match(fewStepsWarning(20) ?? '', /20 steps is far below what the method needs \(the paper fits 4000\)/);
  assert.equal(fewStepsWarning(1000), null);
  assert.equal(fewStepsWarning(4000), null);
  // mtfit is the other way round: it starts at its baseline and more steps take it away from it.
  assert.equal(fewStepsWarning(50, 'mtfit'), null);
  assert.match(fewStepsWarning(4000, 'mtfit') ?? '', /4000 steps: mtfit starts at the reference-fit baseline, cloned seamlessly, .* Try 50 or fewer/);
  assert.notEqual(fewStepsWarning(100, 'mtfit'), null);
});

test('the SAR scenes that fit the target are those on its grid', () => {
  const grid = { width: 256, height: 256, epsg: 32631, crs: null, geoTransform: [500000, 10, 0, 900000, 0, -10] as [number, number, number, number, number, number], bounds: null };
  const scene = (id: number, g: Partial<typeof grid> = {}) => ({ id, grid: { ...grid, ...g } }) as SceneRecord;
  const target = scene(1);
  const sar = [scene(2), scene(3, { epsg: 32632 }), scene(4, { geoTransform: [500010, 10, 0, 900000, 0, -10] }), scene(5, { width: 128 })];
  assert.deepEqual(sarFitting(target, sar).map((s) => s.id), [2]);
});
