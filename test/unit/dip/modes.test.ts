import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createImage, createMask } from '../../../native/dip/image.ts';
import { MODES, parseMode, sarLikeS2, setupMode } from '../../../native/dip/modes.ts';

function sources(bands = 4) {
  const s2 = createImage(3, 2, bands);
  s2.data.forEach((_, i) => (s2.data[i] = i / 100));
  const reference = createImage(3, 2, bands);
  reference.data.fill(0.25);
  const sar = createImage(3, 2, 2);
  sar.data.forEach((_, i) => (sar.data[i] = i % 2 ? 1.5 : 0.5)); // VV 0.5, VH 1.5
  const mask = createMask(3, 2);
  mask.data[4] = 1;
  return { s2, reference, sar, mask };
}

test('stacked modes stack [S2, reference, SAR] and mask only the S2 channels', () => {
  const src = sources();
  // The layout in the sources' own scale; the network's representation maps each channel (representation.test.ts).
  const { problem, decode } = setupMode('msmt', src, { representation: 'plain' });
  assert.equal(problem.target.bands, 4 + 4 + 2);
  assert.equal(problem.head, 'sigmoid');
  const w = (pixel: number) => Array.from(problem.weights.subarray(pixel * 10, pixel * 10 + 10));
  assert.deepEqual(w(4), [0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
  assert.deepEqual(w(0), [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  // Pixel 4's reference and SAR sit after its S2 bands.
  assert.deepEqual(Array.from(problem.target.data.subarray(40, 50)), [...src.s2.data.subarray(16, 20), 0.25, 0.25, 0.25, 0.25, 0.5, 1.5]);
  assert.deepEqual(decode(problem.target).data, src.s2.data);
  const fitted = setupMode('msmt', src);
  const back = fitted.decode(fitted.problem.target);
  for (let i = 0; i < back.data.length; i++) assert.ok(Math.abs(back.data[i] - src.s2.data[i]) < 1e-6);
});

test('each mode that needs a reference or SAR says so when it is missing', () => {
  const { s2, mask } = sources();
  for (const mode of ['mt', 'msmt', 'mtr', 'mt-fit']) assert.throws(() => setupMode(parseMode(mode), { s2, mask }), /needs a multi-temporal reference/);
  for (const mode of ['ms', 'msr']) assert.throws(() => setupMode(parseMode(mode), { s2, mask }), /needs Sentinel-1 SAR/);
  assert.throws(() => parseMode('stacked'), /unknown mode 'stacked'/);
  assert.equal(parseMode('MS-MT'), 'msmt');
  assert.equal(MODES.length, 7);
});

test('sources on another grid or with other bands are refused', () => {
  const src = sources();
  assert.throws(() => setupMode('mt', { ...src, reference: createImage(3, 2, 3) }), /reference has 3 bands, target has 4/);
  assert.throws(() => setupMode('basic', { ...src, mask: createMask(2, 3) }), /mask is 2×3, target is 3×2/);
});

test('MS-R subtracts S1′ = [VV, VH, mean] repeated to the S2 band count and adds it back on decode', () => {
  const src = sources(4);
  const s1 = sarLikeS2(src.sar, 4);
  assert.deepEqual(Array.from(s1.data.subarray(0, 4)), [0.5, 1.5, 1, 0.5]);
  const { problem, decode } = setupMode('msr', src);
  assert.equal(problem.head, 'linear');
  assert.ok(Math.abs(problem.target.data[1] - (src.s2.data[1] - 1.5)) < 1e-7);
  const back = decode(problem.target);
  for (let i = 0; i < back.data.length; i++) assert.ok(Math.abs(back.data[i] - src.s2.data[i]) < 1e-6);
});
