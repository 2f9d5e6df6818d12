import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '../../../native/dip/tf.ts';
import '@tensorflow/tfjs-backend-cpu';
import { DipNetwork } from '../../../native/dip/network.ts';

before(async () => {
  await tf.setBackend('cpu');
});

test('the default network has the paper implementation\'s 2,442,152 parameters for 8 outputs', () => {
  const net = new DipNetwork({ inputChannels: 2, outputChannels: 8 });
  try {
    assert.equal(net.parameterCount, 2_442_152);
    assert.equal(net.sizeMultiple, 64);
  } finally {
    net.dispose();
  }
});

test('layers follow METHOD.md: strided 3×3 encoder, nearest-upsample 5×5/1×1 decoder, 1×1 sigmoid head, no skips', () => {
  const net = new DipNetwork({ inputChannels: 2, outputChannels: 8 });
  const layers = net.describe();
  net.dispose();
  const kinds = (from: number, n: number) => layers.slice(from, from + n).map((l) => l.kind);
  // Level 0 down block.
  assert.deepEqual(kinds(0, 6), ['conv', 'batchnorm', 'leakyrelu', 'conv', 'batchnorm', 'leakyrelu']);
  assert.deepEqual(layers[0].shape, [3, 3, 2, 16]);
  assert.equal(layers[0].stride, 2);
  assert.deepEqual(layers[3].shape, [3, 3, 16, 16]);
  assert.equal(layers[3].stride, 1);
  // Six down blocks, then the deepest up block starts with an upsample.
  const widths = [16, 32, 64, 128, 128, 128];
  widths.forEach((w, i) => assert.equal(layers[i * 6].shape[3], w, `down${i} width`));
  const up = 36;
  assert.deepEqual(kinds(up, 8), ['upsample', 'batchnorm', 'conv', 'batchnorm', 'leakyrelu', 'conv', 'batchnorm', 'leakyrelu']);
  assert.deepEqual(layers[up + 2].shape, [5, 5, 128, 128]);
  assert.deepEqual(layers[up + 5].shape, [1, 1, 128, 128]);
  // The finest up block maps 32 → 16 with a 5×5, then the head maps 16 → 8 and squashes with a sigmoid.
  const last = layers.length;
  assert.deepEqual(layers[last - 8].shape, [5, 5, 32, 16]);
  assert.deepEqual(layers[last - 2].shape, [1, 1, 16, 8]);
  assert.equal(layers[last - 1].kind, 'sigmoid');
  assert.equal(layers.filter((l) => l.kind === 'upsample').length, 6);
  assert.equal(layers.length, 6 * 6 + 6 * 8 + 2);
});

test('a residual-mode network has a linear head that can output negative values', () => {
  const net = new DipNetwork({ inputChannels: 2, outputChannels: 3, head: 'linear', downWidths: [4, 4] });
  try {
    assert.notEqual(net.describe().at(-1)!.kind, 'sigmoid');
    const out = net.apply(tf.randomNormal([1, 8, 8, 2], 0, 1, 'float32', 1) as tf.Tensor4D);
    assert.ok(tf.min(out).dataSync()[0] < 0);
    out.dispose();
  } finally {
    net.dispose();
  }
});

test('the output has the input\'s size, and sizes that are not a multiple of 2^levels are refused', () => {
  const net = new DipNetwork({ inputChannels: 2, outputChannels: 5, downWidths: [4, 8, 8] });
  try {
    const out = tf.tidy(() => net.apply(tf.zeros([1, 16, 24, 2]) as tf.Tensor4D));
    assert.deepEqual(out.shape, [1, 16, 24, 5]);
    out.dispose();
    assert.throws(() => net.apply(tf.zeros([1, 12, 16, 2]) as tf.Tensor4D), /multiple of 8/);
  } finally {
    net.dispose();
  }
});

test('weights are initialised from the seed: same seed, same network; other seed, other network', () => {
  const weights = (seed: number) => {
    const net = new DipNetwork({ inputChannels: 2, outputChannels: 3, downWidths: [4, 4], seed });
    const values = net.variables.map((v) => Array.from(v.dataSync()));
    net.dispose();
    return values;
  };
  assert.deepEqual(weights(3), weights(3));
  assert.notDeepEqual(weights(3), weights(4));
});
