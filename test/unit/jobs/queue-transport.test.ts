/**
 * The tile queue's transport on a real redis-server: queue URLs (the password never shown), tile payloads
 * (real Sentinel arrays packed and unpacked exactly; anything malformed refused), and the owner's TileQueue
 * against a BullMQ worker in this process (dedup by job id, a failed job retried on resubmit, settle, cancel).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import { Queue, Worker } from 'bullmq';
import { InputError } from '../../../native/errors.ts';
import { TILE_QUEUE_NAME, type QueuedOutcome, type QueuedTile } from '../../../native/jobs/queue/contract.ts';
import { checkQueueReachable, parseQueueUrl } from '../../../native/jobs/queue/queue-url.ts';
import { bullConnection, TileQueue } from '../../../native/jobs/queue/tile-queue.ts';
import { cancelKey, decodeTileJob, decodeTileResult, encodeTileJob, encodeTileResult, MAX_PAYLOAD_BYTES, MAX_TILE_SIDE, PayloadError, tileJobId, type TileJobData } from '../../../native/jobs/queue/tile-payload.ts';
import type { TileSources } from '../../../native/reconstruction/pipeline.ts';
import { runClearsky } from '../../helpers/cli.ts';
import { freePort, startRedis, type TestRedis } from '../../helpers/redis.ts';
import { nigeriaTile } from '../../helpers/tile-sources.ts';

const PASSWORD = 'n0t-in-any-log';
let redis: TestRedis;
let sources: TileSources;
before(async () => {
  redis = await startRedis({ password: PASSWORD });
  sources = await nigeriaTile({ size: 64, sar: true, reference: true });
});
after(async () => {
  await redis?.close();
});

function tile(runKey: string, tileIndex: number, overrides: Partial<QueuedTile> = {}): QueuedTile {
  return { runKey, tileIndex, settings: { method: 'dip', mode: 'msmt', steps: 10, seeds: [0], stitch: true }, sources, backend: 'native', attempts: 2, ...overrides };
}

test('a queue URL becomes ioredis options; its password shows only as ***', () => {
  const url = parseQueueUrl('redis://worker:s3cr%2Ft@gpu-server.lan:6390/2');
  assert.deepEqual(url.connection, { host: 'gpu-server.lan', port: 6390, db: 2, username: 'worker', password: 's3cr/t' });
  assert.equal(url.display, 'redis://worker:***@gpu-server.lan:6390/2');
  assert.equal(parseQueueUrl('redis://:pw@10.0.0.5').display, 'redis://:***@10.0.0.5/0');
  assert.deepEqual(parseQueueUrl('rediss://[::1]:7000').connection, { host: '::1', port: 7000, db: 0, tls: {} });
  assert.deepEqual(parseQueueUrl('rediss://queue.lan:7000/1').connection, { host: 'queue.lan', port: 7000, db: 1, tls: { servername: 'queue.lan' } });
  assert.equal(url.redact('WRONGPASS for s3cr/t'), 'WRONGPASS for ***');
  for (const bad of ['http://user:hunter2@host:6379', 'redis://user:hunter2@host:6379/queue', 'redis://user:hunter2@host:6379/0?tls=1', 'user:hunter2@host', 'redis://us/er:hun/ter2@host']) {
    assert.throws(
      () => parseQueueUrl(bad),
      (e: Error) => e instanceof InputError && e.message.startsWith('--queue: ') && !e.message.includes('hunter2') && !e.message.includes('hun/ter2') && !e.message.includes('\n'),
      bad,
    );
  }
});

test('an unreachable queue is one clear error that names it without its password', async () => {
  const port = await freePort();
  const url = parseQueueUrl(`redis://u:${PASSWORD}@127.0.0.1:${port}/0`);
  await assert.rejects(checkQueueReachable(url, 2000), (e: Error) => e.message.includes(`redis://u:***@127.0.0.1:${port}/0`) && /ECONNREFUSED/.test(e.message) && !e.message.includes(PASSWORD));
  // A wrong password on a live server: refused, and the wrong password is not echoed either.
  const wrong = parseQueueUrl(`redis://:${PASSWORD}-typo@127.0.0.1:${redis.port}/0`);
  await assert.rejects(TileQueue.open(wrong, { connectTimeoutMs: 2000 }), (e: Error) => /WRONGPASS|invalid/i.test(e.message) && !e.message.includes(PASSWORD));
});

test('clearsky worker refuses a missing or wrong --queue and names an unreachable one, never showing the password', async () => {
  const missing = await runClearsky(['worker', '--backend', 'native'], process.cwd());
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--queue is required/);
  const wrong = await runClearsky(['worker', '--queue', `http://u:${PASSWORD}@127.0.0.1:6379`], process.cwd());
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /^clearsky: --queue: the scheme must be redis or rediss/);
  const port = await freePort();
  const unreachable = await runClearsky(['worker', '--queue', `redis://u:${PASSWORD}@127.0.0.1:${port}/0`, '--backend', 'native'], process.cwd());
  assert.equal(unreachable.code, 1);
  assert.match(unreachable.stderr, new RegExp(`cannot reach the queue at redis://u:\\*\\*\\*@127\\.0\\.0\\.1:${port}/0: .*ECONNREFUSED`));
  for (const r of [wrong, unreachable]) assert.ok(!r.stderr.includes(PASSWORD) && !r.stdout.includes(PASSWORD), r.stderr);
});

test('clearsky worker whose engine cannot start exits 1 with the reason, not 0', async (t) => {
  const installed = (name: string) => {
    try {
      import.meta.resolve(name);
      return true;
    } catch {
      return false;
    }
  };
  if (installed('@tensorflow/tfjs-node-gpu') || installed('@tensorflow/tfjs-node')) return t.skip('the tensorflow backend is installed here');
  const r = await runClearsky(['worker', '--queue', redis.url, '--backend', 'tensorflow'], process.cwd());
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^clearsky: the worker process cannot start/m);
  assert.ok(!r.stderr.includes(PASSWORD));
});

test('a tile travels as compact JSON and unpacks to exactly the arrays that were read', async () => {
  const data = JSON.parse(JSON.stringify(await encodeTileJob(tile('project-1:7', 3)))) as TileJobData;
  const raw = Object.values(data.arrays).reduce((n, a) => n + a.width * a.height * a.bands * (a.type === 'float32' ? 4 : 1), 0);
  assert.ok(JSON.stringify(data).length < raw, `${JSON.stringify(data).length} bytes of JSON for ${raw} bytes of arrays`);
  const decoded = decodeTileJob(data, 'job');
  assert.equal(decoded.runKey, 'project-1:7');
  assert.equal(decoded.tileIndex, 3);
  assert.deepEqual(decoded.settings, { method: 'dip', mode: 'msmt', steps: 10, seeds: [0], stitch: true });
  assert.deepEqual(decoded.sources.bandNames, sources.bandNames);
  assert.deepEqual(decoded.sources.cloud, sources.cloud);
  for (const key of ['s2', 'raw', 'reference', 'sar'] as const) assert.deepEqual(decoded.sources.window[key], sources.window[key], key);
  const result = { image: sources.window.raw, bandNames: sources.bandNames, loss: 0.0123, seconds: 4.5, backend: 'native (oneDNN CPU)', worker: 'gpu1:42' };
  assert.deepEqual(decodeTileResult(JSON.parse(JSON.stringify(await encodeTileResult(result, 'r'))), 'r'), { type: 'done', ...result });
});

test('a malformed tile job is refused with one line saying what is wrong', async () => {
  const encoded = JSON.stringify(await encodeTileJob(tile('r', 0)));
  const good = () => JSON.parse(encoded) as TileJobData;
  const cases: [string, (d: TileJobData) => unknown, RegExp][] = [
    ['an unknown mode', (d) => ({ ...d, settings: { ...d.settings, mode: 'magic' } }), /settings\.mode/],
    ['zero steps', (d) => ({ ...d, settings: { ...d.settings, steps: 0 } }), /settings\.steps/],
    ['an unknown field', (d) => ({ ...d, command: 'rm -rf /' }), /command|unrecognized/i],
    ['a shape larger than any tile', (d) => ({ ...d, arrays: { ...d.arrays, cloud: { ...d.arrays.cloud, width: MAX_TILE_SIDE + 1 } } }), /cloud\.width/],
    ['a band count that does not match the band names', (d) => ({ ...d, bandNames: d.bandNames.slice(1) }), /bands/],
    ['an array shorter than its shape', (d) => ({ ...d, arrays: { ...d.arrays, s2: { ...d.arrays.s2, height: d.arrays.s2.height * 2 }, raw: { ...d.arrays.raw, height: d.arrays.raw.height * 2 }, reference: { ...d.arrays.reference!, height: d.arrays.reference!.height * 2 }, sar: { ...d.arrays.sar!, height: d.arrays.sar!.height * 2 }, cloud: { ...d.arrays.cloud, height: d.arrays.cloud.height * 2 } } }), /holds \d+ values/],
    ['garbage instead of deflated data', (d) => ({ ...d, arrays: { ...d.arrays, raw: { ...d.arrays.raw, deflated: 'bm90IGRlZmxhdGVk' } } }), /does not unpack/],
    ['not even an object', () => 'hello', /not a clearsky tile job/],
    ['a mask that unpacks to more than its shape (a deflate bomb)', (d) => ({ ...d, arrays: { ...d.arrays, cloud: { ...d.arrays.cloud, deflated: deflateSync(new Uint8Array(2 ** 24)).toString('base64') } } }), /the mask holds more than its 64×64×1 values/],
    ['an array beyond the size bound', (d) => ({ ...d, arrays: { ...d.arrays, raw: { ...d.arrays.raw, deflated: 'A'.repeat(MAX_PAYLOAD_BYTES + 1) } } }), /arrays\.raw\.deflated/],
  ];
  for (const [name, corrupt, pattern] of cases) {
    assert.throws(() => decodeTileJob(corrupt(good()), 'queue job x'), (e: Error) => e instanceof PayloadError && e.message.startsWith('queue job x: refused') && pattern.test(e.message) && !e.message.includes('\n'), name);
  }
});

test('the owner queues a tile once, hears its outcome, and settles it; a resubmitted unsettled tile is not computed again', async () => {
  const queue = await TileQueue.open(redis.url, { pollMs: 300 });
  const outcomes: [string, number, QueuedOutcome][] = [];
  queue.onOutcome((runKey, tileIndex, outcome) => outcomes.push([runKey, tileIndex, outcome]));
  const processed: string[] = [];
  const worker = new Worker(
    TILE_QUEUE_NAME,
    async (job) => {
      processed.push(job.id!);
      const { sources: s } = decodeTileJob(job.data, job.id!);
      return await encodeTileResult({ image: s.window.raw, bandNames: s.bandNames, loss: 0.5, seconds: 0.1, backend: 'test', worker: 'here' }, job.id!);
    },
    { connection: bullConnection(parseQueueUrl(redis.url)), autorun: false },
  );
  const inspect = new Queue(TILE_QUEUE_NAME, { connection: bullConnection(parseQueueUrl(redis.url)) });
  try {
    await queue.submit(tile('p:1', 0));
    await queue.submit(tile('p:1', 0));
    assert.equal(await inspect.getWaitingCount(), 1, 'the second submit of the same tile adds nothing');
    void worker.run();
    await until(() => outcomes.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 700));
    assert.equal(outcomes.length, 1, 'one outcome per submit, though an event and a poll both see it');
    const [runKey, tileIndex, outcome] = outcomes[0];
    assert.equal(runKey, 'p:1');
    assert.equal(tileIndex, 0);
    assert.equal(outcome.type, 'done');
    assert.deepEqual(outcome.type === 'done' && outcome.image, sources.window.raw);

    // An owner that restarted before recording the result submits again: the result comes without a second computation.
    const again = await TileQueue.open(redis.url, { pollMs: 300 });
    const second: QueuedOutcome[] = [];
    again.onOutcome((_r, _i, o) => second.push(o));
    await again.submit(tile('p:1', 0));
    await until(() => second.length === 1);
    assert.equal(second[0].type, 'done');
    assert.deepEqual(processed, [tileJobId('p:1', 0)]);
    await again.settle('p:1', 0);
    assert.equal(await inspect.getJobState(tileJobId('p:1', 0)), 'unknown', 'settled: gone from Redis');
    await again.close();
  } finally {
    await worker.close();
    await inspect.close();
    await queue.close();
  }
});

test('a failed tile is reported as such, and resubmitting it really tries again', async () => {
  const queue = await TileQueue.open(redis.url, { pollMs: 300 });
  const outcomes: QueuedOutcome[] = [];
  queue.onOutcome((_r, _i, o) => outcomes.push(o));
  let tries = 0;
  const worker = new Worker(
    TILE_QUEUE_NAME,
    async (job) => {
      if (++tries === 1) throw new Error('out of GPU memory');
      return await encodeTileResult({ image: sources.window.raw, bandNames: sources.bandNames, loss: null, seconds: 0, backend: 'test', worker: 'here' }, job.id!);
    },
    { connection: bullConnection(parseQueueUrl(redis.url)) },
  );
  try {
    await queue.submit(tile('fails', 1, { attempts: 1 }));
    await until(() => outcomes.length === 1);
    assert.deepEqual(outcomes[0], { type: 'failed', error: 'out of GPU memory', userError: false, cancelled: false });
    await queue.submit(tile('fails', 1, { attempts: 1 }));
    await until(() => outcomes.length === 2);
    assert.equal(outcomes[1].type, 'done');
    assert.equal(tries, 2);
  } finally {
    await worker.close();
    await queue.close();
  }
});

test('cancelling a run removes its waiting tiles, marks it for the workers, and leaves other runs alone', async () => {
  const queue = await TileQueue.open(redis.url, { pollMs: 300 });
  const outcomes: [string, number, QueuedOutcome][] = [];
  queue.onOutcome((r, i, o) => outcomes.push([r, i, o]));
  const inspect = new Queue(TILE_QUEUE_NAME, { connection: bullConnection(parseQueueUrl(redis.url)) });
  try {
    for (const i of [0, 1]) await queue.submit(tile('doomed:1', i));
    await queue.submit(tile('kept:1', 0));
    await queue.cancelRun('doomed:1');
    assert.deepEqual(outcomes.map(([r, i, o]) => [r, i, o.type === 'failed' && o.cancelled]).sort(), [['doomed:1', 0, true], ['doomed:1', 1, true]]);
    assert.equal(await inspect.getJobState(tileJobId('kept:1', 0)), 'waiting');
    assert.equal(await inspect.getJobState(tileJobId('doomed:1', 0)), 'unknown');
    const client = await inspect.client;
    assert.equal(await client.get(cancelKey('doomed:1')), '1');
    assert.equal(await client.get(cancelKey('kept:1')), null);
    await queue.settle('kept:1', 0);
  } finally {
    await inspect.close();
    await queue.close();
  }
});

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
