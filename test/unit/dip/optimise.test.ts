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

test('early stopping counts step 0: when the held-out error never improves, the untrained output is returned exactly', async () => {
  // A zero head (mtfit's) makes the untrained output exactly 0. The held-out elements' target is 0 too, so
  // step 0's held-out error is 0 and no trained network can beat it; the clear ones pull the network away.
  const width = 16;
  const height = 16;
  const target = createImage(width, height, 3);
  const weights = new Float32Array(target.data.length);
  const holdout = new Float32Array(target.data.length);
  for (let p = 0; p < width * height; p++) {
    const heldOut = p % 7 === 0;
    for (let b = 0; b < 3; b++) {
      const i = p * 3 + b;
      target.data[i] = heldOut ? 0 : Math.sin(p / 5 + b);
      (heldOut ? holdout : weights)[i] = 1;
    }
  }
  const tensors = tf.memory().numTensors;
  const fit = await fitDip({ target, weights, head: 'linear', zeroHead: true }, { ...small, steps: 200, earlyStopping: { holdout, every: 5, patience: 50 } });
  assert.equal(tf.memory().numTensors, tensors, 'the kept outputs are freed');
  assert.equal(fit.bestStep, 0);
  assert.equal(fit.holdoutLoss, 0);
  assert.equal(fit.steps, 50, 'stopped once 50 steps passed without beating step 0');
  assert.ok(fit.output.data.every((v) => v === 0), 'the step-0 output, not the trained one');
  // Without early stopping the same training moves the output: step 0 was chosen, not kept by accident.
  const trained = await fitDip({ target, weights, head: 'linear', zeroHead: true }, { ...small, steps: 50 });
  assert.ok(trained.output.data.some((v) => Math.abs(v) > 1e-3));
});

test('with early stopping, each checkpoint is what a run of that many steps returns: the best output so far', async () => {
  const { s2, mask } = scene();
  const setup = setupMode('basic', { s2, mask });
  const holdout = new Float32Array(setup.problem.weights.length);
  const weights = setup.problem.weights.slice();
  for (let i = 0; i < weights.length; i += 11) if (weights[i]) [weights[i], holdout[i]] = [0, 1];
  const problem = { ...setup.problem, weights };
  const earlyStopping = { holdout, every: 5, patience: 1000 };
  const checkpoints = new Map<number, Float32Array>();
  const long = await fitDip(problem, { ...small, steps: 40, earlyStopping, checkpoints: [20], onCheckpointOutput: (step, output) => void checkpoints.set(step, output.data) });
  const short = await fitDip(problem, { ...small, steps: 20, earlyStopping });
  assert.deepEqual(checkpoints.get(20), short.output.data);
  assert.ok(long.bestStep! % 5 === 0 && long.bestStep! <= 40);
});
