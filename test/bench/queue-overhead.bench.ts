/**
 * What the queue adds to a tile (README, "Scale-out"): a 256² tile of all 13 bands with a reference and SAR
 * (MS-MT) sent by a TileQueue through a real redis-server to a real `clearsky worker` on this machine. The
 * overhead is the owner's wall time from submit to outcome minus the worker's own time on the tile (packing,
 * Redis, unpacking, the IPC to the local worker process, the events back).
 *   node --import tsx test/bench/queue-overhead.bench.ts [--steps 5] [--tiles 3] [--backend native]
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TileQueue } from '../../native/jobs/queue/tile-queue.ts';
import type { QueuedOutcome } from '../../native/jobs/queue/contract.ts';
import { REPO_ROOT } from '../helpers/data.ts';
import { startRedis } from '../helpers/redis.ts';
import { nigeriaTile } from '../helpers/tile-sources.ts';

const { values } = parseArgs({ options: { steps: { type: 'string', default: '5' }, tiles: { type: 'string', default: '3' }, backend: { type: 'string', default: 'native' } } });
const steps = Number(values.steps);
const redis = await startRedis({ password: 'bench' });
const worker = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/clearsky.js'), 'worker', '--queue', redis.url, '--backend', values.backend!, '--concurrency', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
let stderr = '';
worker.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
const queue = await TileQueue.open(redis.url, { pollMs: 1000 });
try {
  while (!stderr.includes('taking tiles from')) {
    if (worker.exitCode !== null) throw new Error(stderr);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const sources = await nigeriaTile({ x: 0, y: 0, size: 256, sar: true, reference: true });
  const outcomes = new Map<number, QueuedOutcome>();
  queue.onOutcome((_run, index, outcome) => outcomes.set(index, outcome));
  for (let index = 0; index < Number(values.tiles); index++) {
    const start = performance.now();
    await queue.submit({ runKey: 'bench', tileIndex: index, settings: { method: 'dip', mode: 'msmt', steps, seeds: [0], stitch: true }, sources, backend: values.backend!, attempts: 1 });
    const submitted = performance.now();
    while (!outcomes.has(index)) await new Promise((resolve) => setTimeout(resolve, 5));
    const wall = (performance.now() - start) / 1000;
    const outcome = outcomes.get(index)!;
    if (outcome.type !== 'done') throw new Error(outcome.error);
    await queue.settle('bench', index);
    console.log(`tile ${index}: ${wall.toFixed(2)} s submit→outcome, worker ${outcome.seconds.toFixed(2)} s (${(outcome.seconds / steps).toFixed(3)} s/step), overhead ${(wall - outcome.seconds).toFixed(2)} s (submit ${((submitted - start) / 1000).toFixed(2)} s)`);
  }
} finally {
  await queue.close();
  worker.kill('SIGTERM');
  await new Promise((resolve) => worker.once('exit', resolve));
  await redis.close();
}
