/**
 * The service commands behind the map's tools, on real projects made with the real catalogue code and real
 * GeoTIFFs: the tile preview (against the runs' own survey), the backends, mask editing, the pixel inspector.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { MaskRecord, SceneRecord } from '../../../native/api/contract.ts';
import { createProject } from '../../../native/catalogue/project.ts';
import { createImage } from '../../../native/dip/image.ts';
import { InputError } from '../../../native/errors.ts';
import { openRunInputs, planRun, surveyTiles } from '../../../native/reconstruction/pipeline.ts';
import { readRasterInfo } from '../../../native/raster/tiff/geotiff-reader.ts';
import { readMask } from '../../../native/raster/sentinel/mask.ts';
import { writeGeoTiff } from '../../../native/raster/tiff/geotiff-writer.ts';
import { Service } from '../../../native/project/service.ts';
import { dataFile } from '../../helpers/data.ts';
import { gdalinfo } from '../../helpers/gdal.ts';
import { createHash } from 'node:crypto';

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

/** The scene's grid: 10 m pixels from (330000, 5822040), north up. Map coordinates of pixel corner (col, row). */
const at = (col: number, row: number): [number, number] => [330000 + 10 * col, 5822040 - 10 * row];

/** Even-odd point in polygon, by ray casting: the test's own, independent of the rasteriser's scan lines. */
function inside(point: [number, number], polygon: [number, number][][]): boolean {
  let odd = false;
  for (const ring of polygon) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i];
      const [xj, yj] = ring[j];
      if (yi > point[1] !== yj > point[1] && point[0] < xi + ((point[1] - yi) / (yj - yi)) * (xj - xi)) odd = !odd;
    }
  }
  return odd;
}

test('editMask burns added and erased polygons into a new mask version; the original stays as it was', async () => {
  const originalFile = service.catalogue.resolve(mask.file);
  const hashBefore = createHash('sha256').update(await fs.readFile(originalFile)).digest('hex');
  // A square with a hole, on pixel edges: cols 10–19, rows 20–29 without cols 14–15, rows 24–25.
  const square = [[at(10, 20), at(20, 20), at(20, 30), at(10, 30)], [at(14, 24), at(16, 24), at(16, 26), at(14, 26)]];
  // A slanted triangle (pixel centres decide) and an erased block inside the big cloud.
  const triangle = [[[330403, 5821000], [330777, 5820913], [330512, 5820601]]] as [number, number][][];
  const erase = [[at(1300, 0), at(1310, 0), at(1310, 10), at(1300, 10)]];
  const edited = await service.editMask({ maskId: mask.id, add: [square, triangle], erase: [erase] });

  assert.equal(edited.source, 'drawn');
  assert.equal(edited.version, mask.version + 1);
  assert.equal(edited.sceneId, mask.sceneId);
  assert.equal(edited.acquired, mask.acquired);
  assert.equal(edited.band, 1);
  assert.deepEqual(edited.grid, mask.grid);
  assert.equal(edited.parameters.parentMaskId, mask.id);
  assert.deepEqual(edited.parameters.add, [square, triangle]);
  assert.deepEqual(edited.parameters.erase, [erase]);
  assert.notEqual(edited.file, mask.file);
  assert.deepEqual((await service.listMasks()).map((m) => m.id), [mask.id, edited.id]);

  // Pixel by pixel: the old mask, plus the added polygons' centres, minus the erased ones'.
  const written = await readMask(service.catalogue.resolve(edited.file));
  const info = gdalinfo(service.catalogue.resolve(edited.file));
  assert.equal(info.bands.length, 1);
  assert.deepEqual([info.size[0], info.size[1]], [1536, 768]);
  let expectedCloud = 0;
  let wrong = 0;
  for (let row = 0; row < 768; row++) {
    for (let col = 0; col < 1536; col++) {
      const centre: [number, number] = [330000 + 10 * (col + 0.5), 5822040 - 10 * (row + 0.5)];
      let cloud = cloudAt(col, row) || inside(centre, square) || inside(centre, triangle);
      if (inside(centre, erase)) cloud = false;
      if (cloud) expectedCloud++;
      if (written.data[row * 1536 + col] !== (cloud ? 1 : 0)) wrong++;
    }
  }
  assert.equal(wrong, 0);
  assert.equal(written.data[25 * 1536 + 12], 1);
  assert.equal(written.data[25 * 1536 + 14], 0, 'the hole stays clear');
  assert.equal(written.data[5 * 1536 + 1305], 0, 'erased');
  assert.ok(Math.abs(edited.cloudCover! - expectedCloud / (1536 * 768)) < 1e-12);
  assert.ok(edited.cloudCover! !== mask.cloudCover);

  // Its outline is regenerated: GeoJSON in the scene's CRS that includes the added square.
  const outline = JSON.parse(await fs.readFile(service.catalogue.resolve(edited.outlineFile!), 'utf8'));
  assert.equal(outline.crs.properties.name, 'urn:ogc:def:crs:EPSG::32633');
  const rings = outline.features[0].geometry.coordinates.map((p: [number, number][][]) => p[0]);
  assert.ok(rings.some((ring: [number, number][]) => ring.every(([x, y]) => x >= 330095 && x <= 330205 && y <= 5821845 && y >= 5821735)), 'an outline around the added square');

  // Nothing the user made is lost: the original mask's file and record are as before.
  assert.equal(createHash('sha256').update(await fs.readFile(originalFile)).digest('hex'), hashBefore);
  assert.deepEqual((await service.listMasks())[0], mask);

  // An edit of the edit is the next version again, and a run can use it.
  const again = await service.editMask({ maskId: edited.id, erase: [square] });
  assert.equal(again.version, mask.version + 2);
  assert.equal(again.parameters.parentMaskId, edited.id);
  const tiles = await service.previewTiles({ targetSceneId: scene.id, maskId: again.id });
  assert.equal(tiles.length, (await service.previewTiles({ targetSceneId: scene.id, maskId: mask.id })).length);
});

test('editMask refuses an unknown mask, and a polygon that lies entirely outside the grid, saying which', async () => {
  const before = (await service.listMasks()).length;
  const square = [[at(10, 20), at(20, 20), at(20, 30), at(10, 30)]];
  await assert.rejects(service.editMask({ maskId: 999, add: [square] }), (e: Error) => e instanceof InputError && /there is no mask 999/.test(e.message));
  const faraway = [[[0, 0], [10, 0], [10, 10]]] as [number, number][][];
  await assert.rejects(
    service.editMask({ maskId: mask.id, add: [square], erase: [faraway] }),
    (e: Error) => e instanceof InputError && /erase polygon 1 lies entirely outside the 1536×768 grid of mask/.test(e.message) && /EPSG:32633/.test(e.message),
  );
  await assert.rejects(service.editMask({ maskId: mask.id }), /at least one polygon/);
  assert.equal((await service.listMasks()).length, before, 'nothing catalogued');
  const leftovers = (await fs.readdir(path.join(service.catalogue.dir, 'rasters', 'masks'))).filter((f) => f.startsWith('.'));
  assert.deepEqual(leftovers, [], 'no temporary files left');
});

const NIGERIA = dataFile('nigeria-sen12mscr', 's2_cloudy.tif');
const SLOVENIA = dataFile('slovenia-2015', 'S2L1C_20150909.tif');

/** Area of a polygon's outer ring minus its holes (shoelace), in map units². */
function area(polygon: [number, number][][]): number {
  const ringArea = (ring: [number, number][]): number => Math.abs(ring.reduce((sum, [x, y], i) => sum + x * ring[(i + 1) % ring.length][1] - ring[(i + 1) % ring.length][0] * y, 0)) / 2;
  return ringArea(polygon[0]) - polygon.slice(1).reduce((sum, ring) => sum + ringArea(ring), 0);
}

/** Imports a scene into the shared project (once) and gives its record. */
async function importScene(file: string): Promise<SceneRecord> {
  const [outcome] = await service.importFiles({ paths: [file] });
  assert.ok(outcome.status === 'imported' || outcome.status === 'duplicate', JSON.stringify(outcome));
  const found = (await service.listScenes()).find((s) => s.name === path.basename(file, '.tif'));
  assert.ok(found, `${file} is not among the scenes`);
  return found;
}

test('editMask with sceneId draws a new mask on a scene that has none: clear but for the polygons, linked to the scene as version 1', async () => {
  // The real cloudy Nigeria scene (256×256, no date, no mask); its origin is not on a whole metre.
  const nigeria = await importScene(NIGERIA);
  assert.equal((await service.listMasks()).filter((m) => m.sceneId === nigeria.id).length, 0, 'the scene came with a mask');
  const [x0, , , y0] = nigeria.grid.geoTransform!;
  const px = (col: number, row: number): [number, number] => [x0 + 10 * col, y0 - 10 * row];
  // A slanted pentagon around a cumulus, with a hole; corners off the pixel edges, so pixel centres decide.
  const pentagon = [[px(40.3, 60.7), px(90.2, 30.4), px(121.6, 70.1), px(100.5, 110.9), px(55.8, 105.2)], [px(70.2, 62.3), px(80.6, 62.3), px(80.6, 71.4), px(70.2, 71.4)]];
  const drawn = await service.editMask({ sceneId: nigeria.id, add: [pentagon] });

  assert.equal(drawn.source, 'drawn');
  assert.equal(drawn.sceneId, nigeria.id);
  assert.equal(drawn.version, 1, 'the scene had no mask');
  assert.equal(drawn.acquired, nigeria.acquired);
  assert.equal(drawn.acquired, null, 'the Nigeria scene has no date');
  assert.equal(drawn.name, 's2_cloudy · drawn');
  assert.equal(drawn.file, 'rasters/masks/s2_cloudy-drawn.tif');
  assert.equal(drawn.band, 1);
  assert.deepEqual(drawn.grid, nigeria.grid);
  assert.deepEqual(drawn.parameters, { add: [pentagon], erase: [] });
  assert.ok((await service.listMasks()).some((m) => m.id === drawn.id));
  // The scene's first mask gives it its cloud cover; a second one does not change it.
  const coverOf = async () => (await service.listScenes()).find((s) => s.id === nigeria.id)!.cloudCover;
  assert.equal(nigeria.cloudCover, null);
  assert.equal(await coverOf(), drawn.cloudCover);

  // Read back: 1 exactly at the pixel centres inside the polygon (outside its hole), 0 everywhere else.
  const file = service.catalogue.resolve(drawn.file);
  const written = await readMask(file);
  const info = gdalinfo(file);
  assert.equal(info.bands.length, 1);
  assert.deepEqual([info.size[0], info.size[1]], [256, 256]);
  assert.deepEqual(info.geoTransform, gdalinfo(NIGERIA).geoTransform, 'not on the scene’s grid');
  let expectedCloud = 0;
  let wrong = 0;
  for (let row = 0; row < 256; row++) {
    for (let col = 0; col < 256; col++) {
      const cloud = inside(px(col + 0.5, row + 0.5), pentagon);
      if (cloud) expectedCloud++;
      if (written.data[row * 256 + col] !== (cloud ? 1 : 0)) wrong++;
    }
  }
  assert.equal(wrong, 0, `${wrong} pixels differ from the polygon`);
  assert.equal(written.data[50 * 256 + 30], 0, 'outside the polygon');
  assert.equal(written.data[80 * 256 + 90], 1, 'inside the polygon');
  assert.equal(written.data[66 * 256 + 75], 0, 'the hole stays clear');
  assert.ok(Math.abs(drawn.cloudCover! - expectedCloud / 65536) < 1e-12);
  // About the polygon's own area (the pixels on its edges make the difference).
  const polygonCover = area(pentagon) / (2560 * 2560);
  assert.ok(Math.abs(drawn.cloudCover! - polygonCover) < 0.002, `cloud cover ${drawn.cloudCover} for a polygon of ${polygonCover}`);

  // The outline, as an edit writes it: GeoJSON in the scene's CRS, around the polygon.
  const outline = JSON.parse(await fs.readFile(service.catalogue.resolve(drawn.outlineFile!), 'utf8'));
  assert.equal(outline.crs.properties.name, 'urn:ogc:def:crs:EPSG::32631');
  const rings = outline.features[0].geometry.coordinates.map((p: [number, number][][]) => p[0]);
  const [minX, maxY] = px(40, 30);
  const [maxX, minY] = px(122, 111);
  assert.ok(rings.length > 0 && rings.every((ring: [number, number][]) => ring.every(([x, y]) => x >= minX && x <= maxX && y >= minY && y <= maxY)), 'the outline is not around the polygon');

  // A run can use it, and the next drawing on the scene is its version 2, in a file of its own.
  const tiles = await service.previewTiles({ targetSceneId: nigeria.id, maskId: drawn.id, tileSize: 128, overlap: 16 });
  assert.ok(tiles.some((t) => t.state === 'cloudy'), JSON.stringify(tiles.map((t) => t.state)));
  const second = await service.editMask({ sceneId: nigeria.id, add: [[[px(200, 200), px(220, 200), px(220, 220)]]] });
  assert.equal(second.version, 2);
  assert.equal(await coverOf(), drawn.cloudCover);
  assert.notEqual(second.file, drawn.file);
  // An edit of the drawn mask is an edit as ever.
  const edited = await service.editMask({ maskId: drawn.id, erase: [[[px(40, 30), px(80, 30), px(80, 120), px(40, 120)]]] });
  assert.equal(edited.parameters.parentMaskId, drawn.id);
  assert.equal(edited.sceneId, nigeria.id);
});

test('editMask with sceneId takes the scene’s acquisition day', async () => {
  const slovenia = await importScene(SLOVENIA);
  assert.equal(slovenia.acquired, '2015-09-09');
  const drawn = await service.editMask({ sceneId: slovenia.id, add: [[[[500000, 5100000], [500010, 5100000], [500010, 5100010]]]] }).catch((e: Error) => e);
  // (The triangle above is off this scene: the message names the scene and its CRS.)
  assert.ok(drawn instanceof InputError && /add polygon 1 lies entirely outside the 100×101 grid of scene \d+ \(S2L1C_20150909\)/.test(drawn.message) && /EPSG:32633/.test(drawn.message), String(drawn));
  const [x0, , , y0] = slovenia.grid.geoTransform!;
  const made = await service.editMask({ sceneId: slovenia.id, add: [[[[x0, y0], [x0 + 300, y0], [x0 + 300, y0 - 300], [x0, y0 - 300]]]] });
  assert.equal(made.acquired, '2015-09-09');
  assert.equal(made.version, 1);
  assert.equal(made.cloudCover, 900 / (100 * 101));
});

test('editMask takes exactly one of maskId and sceneId, refuses an unknown scene, and a new mask with no cloud', async () => {
  const nigeria = await importScene(NIGERIA);
  const before = (await service.listMasks()).length;
  const folder = path.join(service.catalogue.dir, 'rasters', 'masks');
  const filesBefore = await fs.readdir(folder);
  const [x0, , , y0] = nigeria.grid.geoTransform!;
  const square = [[[x0 + 100, y0 - 100], [x0 + 300, y0 - 100], [x0 + 300, y0 - 300], [x0 + 100, y0 - 300]]] as [number, number][][];
  const which = /either maskId \(edit that mask\) or sceneId \(draw a new mask on that scene\), not both or neither/;
  await assert.rejects(service.editMask({ maskId: mask.id, sceneId: nigeria.id, add: [square] }), which);
  await assert.rejects(service.editMask({ add: [square] }), which);
  await assert.rejects(service.editMask({ sceneId: 999, add: [square] }), (e: Error) => e instanceof InputError && /there is no scene 999/.test(e.message));
  // Erasing on an empty mask leaves no cloud: such a mask is of no use.
  await assert.rejects(service.editMask({ sceneId: nigeria.id, erase: [square] }), (e: Error) => e instanceof InputError && /new mask on scene \d+ \(s2_cloudy\) needs cloud/.test(e.message));
  // So does an edit that erases every cloud of a mask.
  await assert.rejects(
    service.editMask({ maskId: mask.id, erase: [[[at(0, 0), at(1536, 0), at(1536, 768), at(0, 768)]]] }),
    (e: Error) => e instanceof InputError && /would leave no cloud on mask/.test(e.message),
  );
  assert.equal((await service.listMasks()).length, before, 'nothing catalogued');
  assert.deepEqual(await fs.readdir(folder), filesBefore, 'files left behind');
});
