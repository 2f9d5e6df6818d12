import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '../../../native/dip/tf.ts';
import '@tensorflow/tfjs-backend-cpu';
import { createImage, createMask } from '../../../native/dip/image.ts';
import { inpaint } from '../../../native/dip/inpaint.ts';
import { setupMode, type DipProblem } from '../../../native/dip/modes.ts';
import { fitDip, type FitOptions } from '../../../native/dip/optimise.ts';
import { InputError } from '../../../native/errors.ts';

// A small network keeps these tests to seconds on the plain cpu backend; the behaviour is the same.
const small: FitOptions = { network: { downWidths: [4, 8], upWidths: [4, 8] }, learningRate: 0.02 };

before(async () => {
  await tf.setBackend('cpu');
});

function scene(width = 20, height = 12, bands = 3, phase = 0) {
  const s2 = createImage(width, height, bands);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      for (let b = 0; b < bands; b++) s2.data[(r * width + c) * bands + b] = 0.3 + 0.2 * Math.sin(r / 4 + b + phase) * Math.cos(c / 5);
    }
  }
  const mask = createMask(width, height);
  for (let r = 4; r < 8; r++) for (let c = 8; c < 13; c++) mask.data[r * width + c] = 1;
  return { s2, mask };
}

/** The masked MSE of an output over the problem's known elements: the loss the optimiser reports. */
function maskedMse(problem: DipProblem, output: Float32Array): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < output.length; i++) {
    if (!problem.weights[i]) continue;
    sum += (output[i] - problem.target.data[i]) ** 2;
    count++;
  }
  return sum / count;
}

test('a warm fit starts where the finished fit ended: its first loss is the finished network\'s loss on the same target', async () => {
  const { s2, mask } = scene();
  const { problem } = setupMode('basic', { s2, mask });
  const finished = await fitDip(problem, { ...small, steps: 60, regNoise: 0, keepWeights: true });
  assert.ok(finished.weights, 'the weights are returned when asked');
  const ended = maskedMse(problem, finished.output.data);
  const first: number[] = [];
  // Another seed: were its random start used, the first loss would be an untrained network's.
  await fitDip(problem, { ...small, seed: 5, steps: 1, regNoise: 0, progressEvery: 1, initialWeights: finished.weights, onProgress: (p) => first.push(p.loss) });
  const cold: number[] = [];
  await fitDip(problem, { ...small, seed: 5, steps: 1, regNoise: 0, progressEvery: 1, onProgress: (p) => cold.push(p.loss) });
  assert.ok(Math.abs(first[0] - ended) <= 1e-5 * Math.max(1, ended), `warm first loss ${first[0]} vs finished ${ended}`);
  assert.ok(cold[0] > 3 * ended, `a cold start is far from it: ${cold[0]} vs ${ended}`);
});

test('weights are returned only when asked, and leave no tensor behind', async () => {
  const { s2, mask } = scene();
  const { problem } = setupMode('basic', { s2, mask });
  const before = tf.memory().numTensors;
  const plain = await fitDip(problem, { ...small, steps: 3 });
  assert.equal(plain.weights, undefined);
  const kept = await fitDip(problem, { ...small, steps: 3, keepWeights: true });
  await fitDip(problem, { ...small, steps: 3, initialWeights: kept.weights });
  assert.equal(tf.memory().numTensors, before);
  assert.equal(kept.weights!.shapes.length, kept.weights!.values.length);
});

test('weights of another architecture or band count are refused, naming the mismatch', async () => {
  const { s2, mask } = scene();
  const { problem } = setupMode('basic', { s2, mask });
  const weights = (await fitDip(problem, { ...small, steps: 2, keepWeights: true })).weights!;
  const before = tf.memory().numTensors;
  const fourBands = setupMode('basic', scene(20, 12, 4)).problem;
  await assert.rejects(fitDip(fourBands, { ...small, steps: 2, initialWeights: weights }), (e: Error) => e instanceof InputError && /tensor \d+ is \[1, 1, 4, 3\].*this network's is \[1, 1, 4, 4\]/.test(e.message));
  await assert.rejects(fitDip(problem, { network: { downWidths: [4, 8, 8], upWidths: [4, 8, 8] }, steps: 2, initialWeights: weights }), (e: Error) => e instanceof InputError && /hold \d+ tensors, but this network has \d+/.test(e.message));
  const truncated = { shapes: weights.shapes, values: weights.values.map((v, i) => (i === 0 ? v.subarray(1) : v)) };
  await assert.rejects(fitDip(problem, { ...small, steps: 2, initialWeights: truncated }), InputError);
  assert.equal(tf.memory().numTensors, before, 'a refused start leaves no tensor behind');
});

test('inpaint starts each seed from its own weights and hands them back', async () => {
  const { s2, mask } = scene();
  const first = await inpaint('basic', { s2, mask }, { ...small, steps: 30, seeds: [0, 1], keepWeights: true });
  assert.equal(first.weights?.length, 2);
  const neighbour = scene(20, 12, 3, 0.3);
  const warm = await inpaint('basic', neighbour, { ...small, steps: 1, progressEvery: 1, seeds: [0, 1], startWeights: first.weights });
  const cold = await inpaint('basic', neighbour, { ...small, steps: 1, progressEvery: 1, seeds: [0, 1] });
  for (const k of [0, 1]) assert.ok(warm.runs[k].finalLoss < cold.runs[k].finalLoss / 3, `seed ${k}: warm ${warm.runs[k].finalLoss} vs cold ${cold.runs[k].finalLoss}`);
});
