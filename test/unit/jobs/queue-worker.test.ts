/**
 * `clearsky worker` as users run it: real `clearsky worker` child processes on a real redis-server (AOF on,
 * a password), tiles of the real Nigeria scene with its SAR sent by the owner's TileQueue, few steps on the
 * native backend. A queued tile equals the same tile reconstructed in this process; a worker killed -9
 * mid-tile has its tile finished by another; a Redis restart loses nothing; cancel reaches a running tile;
 * a malformed job is refused and the worker goes on; SIGTERM finishes or hands back; no password on stderr.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Queue } from 'bullmq';
import { selectBackend } from '../../../native/dip/backends/select.ts';
import { TILE_QUEUE_NAME, type QueuedOutcome, type QueuedProgress, type QueuedTile } from '../../../native/jobs/queue/contract.ts';
import { parseQueueUrl, type QueueUrl } from '../../../native/jobs/queue/queue-url.ts';
import { bullConnection, TileQueue } from '../../../native/jobs/queue/tile-queue.ts';
import { tileJobId } from '../../../native/jobs/queue/tile-payload.ts';
import { reconstructTileSources, type TileSources } from '../../../native/reconstruction/pipeline.ts';
import { runClearsky } from '../../helpers/cli.ts';
import { REPO_ROOT } from '../../helpers/data.ts';
import { startRedis, type TestRedis } from '../../helpers/redis.ts';
import { nigeriaTile } from '../../helpers/tile-sources.ts';

const PASSWORD = 'queue-pw-never-shown';
let redis: TestRedis;
let sources: TileSources;
let inspect: Queue;
const workers: Worker[] = [];

before(async () => {
  redis = await startRedis({ aof: true, password: PASSWORD });
  sources = await nigeriaTile({ size: 64, sar: true, bands: ['B04', 'B03', 'B02'] });
  inspect = new Queue(TILE_QUEUE_NAME, { connection: bullConnection(parseQueueUrl(redis.url)) });
});
after(async () => {
  for (const w of workers) w.child.kill('SIGKILL');
  await inspect?.close();
  await redis?.close();
});

const settings = (steps: number) => ({ method: 'dip' as const, mode: 'ms' as const, steps, seeds: [0], stitch: true });
const tile = (runKey: string, tileIndex: number, steps: number, attempts = 3): QueuedTile => ({ runKey, tileIndex, settings: settings(steps), sources, backend: 'native', attempts });

interface Worker {
  child: ChildProcess;
  stderr(): string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `clearsky worker` as a user starts it, with short job locks so that a dead worker's tile is taken over soon. */
async function startWorker(options: { url?: string; env?: Record<string, string> } = {}): Promise<Worker> {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/clearsky.js'), 'worker', '--queue', options.url ?? redis.url, '--backend', 'native', '--concurrency', '1'], {
    env: { ...process.env, CLEARSKY_QUEUE_LOCK_MS: '2000', OMP_NUM_THREADS: '1', ...options.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const waiters: (() => void)[] = [];
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const w of waiters.splice(0)) w();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const worker: Worker = {
    child,
    stderr: () => stderr,
    exited,
    waitFor: async (pattern, timeoutMs = 90_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(stderr)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`worker stderr never matched ${pattern}:\n${stderr}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 500);
        });
      }
    },
  };
  workers.push(worker);
  await worker.waitFor(/taking tiles from/);
  return worker;
}

/** The owner's side: a TileQueue that records outcomes and progress. */
async function owner(url: string | QueueUrl = redis.url) {
  const queue = await TileQueue.open(url, { pollMs: 500 });
  const outcomes: { runKey: string; tileIndex: number; outcome: QueuedOutcome }[] = [];
  const progress: { runKey: string; tileIndex: number; progress: QueuedProgress }[] = [];
  queue.onOutcome((runKey, tileIndex, outcome) => outcomes.push({ runKey, tileIndex, outcome }));
  queue.onProgress((runKey, tileIndex, p) => progress.push({ runKey, tileIndex, progress: p }));
  const outcome = async (runKey: string, tileIndex: number, timeoutMs = 120_000): Promise<QueuedOutcome> => {
    await until(() => outcomes.some((o) => o.runKey === runKey && o.tileIndex === tileIndex), timeoutMs, `no outcome for ${runKey}:${tileIndex}`);
    return outcomes.find((o) => o.runKey === runKey && o.tileIndex === tileIndex)!.outcome;
  };
  return { queue, outcomes, progress, outcome };
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

const doneLines = (worker: Worker, label: string) => worker.stderr().split('\n').filter((line) => line.startsWith(`tile ${label} done in `));

test('a queued tile comes back as the same reconstruction as in this process, once; a resubmit returns it without recomputing; a malformed job is refused and the worker goes on', async () => {
  const worker = await startWorker();
  const { queue, progress, outcome } = await owner();
  try {
    await queue.submit(tile('equal:1', 4, 30));
    const result = await outcome('equal:1', 4);
    assert.equal(result.type, 'done', JSON.stringify(result));
    assert.ok(result.type === 'done');
    await selectBackend('native');
    const local = await reconstructTileSources(sources, settings(30));
    assert.deepEqual(result.bandNames, local.bandNames);
    assert.deepEqual([result.image.width, result.image.height, result.image.bands], [local.image.width, local.image.height, local.image.bands]);
    // Digital numbers: the same pixels up to float rounding.
    assert.ok(maxDifference(result.image.data, local.image.data) < 0.5, `max difference ${maxDifference(result.image.data, local.image.data)} DN`);
    assert.ok(Math.abs(result.loss! - local.runs[0].finalLoss) < 1e-4, `${result.loss} vs ${local.runs[0].finalLoss}`);
    assert.match(result.backend, /native/);
    // The tile's loss curve came back through Redis: the loss read every 10 steps, as in this process.
    const quality = result.quality;
    assert.ok(quality, 'the result carries its quality');
    assert.deepEqual(quality.curves.map((c) => [c.seed, c.step]), [[0, [10, 20, 30]]]);
    assert.deepEqual(quality.curves[0].step, local.runs[0].curve.step);
    assert.ok(quality.curves[0].loss.every((v, i) => Math.abs(v - local.runs[0].curve.loss[i]) <= 1e-3 * local.runs[0].curve.loss[i] + 1e-6), `${quality.curves[0].loss} vs ${local.runs[0].curve.loss}`);
    assert.equal(quality.spread, null, 'one seed: no spread');
    assert.ok(progress.some((p) => p.runKey === 'equal:1' && p.tileIndex === 4 && p.progress.steps === 30), 'progress reached the owner');
    assert.equal(doneLines(worker, 'equal:1:4').length, 1, worker.stderr());

    // An owner that restarted before recording the result: the same tile again comes from Redis, not from a second computation.
    const again = await owner();
    await again.queue.submit(tile('equal:1', 4, 30));
    const second = await again.outcome('equal:1', 4);
    assert.ok(second.type === 'done');
    assert.deepEqual(second.image, result.image);
    await again.queue.settle('equal:1', 4);
    await again.queue.close();

    // Something that is not a tile job: failed at once with the reason, and the next tile is still done.
    await inspect.add('tile', { version: 1, runKey: 'evil', tileIndex: 0, command: 'rm -rf /' }, { jobId: 'malformed', attempts: 3 });
    await until(async () => (await inspect.getJobState('malformed')) === 'failed', 30_000, 'the malformed job failed');
    const malformed = await inspect.getJob('malformed');
    assert.match(malformed!.failedReason, /^refused: queue job malformed: refused: not a clearsky tile job/);
    assert.equal(malformed!.attemptsMade, 1, 'not retried');
    await worker.waitFor(/job malformed refused: /);
    await queue.submit(tile('equal:1', 5, 5));
    assert.equal((await outcome('equal:1', 5)).type, 'done');
    await queue.settle('equal:1', 5);

    // A user error (a mode that needs a reference, and none was sent) fails once, as the user's, without retry.
    await queue.submit({ ...tile('user-error:1', 0, 5), settings: { ...settings(5), mode: 'mt' } });
    assert.deepEqual(await outcome('user-error:1', 0), { type: 'failed', error: 'mode mt needs a multi-temporal reference (--reference)', userError: true, cancelled: false });
    assert.equal((await inspect.getJob(tileJobId('user-error:1', 0)))!.attemptsMade, 1, 'not retried');
    assert.match(worker.stderr(), /tile user-error:1:0 failed: mode mt needs a multi-temporal reference/);

    worker.child.kill('SIGTERM');
    assert.deepEqual(await worker.exited, { code: 0, signal: null });
    assert.ok(!worker.stderr().includes(PASSWORD), 'the password is never on stderr');
    assert.match(worker.stderr(), /taking tiles from redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/0/);
  } finally {
    await queue.close();
  }
});

test('a worker killed -9 mid-tile: another worker takes the tile over and it is recorded once, equal to an uninterrupted run', async () => {
  const [first, second] = [await startWorker(), await startWorker()];
  const { queue, progress, outcomes, outcome } = await owner();
  try {
    await queue.submit(tile('killed:1', 0, 60));
    await until(() => progress.some((p) => p.runKey === 'killed:1'), 60_000, 'the tile started');
    const processedBy = (await inspect.getJob(tileJobId('killed:1', 0)))!.processedBy!;
    const [victim, survivor] = processedBy.endsWith(`:${first.child.pid}`) ? [first, second] : [second, first];
    assert.ok(processedBy.endsWith(`:${victim.child.pid}`), processedBy);
    victim.child.kill('SIGKILL');
    const result = await outcome('killed:1', 0);
    assert.equal(result.type, 'done', JSON.stringify(result));
    assert.equal(doneLines(survivor, 'killed:1:0').length, 1, survivor.stderr());
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(outcomes.filter((o) => o.runKey === 'killed:1').length, 1, 'one outcome');
    await selectBackend('native');
    const local = await reconstructTileSources(sources, settings(60));
    assert.ok(result.type === 'done' && maxDifference(result.image.data, local.image.data) < 0.5);
    await queue.settle('killed:1', 0);

    // With one try only, a worker dying with the tile is its failure: the next worker does not start it again.
    const third = await startWorker();
    await queue.submit(tile('one-try:1', 0, 200, 1));
    await until(() => progress.some((p) => p.runKey === 'one-try:1'), 60_000, 'the tile started');
    const onlyTry = (await inspect.getJob(tileJobId('one-try:1', 0)))!.processedBy!;
    const dying = onlyTry.endsWith(`:${third.child.pid}`) ? third : survivor;
    dying.child.kill('SIGKILL');
    const gaveUp = await outcome('one-try:1', 0);
    assert.deepEqual(gaveUp, { type: 'failed', error: 'tried 1 time; each time the worker died or stalled', userError: false, cancelled: false });
    const last = dying === third ? survivor : third;
    await last.waitFor(/tile one-try:1:0 failed: tried 1 time/);
    assert.equal(doneLines(last, 'one-try:1:0').length, 0);
    await queue.settle('one-try:1', 0);

    // A second SIGTERM hands the tile under way back to the queue: the job waits again, not failed, not retried later by a stall.
    await queue.submit(tile('handback:1', 0, 200));
    await until(() => progress.some((p) => p.runKey === 'handback:1'), 60_000, 'the tile started');
    last.child.kill('SIGTERM');
    await last.waitFor(/finishing the tiles under way/);
    last.child.kill('SIGTERM');
    assert.deepEqual(await last.exited, { code: 0, signal: null });
    assert.match(last.stderr(), /tile handback:1:0 handed back to the queue/);
    assert.equal(await inspect.getJobState(tileJobId('handback:1', 0)), 'waiting');
    await queue.cancelRun('handback:1');
  } finally {
    await queue.close();
  }
});

test('Redis restarted mid-run (AOF on) loses nothing; cancel reaches a running tile; SIGTERM finishes the tile under way', async () => {
  const worker = await startWorker();
  const { queue, progress, outcome } = await owner();
  try {
    await queue.submit(tile('restart:1', 0, 40));
    await queue.submit(tile('restart:1', 1, 10));
    await until(() => progress.some((p) => p.runKey === 'restart:1'), 60_000, 'a tile started');
    await redis.restart();
    for (const index of [0, 1]) assert.equal((await outcome('restart:1', index)).type, 'done', worker.stderr());
    for (const index of [0, 1]) await queue.settle('restart:1', index);

    // A long tile, cancelled while it runs: the worker aborts it and it fails as cancelled, without retry.
    await queue.submit(tile('cancel:1', 0, 100_000));
    await until(() => progress.some((p) => p.runKey === 'cancel:1'), 60_000, 'the long tile started');
    await queue.cancelRun('cancel:1');
    const cancelled = await outcome('cancel:1', 0, 60_000);
    assert.deepEqual(cancelled, { type: 'failed', error: 'the run was cancelled', userError: false, cancelled: true });
    await worker.waitFor(/tile cancel:1:0 cancelled/);
    assert.equal((await inspect.getJob(tileJobId('cancel:1', 0)))!.attemptsMade, 1, 'not retried');

    // SIGTERM while a tile runs: the tile is finished and its result delivered, then the worker exits 0.
    await queue.submit(tile('sigterm:1', 0, 40));
    await until(() => progress.some((p) => p.runKey === 'sigterm:1'), 60_000, 'the tile started');
    worker.child.kill('SIGTERM');
    assert.deepEqual(await worker.exited, { code: 0, signal: null });
    assert.equal(doneLines(worker, 'sigterm:1:0').length, 1, worker.stderr());
    assert.equal((await outcome('sigterm:1', 0)).type, 'done');
    await queue.settle('sigterm:1', 0);
    assert.ok(!worker.stderr().includes(PASSWORD));
  } finally {
    await queue.close();
  }
});

test('over TLS (rediss://) a worker that trusts the server\'s CA computes tiles; one that does not refuses to connect', async () => {
  const secure = await startRedis({ tls: true, password: PASSWORD });
  try {
    const untrusting = await runClearsky(['worker', '--queue', secure.url, '--backend', 'native'], REPO_ROOT);
    assert.equal(untrusting.code, 1);
    assert.match(untrusting.stderr, /cannot reach the queue at rediss:\/\/:\*\*\*@localhost:\d+\/0: .*certificate/i);
    assert.ok(!untrusting.stderr.includes(PASSWORD));
    const worker = await startWorker({ url: secure.url, env: { NODE_EXTRA_CA_CERTS: secure.caFile! } });
    const url = parseQueueUrl(secure.url);
    const { queue, outcome } = await owner({ ...url, connection: { ...url.connection, tls: { ...(url.connection.tls ?? {}), ca: [readFileSync(secure.caFile!)] } } });
    try {
      await queue.submit(tile('tls:1', 0, 5));
      assert.equal((await outcome('tls:1', 0)).type, 'done');
      assert.equal(doneLines(worker, 'tls:1:0').length, 1);
      await queue.settle('tls:1', 0);
    } finally {
      await queue.close();
    }
    worker.child.kill('SIGTERM');
    assert.equal((await worker.exited).code, 0);
    assert.ok(!worker.stderr().includes(PASSWORD));
  } finally {
    await secure.close();
  }
});
