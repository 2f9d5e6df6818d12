/**
 * Renaming and deleting scenes, masks, references and runs, with what depends on them shown first, on a real
 * project (the Slovenia scenes and their real s2cloudless mask stack, a reference built from two scenes, a real
 * idw-fill run on workers): what a run or a reference uses is refused, naming them; once they are gone it goes,
 * with its file.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createProject } from '../../../native/catalogue/project.ts';
import { InputError } from '../../../native/errors.ts';
import { Service } from '../../../native/project/service.ts';
import { dataFile } from '../../helpers/data.ts';

let dir: string;
let service: Service;
before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-manage-'));
  createProject(path.join(dir, 'p')).close();
  service = Service.open(path.join(dir, 'p'), { workers: 1 });
  const outcomes = await service.importFiles({ paths: ['S2L1C_20150820.tif', 'S2L1C_20150830.tif', 'S2L1C_20150909.tif', 'cloudmasks_s2cloudless_2015-2017.tif'].map((f) => dataFile('slovenia-2015', f)) });
  assert.ok(outcomes.every((o) => o.status === 'imported'), JSON.stringify(outcomes.filter((o) => o.status !== 'imported')));
});
after(async () => {
  await service?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

test('what depends on an item is shown, deleting it is refused while anything does, renaming changes only the name', { timeout: 300_000 }, async () => {
  const scenes = await service.listScenes();
  const byDay = (day: string) => scenes.find((s) => s.acquired === day)!;
  const ref = await service.buildReference({ sceneIds: [byDay('2015-08-20').id, byDay('2015-08-30').id], masks: 'none', bands: ['B04', 'B03', 'B02'] });
  const mask = (await service.listMasks()).find((m) => m.band === 19)!;
  const target = byDay('2015-09-09');
  const run = await service.startRun({ targetSceneId: target.id, maskId: mask.id, method: 'idw-fill', bands: ['B04', 'B03', 'B02'] });
  for (let until = Date.now() + 120_000; !['done', 'partial', 'failed'].includes((await service.getRun(run.id)).status); ) {
    assert.ok(Date.now() < until, 'the run did not end');
    await new Promise((r) => setTimeout(r, 200));
  }

  // The stack's band of 2015-08-20 was linked to that scene at import: it is listed (it stays, unlinked, if the scene goes).
  const linked = (await service.listMasks()).filter((m) => m.sceneId === byDay('2015-08-20').id).map((m) => m.id);
  assert.ok(linked.length >= 1);
  assert.deepEqual(await service.dependents({ kind: 'scene', id: byDay('2015-08-20').id }), { runs: [], references: [ref.id], masks: linked });
  assert.deepEqual((await service.dependents({ kind: 'scene', id: target.id })).runs, [run.id]);
  assert.deepEqual(await service.dependents({ kind: 'mask', id: mask.id }), { runs: [run.id], references: [], masks: [] });
  await assert.rejects(service.deleteItem({ kind: 'scene', id: byDay('2015-08-20').id }), (e: unknown) => e instanceof InputError && new RegExp(`was used to make reference ${ref.id}; delete it first`).test(e.message));
  await assert.rejects(service.deleteItem({ kind: 'mask', id: mask.id }), new RegExp(`is used by run ${run.id}; delete those runs first`));
  await assert.rejects(service.dependents({ kind: 'reference', id: 999 }), /there is no reference 999|no ref/);

  await service.renameItem({ kind: 'scene', id: target.id, name: '  Bled, 9 September  ' });
  await service.renameItem({ kind: 'run', id: run.id, name: 'baseline' });
  assert.equal((await service.listScenes()).find((s) => s.id === target.id)!.name, 'Bled, 9 September');
  assert.equal((await service.listScenes()).find((s) => s.id === target.id)!.file, target.file, 'the file keeps its name');
  assert.equal((await service.listRuns()).find((r) => r.id === run.id)!.name, 'baseline');
  await assert.rejects(service.renameItem({ kind: 'mask', id: mask.id, name: 'two\nlines' }), /a name is one line/);

  // Once the run and the reference are gone, so can be what they used, files included.
  await service.deleteRun(run.id);
  await service.deleteItem({ kind: 'mask', id: mask.id });
  assert.equal((await service.listMasks()).some((m) => m.id === mask.id), false);
  assert.ok(existsSync(service.catalogue.resolve(mask.file)), 'the stack file stays: its other bands are masks too');
  await service.deleteItem({ kind: 'reference', id: ref.id });
  assert.equal(existsSync(service.catalogue.resolve(ref.file)), false);
  const scene = byDay('2015-08-20');
  await service.deleteItem({ kind: 'scene', id: scene.id });
  assert.equal((await service.listScenes()).some((s) => s.id === scene.id), false);
  assert.equal(existsSync(service.catalogue.resolve(scene.file)), false);
});
