/**
 * The service commands behind the map's tools, on real projects made with the real catalogue code and real
 * GeoTIFFs: the tile preview (against the runs' own survey), the backends, mask editing, the pixel inspector.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { MaskRecord, SceneRecord } from '../../native/api.ts';
import { createProject } from '../../native/catalogue/project.ts';
import { createImage } from '../../native/dip/image.ts';
import { InputError } from '../../native/errors.ts';
import { openRunInputs, planRun, surveyTiles } from '../../native/pipeline.ts';
import { readRasterInfo } from '../../native/raster/geotiff-reader.ts';
import { writeGeoTiff } from '../../native/raster/geotiff-writer.ts';
import { Service } from '../../native/service.ts';
import { dataFile } from '../helpers/data.ts';

const T33UUU = dataFile('T33UUU-20170216', 'S2L1C_T33UUU_20170216_10m.tif');

let dir: string;
let service: Service;
let scene: SceneRecord;
let mask: MaskRecord;
/** The mask written for the 1536×768 scene: cloud where `cloudAt` says. */
const cloudAt = (x: number, y: number): boolean => (x >= 1200 && y < 300) || (x >= 100 && x < 140 && y >= 500 && y < 520);

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-map-tools-'));
  createProject(path.join(dir, 'project')).close();
  service = Service.open(path.join(dir, 'project'), { jobs: false });
  const info = await readRasterInfo(T33UUU);
  const cloud = createImage(info.width, info.height, 1);
  for (let y = 0; y < info.height; y++) for (let x = 0; x < info.width; x++) cloud.data[y * info.width + x] = cloudAt(x, y) ? 1 : 0;
  const maskPath = path.join(dir, 'T33UUU_20170216_cloud.tif');
  await writeGeoTiff(maskPath, cloud, { dataType: 'uint8', like: info, bandNames: ['cloud mask'] });
  const outcomes = await service.importFiles({ paths: [T33UUU] });
  assert.equal(outcomes[0].status, 'imported', JSON.stringify(outcomes));
  const maskOutcome = await service.importFiles({ paths: [maskPath], kind: 'mask' });
  assert.equal(maskOutcome[0].status, 'imported', JSON.stringify(maskOutcome));
  [scene] = await service.listScenes();
  [mask] = await service.listMasks();
});

after(async () => {
  await service?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

function expectedFraction(window: { x: number; y: number; width: number; height: number }): number {
  let cloudy = 0;
  for (let y = window.y; y < window.y + window.height; y++) for (let x = window.x; x < window.x + window.width; x++) if (cloudAt(x, y)) cloudy++;
  return cloudy / (window.width * window.height);
}

test('previewTiles shows the tile grid and the tiles a run would reconstruct, as the run itself surveys them', async () => {
  const started = performance.now();
  const tiles = await service.previewTiles({ targetSceneId: scene.id, maskId: mask.id });
  const seconds = (performance.now() - started) / 1000;
  assert.ok(seconds < 10, `a preview of the 1536×768 scene took ${seconds.toFixed(1)} s`);

  // The same grid and the same verdicts as the survey a run starts with.
  const inputs = await openRunInputs({ target: T33UUU, mask: service.catalogue.resolve(mask.file), maskBand: mask.band });
  try {
    const plan = planRun(inputs, { tileSize: 256, overlap: 32 });
    const survey = await surveyTiles(plan, inputs);
    assert.deepEqual(tiles.map((t) => t.window), plan.tiles.map((t) => t.window));
    assert.deepEqual(tiles.map((t) => t.index), plan.tiles.map((t) => t.index));
    assert.deepEqual(tiles.filter((t) => t.state === 'cloudy').map((t) => t.index), survey.cloudy.map((t) => t.index));
    assert.deepEqual(tiles.filter((t) => t.state === 'all-cloud').map((t) => t.index), survey.withoutClearPixels.map((t) => t.index));
  } finally {
    await inputs.close();
  }
  // Each kind is there, and every fraction is the mask's over the tile's window (the scene has no nodata).
  assert.deepEqual(new Set(tiles.map((t) => t.state)), new Set(['clear', 'cloudy', 'all-cloud']));
  for (const tile of tiles) {
    assert.ok(Math.abs(tile.cloudFraction - expectedFraction(tile.window)) < 1e-12, `tile ${tile.index}`);
    assert.equal(tile.state, tile.cloudFraction === 0 ? 'clear' : tile.cloudFraction === 1 ? 'all-cloud' : 'cloudy');
  }
  const small = tiles.find((t) => t.window.x <= 100 && t.window.x + t.window.width >= 140 && t.window.y <= 500 && t.window.y + t.window.height >= 520);
  assert.equal(small?.state, 'cloudy', 'a small cloud makes its tile cloudy');
});

test('previewTiles over an area of the scene gives windows in scene pixels, with the tile size and overlap asked for', async () => {
  const area = { x: 1000, y: 100, width: 500, height: 300 };
  const tiles = await service.previewTiles({ targetSceneId: scene.id, maskId: mask.id, tileSize: 128, overlap: 16, area });
  assert.equal(tiles.length, 5 * 3, 'every 112 px, the last of a row or column moved back to end at the area\'s edge');
  for (const tile of tiles) {
    assert.equal(tile.window.width, 128);
    assert.ok(tile.window.x >= area.x && tile.window.x + tile.window.width <= area.x + area.width);
    assert.ok(tile.window.y >= area.y && tile.window.y + tile.window.height <= area.y + area.height);
    assert.ok(Math.abs(tile.cloudFraction - expectedFraction(tile.window)) < 1e-12);
  }
  assert.deepEqual(tiles[0].window, { x: 1000, y: 100, width: 128, height: 128 });
  assert.equal(tiles[0].state, 'clear');
  assert.equal(tiles.find((t) => t.window.x === 1224 && t.window.y === 100)?.state, 'all-cloud');
});

test('previewTiles refuses what a run would refuse, with the reason', async () => {
  await assert.rejects(service.previewTiles({ targetSceneId: 999, maskId: mask.id }), (e: Error) => e instanceof InputError && /there is no scene 999/.test(e.message));
  await assert.rejects(service.previewTiles({ targetSceneId: scene.id, maskId: 999 }), (e: Error) => e instanceof InputError && /there is no mask 999/.test(e.message));
  await assert.rejects(
    service.previewTiles({ targetSceneId: scene.id, maskId: mask.id, area: { x: 1500, y: 0, width: 100, height: 100 } }),
    (e: Error) => e instanceof InputError && /is not inside the 1536×768 scene/.test(e.message),
  );
  await assert.rejects(service.previewTiles({ targetSceneId: scene.id, maskId: mask.id, tileSize: 64, overlap: 40 }), (e: Error) => e instanceof InputError && /overlap/.test(e.message));
});

test('backends says what auto picks here and which choices work, as the workers would start them', async () => {
  const info = await service.backends();
  assert.ok(info.available.includes('cpu') && info.available.includes('wasm'), JSON.stringify(info));
  assert.equal(info.detected, info.available[0], 'auto takes the first that works, best first');
  const order = ['tensorflow', 'webgpu', 'native', 'wasm', 'cpu'];
  assert.deepEqual([...info.available].sort((a, b) => order.indexOf(a) - order.indexOf(b)), info.available);
  assert.equal(await service.backends(), await service.backends(), 'asked once, then remembered');
});
