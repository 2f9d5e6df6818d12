/**
 * A reference built from the project's own scenes (the app's "Build reference"): the same pixels as
 * `clearsky reference` gives for the same scenes and masks, catalogued with the scenes it was made from, as a
 * COG the map reads in tiles; a scene without a mask, a Sentinel-1 scene and a dynamic reference
 * without its date are refused with a clear message, and leave nothing behind.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createProject } from '../../../native/catalogue/project.ts';
import { runReference } from '../../../native/commands/reference.ts';
import { readBands, withRaster } from '../../../native/raster/tiff/geotiff-reader.ts';
import { Service } from '../../../native/project/service.ts';
import { dataFile } from '../../helpers/data.ts';
import { gdalinfo } from '../../helpers/gdal.ts';

const slovenia = (name: string) => dataFile('slovenia-2015', name);
const MASKS = slovenia('cloudmasks_s2cloudless_2015-2017.tif');

let dir: string;
before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-build-reference-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

test('a reference built from project scenes and their own masks equals `clearsky reference` on the files', async () => {
  const projectDir = path.join(dir, 'project');
  createProject(projectDir).close();
  const service = Service.open(projectDir, { jobs: false });
  try {
    const files = ['S2L1C_20150820.tif', 'S2L1C_20150830.tif', 'S2L1C_20150909.tif'].map(slovenia);
    const outcomes = await service.importFiles({ paths: [...files, MASKS, dataFile('nigeria-sen12mscr', 's1.tif')] });
    assert.ok(outcomes.every((o) => o.status === 'imported'), JSON.stringify(outcomes.filter((o) => o.status !== 'imported')));
    const scenes = await service.listScenes();
    const day = (d: string) => scenes.find((s) => s.acquired?.startsWith(d))!;
    const [august20, august30] = [day('2015-08-20'), day('2015-08-30')];

    const ref = await service.buildReference({ sceneIds: [august20.id, august30.id], bands: ['B04', 'B03', 'B02'] });
    assert.equal(ref.method, 'static');
    assert.deepEqual(ref.sceneIds.sort(), [august20.id, august30.id].sort());
    assert.deepEqual(ref.bands, ['B04', 'B03', 'B02']);
    assert.match(ref.name, /mean of 2 scenes 2015-08-20…2015-08-30/);
    assert.deepEqual((await service.listRefs()).map((r) => r.id), [ref.id]);

    const expected = path.join(dir, 'expected.tif');
    await runReference({ scenes: [files[0], files[1]], masks: [`${MASKS}:2015-08-20`, `${MASKS}:2015-08-30`], bands: ['B04', 'B03', 'B02'], method: 'static', out: expected });
    const built = service.catalogue.resolve(ref.file);
    const [got, want] = await Promise.all([built, expected].map((f) => withRaster(f, (r) => readBands(r, [0, 1, 2]))));
    assert.deepEqual(got.data, want.data);
    const info = gdalinfo(built);
    assert.equal(info.metadata['IMAGE_STRUCTURE']?.LAYOUT, 'COG', 'the map reads it in tiles (and overviews, when large enough)');
    assert.match(info.coordinateSystem?.wkt ?? '', /UTM zone 33N/);

    // A dynamic one takes the latest clear observation before its day.
    const latest = await service.buildReference({ sceneIds: [august20.id, august30.id], masks: 'none', method: 'dynamic', date: '2015-08-25' });
    assert.equal(latest.method, 'dynamic');
    assert.equal(latest.date, '2015-08-25');
    assert.deepEqual(latest.sceneIds, [august20.id], 'only the scene before the day is used');

    // Refusals, each naming the problem; nothing is written for them.
    const before = readdirSync(path.join(projectDir, 'rasters', 'references')).sort();
    const sar = scenes.find((s) => s.sensor === 'S1')!;
    await assert.rejects(service.buildReference({ sceneIds: [august30.id, sar.id] }), /is Sentinel-1: a reference is made of Sentinel-2 scenes/);
    await assert.rejects(service.buildReference({ sceneIds: [august30.id], method: 'dynamic' }), /a dynamic reference needs a date/);
    await assert.rejects(service.buildReference({ sceneIds: [august30.id, august30.id] }), /listed twice/);
    // Masks are linked to the scene of their day: unlink one to stand for a scene nobody masked yet.
    service.catalogue.db.prepare('UPDATE masks SET scene_id = NULL WHERE scene_id = ?').run(august30.id);
    await assert.rejects(service.buildReference({ sceneIds: [august20.id, august30.id] }), /S2L1C_20150830.* has no cloud mask: import or draw one/);
    assert.deepEqual(readdirSync(path.join(projectDir, 'rasters', 'references')).sort(), before);
    assert.equal((await service.listRefs()).length, 2);
  } finally {
    await service.close();
  }
});
