import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMask } from '../../../native/dip/image.ts';
import { clearRing, dilateMask } from '../../../native/dip/mask-ops.ts';

function maskFrom(rows: string[]) {
  const mask = createMask(rows[0].length, rows.length);
  rows.forEach((row, r) => [...row].forEach((ch, c) => (mask.data[r * row.length + c] = ch === '#' ? 1 : 0)));
  return mask;
}
const show = (m: { width: number; data: Uint8Array }) =>
  Array.from({ length: m.data.length / m.width }, (_, r) => Array.from(m.data.subarray(r * m.width, (r + 1) * m.width), (v) => (v ? '#' : '.')).join(''));

test('dilation grows clouds by a square of the radius, clipped at the edges', () => {
  const mask = maskFrom(['#.....', '......', '....#.', '......']);
  assert.deepEqual(show(dilateMask(mask, 1)), ['##....', '##.###', '...###', '...###']);
  assert.deepEqual(show(dilateMask(mask, 0)), show(mask));
});

test('the clear ring is the dilated cloud minus the cloud itself', () => {
  const mask = maskFrom(['......', '..##..', '......']);
  assert.deepEqual(show(clearRing(mask, 1)), ['.####.', '.#..#.', '.####.']);
});
