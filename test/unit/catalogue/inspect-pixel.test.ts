/**
 * The pixel inspector on a real project: a Slovenian Sentinel-2 scene, a real s2cloudless mask, another date
 * imported as the reference, and a real (fast, baseline) run over an area of the scene by the job runner.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { RunRecord, SceneRecord } from '../../../native/api/contract.ts';
import { createProject } from '../../../native/catalogue/project.ts';
import { InputError } from '../../../native/errors.ts';
import { readBands, withRaster } from '../../../native/raster/tiff/geotiff-reader.ts';
import { Service } from '../../../native/project/service.ts';
import { dataFile } from '../../helpers/data.ts';

let dir: string;
let service: Service;
let scene: SceneRecord;
let refId: number;
let run: RunRecord;

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-inspect-'));
  createProject(path.join(dir, 'slovenia')).close();
  service = Service.open(path.join(dir, 'slovenia'), { workers: 1 });
  const outcomes = await service.importFiles({ paths: [dataFile('slovenia-2015', 'S2L1C_20150909.tif'), dataFile('slovenia-2015', 'cloudmasks_s2cloudless_2015-2017.tif')] });
  assert.ok(outcomes.every((o) => o.status === 'imported'), JSON.stringify(outcomes));
  const [ref] = await service.importFiles({ paths: [dataFile('slovenia-2015', 'S2L1C_20150711.tif')], kind: 'reference' });
  assert.equal(ref.status, 'imported', JSON.stringify(ref));
  refId = (await service.listRefs())[0].id;
  [scene] = await service.listScenes();
  const mask = (await service.listMasks()).find((m) => m.band === 19)!;
  const started = await service.startRun({ targetSceneId: scene.id, maskId: mask.id, method: 'idw-fill', bands: ['B04', 'B03', 'B02'], area: { x: 20, y: 30, width: 70, height: 60 } });
  const end = Date.now() + 120_000;
  for (;;) {
    run = await service.getRun(started.id);
    if (['done', 'partial', 'failed'].includes(run.status)) break;
    if (Date.now() > end) throw new Error(`run ${run.id} still ${run.status}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(run.status, 'done', run.error ?? '');
});

after(async () => {
  await service?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

/** Map coordinates of the centre of scene pixel (col, row): EPSG:32633, 10 m, north up. */
function centre(col: number, row: number): [number, number] {
  const [x0, dx, , y0, , dy] = scene.grid.geoTransform!;
  return [x0 + (col + 0.5) * dx, y0 + (row + 0.5) * dy];
}

async function valueIn(file: string, bands: number[], col: number, row: number): Promise<number[]> {
  return withRaster(service.catalogue.resolve(file), async (raster) => {
    const image = await readBands(raster, bands);
    return bands.map((_, b) => image.data[(row * image.width + col) * bands.length + b]);
  });
}

test('inspectPixel gives the scene pixel under a map coordinate and every band there, with the reference, the run\'s results and its mask', async () => {
  const [col, row] = [47, 52]; // inside the run's area (20–89, 30–89)
  const [x, y] = centre(col, row);
  const values = await service.inspectPixel({ sceneId: scene.id, coordinate: [x + 4.9, y - 4.9], refId, runId: run.id });
  assert.deepEqual([values.column, values.row], [col, row]);
  const byKind = Object.fromEntries(values.layers.map((l) => [l.kind, l]));
  assert.deepEqual(values.layers.map((l) => l.kind), ['scene', 'reference', 'reconstruction', 'mask']);

  assert.deepEqual(byKind.scene.bands.map((b) => b.name), scene.bands);
  assert.deepEqual(byKind.scene.bands.map((b) => b.value), await valueIn(scene.file, scene.bands.map((_, i) => i), col, row));
  const ref = (await service.listRefs())[0];
  assert.deepEqual(byKind.reference.bands.map((b) => b.name), ref.bands);
  assert.deepEqual(byKind.reference.bands.map((b) => b.value), await valueIn(ref.file, ref.bands.map((_, i) => i), col, row));

  // The run covers an area: its result is read at its own pixel (col − 20, row − 30).
  const result = run.results.find((r) => r.kind === 'reconstruction')!;
  assert.deepEqual(byKind.reconstruction.bands.map((b) => b.name), ['B04', 'B03', 'B02']);
  assert.deepEqual(byKind.reconstruction.bands.map((b) => b.value), await valueIn(result.file, [0, 1, 2], col - 20, row - 30));
  const mask = (await service.listMasks()).find((m) => m.id === run.request.maskId)!;
  assert.deepEqual(byKind.mask.bands.map((b) => b.value), await valueIn(mask.file, [mask.band - 1], col, row));
  assert.match(byKind.mask.label, new RegExp(`run ${run.id}`));
});

test('inspectPixel outside the run\'s area gives the scene\'s values and no values for the run\'s results', async () => {
  const values = await service.inspectPixel({ sceneId: scene.id, coordinate: centre(5, 5), runId: run.id });
  assert.deepEqual([values.column, values.row], [5, 5]);
  const reconstruction = values.layers.find((l) => l.kind === 'reconstruction')!;
  assert.ok(reconstruction.bands.every((b) => b.value === null));
  assert.ok(values.layers.find((l) => l.kind === 'scene')!.bands.every((b) => typeof b.value === 'number'));
});

test('inspectPixel refuses a point outside the scene, and unknown ids', async () => {
  const [x0, , , y0] = scene.grid.geoTransform!;
  await assert.rejects(service.inspectPixel({ sceneId: scene.id, coordinate: [x0 - 1, y0 - 5] }), (e: Error) => e instanceof InputError && /outside the scene/.test(e.message));
  await assert.rejects(service.inspectPixel({ sceneId: scene.id, coordinate: centre(100, 0) }), (e: Error) => e instanceof InputError && /outside the scene/.test(e.message));
  await assert.rejects(service.inspectPixel({ sceneId: 999, coordinate: centre(1, 1) }), /there is no scene 999/);
  await assert.rejects(service.inspectPixel({ sceneId: scene.id, coordinate: centre(1, 1), refId: 999 }), /there is no reference 999|no ref/);
  await assert.rejects(service.inspectPixel({ sceneId: scene.id, coordinate: centre(1, 1), runId: 999 }), /there is no run 999/);
});
