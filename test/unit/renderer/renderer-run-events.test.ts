// The renderer's run state (renderer/src/state/run-events.ts): a run's record only moves forward whatever order
// replies and events come in, the live state of runs going on is merged from events and dropped when a run
// ends, a tile's label on the map, and the overlays a scene's runs put on the map (newest on top).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ApiEvent, RefRecord, RunRecord, RunStatus, SceneRecord, TileRecord } from '../../../native/api/contract.ts';
import { RUN_STATUSES } from '../../../native/api/contract.ts';
import { addFinishedTiles, addLiveTile, applyRunEvent, emptyLive, followLiveTiles, forgetRun, RUN_STAGE, runOverlays, tileLabel, upsertRun, type RunLive } from '../../../renderer/src/state/run-events.ts';

function run(id: number, status: RunStatus, extra: Partial<RunRecord> = {}): RunRecord {
  return {
    id,
    name: null,
    request: { targetSceneId: 1, maskId: 2, method: 'dip', mode: 'basic', steps: 100, seeds: [0], stitch: true, tileSize: 64, overlap: 16, backend: 'auto', groundTruth: false } as RunRecord['request'],
    status,
    backend: null,
    error: null,
    createdAt: '2026-12-06T20:00:00Z',
    startedAt: null,
    finishedAt: null,
    tiles: { total: 0, pending: 0, running: 0, done: 0, failed: 0, clear: 0 },
    results: [],
    metrics: null,
    ...extra,
  };
}

function tile(index: number, status: TileRecord['status'], extra: Partial<TileRecord> = {}): TileRecord {
  return { runId: 7, index, window: { x: index * 48, y: 0, width: 64, height: 64 }, status, attempts: 0, loss: null, spread: null, seconds: null, error: null, resultFile: null, metrics: null, ...extra };
}

const progress = (runId: number, tileIndex: number, step: number, runEtaSeconds: number | null = 30): ApiEvent => ({
  type: 'progress',
  runId,
  tileIndex,
  step,
  steps: 100,
  loss: 0.5 / step,
  etaSeconds: 3,
  runEtaSeconds,
});

describe('a run record only moves forward', () => {
  it('puts a new run first, replaces one at the same stage or further on', () => {
    const older = run(1, 'done');
    let runs = upsertRun([older], run(2, 'queued'));
    assert.deepEqual(runs.map((r) => [r.id, r.status]), [[2, 'queued'], [1, 'done']]);
    runs = upsertRun(runs, run(2, 'running'));
    assert.deepEqual(runs.map((r) => [r.id, r.status]), [[2, 'running'], [1, 'done']]);
    const withTiles = run(2, 'running', { tiles: { total: 4, pending: 3, running: 1, done: 0, failed: 0, clear: 0 } });
    runs = upsertRun(runs, withTiles);
    assert.equal(runs[0], withTiles, 'a newer picture at the same stage replaces the record');
    runs = upsertRun(runs, run(2, 'partial'));
    assert.deepEqual(runs.map((r) => [r.id, r.status]), [[2, 'partial'], [1, 'done']]);
  });

  it('keeps the newer record when a reply is overtaken by the events it caused', () => {
    // startRun's reply ('queued') arrives after the survey's 'running' event.
    const runs = upsertRun([run(3, 'running')], run(3, 'queued'));
    assert.equal(runs[0].status, 'running');
    const finished = [run(4, 'cancelled')];
    assert.equal(upsertRun(finished, run(4, 'mosaicking')), finished, 'nothing changes: the same array');
  });

  it('lets a cancelled run start over only from the reply to resuming or finishing it', () => {
    const runs = [run(7, 'cancelled')];
    assert.equal(upsertRun(runs, run(7, 'running')), runs, 'a late event from before the cancel does not revive it');
    assert.equal(upsertRun(runs, run(7, 'running'), true)[0].status, 'running');
    const done = [run(7, 'done')];
    assert.equal(upsertRun(done, run(7, 'running'), true), done, 'only a cancelled run starts over');
  });

  it('knows the stage of every status the API lists, finished ones last', () => {
    for (const status of RUN_STATUSES) assert.equal(typeof RUN_STAGE[status], 'number', status);
    assert.ok(RUN_STAGE.queued < RUN_STAGE.running && RUN_STAGE.running < RUN_STAGE.mosaicking && RUN_STAGE.mosaicking < RUN_STAGE.done);
    assert.equal(RUN_STAGE.failed, RUN_STAGE.done);
  });
});

describe('the live state of runs going on', () => {
  it('keeps finished tiles only of followed runs, each once', () => {
    let live = addLiveTile(emptyLive(), 7, 0, 'runs/7/tiles/0.tif');
    assert.deepEqual(live.liveTiles, {}, 'a run not followed gets no live tiles');
    live = followLiveTiles(live, 7);
    assert.equal(followLiveTiles(live, 7), live, 'following twice changes nothing');
    live = addFinishedTiles(live, 7, [tile(0, 'done', { resultFile: 'runs/7/tiles/0.tif' }), tile(1, 'running'), tile(2, 'done', { resultFile: 'runs/7/tiles/2.tif' }), tile(3, 'failed')]);
    live = applyRunEvent(live, { type: 'tile', runId: 7, tile: tile(2, 'done', { resultFile: 'runs/7/tiles/2.tif' }) });
    assert.deepEqual(live.liveTiles[7], [{ index: 0, file: 'runs/7/tiles/0.tif' }, { index: 2, file: 'runs/7/tiles/2.tif' }]);
  });

  it('tracks each tile\'s latest step and the run\'s ETA, and forgets a tile once it is no longer running', () => {
    let live = applyRunEvent(emptyLive(), progress(7, 1, 10, 120));
    live = applyRunEvent(live, progress(7, 2, 5, 110));
    live = applyRunEvent(live, progress(7, 1, 20, 100));
    assert.deepEqual(live.progress[7], { 1: { step: 20, steps: 100, loss: 0.025 }, 2: { step: 5, steps: 100, loss: 0.1 } });
    assert.equal(live.eta[7], 100);
    live = applyRunEvent(live, { type: 'tile', runId: 7, tile: tile(1, 'running') });
    assert.ok(live.progress[7][1], 'a running tile keeps its step');
    live = applyRunEvent(live, { type: 'tile', runId: 7, tile: tile(1, 'failed') });
    assert.deepEqual(Object.keys(live.progress[7]), ['2']);
  });

  it('drops a run\'s progress and live tiles when it ends, and its ETA becomes null', () => {
    let live: RunLive = followLiveTiles(emptyLive(), 7);
    live = followLiveTiles(live, 8);
    live = applyRunEvent(live, { type: 'tile', runId: 7, tile: tile(0, 'done', { resultFile: 'runs/7/tiles/0.tif' }) });
    live = applyRunEvent(live, progress(7, 1, 10));
    live = applyRunEvent(live, progress(8, 0, 10, 50));
    const running = applyRunEvent(live, { type: 'run', run: run(7, 'mosaicking') });
    assert.equal(running, live, 'an active run\'s record changes nothing live');
    live = applyRunEvent(live, { type: 'run', run: run(7, 'done') });
    assert.equal(live.progress[7], undefined);
    assert.equal(live.liveTiles[7], undefined);
    assert.equal(live.eta[7], null);
    assert.equal(live.eta[8], 50, 'other runs are untouched');
    assert.deepEqual(live.liveTiles[8], []);
    live = applyRunEvent(live, { type: 'tile', runId: 7, tile: tile(5, 'done', { resultFile: 'runs/7/tiles/5.tif' }) });
    assert.equal(live.liveTiles[7], undefined, 'a late tile of an ended run does not come back');
  });

  it('keeps a cancelled run\'s finished tiles on the map (it has no mosaic), drops them once it is finished as it is', () => {
    let live: RunLive = followLiveTiles(emptyLive(), 7);
    live = applyRunEvent(live, { type: 'tile', runId: 7, tile: tile(0, 'done', { resultFile: 'runs/7/tiles/0.tif' }) });
    live = applyRunEvent(live, progress(7, 1, 10));
    live = applyRunEvent(live, { type: 'run', run: run(7, 'cancelled') });
    assert.deepEqual(live.liveTiles[7], [{ index: 0, file: 'runs/7/tiles/0.tif' }]);
    assert.equal(live.progress[7], undefined);
    assert.equal(live.eta[7], null);
    const overlays = runOverlays({ id: 1, bands: [] as string[] } as SceneRecord, [run(7, 'cancelled')], live, [], []);
    assert.deepEqual(overlays.map((o) => o.group?.label), ['Run #7 (cancelled): 1 tile done']);
    // Resumed, it goes on adding tiles; finished as it is, its mosaic replaces them.
    live = applyRunEvent(live, { type: 'tile', runId: 7, tile: tile(1, 'done', { resultFile: 'runs/7/tiles/1.tif' }) });
    assert.equal(live.liveTiles[7].length, 2);
    live = applyRunEvent(live, { type: 'run', run: run(7, 'partial') });
    assert.equal(live.liveTiles[7], undefined);
  });

  it('forgets everything of a deleted run, and nothing of the others', () => {
    let live: RunLive = followLiveTiles(followLiveTiles(emptyLive(), 7), 8);
    live = applyRunEvent(live, { type: 'tile', runId: 7, tile: tile(0, 'done', { resultFile: 'runs/7/tiles/0.tif' }) });
    live = applyRunEvent(live, progress(8, 1, 10, 40));
    live = applyRunEvent(live, { type: 'run', run: run(7, 'cancelled') });
    const forgotten = forgetRun(live, 7);
    assert.equal(forgotten.liveTiles[7], undefined);
    assert.equal(7 in forgotten.eta, false);
    assert.deepEqual(forgotten.progress[8], live.progress[8]);
    assert.equal(forgotten.eta[8], 40);
  });

  it('never changes the state it is given', () => {
    const live = followLiveTiles(applyRunEvent(emptyLive(), progress(7, 1, 10)), 7);
    const before = structuredClone(live);
    applyRunEvent(live, progress(7, 1, 11));
    applyRunEvent(live, { type: 'tile', runId: 7, tile: tile(1, 'done', { resultFile: 'x.tif' }) });
    applyRunEvent(live, { type: 'run', run: run(7, 'failed') });
    assert.deepEqual(live, before);
  });
});

describe('what the map shows of runs', () => {
  it('labels a fitted tile by its step, a scored one by its SSIM, others not', () => {
    const live = applyRunEvent(emptyLive(), progress(7, 1, 40));
    assert.equal(tileLabel(live, 7, tile(1, 'running')), '40/100');
    assert.equal(tileLabel(live, 7, tile(2, 'running')), undefined);
    const masked = { ssim: 0.87654, rmse: 0.03, mae: 0.02, psnr: 30, sam: 0.05 };
    assert.equal(tileLabel(live, 7, tile(1, 'done', { metrics: { masked, whole: masked, maskedPixels: 10 } })), 'SSIM 0.877');
    assert.equal(tileLabel(live, 7, tile(3, 'pending')), undefined);
  });

  it('draws the references shown, then the scene\'s runs oldest first with their tiles so far and results', () => {
    const scene = { id: 1, bands: ['B02', 'B03', 'B04'] } as SceneRecord;
    const refs = [{ id: 5, name: 'mean', file: 'rasters/ref-5.tif', bands: ['B04'] }, { id: 6, name: 'other', file: 'rasters/ref-6.tif', bands: [] }] as unknown as RefRecord[];
    const result = (id: number, runId: number, kind: RunRecord['results'][number]['kind']) => ({ id, runId, kind, file: `runs/${runId}/${kind}.tif`, createdAt: '' });
    const runs = [
      run(9, 'running'),
      run(8, 'done', { results: [result(1, 8, 'reconstruction'), result(2, 8, 'uncertainty'), result(3, 8, 'outline')], request: { ...run(8, 'done').request, bands: ['B04'] } }),
      run(4, 'done', { results: [result(4, 4, 'reconstruction')], request: { ...run(4, 'done').request, targetSceneId: 2 } }),
    ];
    let live = followLiveTiles(emptyLive(), 9);
    live = addLiveTile(live, 9, 3, 'runs/9/tiles/3.tif');
    live = addLiveTile(live, 9, 4, 'runs/9/tiles/4.tif');
    const overlays = runOverlays(scene, runs, live, refs, [5]);
    assert.deepEqual(
      overlays.map((o) => [o.key, o.label, o.kind, o.group?.label ?? null]),
      [
        ['ref-5', 'Reference mean', 'reference', null],
        ['result-1', 'Run #8 reconstruction', 'reconstruction', null],
        ['result-2', 'Run #8 uncertainty', 'uncertainty', null],
        ['tile-9-3', 'Run #9 tile 3', 'reconstruction', 'Run #9: 2 tiles done so far'],
        ['tile-9-4', 'Run #9 tile 4', 'reconstruction', 'Run #9: 2 tiles done so far'],
      ],
    );
    assert.deepEqual(overlays[1].bands, ['B04'], 'a run\'s own bands');
    assert.deepEqual(overlays[3].bands, scene.bands, 'else the scene\'s');
    assert.deepEqual(runOverlays(null, runs, live, refs, [6]).map((o) => o.key), ['ref-6'], 'with no scene, only references');
  });
});
