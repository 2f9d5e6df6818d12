import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '../../../native/dip/tf.ts';
import '@tensorflow/tfjs-backend-cpu';
import { createImage, createMask, type Image } from '../../../native/dip/image.ts';
import { inpaint } from '../../../native/dip/inpaint.ts';
import { setupMode } from '../../../native/dip/modes.ts';
import { fitDip, type FitOptions } from '../../../native/dip/optimise.ts';

// A small network keeps these tests to seconds on the plain cpu backend; the behaviour is the same.
const small: FitOptions = { network: { downWidths: [4, 8], upWidths: [4, 8] }, learningRate: 0.02 };

before(async () => {
  await tf.setBackend('cpu');
});

/** A smooth 3-band scene with a square cloud in the middle. */
function scene(width = 20, height = 12) {
  const s2 = createImage(width, height, 3);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      for (let b = 0; b < 3; b++) s2.data[(r * width + c) * 3 + b] = 0.3 + 0.2 * Math.sin(r / 4 + b) * Math.cos(c / 5);
    }
  }
  const mask = createMask(width, height);
  for (let r = 4; r < 8; r++) for (let c = 8; c < 13; c++) mask.data[r * width + c] = 1;
  return { s2, mask };
}

test('the masked loss falls as the network fits the clear pixels, and the output keeps the input size', async () => {
  const { s2, mask } = scene(21, 13);
  const { problem } = setupMode('basic', { s2, mask });
  const losses: number[] = [];
  const fit = await fitDip(problem, { ...small, steps: 40, progressEvery: 5, onProgress: (p) => losses.push(p.loss) });
  assert.equal(losses.length, 8);
  assert.ok(losses.at(-1)! < losses[0] / 3, `loss ${losses[0]} → ${losses.at(-1)}`);
  assert.deepEqual([fit.output.width, fit.output.height, fit.output.bands], [21, 13, 3]);
  assert.equal(fit.steps, 40);
  assert.equal(fit.backend, 'cpu');
});

test('the same seed on the same backend gives the same result; another seed another', async () => {
  const { s2, mask } = scene();
  const { problem } = setupMode('basic', { s2, mask });
  const a = await fitDip(problem, { ...small, steps: 5, seed: 7 });
  const b = await fitDip(problem, { ...small, steps: 5, seed: 7 });
  const c = await fitDip(problem, { ...small, steps: 5, seed: 8 });
  assert.deepEqual(a.output.data, b.output.data);
  assert.notDeepEqual(a.output.data, c.output.data);
});

test('training leaks no tensors: the count stays flat during a run and returns to where it was', async () => {
  const { s2, mask } = scene();
  const { problem } = setupMode('mt', { s2, mask, reference: s2 });
  const before = tf.memory().numTensors;
  const counts: number[] = [];
  await fitDip(problem, { ...small, steps: 60, progressEvery: 10, emaDecay: 0.9, onProgress: () => counts.push(tf.memory().numTensors) });
  assert.equal(new Set(counts).size, 1, `tensor counts during the run: ${counts.join(',')}`);
  assert.equal(tf.memory().numTensors, before);
});

test('an AbortSignal cancels a run within a step and frees its tensors', async () => {
  const { s2, mask } = scene();
  const { problem } = setupMode('basic', { s2, mask });
  const before = tf.memory().numTensors;
  const controller = new AbortController();
  let lastStep = 0;
  await assert.rejects(
    fitDip(problem, {
      ...small,
      steps: 1000,
      progressEvery: 1,
      signal: controller.signal,
      onProgress: (p) => {
        lastStep = p.step;
        if (p.step === 3) setImmediate(() => controller.abort());
      },
    }),
    { name: 'AbortError' },
  );
  assert.ok(lastStep >= 3 && lastStep <= 4, `stopped after step ${lastStep}`);
  assert.equal(tf.memory().numTensors, before);
});

test('several seeds give the per-pixel median and a spread; stitching keeps clear pixels exactly', async () => {
  const { s2, mask } = scene();
  const result = await inpaint('basic', { s2, mask }, { ...small, steps: 4, seeds: [1, 2, 3], stitch: true });
  assert.equal(result.runs.length, 3);
  assert.ok(result.spread, 'a spread layer with several seeds');
  const runs = await Promise.all([1, 2, 3].map(async (seed) => (await inpaint('basic', { s2, mask }, { ...small, steps: 4, seeds: [seed] })).reconstruction));
  let spreadPositive = 0;
  for (let p = 0; p < mask.data.length; p++) {
    for (let b = 0; b < 3; b++) {
      const i = p * 3 + b;
      if (!mask.data[p]) {
        assert.equal(result.reconstruction.data[i], s2.data[i]);
      } else {
        const sorted = runs.map((r: Image) => r.data[i]).sort((x, y) => x - y);
        assert.equal(result.reconstruction.data[i], sorted[1]);
        if (result.spread!.data[i] > 0) spreadPositive++;
      }
    }
  }
  assert.ok(spreadPositive > 0);
});

test('residual mode (MT-R) reconstructs S2 as the network output plus the reference', async () => {
  const { s2, mask } = scene();
  const reference = createImage(s2.width, s2.height, 3);
  reference.data.fill(0.5);
  const setup = setupMode('mtr', { s2, mask, reference });
  assert.equal(setup.problem.head, 'linear');
  assert.ok(setup.problem.target.data.some((v) => v < 0), 'the residual target has negative values');
  const fit = await fitDip(setup.problem, { ...small, steps: 3 });
  const recon = setup.decode(fit.output);
  for (let i = 0; i < recon.data.length; i += 37) assert.ok(Math.abs(recon.data[i] - (fit.output.data[i] + 0.5)) < 1e-6);
});

test('early stopping watches held-out clear pixels and stops once they stop improving', async () => {
  const { s2, mask } = scene();
  // A learning rate this high makes the fit diverge quickly: the held-out error then stops improving.
  const result = await inpaint('basic', { s2, mask }, { ...small, learningRate: 0.5, steps: 400, earlyStopping: { every: 5, patience: 20, ringWidth: 3, fraction: 0.5 } });
  const run = result.runs[0];
  assert.ok(run.steps < 400, `stopped after ${run.steps} steps`);
  assert.ok(run.bestStep! > 0 && run.bestStep! <= run.steps - 20);
  assert.ok(Number.isFinite(run.holdoutLoss));
});
