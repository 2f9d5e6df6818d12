/**
 * Runs sent to a queue (issue 15, the owner's side): the project's queue setting and its redaction, and then,
 * with a real redis-server and real `clearsky worker` processes, `clearsky inpaint --queue` and project runs
 * whose tiles are computed by the workers, checked pixel for pixel against the same run on this computer.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import Database from 'better-sqlite3';
import { Queue } from 'bullmq';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { RunRecord } from '../../../native/api/contract.ts';
import { RunRequest } from '../../../native/api/contract.ts';
import { openProject } from '../../../native/catalogue/project.ts';
import { RunStore } from '../../../native/jobs/run-store.ts';
import { TILE_QUEUE_NAME } from '../../../native/jobs/queue/contract.ts';
import { projectRunKey, projectUid } from '../../../native/jobs/queue/project-queue.ts';
import { Service } from '../../../native/project/service.ts';
import { readBands, readRasterInfo, withRaster } from '../../../native/raster/tiff/geotiff-reader.ts';
import { writeGeoTiff } from '../../../native/raster/tiff/geotiff-writer.ts';
import { planTiles } from '../../../native/raster/tiles/tiling.ts';
import type { QualityFile } from '../../../native/report/quality-file.ts';
import { runClearsky } from '../../helpers/cli.ts';
import { dataFile, REPO_ROOT } from '../../helpers/data.ts';
import { startRedis } from '../../helpers/redis.ts';
import { projectWithScene } from '../../helpers/run-project.ts';

const PASSWORD = 'hunter2-not-to-be-shown';
let dir: string;

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-queue-runs-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

test('the project keeps its queue URL; the API, the run list and every refusal show it only with the password hidden', async () => {
  const folder = path.join(dir, 'settings');
  const { project, sceneId, maskId } = await projectWithScene(folder);
  project.close();
  const service = Service.open(folder, { jobs: false });
  try {
    assert.equal((await service.project()).queue, null);
    await assert.rejects(service.startRun({ targetSceneId: sceneId, maskId, queue: true }), /the project has none set/, 'a run for the queue needs a queue');
    const info = await service.setQueue({ url: `redis://bob:${PASSWORD}@10.0.0.5:6379/2` });
    assert.equal(info.queue, 'redis://bob:***@10.0.0.5:6379/2');
    const run = await service.startRun({ targetSceneId: sceneId, maskId, queue: true });
    assert.equal(run.request.queue, true);
    const refused = await service.setQueue({ url: `http://bob:${PASSWORD}@10.0.0.5` }).then(() => null, (error: Error) => error.message);
    assert.match(refused ?? '', /^the project’s queue URL: the scheme must be redis or rediss .*got 'http:\/\/\*\*\*@10\.0\.0\.5'\)$/);
    assert.doesNotMatch(refused!, new RegExp(PASSWORD));
    assert.equal((await service.project()).queue, 'redis://bob:***@10.0.0.5:6379/2', 'a refused URL leaves the setting as it was');
    const shown = JSON.stringify([await service.project(), await service.listRuns(), await service.getRun(run.id)]);
    assert.doesNotMatch(shown, new RegExp(PASSWORD));
  } finally {
    await service.close();
  }
  const runs = await runClearsky(['runs', folder, '--json'], dir);
  assert.equal(runs.code, 0, runs.stderr);
  assert.doesNotMatch(runs.stdout + runs.stderr, new RegExp(PASSWORD));
  const bad = await runClearsky(['resume', folder, '--queue', `redis://bob:${PASSWORD}@`], dir);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /^clearsky: --queue: .*got 'redis:\/\/\*\*\*@'\)\n/);
  assert.doesNotMatch(bad.stdout + bad.stderr, new RegExp(PASSWORD));
  const toRedis = await runClearsky(['inpaint', '--target', 'x.tif', '--mask', 'm.tif', '--mode', 'basic', '--out', path.join(dir, 'o.tif'), '--queue', `ftp://bob:${PASSWORD}@host`], dir);
  assert.equal(toRedis.code, 2);
  assert.match(toRedis.stderr, /^clearsky: --queue: the scheme must be redis or rediss .*got 'ftp:\/\/\*\*\*@host'\)\n/);
});

test('a project run is named on the queue by an id the project keeps for life, so an owner that restarts finds its tiles', async () => {
  const first = (await projectWithScene(path.join(dir, 'uid-a'))).project;
  const second = (await projectWithScene(path.join(dir, 'uid-b'))).project;
  const key = projectRunKey(first.db, 7);
  assert.match(key, /^[0-9a-f]{16}:7$/);
  assert.notEqual(projectUid(first.db), projectUid(second.db));
  first.close();
  second.close();
  const reopened = openProject(path.join(dir, 'uid-a'));
  try {
    assert.equal(projectRunKey(reopened.db, 7), key);
  } finally {
    reopened.close();
  }
});

test('a tile result that arrives twice (a queue answering an owner that resubmitted) is recorded once, and only by the owner', async () => {
  const { project, sceneId, maskId } = await projectWithScene(path.join(dir, 'twice'));
  try {
    const store = new RunStore(project.db);
    const request = RunRequest.parse({ targetSceneId: sceneId, maskId, queue: true });
    const runId = store.createRun(request, { target: 'rasters/scene.tif', mask: 'rasters/mask.tif', maskBand: 1 }, request, 'host:1:owner');
    const window = { x: 0, y: 0, width: 64, height: 64 };
    assert.ok(store.planned(runId, [{ index: 0, window, state: 'cloudy' }, { index: 1, window: { ...window, x: 48 }, state: 'cloudy' }], 'native', 'host:1:owner'));
    assert.equal(store.claimTile('w', 'host:1:owner', 'local'), null, 'a queued run\'s tiles are not handed to the local pool');
    assert.equal(store.claimTile('queue', 'host:1:owner', 'queued')?.index, 0);
    assert.equal(store.tileDone(runId, 0, 'runs/1/tiles/a.tif', 0.1, 2, 'host:1:other'), false, 'not the owner');
    assert.equal(store.tileDone(runId, 0, 'runs/1/tiles/a.tif', 0.1, 2, 'host:1:owner'), true);
    assert.equal(store.tileDone(runId, 0, 'runs/1/tiles/b.tif', 0.5, 9, 'host:1:owner'), false, 'the second arrival changes nothing');
    assert.deepEqual([store.tile(runId, 0).resultFile, store.tile(runId, 0).seconds], ['runs/1/tiles/a.tif', 2]);
    assert.equal(store.tileDone(runId, 1, 'runs/1/tiles/c.tif', 0.1, 2, 'host:1:owner'), false, 'a tile never handed out is not recorded');
  } finally {
    project.close();
  }
});

// ——— With a real redis-server and real `clearsky worker` processes ———

const SCENE = dataFile('T33UUU-20170216', 'S2L1C_T33UUU_20170216_10m.tif');
/** Pinned on both sides, so that the queue's result can equal this computer's. */
const BACKEND = 'native';

interface Worker {
  child: ChildProcess;
  /** What it printed on stderr so far (one line per tile). */
  log(): string;
  exited: Promise<void>;
}

/** A `clearsky worker` process on the queue; its stalled tiles go back to the queue after 3 s (CLEARSKY_QUEUE_LOCK_MS). */
async function startWorker(url: string): Promise<Worker> {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/clearsky.js'), 'worker', '--queue', url, '--backend', BACKEND, '--concurrency', '1'], {
    cwd: dir,
    env: { ...process.env, CLEARSKY_QUEUE_LOCK_MS: '3000' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let text = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const worker = { child, log: () => text, exited };
  await until(() => /taking tiles from/.test(text) || child.exitCode !== null, 120_000);
  assert.equal(child.exitCode, null, `the worker did not start: ${text}`);
  return worker;
}

async function stopWorkers(workers: Worker[]): Promise<void> {
  for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  await Promise.all(workers.map((w) => w.exited));
}

/** Waits (polling every 100 ms) until `condition` holds; fails after `ms`. */
async function until(condition: () => boolean | Promise<boolean>, ms: number, what = 'the condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The tiles each worker log says were computed: `tile <runKey>:<index> done in …` lines. */
function tilesDone(...logs: string[]): string[] {
  return logs.flatMap((log) => [...log.matchAll(/^tile (\S+) done in /gm)].map((m) => m[1]));
}

/** Every pixel of two GeoTIFFs' bands; the largest difference (0: the same pixels). */
async function largestDifference(a: string, b: string): Promise<number> {
  const read = (file: string) => withRaster(file, (raster) => readBands(raster, raster.bandNames.map((_, band) => band)));
  const [x, y] = [await read(a), await read(b)];
  assert.deepEqual([x.width, x.height, x.bands], [y.width, y.height, y.bands]);
  let largest = 0;
  for (let i = 0; i < x.data.length; i++) largest = Math.max(largest, Math.abs(x.data[i] - y.data[i]));
  return largest;
}

/** A child process with its stderr collected as it comes. */
function spawnClearsky(args: string[]): { child: ChildProcess; stderr(): string; stdout(): string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/clearsky.js'), ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stderr: () => err, stdout: () => out, exit };
}

test('clearsky inpaint --queue: the whole T33UUU scene through two workers, one killed -9 mid-run, equals the run on this computer', async () => {
  const redis = await startRedis({ password: PASSWORD });
  const workers = [await startWorker(redis.url), await startWorker(redis.url)];
  try {
    // Six 70 × 60 px clouds over the 1536 × 768 scene; the tiles they touch are the cloudy ones.
    const info = await readRasterInfo(SCENE);
    const cloud = new Float32Array(info.width * info.height);
    const clouds = [[300, 60], [760, 300], [1200, 560], [80, 560], [1250, 80], [540, 520]];
    for (const [x0, y0] of clouds) {
      for (let y = y0; y < y0 + 60; y++) cloud.fill(1, y * info.width + x0, y * info.width + x0 + 70);
    }
    const cloudy = planTiles(info.width, info.height, { tileSize: 256, overlap: 32 }).tiles.filter(({ window: w }) => clouds.some(([x0, y0]) => w.x < x0 + 70 && x0 < w.x + w.width && w.y < y0 + 60 && y0 < w.y + w.height)).length;
    const mask = path.join(dir, 't33uuu-mask.tif');
    await writeGeoTiff(mask, { width: info.width, height: info.height, bands: 1, data: cloud }, { dataType: 'uint8', like: info });
    const args = ['inpaint', '--target', SCENE, '--mask', mask, '--bands', 'B04,B03,B02', '--mode', 'basic', '--steps', '6', '--tile', '256', '--overlap', '32', '--backend', BACKEND, '--stitch', '--json'];

    const queued = spawnClearsky([...args, '--queue', redis.url, '--out', path.join(dir, 't33uuu-queued.tif'), '--quality']);
    // The first worker to finish a tile is killed while the queue still holds others: its next tile stalls
    // and goes to the other worker.
    await until(() => tilesDone(workers[0].log()).length + tilesDone(workers[1].log()).length > 0, 180_000, 'a first tile');
    const victim = workers.find((w) => tilesDone(w.log()).length > 0)!;
    victim.child.kill('SIGKILL');
    const code = await queued.exit;
    assert.equal(code, 0, queued.stderr());
    const summary = JSON.parse(queued.stdout().trim().split('\n').at(-1)!);
    assert.equal(summary.tiles.reconstructed, cloudy);
    assert.match(queued.stderr(), new RegExp(`${cloudy}/${cloudy} cloudy tiles done`));
    assert.match(queued.stderr(), /step \d+\/6 loss/, 'step progress comes back from the workers');
    assert.doesNotMatch(queued.stderr() + queued.stdout(), new RegExp(PASSWORD));
    const survivor = workers.find((w) => w !== victim)!;
    assert.ok(tilesDone(survivor.log()).length > 0 && tilesDone(victim.log()).length > 0, 'both workers computed tiles');

    const local = await runClearsky([...args, '--out', path.join(dir, 't33uuu-local.tif'), '--quality'], dir);
    assert.equal(local.code, 0, local.stderr);
    assert.equal(await largestDifference(path.join(dir, 't33uuu-queued.tif'), path.join(dir, 't33uuu-local.tif')), 0, 'the same pixels as the run on this computer');
    // The quality file from the workers' curves: the same tiles, windows and curves as the run here (not the same seconds).
    const quality = async (name: string) => {
      const { tiles } = JSON.parse(await fs.readFile(path.join(dir, name), 'utf8')) as QualityFile;
      assert.ok(tiles.every((t) => t.seconds! > 0), `${name}: each tile's seconds`);
      return tiles.map(({ seconds: _seconds, ...tile }) => tile);
    };
    const queuedTiles = await quality('t33uuu-queued.quality.json');
    assert.equal(queuedTiles.length, cloudy);
    assert.ok(queuedTiles.every((t) => t.curves.length === 1 && t.curves[0].step.at(-1) === 6));
    assert.deepEqual(queuedTiles, await quality('t33uuu-local.quality.json'));
  } finally {
    await stopWorkers(workers);
    await redis.close();
  }
});

test('clearsky inpaint --queue: a tile whose data is refused fails alone; the worker reconstructs the other, as on this computer (exit 4)', async () => {
  const redis = await startRedis({ password: PASSWORD });
  const workers = [await startWorker(redis.url)];
  try {
    // A 128 × 64 crop (two 64-px tiles, a cloud in each) and a reference, the crop itself as Float32, with NaN
    // over the top rows of the left tile: that tile's window is refused as it is read, the other goes on.
    const info = await readRasterInfo(SCENE);
    const window = { x: 1088, y: 64, width: 128, height: 64 };
    const bandNames = ['B02', 'B03', 'B04'];
    const image = await withRaster(SCENE, (raster) => readBands(raster, [1, 2, 3], window));
    const target = path.join(dir, 'partial-target.tif');
    await writeGeoTiff(target, image, { dataType: 'uint16', like: info, pixelOffset: window, bandNames, nodata: 0 });
    const withNaN = image.data.slice();
    for (let y = 0; y < 8; y++) withNaN.fill(NaN, y * 128 * 3, (y * 128 + 64) * 3);
    const reference = path.join(dir, 'partial-reference.tif');
    await writeGeoTiff(reference, { ...image, data: withNaN }, { dataType: 'float32', like: info, pixelOffset: window, bandNames });
    const cloud = new Float32Array(128 * 64);
    for (let y = 24; y < 48; y++) {
      cloud.fill(1, y * 128 + 16, y * 128 + 40);
      cloud.fill(1, y * 128 + 80, y * 128 + 112);
    }
    const mask = path.join(dir, 'partial-mask.tif');
    await writeGeoTiff(mask, { width: 128, height: 64, bands: 1, data: cloud }, { dataType: 'uint8', like: info, pixelOffset: window });
    const args = ['inpaint', '--target', target, '--mask', mask, '--reference', reference, '--mode', 'mt', '--steps', '5', '--tile', '64', '--overlap', '0', '--backend', BACKEND, '--stitch', '--json'];

    const queued = await runClearsky([...args, '--queue', redis.url, '--out', path.join(dir, 'partial-queued.tif')], dir);
    assert.equal(queued.code, 4, queued.stderr);
    const summary = JSON.parse(queued.stdout.trim().split('\n').at(-1)!) as { tiles: { reconstructed: number; failed: number }; failed_tiles: { index: number; row: number; col: number; reason: string }[] };
    assert.deepEqual(summary.failed_tiles.map((t) => [t.index, t.row, t.col]), [[0, 0, 0]]);
    assert.match(summary.failed_tiles[0].reason, /partial-reference\.tif: 512 of 4096 pixels have NaN or infinite values/);
    assert.deepEqual([summary.tiles.reconstructed, summary.tiles.failed], [1, 1]);
    assert.match(queued.stderr, /^clearsky: 1 of 2 cloudy tiles failed and keep the input \(row 1, col 1: /m);
    assert.equal(tilesDone(workers[0].log()).length, 1, 'only the other tile went to the worker');

    const local = await runClearsky([...args, '--out', path.join(dir, 'partial-local.tif')], dir);
    assert.equal(local.code, 4, local.stderr);
    assert.equal(await largestDifference(path.join(dir, 'partial-queued.tif'), path.join(dir, 'partial-local.tif')), 0, 'the same pixels as the run on this computer');
  } finally {
    await stopWorkers(workers);
    await redis.close();
  }
});

/** The project's tiles as the catalogue has them now (read-only, beside the process that works the run). */
function tileStates(folder: string, runId: number): { idx: number; status: string }[] {
  const db = new Database(path.join(folder, 'project.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT idx, status FROM tiles WHERE run_id = ? ORDER BY idx').all(runId) as { idx: number; status: string }[];
  } finally {
    db.close();
  }
}

/** `run N tile I: done` lines of `clearsky run`/`resume`: the tile indexes recorded. */
function recorded(stderr: string): number[] {
  return [...stderr.matchAll(/^run \d+ tile (\d+): done$/gm)].map((m) => Number(m[1]));
}

test('a project run on the queue survives its owner killed -9: clearsky resume records the results that arrived meanwhile, each tile once, none computed twice', async () => {
  const folder = path.join(dir, 'owner-killed');
  const { project, sceneId, maskId } = await projectWithScene(folder);
  project.close();
  const redis = await startRedis();
  const worker = await startWorker(redis.url);
  try {
    const request = ['--target', String(sceneId), '--mask', String(maskId), '--bands', 'B04,B03,B02', '--mode', 'basic', '--steps', '40', '--tile', '64', '--overlap', '16', '--backend', BACKEND];
    const owner = spawnClearsky(['run', folder, ...request, '--queue', redis.url]);
    await until(() => tileStates(folder, 1).some((t) => t.status === 'done'), 180_000, 'a first tile recorded');
    owner.child.kill('SIGKILL');
    await owner.exit;
    const before = tileStates(folder, 1);
    const cloudy = before.filter((t) => t.status !== 'clear').length;
    assert.ok(before.some((t) => t.status === 'running'), 'tiles were still on the queue when the owner died');
    // The worker goes on without the owner: results wait in Redis.
    await until(() => tilesDone(worker.log()).length === cloudy, 180_000, 'every tile computed');

    const resumed = await runClearsky(['resume', folder, '--json'], dir);
    assert.equal(resumed.code, 0, resumed.stderr);
    const [run] = JSON.parse(resumed.stdout) as RunRecord[];
    assert.equal(run.status, 'done', run.error ?? '');
    assert.equal(run.tiles.done, cloudy);
    assert.match(run.backend ?? '', /queue redis:\/\/127\.0\.0\.1:\d+\/0/);
    const all = [...recorded(owner.stderr()), ...recorded(resumed.stderr)].sort((a, b) => a - b);
    assert.deepEqual(all, before.filter((t) => t.status !== 'clear').map((t) => t.idx), 'each tile recorded once, by one owner or the other');
    const computed = tilesDone(worker.log());
    assert.equal(new Set(computed).size, computed.length, `no tile computed twice: ${computed.join(', ')}`);

    const local = await runClearsky(['run', folder, ...request, '--json'], dir);
    assert.equal(local.code, 0, local.stderr);
    assert.equal(await largestDifference(path.join(folder, 'runs', '1', 'result.tif'), path.join(folder, 'runs', '2', 'result.tif')), 0, 'the same pixels as the run on this computer');
  } finally {
    await stopWorkers([worker]);
    await redis.close();
  }
});

test('cancelling a queued project run from another process stops its tile on the worker and empties the queue', async () => {
  const folder = path.join(dir, 'cancel');
  const { project, sceneId, maskId } = await projectWithScene(folder);
  project.close();
  const redis = await startRedis();
  const worker = await startWorker(redis.url);
  const queue = new Queue(TILE_QUEUE_NAME, { connection: { host: '127.0.0.1', port: redis.port } });
  try {
    // Tiles that would take hours: only a cancel that reaches the worker ends this test.
    const owner = spawnClearsky(['run', folder, '--target', String(sceneId), '--mask', String(maskId), '--bands', 'B04,B03,B02', '--mode', 'basic', '--steps', '100000', '--tile', '64', '--overlap', '16', '--backend', BACKEND, '--queue', redis.url]);
    await until(() => /^run 1 tile \d+: step \d+\/100000 loss/m.test(owner.stderr()), 180_000, 'step progress from the worker, through the owner');
    const cancel = await runClearsky(['cancel', folder, '1'], dir);
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.equal(await owner.exit, 3, owner.stderr());
    await until(() => /^tile \S+ cancelled: the run was cancelled/m.test(worker.log()), 60_000, 'the worker to stop the tile');
    await until(async () => {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return Object.values(counts).every((n) => n === 0);
    }, 30_000, 'no tile of the run left waiting or running on the queue');
    assert.deepEqual(tilesDone(worker.log()), []);
  } finally {
    await queue.close();
    await stopWorkers([worker]);
    await redis.close();
  }
});
