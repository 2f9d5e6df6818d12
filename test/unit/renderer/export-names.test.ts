// The Export dialog's suggestions (renderer/src/tools/export-names.ts): a name saying what the file is, beside
// the project folder (never inside it), and the extra files' names next to it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunRecord } from '../../../native/api/contract.ts';
import { companionPath, parentFolder, suggestedDestination, suggestedFileName } from '../../../renderer/src/tools/export-names.ts';

const run = (id: number, method: 'dip' | 'idw-fill', mode = 'mt') => ({ id, request: { method, mode } }) as unknown as Pick<RunRecord, 'id' | 'request'>;

test('the suggested name says the scene, the method or mode, the run and the kind', () => {
  assert.equal(suggestedFileName('S2L1C_20150909.tif', run(12, 'dip'), 'reconstruction'), 'S2L1C_20150909_mt_run12.tif');
  assert.equal(suggestedFileName('S2L1C_20150909.tif', run(12, 'dip'), 'uncertainty'), 'S2L1C_20150909_mt_run12_uncertainty.tif');
  assert.equal(suggestedFileName('s2 cloudy (Lagos)', run(3, 'idw-fill'), 'reconstruction'), 's2_cloudy_Lagos_idw-fill_run3.tif');
  assert.equal(suggestedFileName(null, run(1, 'dip', 'basic'), 'reconstruction'), 'scene_basic_run1.tif');
  assert.equal(suggestedFileName('../../etc', run(1, 'dip', 'basic'), 'reconstruction'), 'etc_basic_run1.tif', 'no path in a name');
});

test('the destination is beside the project folder, never inside it; extra files sit next to it', () => {
  assert.equal(parentFolder('/home/me/clearsky/slovenia/'), '/home/me/clearsky');
  assert.equal(parentFolder('/slovenia'), '/');
  assert.equal(suggestedDestination('/home/me/clearsky/slovenia', 'a.tif'), '/home/me/clearsky/a.tif');
  assert.equal(suggestedDestination('C:\\Users\\me\\slovenia', 'a.tif'), 'C:\\Users\\me\\a.tif');
  assert.equal(suggestedDestination('/slovenia', 'a.tif'), '/a.tif');
  assert.equal(companionPath('/home/me/a.tif', 'mask'), '/home/me/a_mask.tif');
  assert.equal(companionPath('/home/me/a.TIFF', 'uncertainty'), '/home/me/a_uncertainty.tif');
  assert.equal(companionPath('/home/me/a', 'mask'), '/home/me/a_mask.tif');
});
