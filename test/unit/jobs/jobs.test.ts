/**
 * The job system on a real project: a real SQLite catalogue, real worker processes, crops of the real T33UUU
 * scene. Runs complete, match the command line's result, survive a crashed worker and run side by side.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { ApiEvent, RunRequest } from '../../../native/api/contract.ts';
import type { Project } from '../../../native/catalogue/project.ts';
import { webgpuPins, workerPlan } from '../../../native/jobs/pool.ts';
import { JobRunner } from '../../../native/jobs/runner.ts';
import { readBands, readRasterInfo, withRaster } from '../../../native/raster/tiff/geotiff-reader.ts';
import { runClearsky } from '../../helpers/cli.ts';
import { REPO_ROOT } from '../../helpers/data.ts';
import { projectWithScene as createRunProject, type CloudBox } from '../../helpers/run-project.ts';
import { runnerRunEnded } from '../../helpers/run-ended.ts';

let dir: string;
before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-jobs-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** The shared small project (test/helpers/run-project.ts), in this file's folder. */
const projectWithScene = (name: string, cloud?: CloudBox) => createRunProject(path.join(dir, name), cloud);

function request(sceneId: number, maskId: number, overrides: Partial<RunRequest> = {}): RunRequest {
  return { targetSceneId: sceneId, maskId, method: 'idw-fill', mode: 'basic', steps: 10, seeds: [0], stitch: true, tileSize: 64, overlap: 16, backend: 'auto', groundTruth: false, bands: ['B04', 'B03', 'B02'], ...overrides };
}

function submit(runner: JobRunner, project: Project, ids: { sceneId: number; maskId: number }, overrides: Partial<RunRequest> = {}): number {
  const req = request(ids.sceneId, ids.maskId, overrides);
  const runId = runner.store.createRun(req, { target: 'rasters/scene.tif', mask: 'rasters/mask.tif', maskBand: 1, bands: req.bands, area: req.area }, { targetSceneId: ids.sceneId, maskId: ids.maskId });
  runner.submitted(runId);
  return runId;
}


test('a run becomes tile tasks on workers and ends with the same result as the command line', async () => {
  const { project, sceneId, maskId, scene, mask } = await projectWithScene('basic');
  const runner = new JobRunner(project, { workers: 2 });
  const events: ApiEvent[] = [];
  runner.subscribe((e) => events.push(e));
  try {
    runner.start();
    const runId = submit(runner, project, { sceneId, maskId });
    assert.equal(await runnerRunEnded(runner, runId), 'done');
    const record = runner.store.record(runId);
    assert.ok(record.tiles.done > 0 && record.tiles.clear > 0, JSON.stringify(record.tiles));
    assert.equal(record.tiles.failed + record.tiles.pending + record.tiles.running, 0);
    assert.deepEqual(record.results.map((r) => r.kind), ['reconstruction', 'mask']);
    assert.ok(events.some((e) => e.type === 'tile' && e.tile.status === 'done'));
    assert.deepEqual([...new Set(events.filter((e) => e.type === 'run').map((e) => (e as { run: { status: string } }).run.status))], ['queued', 'running', 'mosaicking', 'done']);

    const cli = path.join(dir, 'cli.tif');
    const r = await runClearsky(['inpaint', '--target', scene, '--mask', mask, '--bands', 'B04,B03,B02', '--method', 'idw-fill', '--stitch', '--tile', '64', '--overlap', '16', '--out', cli], dir);
    assert.equal(r.code, 0, r.stderr);
    const fromJobs = await withRaster(project.resolve(record.results[0].file), (raster) => readBands(raster, [0, 1, 2]));
    const fromCli = await withRaster(cli, (raster) => readBands(raster, [0, 1, 2]));
    assert.deepEqual(fromJobs.data, fromCli.data, 'the job system and the command line give the same pixels');
  } finally {
    await runner.close();
    project.close();
  }
});

test('a worker that crashes mid-tile is replaced and the tile retried; two runs proceed side by side', async () => {
  const { project, sceneId, maskId } = await projectWithScene('crash');
  const runner = new JobRunner(project, { workers: 2 });
  try {
    runner.start();
    const dip = submit(runner, project, { sceneId, maskId }, { method: 'dip', steps: 40 });
    const quick = submit(runner, project, { sceneId, maskId });
    // Kill the worker computing the first network tile as soon as it reports progress.
    let killed = false;
    const unsubscribe = runner.subscribe((event) => {
      if (killed || event.type !== 'progress' || event.runId !== dip) return;
      killed = true;
      const pid = runner.workerPid(event.runId);
      assert.ok(pid, 'a worker is busy with the run');
      process.kill(pid, 'SIGKILL');
    });
    assert.equal(await runnerRunEnded(runner, quick), 'done');
    assert.equal(await runnerRunEnded(runner, dip, 300_000), 'done');
    unsubscribe();
    assert.ok(killed, 'a worker was killed');
    const tiles = runner.store.tiles(dip).filter((t) => t.status === 'done');
    assert.ok(tiles.some((t) => t.attempts === 2), 'the interrupted tile took a second attempt');
    assert.ok(tiles.every((t) => t.loss !== null && Number.isFinite(t.loss)));
    assert.ok(existsSync(project.resolve(runner.store.record(dip).results[0].file)));
  } finally {
    await runner.close();
    project.close();
  }
});

test('cancelling a run stops its worker within a second; its unfinished tiles wait as pending, none left running', async () => {
  const { project, sceneId, maskId } = await projectWithScene('cancel', { x0: 0, x1: 200, y0: 0, y1: 60 });
  const runner = new JobRunner(project, { workers: 1 });
  try {
    runner.start();
    const runId = submit(runner, project, { sceneId, maskId }, { method: 'dip', steps: 2000 });
    await new Promise<void>((resolve) => {
      const unsubscribe = runner.subscribe((e) => {
        if (e.type === 'progress' && e.runId === runId) {
          unsubscribe();
          resolve();
        }
      });
    });
    const pid = runner.workerPid(runId);
    const start = performance.now();
    runner.cancel(runId);
    assert.equal(runner.store.status(runId), 'cancelled');
    while (runner.workerPid(runId) !== undefined) await new Promise((r) => setTimeout(r, 20));
    const stoppedAfter = performance.now() - start;
    assert.ok(stoppedAfter < 1500, `the worker stopped after ${stoppedAfter.toFixed(0)} ms`);
    assert.ok(pid);
    const tiles = runner.store.tiles(runId);
    assert.equal(tiles.filter((t) => t.status === 'running').length, 0);
    assert.ok(tiles.filter((t) => t.status === 'pending').length > 0);
  } finally {
    await runner.close();
    project.close();
  }
});

test('kill -9 in the middle of a run: `clearsky resume` finishes it without recomputing finished tiles', async () => {
  const { project, sceneId, maskId } = await projectWithScene('killed');
  try {
    const run = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/clearsky.js'), 'run', project.dir, '--target', String(sceneId), '--mask', String(maskId),
      '--bands', 'B04,B03,B02', '--mode', 'basic', '--steps', '60', '--tile', '64', '--overlap', '16', '--workers', '2'], { stdio: 'ignore' });
    const doneTiles = () => project.db.prepare(`SELECT idx, result_file AS file FROM tiles WHERE status = 'done'`).all() as { idx: number; file: string }[];
    const deadline = Date.now() + 180_000;
    while (doneTiles().length < 1) {
      assert.ok(Date.now() < deadline, 'a tile finishes');
      await new Promise((r) => setTimeout(r, 100));
    }
    run.kill('SIGKILL');
    await new Promise((r) => run.once('exit', r));
    const before = new Map<number, number>();
    for (const t of doneTiles()) before.set(t.idx, (await fs.stat(project.resolve(t.file))).mtimeMs);
    const cloudy = (project.db.prepare(`SELECT COUNT(*) AS n FROM tiles WHERE status != 'clear'`).get() as { n: number }).n;
    assert.ok(before.size < cloudy, `killed with work left (${before.size} of ${cloudy} tiles done)`);

    const resumed = await runClearsky(['resume', project.dir, '--json'], dir);
    assert.equal(resumed.code, 0, resumed.stderr);
    const [record] = JSON.parse(resumed.stdout.trim().split('\n').at(-1)!);
    assert.equal(record.status, 'done');
    assert.equal(record.tiles.done, cloudy);
    for (const [idx, mtime] of before) {
      const tile = project.db.prepare('SELECT attempts, result_file AS file FROM tiles WHERE idx = ?').get(idx) as { attempts: number; file: string };
      assert.equal(tile.attempts, 1, `tile ${idx} finished before the kill was not run again`);
      assert.equal((await fs.stat(project.resolve(tile.file))).mtimeMs, mtime);
    }
    const result = await readRasterInfo(project.resolve(record.results[0].file));
    assert.deepEqual([result.width, result.height, result.bandCount], [200, 100, 3]);
    assert.deepEqual((await fs.readdir(path.join(project.dir, 'runs', String(record.id), 'tiles'))).filter((f) => !f.endsWith('.tif')), [], 'no temporary files left');
    const exported = path.join(dir, 'killed-result.tif');
    const exportRun = await runClearsky(['export', project.dir, String(record.results[0].id), exported], dir);
    assert.equal(exportRun.code, 0, exportRun.stderr);
    assert.deepEqual(await withRaster(exported, (r) => readBands(r, [0, 1, 2])), await withRaster(project.resolve(record.results[0].file), (r) => readBands(r, [0, 1, 2])));
    const missing = await runClearsky(['export', project.dir, '999', exported], dir);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /there is no result 999/);
  } finally {
    project.close();
  }
});

test('workers share the cores out, or take one GPU each when there are GPUs', () => {
  assert.deepEqual(workerPlan(2, []), [{ OMP_NUM_THREADS: '2', OMP_WAIT_POLICY: 'PASSIVE' }]);
  assert.deepEqual(workerPlan(2, [], 2).map((w) => w.OMP_NUM_THREADS), ['1', '1']);
  assert.deepEqual(workerPlan(16, []).length, 8);
  const gpus = workerPlan(16, ['0', '1']);
  assert.deepEqual(gpus.map((w) => [w.CUDA_VISIBLE_DEVICES, w.OMP_NUM_THREADS]), [['0', '8'], ['1', '8']]);
  // Without CUDA GPUs, one worker per WebGPU adapter, pinned by Dawn's name for it.
  const adapters = workerPlan(16, [], undefined, ['NVIDIA RTX A6000', 'AMD Radeon Pro W7900']);
  assert.deepEqual(adapters.map((w) => [w.CLEARSKY_WEBGPU_ADAPTER, w.OMP_NUM_THREADS, w.CUDA_VISIBLE_DEVICES]), [['NVIDIA RTX A6000', '8', undefined], ['AMD Radeon Pro W7900', '8', undefined]]);
  assert.equal(workerPlan(16, ['0'], undefined, ['NVIDIA RTX A6000'])[0].CLEARSKY_WEBGPU_ADAPTER, undefined, 'CUDA ids win');
});

test('WebGPU adapters a worker can be pinned to: each hardware one Dawn can find by its name', () => {
  const vulkan = (name: string, software = false) => ({ backend: 'vulkan', name, software });
  // Two different GPUs and SwiftShader: a worker on each GPU, none on the software adapter.
  assert.deepEqual(webgpuPins([vulkan('NVIDIA H100 80GB HBM3'), vulkan('AMD Radeon Pro W7900'), vulkan('SwiftShader Device (Subzero)', true)], true), { pins: ['NVIDIA H100 80GB HBM3', 'AMD Radeon Pro W7900'], unpinnable: [] });
  // Identical GPUs: Dawn's adapter=NAME takes the first whose name contains NAME, so only the first is reachable.
  assert.deepEqual(webgpuPins([vulkan('NVIDIA H100 80GB HBM3'), vulkan('NVIDIA H100 80GB HBM3')], false), { pins: ['NVIDIA H100 80GB HBM3'], unpinnable: ['NVIDIA H100 80GB HBM3 (#2)'] });
  // A name contained in one listed before it is as unreachable; the longer one listed first is fine.
  assert.deepEqual(webgpuPins([vulkan('NVIDIA RTX A6000 Ada'), vulkan('NVIDIA RTX A6000')], false).unpinnable, ['NVIDIA RTX A6000 (#2)']);
  assert.deepEqual(webgpuPins([vulkan('NVIDIA RTX A6000'), vulkan('NVIDIA RTX A6000 Ada')], false).pins, ['NVIDIA RTX A6000', 'NVIDIA RTX A6000 Ada']);
  // Only a software adapter: --backend webgpu pins to it (auto never takes it).
  assert.deepEqual(webgpuPins([vulkan('SwiftShader Device (Subzero)', true)], true).pins, ['SwiftShader Device (Subzero)']);
  assert.deepEqual(webgpuPins([vulkan('SwiftShader Device (Subzero)', true)], false).pins, []);
  assert.deepEqual(webgpuPins([], true), { pins: [], unpinnable: [] });
});

test('a tile that is entirely cloud cannot be learnt: it is marked failed with the reason and the run ends partial', async () => {
  const { project, sceneId, maskId } = await projectWithScene('all-cloud', { x0: 0, x1: 90, y0: 0, y1: 100 });
  const runner = new JobRunner(project, { workers: 1 });
  try {
    runner.start();
    const runId = submit(runner, project, { sceneId, maskId });
    assert.equal(await runnerRunEnded(runner, runId), 'partial');
    const record = runner.store.record(runId);
    assert.match(record.error ?? '', /cloudy tiles failed and keep the input/);
    const failed = runner.store.tiles(runId).filter((t) => t.status === 'failed');
    assert.ok(failed.length > 0 && failed.every((t) => /entirely cloud/.test(t.error ?? '') && t.window.x === 0));
    assert.ok(record.tiles.done > 0, 'the other cloudy tiles are reconstructed');
    // The run's mask says which cloud was left as the input (2: only the failed tiles at x 0 cover it) and which
    // was reconstructed (1), as `clearsky inpaint --mask-out` does.
    const maskResult = record.results.find((r) => r.kind === 'mask')!;
    const used = await withRaster(project.resolve(maskResult.file), (raster) => readBands(raster, [0]));
    const at = (x: number, y: number) => used.data[y * used.width + x];
    assert.deepEqual([at(10, 50), at(47, 50), at(48, 50), at(80, 50), at(150, 50)], [2, 2, 1, 1, 0]);
  } finally {
    await runner.close();
    project.close();
  }
});

test('each finished tile of a run over an area is a GeoTIFF where it lies in the scene, its clear pixels the input’s', async () => {
  const { project, sceneId, maskId, scene, mask } = await projectWithScene('area');
  const runner = new JobRunner(project, { workers: 1 });
  try {
    runner.start();
    const area = { x: 50, y: 10, width: 140, height: 80 };
    const runId = submit(runner, project, { sceneId, maskId }, { area });
    assert.equal(await runnerRunEnded(runner, runId), 'done');
    const done = runner.store.tiles(runId).filter((t) => t.status === 'done');
    assert.ok(done.length > 0);
    const sceneInfo = await readRasterInfo(scene);
    const [x0, dx, , y0, , dy] = sceneInfo.geoTransform!;
    const input = await withRaster(scene, (raster) => readBands(raster, [3, 2, 1])); // B04, B03, B02
    const cloud = await withRaster(mask, (raster) => readBands(raster, [0]));
    for (const tile of done) {
      assert.ok(tile.resultFile, `tile ${tile.index} names no result file`);
      const file = project.resolve(tile.resultFile);
      const info = await readRasterInfo(file);
      const [col, row] = [area.x + tile.window.x, area.y + tile.window.y];
      assert.deepEqual([info.geoTransform![0], info.geoTransform![3]], [x0 + col * dx, y0 + row * dy], `tile ${tile.index} is not georeferenced where it lies`);
      const pixels = await withRaster(file, (raster) => readBands(raster, [0, 1, 2]));
      let clear = 0;
      for (let y = 0; y < tile.window.height; y++) {
        for (let x = 0; x < tile.window.width; x++) {
          const p = (row + y) * sceneInfo.width + col + x;
          if (cloud.data[p]) continue;
          clear++;
          const q = (y * tile.window.width + x) * 3;
          assert.deepEqual([...pixels.data.subarray(q, q + 3)], [...input.data.subarray(p * 3, p * 3 + 3)], `tile ${tile.index} pixel (${x}, ${y}) is clear but not the input`);
        }
      }
      assert.ok(clear > 0);
    }
  } finally {
    await runner.close();
    project.close();
  }
});
