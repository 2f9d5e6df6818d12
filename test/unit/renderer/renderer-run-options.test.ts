// The run dialog's method and mode: preselected from defaultMethod for the chosen sources and explained in one
// line; the user's own method or mode stays whatever sources they choose next.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultMethod } from '../../../native/api/contract.ts';
import { methodForSources, recommendationLine } from '../../../renderer/src/tools/run-options.ts';

test('the dialog follows the recommendation for the chosen sources until the user picks their own', () => {
  const start = { method: 'dip', mode: 'basic' } as const;
  const alone = methodForSources(start, false, false, false);
  assert.deepEqual({ method: alone.method, mode: alone.mode }, { method: defaultMethod({ reference: false, sar: false }).method, mode: 'basic' });
  assert.equal(alone.method, 'idw-fill');
  // A reference chosen: mtfit; SAR too: msmt; SAR only: ms.
  assert.deepEqual([methodForSources(alone, true, false, false), methodForSources(alone, true, true, false), methodForSources(alone, false, true, false)].map((c) => `${c.method} ${c.mode}`), ['dip mtfit', 'dip msmt', 'dip ms']);
  // The user's own choice stays, and the recommendation is still there to show.
  const own = methodForSources({ method: 'reference-fit', mode: 'basic' }, true, false, true);
  assert.deepEqual({ method: own.method, mode: own.mode }, { method: 'reference-fit', mode: 'basic' });
  assert.equal(own.recommended.mode, 'mtfit');
  assert.equal(own.recommended.steps, 25);
});

test('the one line says what is recommended and why, and whether the choice shown is it', () => {
  const recommended = defaultMethod({ reference: true, sar: false });
  const same = recommendationLine({ method: 'dip', mode: 'mtfit' }, recommended);
  assert.equal(same, `Recommended for these sources: dip, mtfit — ${recommended.why}`);
  assert.match(recommendationLine({ method: 'dip', mode: 'basic' }, recommended), /^Your choice; recommended for these sources: dip, mtfit — /);
  assert.match(recommendationLine({ method: 'idw-fill', mode: 'basic' }, defaultMethod({ reference: false, sar: false })), /^Recommended for these sources: idw-fill — the scene alone: inverse-distance fill/);
  assert.ok(!same.includes('\n'));
});
