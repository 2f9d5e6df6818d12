// Before/after on the map (renderer/src/map/swipe.ts): which two layers the swipe and the flicker compare by
// default and when chosen, what is drawn while they do, and where the swipe cuts the frame.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareMode, comparePair, shownNow, swipeScissor, type CompareRow } from '../../../renderer/src/map/swipe.ts';

const row = (key: string, kind: string, status: CompareRow['status'] = 'ready', group: unknown = null): CompareRow => ({ key, label: `label ${key}`, kind, status, group });

describe('the pair compared', () => {
  // Bottom first, as the overlays are drawn: a reference, two results of a run, a newer run's tiles so far.
  const rows = [row('ref-1', 'reference'), row('result-1', 'reconstruction'), row('result-2', 'uncertainty'), row('tile-3-0', 'reconstruction', 'ready', { key: 'tiles-3' })];

  it('by default the newest reconstruction against the scene; groups of tiles are not offered', () => {
    const pair = comparePair('T33UUU 2020-06-20', rows, '', '');
    assert.deepEqual(pair.comparable.map((c) => c.key), ['scene', 'result-2', 'result-1', 'ref-1']);
    assert.equal(pair.comparable[0].label, 'T33UUU 2020-06-20');
    assert.deepEqual([pair.leftKey, pair.rightKey, pair.canCompare], ['result-1', 'scene', true]);
    assert.deepEqual([pair.defaultLeft, pair.defaultRight], ['result-1', 'scene']);
  });

  it('with no reconstruction, the top overlay; with no scene, the next layer on the right', () => {
    const pair = comparePair(null, [row('ref-1', 'reference'), row('ref-2', 'reference')], '', '');
    assert.deepEqual([pair.leftKey, pair.rightKey, pair.canCompare], ['ref-2', 'ref-1', true]);
  });

  it('takes the chosen layers while they are there, the defaults once they are gone', () => {
    assert.deepEqual(Object.values(pick(comparePair('s', rows, 'ref-1', 'result-2'))), ['ref-1', 'result-2', true]);
    assert.deepEqual(Object.values(pick(comparePair('s', rows, 'result-9', 'ref-1'))), ['result-1', 'ref-1', true]);
    const same = comparePair('s', rows, 'result-1', 'result-1');
    assert.equal(same.canCompare, false, 'a layer against itself is no comparison');
  });

  it('cannot compare fewer than two ready layers', () => {
    const loading = comparePair('s', [row('result-1', 'reconstruction', 'loading'), row('result-2', 'reconstruction', 'error')], '', '');
    assert.deepEqual(loading.comparable.map((c) => c.key), ['scene']);
    assert.equal(loading.canCompare, false);
    assert.equal(loading.defaultLeft, '');
  });
});

function pick(pair: ReturnType<typeof comparePair>) {
  return { left: pair.leftKey, right: pair.rightKey, can: pair.canCompare };
}

describe('what is drawn while comparing', () => {
  const pair = { leftKey: 'result-1', rightKey: 'scene', canCompare: true };

  it('the swipe draws the two compared layers only, and wins over the flicker', () => {
    const mode = compareMode(pair, true, true, 'right');
    assert.deepEqual(mode, { kind: 'swipe', left: 'result-1', right: 'scene' });
    assert.equal(shownNow(mode, 'result-1', false), true, 'a compared layer shows even when unticked');
    assert.equal(shownNow(mode, 'scene', true), true);
    assert.equal(shownNow(mode, 'ref-1', true), false, 'others hide meanwhile');
  });

  it('the flicker draws one of the two by its phase', () => {
    const left = compareMode(pair, false, true, 'left');
    const right = compareMode(pair, false, true, 'right');
    assert.deepEqual([shownNow(left, 'result-1', true), shownNow(left, 'scene', true)], [true, false]);
    assert.deepEqual([shownNow(right, 'result-1', true), shownNow(right, 'scene', true)], [false, true]);
  });

  it('otherwise, and whenever two layers cannot be compared, the layer list decides', () => {
    for (const mode of [compareMode(pair, false, false, 'left'), compareMode({ ...pair, canCompare: false }, true, true, 'left')]) {
      assert.deepEqual(mode, { kind: 'none' });
      assert.equal(shownNow(mode, 'ref-1', true), true);
      assert.equal(shownNow(mode, 'scene', false), false);
    }
  });
});

describe('the swipe\'s cut', () => {
  it('splits the frame at the line: the left layer left of it, the right one right of it', () => {
    // An 800 × 600 frame whose render pixels run from (0, 0) at the bottom left.
    assert.deepEqual(swipeScissor('left', [0, 0], [800, 600], 25), [0, 0, 200, 600]);
    assert.deepEqual(swipeScissor('right', [0, 0], [800, 600], 25), [200, 0, 600, 600]);
    assert.deepEqual(swipeScissor('left', [10, 20], [811, 620], 50), [10, 20, 401, 600], 'rounded, from the frame\'s own corner');
    assert.deepEqual(swipeScissor('right', [0, 0], [800, 600], 100), [800, 0, 0, 600]);
  });
});
