import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '../../../native/dip/tf.ts';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-cpu';
import { registerWasmTrainingKernels } from '../../../native/dip/backends/wasm/kernels.ts';
import { conv2dBackpropFilterWasm, type FilterGradTuning } from '../../../native/dip/backends/wasm/conv-backprop-filter.ts';
import { randomValues, relativeError } from '../../helpers/numeric.ts';

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;

interface Case {
  batch: number;
  height: number;
  width: number;
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  pad: Pad;
}

function shapes(c: Case) {
  const xShape: [number, number, number, number] = [c.batch, c.height, c.width, c.inChannels];
  const filterShape: [number, number, number, number] = [c.kernel, c.kernel, c.inChannels, c.outChannels];
  const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, c.stride, 1, c.pad);
  return { xShape, filterShape, dyShape: info.outShape };
}

/**
 * Runs one gradient kernel on a backend and returns its values. With `tuning`, calls our wasm filter
 * gradient directly with that cut of the work.
 */
async function runGradientKernel(backend: string, kernel: 'filter' | 'input', c: Case, seed: number, tuning?: Partial<FilterGradTuning>): Promise<Float32Array> {
  await tf.setBackend(backend);
  const { xShape, filterShape, dyShape } = shapes(c);
  const attrs = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC' };
  const dy = tf.tensor4d(randomValues(tf.util.sizeFromShape(dyShape), seed), dyShape);
  let result: tf.Tensor;
  if (kernel === 'filter') {
    const x = tf.tensor4d(randomValues(tf.util.sizeFromShape(xShape), seed + 1), xShape);
    if (tuning) {
      const info = conv2dBackpropFilterWasm({ inputs: { x, dy }, backend: tf.backend(), attrs: { ...attrs, filterShape } }, tuning);
      result = tf.engine().makeTensorFromTensorInfo(info);
    } else {
      result = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { ...attrs, filterShape }) as tf.Tensor;
    }
    x.dispose();
  } else {
    const filter = tf.tensor4d(randomValues(tf.util.sizeFromShape(filterShape), seed + 2), filterShape);
    result = tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter }, { ...attrs, inputShape: xShape }) as tf.Tensor;
    filter.dispose();
  }
  const values = (await result.data()) as Float32Array;
  assert.deepEqual(result.shape, kernel === 'filter' ? filterShape : xShape);
  result.dispose();
  dy.dispose();
  return values;
}

const cases: Case[] = [];
const pads: Pad[] = ['same', 'valid', 1, [[0, 0], [2, 0], [1, 2], [0, 0]]];
const channelPairs = [[1, 4], [3, 8], [8, 16], [16, 5]];
let pick = 0;
for (const kernel of [1, 3, 5]) {
  for (const stride of [1, 2]) {
    for (const pad of pads) {
      const [inChannels, outChannels] = channelPairs[pick++ % channelPairs.length];
      const batch = pick % 3 === 0 ? 2 : 1;
      cases.push({ batch, height: 11 + (pick % 4), width: 16 - (pick % 3), inChannels, outChannels, kernel, stride, pad });
    }
  }
}
// The shapes the DIP network trains (METHOD.md), small.
cases.push({ batch: 1, height: 16, width: 16, inChannels: 16, outChannels: 32, kernel: 3, stride: 2, pad: 1 });
cases.push({ batch: 1, height: 16, width: 24, inChannels: 32, outChannels: 16, kernel: 5, stride: 1, pad: 2 });
cases.push({ batch: 1, height: 8, width: 8, inChannels: 128, outChannels: 128, kernel: 1, stride: 1, pad: 0 });

const label = (c: Case) =>
  `${c.batch}×${c.height}×${c.width}×${c.inChannels}→${c.outChannels}, ${c.kernel}×${c.kernel} stride ${c.stride} pad ${JSON.stringify(c.pad)}`;

describe('wasm training kernels', () => {
  before(async () => {
    registerWasmTrainingKernels();
    assert.ok(await tf.setBackend('wasm'));
  });

  test('registering again keeps the same kernels', () => {
    registerWasmTrainingKernels();
    const names = [tf.Conv2DBackpropFilter, tf.Conv2DBackpropInput, tf.Tile, tf.Sum, tf.Mean];
    const first = names.map((name) => tf.getKernel(name, 'wasm')?.kernelFunc);
    registerWasmTrainingKernels();
    assert.ok(first.every(Boolean));
    assert.deepEqual(names.map((name) => tf.getKernel(name, 'wasm')?.kernelFunc), first);
  });

  for (const [index, c] of cases.entries()) {
    test(`Conv2DBackpropFilter matches cpu: ${label(c)}`, async () => {
      const expected = await runGradientKernel('cpu', 'filter', c, 100 + index);
      const actual = await runGradientKernel('wasm', 'filter', c, 100 + index);
      assert.ok(relativeError(actual, expected) < 1e-4, `relative error ${relativeError(actual, expected)}`);
    });
    test(`Conv2DBackpropInput matches cpu: ${label(c)}`, async () => {
      const expected = await runGradientKernel('cpu', 'input', c, 200 + index);
      const actual = await runGradientKernel('wasm', 'input', c, 200 + index);
      assert.ok(relativeError(actual, expected) < 1e-4, `relative error ${relativeError(actual, expected)}`);
    });
  }

  // The default cut of the work keeps these small cases in one block and one band; force several.
  const cuts: [Case, Partial<FilterGradTuning>][] = [
    [{ batch: 1, height: 13, width: 10, inChannels: 3, outChannels: 8, kernel: 5, stride: 1, pad: 2 }, { blockTerms: 1, bandFloats: 1 }],
    [{ batch: 2, height: 15, width: 12, inChannels: 4, outChannels: 6, kernel: 3, stride: 2, pad: 'same' }, { blockTerms: 40, bandFloats: 1500 }],
    [{ batch: 1, height: 16, width: 9, inChannels: 5, outChannels: 4, kernel: 3, stride: 1, pad: [[0, 0], [0, 2], [1, 0], [0, 0]] }, { blockTerms: 20, bandFloats: 2000 }],
  ];
  for (const [index, [c, tuning]] of cuts.entries()) {
    test(`Conv2DBackpropFilter cut into ${JSON.stringify(tuning)} matches cpu: ${label(c)}`, async () => {
      const expected = await runGradientKernel('cpu', 'filter', c, 300 + index);
      const actual = await runGradientKernel('wasm', 'filter', c, 300 + index, tuning);
      assert.ok(relativeError(actual, expected) < 1e-4, `relative error ${relativeError(actual, expected)}`);
    });
  }

  test('Tile equals cpu for numeric dtypes, any rank and repetition pattern; refuses strings', async () => {
    const cases: { shape: number[]; reps: number[]; dtype: 'float32' | 'int32' | 'bool' }[] = [
      { shape: [1, 1, 1, 5], reps: [1, 7, 9, 1], dtype: 'float32' }, // what BatchNorm gradients do
      { shape: [2, 3], reps: [3, 2], dtype: 'int32' },
      { shape: [3, 1, 2], reps: [1, 4, 3], dtype: 'bool' },
      { shape: [2, 3, 4], reps: [2, 1, 3], dtype: 'float32' },
      { shape: [5], reps: [1], dtype: 'float32' },
      { shape: [2, 2], reps: [0, 3], dtype: 'float32' },
    ];
    for (const c of cases) {
      const values = Array.from(randomValues(tf.util.sizeFromShape(c.shape), 31), (v) => (c.dtype === 'float32' ? v : v > 0 ? 1 : 0) * (c.dtype === 'int32' ? 7 : 1));
      const tileOn = async (backend: string) => {
        await tf.setBackend(backend);
        const x = tf.tensor(values, c.shape, c.dtype);
        const tiled = tf.tile(x, c.reps);
        const result = { shape: tiled.shape, values: Array.from(await tiled.data()) };
        tf.dispose([x, tiled]);
        return result;
      };
      assert.deepEqual(await tileOn('wasm'), await tileOn('cpu'), `${c.dtype} ${c.shape} × ${c.reps}`);
    }
    await tf.setBackend('wasm');
    const words = tf.tensor(['a', 'b']);
    assert.throws(() => tf.tile(words, [2]), /string/);
    words.dispose();
  });

  test('Sum and Mean equal cpu over leading axes (the fast path) and over any other axes', async () => {
    const cases: { shape: number[]; axis: number[]; keepDims: boolean; dtype: 'float32' | 'int32' }[] = [
      { shape: [1, 9, 7, 5], axis: [0, 1, 2], keepDims: false, dtype: 'float32' }, // bias and BatchNorm gradients
      { shape: [1, 9, 7, 5], axis: [0, 1, 2], keepDims: true, dtype: 'float32' },
      { shape: [1, 6, 4, 3], axis: [1, 2], keepDims: false, dtype: 'float32' },
      { shape: [3, 4, 2], axis: [0], keepDims: false, dtype: 'float32' },
      { shape: [3, 4, 2], axis: [2], keepDims: true, dtype: 'float32' }, // innermost: stock kernel
      { shape: [3, 4, 2], axis: [0, 2], keepDims: false, dtype: 'float32' }, // not leading: stock kernel
      { shape: [3, 4, 2], axis: [0, 1], keepDims: false, dtype: 'int32' }, // int32: stock kernel
    ];
    for (const c of cases) {
      const values = Array.from(randomValues(tf.util.sizeFromShape(c.shape), 41), (v) => (c.dtype === 'int32' ? Math.round(v * 50) : v));
      const reduceOn = async (backend: string) => {
        await tf.setBackend(backend);
        const x = tf.tensor(values, c.shape, c.dtype);
        const sum = tf.sum(x, c.axis, c.keepDims);
        const mean = tf.mean(x, c.axis, c.keepDims);
        const result = { shapes: [sum.shape, mean.shape], dtypes: [sum.dtype, mean.dtype], sum: Float32Array.from(await sum.data()), mean: Float32Array.from(await mean.data()) };
        tf.dispose([x, sum, mean]);
        return result;
      };
      const expected = await reduceOn('cpu');
      const actual = await reduceOn('wasm');
      const label = `${c.dtype} ${c.shape} over ${c.axis}`;
      assert.deepEqual(actual.shapes, expected.shapes, label);
      assert.deepEqual(actual.dtypes, expected.dtypes, label);
      assert.ok(relativeError(actual.sum, expected.sum) < 1e-6, label);
      assert.ok(relativeError(actual.mean, expected.mean) < 1e-6, label);
    }
  });

  test('tf.variableGrads through a two-layer conv net equals cpu, for the weights and the input', async () => {
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      const x = tf.tensor4d(randomValues(1 * 12 * 20 * 3, 7), [1, 12, 20, 3]);
      const w1 = tf.variable(tf.tensor4d(randomValues(3 * 3 * 3 * 8, 8), [3, 3, 3, 8]));
      const w2 = tf.variable(tf.tensor4d(randomValues(5 * 5 * 8 * 4, 9), [5, 5, 8, 4]));
      const net = (input: tf.Tensor4D) =>
        tf.sum(tf.square(tf.conv2d(tf.leakyRelu(tf.conv2d(input, w1, 2, 1), 0.2), w2, 1, 'same'))) as tf.Scalar;
      const { grads, value } = tf.variableGrads(() => net(x));
      const dx = tf.grad((input: tf.Tensor) => net(input as tf.Tensor4D))(x);
      const result = {
        loss: (await value.data())[0],
        w1: (await grads[w1.name].data()) as Float32Array,
        w2: (await grads[w2.name].data()) as Float32Array,
        x: (await dx.data()) as Float32Array,
      };
      tf.dispose([x, w1, w2, value, dx, ...Object.values(grads)]);
      return result;
    };
    const expected = await run('cpu');
    const actual = await run('wasm');
    assert.ok(Math.abs(actual.loss - expected.loss) / expected.loss < 1e-5);
    for (const key of ['w1', 'w2', 'x'] as const) {
      const error = relativeError(actual[key], expected[key]);
      assert.ok(error < 1e-4, `${key}: relative error ${error}`);
    }
  });

  test('repeated gradient steps leave no tensors or wasm buffers behind', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as tf.KernelBackend & { numDataIds(): number };
    const x = tf.tensor4d(randomValues(2 * 16 * 12 * 4, 11), [2, 16, 12, 4]);
    const w1 = tf.variable(tf.tensor4d(randomValues(3 * 3 * 4 * 8, 12), [3, 3, 4, 8]));
    const w2 = tf.variable(tf.tensor4d(randomValues(5 * 5 * 8 * 8, 13), [5, 5, 8, 8]));
    const step = () =>
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() =>
          tf.mean(tf.square(tf.conv2d(tf.conv2d(x, w1, 2, 'same'), w2, 1, 2))) as tf.Scalar);
        w1.assign(tf.sub(w1, tf.mul(grads[w1.name], 0.01)));
        w2.assign(tf.sub(w2, tf.mul(grads[w2.name], 0.01)));
      });
    step();
    const before = { ...tf.memory(), buffers: backend.numDataIds() };
    for (let i = 0; i < 5; i++) step();
    const after = { ...tf.memory(), buffers: backend.numDataIds() };
    assert.equal(after.numTensors, before.numTensors);
    assert.equal(after.numBytes, before.numBytes);
    assert.equal(after.buffers, before.buffers);
    tf.dispose([x, w1, w2]);
  });
});
