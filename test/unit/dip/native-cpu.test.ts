import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import * as tf from '../../../native/dip/tf.ts';
import '@tensorflow/tfjs-backend-cpu';
import { batchNormTraining } from '../../../native/dip/batch-norm.ts';
import { createAdam } from '../../../native/dip/adam.ts';
import { DipNetwork } from '../../../native/dip/network.ts';
import { NATIVE_CPU_BACKEND, nativeCpuUnavailableReason, registerNativeCpuBackend } from '../../../native/dip/backends/native/cpu.ts';
import { fallbackCounts } from '../../../native/dip/backends/native/kernel-util.ts';
import { loadNativeAddon, nativeAddonPath } from '../../../native/dip/backends/native/addon.ts';
import { REPO_ROOT } from '../../helpers/data.ts';
import { randomValues, relativeError } from '../../helpers/numeric.ts';

const available = registerNativeCpuBackend();
const skip = available ? false : `clearsky-cpu unavailable: ${nativeCpuUnavailableReason()}`;

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;

function random(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(randomValues(tf.util.sizeFromShape(shape), seed), shape);
}

/** Runs `compute` on a backend and returns its outputs' values (tensors are built inside, per backend). */
async function valuesOn(backend: string, compute: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const outputs = tf.tidy(compute);
  const list = Array.isArray(outputs) ? outputs : [outputs];
  const values = list.map((t) => Float32Array.from(t.dataSync()));
  tf.dispose(list);
  return values;
}

/** The same computation on 'cpu' and on 'clearsky-cpu', output by output, within 1e-4 relative error, with
 * none of the listed kernels having fallen back to tfjs' JavaScript. */
async function assertMatchesCpu(compute: () => tf.Tensor | tf.Tensor[], nativeKernels: string[], label = ''): Promise<void> {
  const expected = await valuesOn('cpu', compute);
  const before = nativeKernels.map((k) => fallbackCounts.get(k) ?? 0);
  const actual = await valuesOn(NATIVE_CPU_BACKEND, compute);
  nativeKernels.forEach((k, i) => assert.equal(fallbackCounts.get(k) ?? 0, before[i], `${label}: ${k} fell back to tfjs' kernel`));
  assert.equal(actual.length, expected.length);
  actual.forEach((a, i) => {
    const error = relativeError(a, expected[i]);
    assert.ok(error < 1e-4, `${label} output ${i}: relative error ${error}`);
  });
}

interface ConvCase {
  height: number;
  width: number;
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  pad: Pad;
  dilation?: number;
  batch?: number;
}

const CONV_CASES: ConvCase[] = [
  { height: 9, width: 13, inChannels: 3, outChannels: 8, kernel: 3, stride: 1, pad: 'same' },
  { height: 16, width: 12, inChannels: 16, outChannels: 32, kernel: 3, stride: 2, pad: 1 },
  { height: 8, width: 8, inChannels: 8, outChannels: 4, kernel: 3, stride: 2, pad: 'valid' },
  { height: 11, width: 7, inChannels: 5, outChannels: 6, kernel: 3, stride: 2, pad: 'same' },
  { height: 12, width: 10, inChannels: 20, outChannels: 16, kernel: 5, stride: 1, pad: 2 },
  { height: 10, width: 14, inChannels: 2, outChannels: 16, kernel: 5, stride: 1, pad: 'valid' },
  { height: 7, width: 9, inChannels: 16, outChannels: 8, kernel: 1, stride: 1, pad: 'same' },
  { height: 10, width: 10, inChannels: 32, outChannels: 3, kernel: 1, stride: 2, pad: 'valid' },
  { height: 9, width: 11, inChannels: 4, outChannels: 12, kernel: 3, stride: 1, pad: [[0, 0], [2, 0], [1, 3], [0, 0]] },
  { height: 12, width: 12, inChannels: 6, outChannels: 5, kernel: 3, stride: 1, pad: 'same', dilation: 2 },
  { height: 6, width: 5, inChannels: 3, outChannels: 4, kernel: 3, stride: 1, pad: 'same', batch: 2 },
];

function describeCase(c: ConvCase): string {
  return `${c.batch ?? 1}×${c.height}×${c.width}×${c.inChannels}→${c.outChannels} k${c.kernel} s${c.stride} pad ${JSON.stringify(c.pad)}${c.dilation ? ` d${c.dilation}` : ''}`;
}

describe('clearsky-cpu convolutions agree with the cpu backend', { skip }, () => {
  for (const [index, c] of CONV_CASES.entries()) {
    const xShape = [c.batch ?? 1, c.height, c.width, c.inChannels];
    const filterShape = [c.kernel, c.kernel, c.inChannels, c.outChannels];
    const seed = 100 * index;

    test(`forward, with and without bias: ${describeCase(c)}`, async () => {
      await assertMatchesCpu(() => {
        const x = random(xShape, seed) as tf.Tensor4D;
        const filter = random(filterShape, seed + 1) as tf.Tensor4D;
        const bias = random([c.outChannels], seed + 2) as tf.Tensor1D;
        return [
          tf.conv2d(x, filter, c.stride, c.pad, 'NHWC', c.dilation ?? 1),
          tf.fused.conv2d({ x, filter, bias, strides: c.stride, pad: c.pad, dilations: c.dilation ?? 1 }),
        ];
      }, ['Conv2D', 'FusedConv2D'], describeCase(c));
    });

    if (c.dilation) continue;  // tfjs has no gradient for dilated convolutions
    test(`input and filter gradients: ${describeCase(c)}`, async () => {
      await assertMatchesCpu(() => {
        const x = random(xShape, seed) as tf.Tensor4D;
        const filter = random(filterShape, seed + 1) as tf.Tensor4D;
        const bias = random([c.outChannels], seed + 2) as tf.Tensor1D;
        const y = tf.fused.conv2d({ x, filter, bias, strides: c.stride, pad: c.pad });
        const weights = random(y.shape, seed + 3);
        const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) =>
          tf.sum(tf.mul(tf.fused.conv2d({ x: a as tf.Tensor4D, filter: b as tf.Tensor4D, bias: d, strides: c.stride, pad: c.pad }), weights)));
        return grads([x, filter, bias]);
      }, ['Conv2DBackpropInput', 'Conv2DBackpropFilter'], describeCase(c));
    });
  }

  test('the thread count can change between calls (shapes first run on one thread, then on all)', async () => {
    const addon = loadNativeAddon()!;
    const threads = addon.info().threads;
    const gradients = () => {
      const x = random([1, 48, 40, 16], 70) as tf.Tensor4D;
      const dy = random([1, 48, 40, 24], 71);
      return tf.grads((a: tf.Tensor, f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, 1, 'same'), dy)))([x, random([5, 5, 16, 24], 72)]);
    };
    try {
      addon.setNumThreads(1);
      const single = await valuesOn(NATIVE_CPU_BACKEND, gradients);
      addon.setNumThreads(Math.max(2, threads));
      const all = await valuesOn(NATIVE_CPU_BACKEND, gradients);
      all.forEach((a, i) => assert.ok(relativeError(a, single[i]) < 1e-5, `output ${i}`));
    } finally {
      addon.setNumThreads(threads);
    }
  });

  test('repeated calls give identical bits (no run-to-run drift in the filter gradient)', async () => {
    await tf.setBackend(NATIVE_CPU_BACKEND);
    const run = () => tf.tidy(() => {
      const x = random([1, 64, 64, 32], 7) as tf.Tensor4D;
      const dy = random([1, 64, 64, 16], 8);
      const filterGrad = tf.grad((f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, f as tf.Tensor4D, 1, 'same'), dy)));
      return Float32Array.from(filterGrad(tf.zeros([5, 5, 32, 16])).dataSync());
    });
    assert.deepEqual(run(), run());
  });
});

describe('clearsky-cpu element-wise and reduction kernels agree with the cpu backend', { skip }, () => {
  const full = [1, 6, 5, 8];

  test('binary ops: same shape, scalars and per-channel vectors on either side', async () => {
    const ops = [tf.add, tf.sub, tf.mul, tf.div, tf.squaredDifference] as ((a: tf.Tensor, b: tf.Tensor) => tf.Tensor)[];
    await assertMatchesCpu(() => {
      const a = random(full, 1);
      const b = tf.add(tf.abs(random(full, 2)), 0.5);  // away from 0 for division
      const operands: [tf.Tensor, tf.Tensor][] = [
        [a, b], [a, tf.scalar(1.7)], [tf.scalar(-0.3), b], [a, random([8], 3)], [random([1, 1, 1, 8], 4), b],
      ];
      return ops.flatMap((op) => operands.map(([x, y]) => op(x, y)));
    }, ['Add', 'Sub', 'Multiply', 'RealDiv', 'SquaredDifference']);
  });

  test('other broadcasts are still right (on tfjs kernels)', async () => {
    await assertMatchesCpu(() => [tf.mul(random(full, 5), random([1, 6, 1, 1], 6)), tf.add(random([6, 1], 7), random([1, 5], 8))], []);
  });

  test('unary ops', async () => {
    await assertMatchesCpu(() => {
      const x = random([1, 40, 30, 20], 9);  // large enough to run on both cores
      const positive = tf.add(tf.abs(x), 0.1);
      return [tf.neg(x), tf.square(x), tf.sqrt(positive), tf.rsqrt(positive), tf.sigmoid(x), tf.leakyRelu(x, 0.2), tf.relu(x), tf.exp(x), tf.abs(x)];
    }, ['Neg', 'Square', 'Sqrt', 'Rsqrt', 'Sigmoid', 'LeakyRelu', 'Relu', 'Exp', 'Abs']);
  });

  test('sum and mean over leading axes, inner axes and everything, with and without keepDims', async () => {
    await assertMatchesCpu(() => {
      const x = random([2, 48, 40, 16], 10);
      return [
        tf.sum(x, [0, 1, 2]), tf.mean(x, [0, 1, 2], true), tf.sum(x), tf.mean(x), tf.sum(x, [1, 2]), tf.mean(x, [1, 2], true),
        tf.sum(x, 3),  // the last axis over many rows: tfjs' kernel
      ];
    }, []);
    await assertMatchesCpu(() => [tf.sum(random([1, 48, 40, 16], 11), [0, 1, 2]), tf.mean(random([300], 12))], ['Sum', 'Mean']);
  });

  test('tile of a per-channel vector, batch norm with vector and scalar parameters', async () => {
    await assertMatchesCpu(() => {
      const x = random(full, 13);
      const variance = tf.add(tf.abs(random([8], 14)), 0.1);
      return [
        tf.tile(random([1, 1, 1, 8], 15), [1, 6, 5, 1]),
        tf.batchNorm(x, random([8], 16), variance, random([8], 17), random([8], 18), 1e-3),
        tf.batchNorm(x, tf.scalar(0.2), tf.scalar(1.5), undefined, undefined, 1e-5),
      ];
    }, ['Tile', 'FusedBatchNorm']);
  });

  test('leaky ReLU gradient (greater, select)', async () => {
    await assertMatchesCpu(() => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(x, 0.2), random(full, 20))))(random(full, 19)), ['Greater', 'Select']);
  });

  // Batch 1: tfjs' cpu ResizeNearestNeighborGrad offsets dy by the image's batch stride, wrong for batch > 1.
  test('nearest-neighbour ×2 upsampling and its gradient; other factors stay correct', async () => {
    await assertMatchesCpu(() => {
      const x = random([1, 5, 3, 4], 21);
      const weights = random([1, 10, 6, 4], 22);
      const grad = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.image.resizeNearestNeighbor(a as tf.Tensor4D, [10, 6]), weights)))(x);
      return [tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [10, 6]), grad];
    }, ['ResizeNearestNeighbor', 'ResizeNearestNeighborGrad']);
    await assertMatchesCpu(() => [tf.image.resizeNearestNeighbor(random([1, 4, 4, 2], 23) as tf.Tensor4D, [12, 7])], []);
  });
});

describe('batchNormTraining', () => {
  const shape = [1, 12, 10, 6];
  /** Value and gradients (x, γ, β) of Σ w · BN(x). */
  const valueAndGrads = (bn: (x: tf.Tensor4D, g: tf.Tensor1D, b: tf.Tensor1D) => tf.Tensor4D) => () => {
    const x = tf.add(tf.mul(random(shape, 30), 3), 0.7) as tf.Tensor4D;
    const gamma = random([6], 31) as tf.Tensor1D;
    const beta = random([6], 32) as tf.Tensor1D;
    const weights = random(shape, 33);
    const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(bn(a as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D), weights));
    return [bn(x, gamma, beta), ...tf.grads(f)([x, gamma, beta])];
  };
  const composed = (x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D) => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    return tf.batchNorm(x, mean, variance, beta, gamma, 1e-5) as tf.Tensor4D;
  };

  test('equals tf.moments + tf.batchNorm, value and gradients, on backends without its kernels', async () => {
    const expected = await valuesOn('cpu', valueAndGrads(composed));
    const actual = await valuesOn('cpu', valueAndGrads((x, g, b) => batchNormTraining(x, g, b, 1e-5)));
    actual.forEach((a, i) => assert.ok(relativeError(a, expected[i]) < 1e-4, `output ${i}`));
  });

  test('on clearsky-cpu (native kernels) equals the composed ops on cpu', { skip }, async () => {
    const expected = await valuesOn('cpu', valueAndGrads(composed));
    const actual = await valuesOn(NATIVE_CPU_BACKEND, valueAndGrads((x, g, b) => batchNormTraining(x, g, b, 1e-5)));
    actual.forEach((a, i) => assert.ok(relativeError(a, expected[i]) < 1e-4, `output ${i}`));
  });
});

describe('createAdam', () => {
  /** The variables after `steps` Adam updates of Σ (v − target)² on one backend. */
  const trajectory = (makeOptimizer: () => tf.Optimizer, steps: number) => () => {
    const variables = tf.tidy(() => [random([3, 3, 4, 5], 50), random([70, 90], 51), random([5], 52)].map((t) => tf.variable(t)));
    const targets = [random([3, 3, 4, 5], 53), random([70, 90], 54), random([5], 55)];
    const optimizer = makeOptimizer();
    for (let i = 0; i < steps; i++) {
      optimizer.minimize(() => tf.addN(variables.map((v, j) => tf.sum(tf.squaredDifference(v, targets[j])))) as tf.Scalar, false, variables);
    }
    optimizer.dispose();
    const result = variables.map((v) => tf.clone(v));
    tf.dispose([...variables, ...targets]);
    return result;
  };

  test('follows tf.train.adam step for step (ops fallback on cpu)', async () => {
    const expected = await valuesOn('cpu', trajectory(() => tf.train.adam(0.02), 20));
    const actual = await valuesOn('cpu', trajectory(() => createAdam(0.02), 20));
    actual.forEach((a, i) => assert.ok(relativeError(a, expected[i]) < 1e-5, `variable ${i}`));
  });

  test('follows tf.train.adam step for step (fused kernel on clearsky-cpu)', { skip }, async () => {
    const expected = await valuesOn('cpu', trajectory(() => tf.train.adam(0.02), 20));
    const actual = await valuesOn(NATIVE_CPU_BACKEND, trajectory(() => createAdam(0.02), 20));
    actual.forEach((a, i) => assert.ok(relativeError(a, expected[i]) < 1e-5, `variable ${i}`));
  });

  test('releases its moments when disposed', async () => {
    await tf.setBackend('cpu');
    const before = tf.memory().numTensors;
    tf.dispose(trajectory(() => createAdam(0.02), 2)());
    assert.equal(tf.memory().numTensors, before);
  });
});

describe('recycled output arrays', { skip }, () => {
  test('data read from a tensor stays intact after the tensor is disposed and new ones are computed', async () => {
    await tf.setBackend(NATIVE_CPU_BACKEND);
    const x = random([1, 64, 64, 8], 60);
    const y = tf.mul(x, 2);  // a pooled native output
    const read = y.dataSync();
    const copy = Float32Array.from(read);
    y.dispose();
    for (let i = 0; i < 5; i++) tf.dispose(tf.add(x, i));  // same size: would reuse y's array
    assert.deepEqual(read, copy);
    x.dispose();
  });

  test('a result computed into a recycled array equals one computed into a fresh one', async () => {
    await tf.setBackend(NATIVE_CPU_BACKEND);
    const compute = () => tf.tidy(() => {
      // 32×48, 3×3, stride 2, valid: the last input row and column get no gradient (negative far pad).
      const x = random([1, 32, 48, 16], 61) as tf.Tensor4D;
      const y = tf.conv2d(x, random([3, 3, 16, 16], 62) as tf.Tensor4D, 2, 'valid');
      const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, random([3, 3, 16, 16], 62) as tf.Tensor4D, 2, 'valid'), random(y.shape, 63))))(x);
      return Float32Array.from(dx.dataSync());
    });
    const first = compute();
    // Leave dirty arrays of every size in the pool, then compute again.
    tf.tidy(() => { for (let i = 0; i < 3; i++) tf.add(random([1, 32, 48, 16], 64 + i), 1e6); });
    assert.deepEqual(compute(), first);
  });
});

describe('training the DIP network on clearsky-cpu', { skip }, () => {
  const config = { inputChannels: 2, outputChannels: 3, downWidths: [4, 8, 8], seed: 3 };
  const size = 16;

  test('every variable gradient agrees with the cpu backend', async () => {
    const gradients = () => {
      const network = new DipNetwork(config);
      const z = random([1, size, size, 2], 40) as tf.Tensor4D;
      const target = random([1, size, size, 3], 41);
      const { grads } = tf.variableGrads(() => tf.mean(tf.squaredDifference(network.apply(z), target)) as tf.Scalar, network.variables);
      const result = network.variables.map((v) => grads[v.name]);
      network.dispose();
      return result;
    };
    const expected = await valuesOn('cpu', gradients);
    const before = fallbackCounts.get('Conv2DBackpropFilter') ?? 0;
    const actual = await valuesOn(NATIVE_CPU_BACKEND, gradients);
    assert.equal(fallbackCounts.get('Conv2DBackpropFilter') ?? 0, before);
    // A bias that feeds a batch norm has zero gradient in exact arithmetic (the norm subtracts it again):
    // those are rounding noise, so every gradient is held to 1e-4 of the largest one.
    const largest = Math.max(...expected.map((e) => e.reduce((m, v) => Math.max(m, Math.abs(v)), 0)));
    actual.forEach((a, i) => {
      const worst = a.reduce((m, v, j) => Math.max(m, Math.abs(v - expected[i][j])), 0);
      const scale = Math.max(expected[i].reduce((m, v) => Math.max(m, Math.abs(v)), 0), largest * 1e-3);
      assert.ok(worst / scale < 1e-4, `variable ${i}: relative error ${worst / scale}`);
    });
  });

  test('repeated Adam steps leave the tensor count flat', async () => {
    await tf.setBackend(NATIVE_CPU_BACKEND);
    const network = new DipNetwork(config);
    const z = random([1, size, size, 2], 42) as tf.Tensor4D;
    const target = random([1, size, size, 3], 43);
    const optimizer = tf.train.adam(0.02);
    const step = () => optimizer.minimize(() => {
      const out = network.apply(tf.add(z, tf.randomNormal(z.shape, 0, 0.1)) as tf.Tensor4D);
      // Also through the fused batch norm, whose saved tensors must be released after each step.
      const extra = batchNormTraining(out, tf.ones([3]), tf.zeros([3]), 1e-5);
      return tf.add(tf.mean(tf.squaredDifference(out, target)), tf.mul(tf.mean(tf.square(extra)), 1e-3)) as tf.Scalar;
    }, false, network.variables);
    step();
    step();
    const count = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) step();
    assert.equal(tf.memory().numTensors, count);
    optimizer.dispose();
    network.dispose();
    tf.dispose([z, target]);
  });
});

test('kernels survive a storm of signals (the profiler sends SIGPROF every 50 µs)', { skip }, () => {
  // oneDNN's AVX-512 sgemm (used here by forcing plain layouts on 1x1 convolutions) corrupted the heap
  // when a signal landed while it ran; the addon defers signals during its kernels.
  const script = `
    import { createRequire } from 'node:module';
    const addon = createRequire(process.cwd() + '/')(process.env.CLEARSKY_NATIVE_ADDON);
    addon.setConvLayout(0, 0, 0);
    const g = Int32Array.from([1, 64, 64, 16, 1, 1, 16, 64, 64, 1, 1, 0, 0, 0, 0, 1, 1]);
    const x = new Float32Array(64 * 64 * 16).fill(0.5), w = new Float32Array(256).fill(0.1);
    for (const end = Date.now() + 1000; Date.now() < end;) {
      const y = new Float32Array(x.length);
      addon.conv2dForward(g, x, w, null, y);
      addon.conv2dBackwardFilter(g, x, y, new Float32Array(256), null);
    }
    console.log('survived');`;
  const profiles = mkdtempSync(join(tmpdir(), 'clearsky-storm-'));
  try {
    const output = execFileSync(process.execPath, ['--cpu-prof', '--cpu-prof-interval', '50', '--cpu-prof-dir', profiles, '--input-type=module', '-e', script], {
      env: { ...process.env, CLEARSKY_NATIVE_ADDON: nativeAddonPath()! },
      encoding: 'utf8',
    });
    assert.match(output, /survived/);
  } finally {
    rmSync(profiles, { recursive: true, force: true });
  }
});

test('without the addon, registration reports why instead of throwing', () => {
  const script = `
    import { registerNativeCpuBackend, nativeCpuUnavailableReason } from './native/dip/backends/native/cpu.ts';
    console.log(JSON.stringify({ ok: registerNativeCpuBackend(), reason: nativeCpuUnavailableReason() }));`;
  const output = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: REPO_ROOT,
    env: { ...process.env, CLEARSKY_NATIVE_ADDON: '/nonexistent/clearsky_native.node' },
    encoding: 'utf8',
  });
  const result = JSON.parse(output.trim().split('\n').pop()!) as { ok: boolean; reason: string };
  assert.equal(result.ok, false);
  assert.match(result.reason, /not built.*\/nonexistent\/clearsky_native\.node/);
});
