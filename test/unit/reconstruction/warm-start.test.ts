/** The weights file a warm-started run's tiles leave for their neighbours: exact round trip, damage refused. */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '../../../native/dip/tf.ts';
import '@tensorflow/tfjs-backend-cpu';
import { DipNetwork } from '../../../native/dip/network.ts';
import { InputError } from '../../../native/errors.ts';
import { readWeightsFile, writeWeightsFile } from '../../../native/reconstruction/warm-start.ts';
import { resolveEvalSets } from '../../../native/commands/eval-sets.ts';
import { runSetEval } from '../../../native/commands/eval-table.ts';
import { DATA_DIR } from '../../helpers/data.ts';

let dir: string;
before(async () => {
  await tf.setBackend('cpu');
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-weights-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

test('the default network\'s weights for 3 bands, two seeds: written and read back bit for bit, 4 bytes a parameter', async () => {
  const nets = [new DipNetwork({ inputChannels: 2, outputChannels: 3, seed: 0 }), new DipNetwork({ inputChannels: 2, outputChannels: 3, seed: 1 })];
  try {
    const weights = await Promise.all(nets.map((n) => n.readWeights()));
    const file = path.join(dir, 'tile-r0-c0.weights.bin');
    const bytes = await writeWeightsFile(file, weights);
    assert.equal((await fs.stat(file)).size, bytes);
    const parameters = nets[0].parameterCount;
    assert.equal(parameters, 2_442_067);
    assert.ok(bytes > 2 * 4 * parameters && bytes < 2 * 4 * parameters + 16_384, `${bytes} bytes: the values and a small header`);
    const back = await readWeightsFile(file);
    assert.deepEqual(back!.map((w) => w.shapes), weights.map((w) => w.shapes));
    for (const [k, w] of weights.entries()) w.values.forEach((v, i) => assert.deepEqual(back![k].values[i], v));
  } finally {
    nets.forEach((n) => n.dispose());
  }
});

test('a missing weights file is no start (undefined); a damaged one is refused naming it', async () => {
  assert.equal(await readWeightsFile(path.join(dir, 'gone.weights.bin')), undefined);
  const net = new DipNetwork({ inputChannels: 2, outputChannels: 3, downWidths: [4, 8] });
  const file = path.join(dir, 'small.weights.bin');
  await writeWeightsFile(file, [await net.readWeights()]);
  net.dispose();
  const whole = await fs.readFile(file);
  const cut = path.join(dir, 'cut.weights.bin');
  await fs.writeFile(cut, whole.subarray(0, whole.length - 4));
  await assert.rejects(readWeightsFile(cut), (e: Error) => e instanceof InputError && e.message.startsWith(cut) && /ends before its last tensor/.test(e.message));
  const other = path.join(dir, 'other.weights.bin');
  await fs.writeFile(other, 'GIF89a not weights at all');
  await assert.rejects(readWeightsFile(other), InputError);
});

test('eval --set t33uuu --warm-start: the DIP rows are labelled warm and differ from the cold ones; the baseline stays as it is', { timeout: 600_000 }, async () => {
  const sets = resolveEvalSets(['t33uuu'], DATA_DIR);
  const cold = await runSetEval({ sets, modes: ['basic'], steps: 2, backend: 'auto' });
  const warm = await runSetEval({ sets, modes: ['basic'], steps: 2, backend: 'auto', warmStart: true });
  assert.deepEqual(warm.map((r) => r.method), ['basic warm', 'idw-fill']);
  assert.deepEqual(cold.map((r) => r.method), ['basic', 'idw-fill']);
  // Same seed, steps and tiles: only the start differs, so the scores do.
  assert.notEqual(warm[0].rmse_mask, cold[0].rmse_mask);
  assert.equal(warm[1].rmse_mask, cold[1].rmse_mask);
});
