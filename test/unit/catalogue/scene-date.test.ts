/**
 * A scene whose file has no date can be given one (the catalogue panel's date field, `setSceneDate`): the real
 * Nigeria scene (its file says no date) and a real Slovenia scene (dated by its file name), in a real project.
 */
import assert from 'node:assert/strict';
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
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-scene-date-'));
  createProject(path.join(dir, 'p')).close();
  service = Service.open(path.join(dir, 'p'), { jobs: false });
  const outcomes = await service.importFiles({ paths: [dataFile('nigeria-sen12mscr', 's2_cloudy.tif'), dataFile('slovenia-2015', 'S2L1C_20150909.tif')] });
  assert.ok(outcomes.every((o) => o.status === 'imported'), JSON.stringify(outcomes));
});
after(async () => {
  await service?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

test('an undated scene is given its day, which the catalogue keeps', async () => {
  const nigeria = (await service.listScenes()).find((s) => s.name.startsWith('s2_cloudy'))!;
  assert.equal(nigeria.acquired, null, 'the Nigeria file carries no date');
  const dated = await service.setSceneDate({ sceneId: nigeria.id, date: '2020-01-17' });
  assert.equal(dated.acquired, '2020-01-17');
  await service.close();
  service = Service.open(path.join(dir, 'p'), { jobs: false });
  assert.equal((await service.listScenes()).find((s) => s.id === nigeria.id)!.acquired, '2020-01-17');
});

test('a day that is not one, an unknown scene, or a scene dated by its file are refused in one line', async () => {
  const [slovenia] = (await service.listScenes()).filter((s) => s.acquired === '2015-09-09');
  assert.ok(slovenia);
  await assert.rejects(service.setSceneDate({ sceneId: slovenia.id, date: '2015-09-10' }), (e: unknown) => e instanceof InputError && /has its date from its file, 2015-09-09: it is kept/.test(e.message));
  await assert.rejects(service.setSceneDate({ sceneId: slovenia.id, date: '2015-02-30' }), /2015-02-30 is not a day/);
  await assert.rejects(service.setSceneDate({ sceneId: 999, date: '2015-02-03' }), /there is no scene 999/);
  await assert.rejects(service.setSceneDate({ sceneId: slovenia.id, date: '9.9.2015' }), /YYYY-MM-DD/);
});
