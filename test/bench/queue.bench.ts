/**
 * Scale-out through Redis in `npm run bench` (BENCH_ONLY=queue): the same multi-tile run as jobs.bench.ts (a real
 * T33UUU crop, every tile cloudy, Basic mode) as a project run
 *
 *   - on this computer's pool with one worker, and on the queue with one `clearsky worker` (same cores, same
 *     threads): the queue's overhead per tile (payload encoding, Redis round trips, writing results here);
 *   - on the queue with one worker pinned to one core, then two workers pinned to one core each (`taskset`):
 *     two one-core machines against one, the scale-out ratio.
 *
 * Redis is a real redis-server on 127.0.0.1. Printed, never asserted. Environment: BENCH_QUEUE_STEPS (40),
 * BENCH_QUEUE_TILES_ACROSS (4; tiles of 128 px with 32 px overlap, two rows), BENCH_QUEUE_ROUNDS (2).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { RunRecord } from '../../native/api/contract.ts';
import { createProject } from '../../native/catalogue/project.ts';
import { readRasterInfo } from '../../native/raster/tiff/geotiff-reader.ts';
import { writeGeoTiff } from '../../native/raster/tiff/geotiff-writer.ts';
import { Service } from '../../native/project/service.ts';
import { dataFile, REPO_ROOT } from '../helpers/data.ts';
import { gdalTranslate } from '../helpers/gdal.ts';
import { startRedis } from '../helpers/redis.ts';

const steps = Number(process.env.BENCH_QUEUE_STEPS ?? 40);
const across = Number(process.env.BENCH_QUEUE_TILES_ACROSS ?? 4);
const width = 128 + (across - 1) * 96;
const height = 224;
const cores = os.availableParallelism();
const canPin = (() => {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return cores >= 2;
  } catch {
    return false;
  }
})();

/** A project with the crop and a striped mask (cloud in every tile); its scene and mask ids. */
async function benchProject(dir: string): Promise<{ sceneId: number; maskId: number }> {
  const project = createProject(dir);
  project.close();
  const scene = path.join(dir, 'source.tif');
  gdalTranslate(['-srcwin', '300', '200', String(width), String(height), dataFile('T33UUU-20170216', 'S2L1C_T33UUU_20170216_10m.tif'), scene]);
  const info = await readRasterInfo(scene);
  const cloud = new Float32Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) cloud[y * width + x] = (x >> 4) % 3 === 0 ? 1 : 0;
  const mask = path.join(dir, 'mask.tif');
  await writeGeoTiff(mask, { width, height, bands: 1, data: cloud }, { dataType: 'uint8', like: info });
  const service = Service.open(dir, { jobs: false });
  try {
    const [s] = await service.importFiles({ paths: [scene] });
    const [m] = await service.importFiles({ paths: [mask], kind: 'mask' });
    if (s.status !== 'imported' || m.status !== 'imported') throw new Error(`import failed: ${JSON.stringify([s, m])}`);
    return { sceneId: s.record.id, maskId: m.record.id };
  } finally {
    await service.close();
  }
}

/** `clearsky worker` processes (each optionally pinned to one core), ready to take tiles. */
async function startWorkers(url: string, pins: (number | null)[]): Promise<ChildProcess[]> {
  return Promise.all(
    pins.map(
      (core) =>
        new Promise<ChildProcess>((resolve, reject) => {
          const args = [path.join(REPO_ROOT, 'bin/clearsky.js'), 'worker', '--queue', url, '--backend', 'native', '--concurrency', '1'];
          const child = core === null ? spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] }) : spawn('taskset', ['-c', String(core), process.execPath, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
          let text = '';
          child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
            text += chunk;
            if (/taking tiles from/.test(text)) resolve(child);
          });
          child.once('exit', (code) => reject(new Error(`clearsky worker exited with ${code}: ${text}`)));
        }),
    ),
  );
}

async function stop(children: ChildProcess[]): Promise<void> {
  await Promise.all(children.map((child) => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  })));
}

/**
 * One run of the project: seconds from start to its result registered, and of its tile phase alone (from the
 * survey's end to the last tile recorded, when it goes mosaicking), which is what the queue changes.
 */
async function timedRun(dir: string, ids: { sceneId: number; maskId: number }, queueUrl?: string): Promise<{ seconds: number; tileSeconds: number; computeSeconds: number; tiles: number }> {
  const service = Service.open(dir, { workers: 1, backend: 'native', queueUrl });
  try {
    const start = performance.now();
    let tilesFrom = NaN;
    let tilesTo = NaN;
    const done = new Promise<RunRecord>((resolve) => {
      service.subscribe((e) => {
        if (e.type !== 'run') return;
        if (e.run.status === 'running' && Number.isNaN(tilesFrom)) tilesFrom = performance.now();
        if (e.run.status === 'mosaicking' && Number.isNaN(tilesTo)) tilesTo = performance.now();
        if (['done', 'partial', 'failed'].includes(e.run.status)) resolve(e.run);
      });
    });
    await service.startRun({ targetSceneId: ids.sceneId, maskId: ids.maskId, bands: ['B04', 'B03', 'B02'], mode: 'basic', steps, tileSize: 128, overlap: 32, backend: 'native', queue: queueUrl !== undefined });
    const run = await done;
    if (run.status !== 'done') throw new Error(`run ${run.status}: ${run.error}`);
    // The workers' own time on the tiles (as recorded per tile): with one worker, the tile phase beyond it is
    // what handing tiles out and results back costs, measured within the same run, so load spells hit both.
    const computeSeconds = (await service.getRun(run.id)).tileList.reduce((sum, t) => sum + (t.seconds ?? 0), 0);
    return { seconds: (performance.now() - start) / 1000, tileSeconds: (tilesTo - tilesFrom) / 1000, computeSeconds, tiles: run.tiles.done };
  } finally {
    await service.close();
  }
}

/** The best of each configuration over `rounds` rounds, the configurations alternating, so a busy spell hits all alike. */
const rounds = Number(process.env.BENCH_QUEUE_ROUNDS ?? 2);
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-bench-queue-'));
const redis = await startRedis();
try {
  const ids = await benchProject(dir);
  console.log(`\nQueue (BullMQ on a local redis-server): one run of ${across}×2 tiles (128 px, Basic, ${steps} steps, native backend), ${cores} cores, ${rounds} alternating rounds, the best tile phase of each:`);
  const onQueue = async (pins: (number | null)[]) => {
    const workers = await startWorkers(redis.url, pins);
    return timedRun(dir, ids, redis.url).finally(() => stop(workers));
  };
  type Timed = Awaited<ReturnType<typeof timedRun>>;
  const best: Record<'local' | 'queued' | 'one' | 'two', Timed | undefined> = { local: undefined, queued: undefined, one: undefined, two: undefined };
  const keep = (key: keyof typeof best, run: Timed | undefined) => {
    if (run && (!best[key] || run.tileSeconds < best[key].tileSeconds)) best[key] = run;
  };
  const figures = (run: Timed) => `${run.tileSeconds.toFixed(1)} s of tiles (${run.seconds.toFixed(1)} s in all)`;
  const beyond = (run: Timed) => `${(((run.tileSeconds - run.computeSeconds) / run.tiles)).toFixed(2)} s per tile beyond the worker's ${(run.computeSeconds / run.tiles).toFixed(2)} s = ${((100 * (run.tileSeconds - run.computeSeconds)) / run.computeSeconds).toFixed(1)} %`;
  for (let round = 1; round <= rounds; round++) {
    const local = await timedRun(dir, ids);
    const queued = await onQueue([null]);
    const one = canPin ? await onQueue([0]) : undefined;
    const two = canPin ? await onQueue([0, 1]) : undefined;
    console.log(`  round ${round}: local pool ${figures(local)}; queue ${figures(queued)}${one && two ? `; 1 pinned worker ${figures(one)}; 2 pinned workers ${figures(two)}` : ''}`);
    console.log(`           one worker, tile phase beyond compute: local pool ${beyond(local)}; queue ${beyond(queued)}`);
    keep('local', local);
    keep('queued', queued);
    keep('one', one);
    keep('two', two);
  }
  const { local, queued, one, two } = best as Record<keyof typeof best, Timed>;
  const overhead = (queued.tileSeconds - local.tileSeconds) / local.tiles;
  console.log(`  best tile phase: this computer, 1 pool worker (${cores} threads)  ${local.tileSeconds.toFixed(1)} s for ${local.tiles} tiles (${(local.tileSeconds / local.tiles).toFixed(2)} s per tile)`);
  console.log(`                   queue, 1 clearsky worker (${cores} threads)     ${queued.tileSeconds.toFixed(1)} s: ${overhead >= 0 ? '+' : ''}${overhead.toFixed(2)} s per tile = ${((100 * (queued.tileSeconds - local.tileSeconds)) / local.tileSeconds).toFixed(1)} % over the local pool`);
  if (canPin) {
    console.log(`                   queue, 1 worker on 1 core (taskset)          ${one.tileSeconds.toFixed(1)} s`);
    console.log(`                   queue, 2 workers on 1 core each              ${two.tileSeconds.toFixed(1)} s = ${(two.tileSeconds / one.tileSeconds).toFixed(2)}× the time of 1 worker`);
  } else {
    console.log('  (one against two workers needs taskset and 2 cores: skipped)');
  }
} finally {
  await redis.close();
  await fs.rm(dir, { recursive: true, force: true });
}
