/**
 * bf16 convolutions on the native backend (precision 'bf16'): each pass against fp32, a short fit, and the
 * cases where the option is refused.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, describe, test } from 'node:test';
import * as tf from '../../../native/dip/tf.ts';
import { createAdam } from '../../../native/dip/adam.ts';
import { DipNetwork } from '../../../native/dip/network.ts';
import { parsePrecision, selectBackend } from '../../../native/dip/backends/select.ts';
import { loadNativeAddon, nativeAddonUnavailableReason } from '../../../native/dip/backends/native/addon.ts';
import { InputError } from '../../../native/errors.ts';
import { REPO_ROOT, dataFile } from '../../helpers/data.ts';
import { randomValues, relativeError } from '../../helpers/numeric.ts';

const addon = loadNativeAddon();
const noAddon = addon ? false : `the native addon is unavailable: ${nativeAddonUnavailableReason()}`;
const noBf16 = noAddon || (addon!.info().bf16 ? false : 'this CPU has no bf16 instructions (AVX512-BF16 or AMX)');

/**
 * bf16 keeps 8 significant bits, so rounding an input to it is off by at most 2⁻⁹ of its value, and a product
 * of two rounded inputs by at most about 2⁻⁸. Summed in fp32 these errors, of random sign on random data,
 * grow like a random walk while the output grows as fast, so the worst output is off by a few 2⁻⁹ of the
 * largest output (measured: 1e-3 to 3e-3). 2⁻⁷ (0.0078) leaves a margin for that; a wrong layout, a missed
 * tap or an input left unconverted is off by order 1. fp32 agrees to 1e-5, so an error above that shows
 * that the bf16 path actually rounded.
 */
const BF16_TOLERANCE = 2 ** -7;
const FP32_AGREEMENT = 1e-5;

interface Shape {
  label: string;
  /** batch, in h, w, c, filter h, w, out c, out h, w, stride h, w, pads t, b, l, r, dilation h, w (conv.h ConvGeometry) */
  geometry: number[];
}

// The network's kinds of convolution (network.ts): 3x3 stride-2 down, 3x3 and 5x5 same, 1x1 skip and output.
const SHAPES: Shape[] = [
  { label: '3x3 stride 2, 16→32', geometry: [1, 24, 20, 16, 3, 3, 32, 12, 10, 2, 2, 0, 1, 0, 1, 1, 1] },
  { label: '3x3 same, 8→8', geometry: [1, 17, 13, 8, 3, 3, 8, 17, 13, 1, 1, 1, 1, 1, 1, 1, 1] },
  { label: '5x5 same, 20→16', geometry: [1, 12, 10, 20, 5, 5, 16, 12, 10, 1, 1, 2, 2, 2, 2, 1, 1] },
  { label: '1x1 (matrix product), 16→4', geometry: [1, 9, 11, 16, 1, 1, 4, 9, 11, 1, 1, 0, 0, 0, 0, 1, 1] },
  { label: '3x3 same, 3→8, batch 2', geometry: [2, 7, 6, 3, 3, 3, 8, 7, 6, 1, 1, 1, 1, 1, 1, 1, 1] },
];

type Pass = 0 | 1 | 2;
const PASSES: [Pass, string][] = [[0, 'forward (with bias)'], [1, 'backward-data'], [2, 'backward-weights (with bias)']];

/** Runs one pass at a precision on fixed random inputs; returns its outputs and the kernel that ran. */
function runPass(shape: Shape, pass: Pass, precision: 0 | 1, seed: number): { outputs: Float32Array[]; implementation: string } {
  const a = addon!;
  const [n, ih, iw, ic, fh, fw, oc, oh, ow] = shape.geometry;
  const g = Int32Array.from(shape.geometry);
  const x = randomValues(n * ih * iw * ic, seed);
  const filter = randomValues(fh * fw * ic * oc, seed + 1);
  const bias = randomValues(oc, seed + 2);
  const dy = randomValues(n * oh * ow * oc, seed + 3);
  a.setConvPrecision(precision);
  let outputs: Float32Array[];
  if (pass === 0) {
    const y = new Float32Array(dy.length);
    a.conv2dForward(g, x, filter, bias, y);
    outputs = [y];
  } else if (pass === 1) {
    const dx = new Float32Array(x.length);
    a.conv2dBackwardData(g, dy, filter, dx);
    outputs = [dx];
  } else {
    const dFilter = new Float32Array(filter.length);
    const dBias = new Float32Array(oc);
    a.conv2dBackwardFilter(g, x, dy, dFilter, dBias);
    outputs = [dFilter, dBias];
  }
  return { outputs, implementation: a.convImplementation(g, pass, pass !== 1) };
}

after(() => addon?.setConvPrecision(0));

describe('bf16 convolutions agree with fp32 within bf16 rounding', { skip: noBf16 }, () => {
  for (const [s, shape] of SHAPES.entries()) {
    for (const [pass, name] of PASSES) {
      test(`${name}: ${shape.label}`, () => {
        const fp32 = runPass(shape, pass, 0, 10 * s);
        const bf16 = runPass(shape, pass, 1, 10 * s);
        assert.doesNotMatch(fp32.implementation, /bf16/);
        assert.match(bf16.implementation, /bf16/, `the bf16 plan runs ${bf16.implementation}`);
        bf16.outputs.forEach((values, i) => {
          const error = relativeError(values, fp32.outputs[i]);
          // The bias gradient is a sum of dy: from bf16 dy in a convolution, but from the fp32 dy on the
          // 1x1 path (a separate fp32 sum), where it is exact.
          if (!(pass === 2 && i === 1)) assert.ok(error > FP32_AGREEMENT, `output ${i}: error ${error}, as if nothing were rounded to bf16`);
          assert.ok(error < BF16_TOLERANCE, `output ${i}: relative error ${error} (${bf16.implementation})`);
        });
      });
    }
  }

  test('switching back to fp32 gives fp32 results again', () => {
    const first = runPass(SHAPES[0], 0, 0, 7);
    runPass(SHAPES[0], 0, 1, 7);
    const again = runPass(SHAPES[0], 0, 0, 7);
    assert.ok(relativeError(again.outputs[0], first.outputs[0]) < FP32_AGREEMENT);
  });
});

describe('a short fit in bf16', { skip: noBf16 }, () => {
  /** Losses of 40 Adam steps of a small DIP network fitting a smooth image, from the same start. */
  async function fit(precision: 'fp32' | 'bf16'): Promise<number[]> {
    const info = await selectBackend('native', { precision });
    assert.equal(info.precision, precision);
    const size = 32;
    const network = new DipNetwork({ inputChannels: 2, outputChannels: 3, downWidths: [8, 16, 16], seed: 5 });
    const z = tf.tensor(randomValues(size * size * 2, 50), [1, size, size, 2]);
    const target = tf.tidy(() => {
      const [yy, xx] = tf.meshgrid(tf.linspace(0, 1, size), tf.linspace(0, 1, size));
      const channels = tf.stack([tf.sin(tf.mul(xx, 6)), tf.cos(tf.mul(yy, 4)), tf.mul(xx, yy)], -1);
      return tf.add(tf.mul(tf.reshape(channels, [1, size, size, 3]), 0.4), 0.5);
    });
    const optimizer = createAdam(0.01);
    const losses: number[] = [];
    for (let i = 0; i < 40; i++) {
      const loss = optimizer.minimize(() => tf.mean(tf.squaredDifference(network.apply(z as tf.Tensor4D), target)) as tf.Scalar, true, network.variables)!;
      losses.push(loss.dataSync()[0]);
      loss.dispose();
    }
    optimizer.dispose();
    network.dispose();
    tf.dispose([z, target]);
    return losses;
  }

  test('the loss falls as in fp32', async () => {
    const fp32 = await fit('fp32');
    const bf16 = await fit('bf16');
    assert.notDeepEqual(bf16, fp32, 'bf16 changed nothing');
    const mean = (values: number[]) => values.reduce((s, v) => s + v, 0) / values.length;
    // The last 5 steps' mean against the first step: training works in bf16.
    assert.ok(mean(bf16.slice(-5)) < 0.5 * bf16[0], `bf16 loss ${bf16[0]} → ${bf16.at(-1)}`);
    // And ends where fp32 does: measured 3 % apart; 10 % allows for the paths' rounding drifting apart over
    // 40 steps, while a wrong gradient stalls the loss or sends it elsewhere by far more.
    const gap = Math.abs(mean(bf16.slice(-5)) - mean(fp32.slice(-5))) / mean(fp32.slice(-5));
    assert.ok(gap < 0.1, `bf16 ends at ${mean(bf16.slice(-5))}, fp32 at ${mean(fp32.slice(-5))} (${(100 * gap).toFixed(1)} % apart)`);
  });
});

describe('choosing the precision', { skip: noAddon }, () => {
  test('the backend says "bf16 convolutions" only when they are used', { skip: noBf16 }, async () => {
    assert.match((await selectBackend('native', { precision: 'bf16' })).description, /native \(oneDNN CPU, bf16 convolutions\)/);
    assert.doesNotMatch((await selectBackend('native', { precision: 'fp32' })).description, /bf16/);
    // auto with bf16 means native: only it has bf16 convolutions.
    assert.equal((await selectBackend('auto', { precision: 'bf16' })).choice, 'native');
  });

  test('bf16 on another backend is an InputError naming the backend', async () => {
    await assert.rejects(selectBackend('wasm', { precision: 'bf16' }), (error: Error) => error instanceof InputError && /--precision bf16 needs --backend native.*not wasm/.test(error.message));
    await assert.rejects(selectBackend('cpu', { precision: 'bf16' }), InputError);
  });

  test('an unknown precision is an InputError', () => {
    assert.throws(() => parsePrecision('fp16'), (error: Error) => error instanceof InputError && /--precision must be one of fp32, bf16, not 'fp16'/.test(error.message));
  });

  /** `clearsky ARGS` in a child process: its exit status and stderr. */
  function clearsky(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stderr: string } {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'native/cli.ts', ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, encoding: 'utf8' });
    return { status: result.status, stderr: result.stderr };
  }

  test('on a CPU without bf16 instructions the command line refuses it in one line, status 2', () => {
    // oneDNN's own switch makes it see an AVX-512 CPU without bf16 (Cascade Lake's ISA).
    const { status, stderr } = clearsky(['bench', '--backend', 'native', '--precision', 'bf16', '--size', '32', '--steps', '1'], { ONEDNN_MAX_CPU_ISA: 'AVX512_CORE_VNNI' });
    assert.equal(status, 2, stderr);
    assert.match(stderr, /^clearsky: --precision bf16: this CPU has no bf16 instructions \(AVX512-BF16 or AMX\); use --precision fp32\n$/);
  });

  test('clearsky eval refuses bf16 on wasm, status 2', () => {
    const { status, stderr } = clearsky(['eval', '--target', dataFile('slovenia-2015', 'S2L1C_20150909.tif'), '--masks', dataFile('slovenia-2015', 'cloudmasks_s2cloudless_2015-2017.tif'),
      '--mask-bands', '19', '--bands', 'B04,B03,B02', '--modes', 'basic', '--steps', '1', '--backend', 'wasm', '--precision', 'bf16']);
    assert.equal(status, 2, stderr);
    assert.match(stderr, /--precision bf16 needs --backend native/);
  });
});
