/**
 * A project run takes the SAR scene's bands and units as `clearsky inpaint --sar-bands/--sar-units` does (the
 * run dialog's choice): on the real Nigeria scene with its real Sentinel-1 (VV_dB, VH_dB), through the service
 * with real workers. Band numbers outside the SAR scene are refused at once; units that contradict the values
 * reach the engine and fail the run naming them. The pixel inspector reads the SAR scene's values beside the scene's.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { ApiEvent } from '../../../native/api/contract.ts';
import { createProject } from '../../../native/catalogue/project.ts';
import { InputError } from '../../../native/errors.ts';
import { readBands, withRaster } from '../../../native/raster/tiff/geotiff-reader.ts';
import { Service } from '../../../native/project/service.ts';
import { dataFile } from '../../helpers/data.ts';

let dir: string;
let service: Service;
let ids: { s2: number; s1: number; mask: number };

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-sar-options-'));
  createProject(path.join(dir, 'p')).close();
  service = Service.open(path.join(dir, 'p'), { workers: 1 });
  const outcomes = await service.importFiles({ paths: [dataFile('nigeria-sen12mscr', 's2_cloudy.tif'), dataFile('nigeria-sen12mscr', 's1.tif')] });
  const scenes = outcomes.flatMap((o) => (o.status === 'imported' && o.kind === 'scene' ? [o.record] : []));
  const s2 = scenes.find((s) => s.sensor === 'S2');
  const s1 = scenes.find((s) => s.sensor === 'S1');
  assert.ok(s2 && s1, JSON.stringify(outcomes));
  const [x0, y0, x1, y1] = s2.grid.bounds!;
  const box: [number, number][] = [[x0 + (x1 - x0) * 0.3, y0 + (y1 - y0) * 0.3], [x0 + (x1 - x0) * 0.6, y0 + (y1 - y0) * 0.3], [x0 + (x1 - x0) * 0.6, y0 + (y1 - y0) * 0.6], [x0 + (x1 - x0) * 0.3, y0 + (y1 - y0) * 0.6]];
  const mask = await service.editMask({ sceneId: s2.id, add: [[box]] });
  ids = { s2: s2.id, s1: s1.id, mask: mask.id };
});
after(async () => {
  await service?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

function ended(runId: number): Promise<Extract<ApiEvent, { type: 'run' }>['run']> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`run ${runId} did not end`)), 300_000);
    const unsubscribe = service.subscribe((e) => {
      if (e.type !== 'run' || e.run.id !== runId || !['done', 'partial', 'failed'].includes(e.run.status)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(e.run);
    });
  });
}

const request = { method: 'dip' as const, mode: 'ms' as const, steps: 2, bands: ['B04', 'B03', 'B02'], tileSize: 256, overlap: 0 };

test('SAR band numbers outside the SAR scene, or VV = VH, are refused when the run is asked for', async () => {
  await assert.rejects(service.startRun({ ...request, targetSceneId: ids.s2, maskId: ids.mask, sarSceneId: ids.s1, sarBands: { vv: 3, vh: 1 } }), (e: unknown) => e instanceof InputError && /SAR band 3 is not in 's1', which has 2 bands/.test(e.message));
  await assert.rejects(service.startRun({ ...request, targetSceneId: ids.s2, maskId: ids.mask, sarSceneId: ids.s1, sarBands: { vv: 2, vh: 2 } }), /VV and VH are both band 2/);
});

test('the SAR units and bands chosen reach the engine: linear claimed for dB values fails the run naming it; the file’s own order runs', { timeout: 400_000 }, async () => {
  const wrong = await service.startRun({ ...request, targetSceneId: ids.s2, maskId: ids.mask, sarSceneId: ids.s1, sarUnits: 'linear' });
  const failed = await ended(wrong.id);
  assert.equal(failed.status, 'failed');
  assert.match(failed.error ?? '', /linear, but \d+ % of the values are negative, as in dB/);

  const right = await service.startRun({ ...request, targetSceneId: ids.s2, maskId: ids.mask, sarSceneId: ids.s1, sarBands: { vv: 1, vh: 2 }, sarUnits: 'db' });
  assert.deepEqual((await service.getRun(right.id)).request.sarBands, { vv: 1, vh: 2 });
  assert.equal((await ended(right.id)).status, 'done');
});

test('the pixel inspector reads the SAR scene at the pixel: VV and VH in its units, asked for or the run’s', async () => {
  const [s2] = (await service.listScenes()).filter((s) => s.id === ids.s2);
  const sar = (await service.listScenes()).find((s) => s.id === ids.s1)!;
  const [x0, dx, , y0, , dy] = s2.grid.geoTransform!;
  const [col, row] = [40, 200];
  const values = await service.inspectPixel({ sceneId: s2.id, coordinate: [x0 + (col + 0.5) * dx, y0 + (row + 0.5) * dy], sarSceneId: sar.id });
  const layer = values.layers.find((l) => l.kind === 'sar');
  assert.ok(layer, JSON.stringify(values.layers.map((l) => l.kind)));
  assert.match(layer.label, /s1 \(dB\)/);
  assert.deepEqual(layer.bands.map((b) => b.name), ['VV_dB', 'VH_dB']);
  const fromFile = await withRaster(service.catalogue.resolve(sar.file), (raster) => readBands(raster, [0, 1], { x: col, y: row, width: 1, height: 1 }));
  assert.deepEqual(layer.bands.map((b) => b.value), [...fromFile.data]);
  // Without sarSceneId, a run's own SAR scene is read.
  const run = (await service.listRuns()).find((r) => r.request.sarSceneId === sar.id)!;
  const viaRun = await service.inspectPixel({ sceneId: s2.id, coordinate: [x0 + (col + 0.5) * dx, y0 + (row + 0.5) * dy], runId: run.id });
  assert.deepEqual(viaRun.layers.find((l) => l.kind === 'sar')?.bands, layer.bands);
});
