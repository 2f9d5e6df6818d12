/**
 * The cloud and shadow detector (native/raster/sentinel/cloud-detect.ts) on real Sentinel-2 scenes: how well it finds the
 * clouds of the SEN12MS-CR pairs, that it finds the shadows beside Nigeria's clouds on the side away from the
 * sun, that baseline-04.00 offsets and missing bands are handled, and that streaming by windows gives the
 * same mask as one read of the whole scene.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createProject } from '../../../native/catalogue/project.ts';
import { InputError } from '../../../native/errors.ts';
import { metadataOffset, openCloudDetector, sceneSun, shadowStep, sunPosition } from '../../../native/raster/sentinel/cloud-detect.ts';
import { openRaster, readBands } from '../../../native/raster/tiff/geotiff-reader.ts';
import { writeGeoTiff } from '../../../native/raster/tiff/geotiff-writer.ts';
import { readMask } from '../../../native/raster/sentinel/mask.ts';
import { Service } from '../../../native/project/service.ts';
import { dataFile } from '../../helpers/data.ts';
import { detectWhole, PAIRS, referenceMask, scores } from '../../helpers/detect-reference.ts';

const NIGERIA = dataFile('nigeria-sen12mscr/s2_cloudy.tif');
let dir: string;
before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-detect-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** Share of masked pixels in a window of a 256-wide mask. */
function share(mask: { width: number; data: Uint8Array }, x0: number, y0: number, width: number, height: number): number {
  let n = 0;
  for (let y = y0; y < y0 + height; y++) for (let x = x0; x < x0 + width; x++) n += mask.data[y * mask.width + x];
  return n / (width * height);
}

// Measured with the defaults (docs/cli.md, clearsky mask --detect): IoU 0.708, 0.547 and 0.473; the floors leave 0.05 for harmless change.
const FLOORS: Record<string, number> = { 'congo-spring': 0.66, 'italy-summer': 0.5, 'colombia-fall': 0.42 };

describe('cloud detection on real scenes', () => {
  for (const pair of PAIRS) {
    it(`finds the clouds of the SEN12MS-CR ${pair.name} pair: IoU against the cloudy/clear difference above ${FLOORS[pair.name]}`, async () => {
      const { mask } = await detectWhole(pair.cloudy);
      const s = scores(mask, await referenceMask(pair.cloudy, pair.clear));
      assert.ok(s.iou > FLOORS[pair.name], `IoU ${s.iou.toFixed(3)} (precision ${s.precision.toFixed(3)}, recall ${s.recall.toFixed(3)})`);
      assert.ok(s.precision > 0.65, `precision ${s.precision.toFixed(3)}`);
    });
  }

  it('finds nothing on a clear scene (Slovenia 2015-09-09)', async () => {
    const { mask } = await detectWhole(dataFile('slovenia-2015/S2L1C_20150909.tif'));
    assert.equal(mask.data.reduce((a, b) => a + b, 0), 0);
  });

  it('a veil of thin cirrus over a whole scene is its background, not cloud: SEN12MS-CR’s cloud-free Colombia image', async () => {
    // Every pixel of that image has B10 0.035–0.058, over Sen2Cor's 0.012 bound (the ground of the other two
    // clear images: 0.001–0.004); its fields are plainly seen, and the pair's manifest says 0 % cloud. Only
    // the cirrus standing 0.01 above the scene's clear background (Fmask 4) is cloud: a strip at the east
    // edge, where B10 is highest (column means 0.038 in the west, 0.054 at the edge).
    const colombia = PAIRS.find((p) => p.name === 'colombia-fall')!;
    const { mask, description } = await detectWhole(colombia.clear);
    const cover = share(mask, 0, 0, 256, 256);
    assert.ok(cover < 0.3, `${(100 * cover).toFixed(1)} % of the clear image is cloud`);
    assert.ok(share(mask, 0, 0, 160, 256) < 0.01, `${(100 * share(mask, 0, 0, 160, 256)).toFixed(1)} % of its western part`);
    assert.match(description.CLEARSKY_MASK_RULE, /B10 > 0\.012 and B10 − 0\.03\d+ \(the clear pixels' 2nd percentile\) > 0\.01/);
    // Its cloudy image keeps its mask, near the manifest's 6.7 % cloud + 4.1 % shadow.
    const cloudy = share((await detectWhole(colombia.cloudy)).mask, 0, 0, 256, 256);
    assert.ok(cloudy > 0.06 && cloudy < 0.15, `${(100 * cloudy).toFixed(1)} % of the cloudy image`);
    // The app's preview reuses the scene's survey (detect-mask.ts): the background travels with it.
    const first = await openCloudDetector(colombia.clear);
    const again = await openCloudDetector(colombia.clear, { survey: first.info });
    try {
      assert.ok(first.info.cirrusBaseline! > 0.03, `background ${first.info.cirrusBaseline}`);
      assert.deepEqual((await again.read({ x: 0, y: 0, width: 256, height: 256 })).data, mask.data);
    } finally {
      await first.close();
      await again.close();
    }
    // Without the cirrus test nothing of the clear image is cloud: the strip is the cirrus test's alone.
    assert.equal((await detectWhole(colombia.clear, { cirrus: null })).mask.data.reduce((a, b) => a + b, 0), 0);
  });

  it('finds the shadow beside Nigeria’s clouds, on the side away from the sun, and only there', async () => {
    // The dark patch west of the cumulus at the lower right is its shadow (the overlay shows it); the sun is
    // not in the file, so the direction is searched.
    const withShadows = await detectWhole(NIGERIA);
    const cloudOnly = await detectWhole(NIGERIA, { shadows: false });
    assert.ok(share(withShadows.mask, 185, 195, 40, 30) > 0.7, `shadow patch ${share(withShadows.mask, 185, 195, 40, 30)}`);
    assert.ok(share(cloudOnly.mask, 185, 195, 40, 30) < 0.2, 'the patch is not cloud (only the haze of its cloud reaches into it)');
    assert.match(withShadows.description.CLEARSKY_MASK_SHADOWS, /sun direction searched; shadows matched \d+–\d+ px/);
    let shadow = 0;
    for (let i = 0; i < withShadows.mask.data.length; i++) shadow += withShadows.mask.data[i] & (1 - cloudOnly.mask.data[i]);
    assert.ok(shadow > 0.03 * 65536, `${shadow} shadow pixels`);

    // Told the sun is in the east, shadows fall west, as searched; told it is in the west, there is no dark
    // ground east of the clouds to match, and no shadow.
    const east = await detectWhole(NIGERIA, { sun: { azimuth: 90, zenith: 30 } });
    assert.ok(share(east.mask, 185, 195, 40, 30) > 0.5);
    const west = await detectWhole(NIGERIA, { sun: { azimuth: 270, zenith: 30 } });
    assert.deepEqual(west.mask.data, cloudOnly.mask.data);
    assert.match(west.description.CLEARSKY_MASK_SHADOWS, /azimuth 270\.0°, zenith 30\.0° \(given\); no shadow found/);
  });

  it('streams by windows: the written windows give the same mask as one read of the whole scene', async () => {
    const whole = await detectWhole(NIGERIA, { dilate: 1 });
    const detector = await openCloudDetector(NIGERIA, { dilate: 1 });
    try {
      for (const [x, y] of [[0, 0], [100, 60], [192, 192]]) {
        const window = { x, y, width: 64, height: 64 };
        const part = await detector.read(window);
        for (let row = 0; row < 64; row++) {
          assert.deepEqual(part.data.subarray(row * 64, row * 64 + 64), whole.mask.data.subarray((y + row) * 256 + x, (y + row) * 256 + x + 64), `window ${x},${y} row ${row}`);
        }
      }
    } finally {
      await detector.close();
    }
  });

  it('reads the +1000 DN offset of processing baseline 04.00 from the metadata', async () => {
    // The congo cloudy scene re-written as a baseline-04.00 product would hold it: every DN + 1000.
    const shifted = path.join(dir, 'baseline-04.tif');
    const raster = await openRaster(PAIRS[0].cloudy);
    try {
      const image = await readBands(raster, Array.from({ length: 13 }, (_, b) => b));
      for (let i = 0; i < image.data.length; i++) image.data[i] += 1000;
      await writeGeoTiff(shifted, image, { dataType: 'uint16', like: raster, metadata: { PROCESSING_BASELINE: '04.00' } });
    } finally {
      await raster.close();
    }
    const original = await detectWhole(PAIRS[0].cloudy);
    const read = await detectWhole(shifted);
    assert.equal(read.description.CLEARSKY_MASK_DN_OFFSET, '-1000');
    assert.deepEqual(read.mask.data, original.mask.data);
    // Without the offset the scene looks 0.1 brighter everywhere: far more "cloud".
    const ignored = await detectWhole(shifted, { offset: 0 });
    assert.ok(ignored.mask.data.reduce((a, b) => a + b, 0) > 1.5 * original.mask.data.reduce((a, b) => a + b, 0));
    assert.equal(metadataOffset({ BOA_ADD_OFFSET_B2: '-1000' }), -1000);
    assert.equal(metadataOffset({ PROCESSING_BASELINE: '02.14' }), 0);
    assert.equal(metadataOffset({}), null);
  });

  it('detects on an L2A-like file (12 described bands, no B10) without the cirrus test', async () => {
    // L2A products have no B10: the Congo scene (no cirrus in it) re-written without it, bands described.
    const l2a = path.join(dir, 'S2_MSIL2A_like.tif');
    const keep = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12];
    const raster = await openRaster(PAIRS[0].cloudy);
    try {
      const image = await readBands(raster, keep);
      await writeGeoTiff(l2a, image, { dataType: 'uint16', like: raster, bandNames: ['B01', 'B02', 'B03', 'B04', 'B05', 'B06', 'B07', 'B08', 'B8A', 'B09', 'B11', 'B12'] });
    } finally {
      await raster.close();
    }
    const detected = await detectWhole(l2a);
    assert.equal(detected.description.CLEARSKY_MASK_BANDS, 'B02,B03,B04,B08,B11,B01');
    assert.doesNotMatch(detected.description.CLEARSKY_MASK_RULE, /B10/);
    const s = scores(detected.mask, await referenceMask(PAIRS[0].cloudy, PAIRS[0].clear));
    assert.ok(s.iou > FLOORS['congo-spring'], `IoU ${s.iou.toFixed(3)}`);
  });

  it('a scene without a band it needs is refused, naming the file and the band', async () => {
    const rgb = dataFile('scotland-2020/S2L2A_mean_2019_B04B03B02.tif');
    await assert.rejects(openCloudDetector(rgb), (e: Error) => e instanceof InputError && e.message.startsWith(rgb) && /needs bands B02, B03, B04, B08, B11.*no band B08/.test(e.message));
    await assert.rejects(openCloudDetector(NIGERIA, { threshold: 1.5 }), /threshold must be between 0 and 1/);
    await assert.rejects(openCloudDetector(NIGERIA, { sun: { azimuth: 90, zenith: 95 } }), /zenith must be between 0° and 90°/);
  });
});

describe('the sun', () => {
  it('stands due south at local noon, at latitude − declination (NOAA equations)', () => {
    // 2021-06-21, solstice (declination 23.44°); solar noon at longitude 0 is 12:01:45 UTC (equation of time −1.7 min).
    const noon = sunPosition(new Date('2021-06-21T12:01:45Z'), 0, 52);
    assert.ok(Math.abs(noon.zenith - (52 - 23.44)) < 0.2, `zenith ${noon.zenith}`);
    assert.ok(Math.abs(noon.azimuth - 180) < 1, `azimuth ${noon.azimuth}`);
    const morning = sunPosition(new Date('2021-06-21T08:00:00Z'), 0, 52);
    assert.ok(morning.azimuth > 90 && morning.azimuth < 130 && morning.zenith > noon.zenith, JSON.stringify(morning));
    // South of the equator the noon sun is in the north.
    assert.ok(Math.abs(sunPosition(new Date('2021-06-21T12:01:45Z'), 0, -30).azimuth % 360) < 1);
  });

  it('comes from the acquisition time and place of T33UUU: low in the south-south-east in February', async () => {
    const raster = await openRaster(dataFile('T33UUU-20170216/S2L1C_T33UUU_20170216_10m.tif'));
    await raster.close();
    const found = sceneSun(raster);
    assert.equal(found?.source, 'acquisition time');
    assert.ok(found!.sun.azimuth > 155 && found!.sun.azimuth < 170 && found!.sun.zenith > 62 && found!.sun.zenith < 70, JSON.stringify(found));
    assert.equal(sceneSun({ ...raster, metadata: { MEAN_SUN_AZIMUTH_ANGLE: '150.5', MEAN_SUN_ZENITH_ANGLE: '40' } })?.source, 'metadata');
    assert.equal(sceneSun({ ...raster, metadata: {} }), null);
    // Shadows fall away from the sun: a sun in the south casts them north (up the image).
    const step = shadowStep(180);
    assert.ok(Math.abs(step.dx) < 1e-9 && step.dy === -1);
  });
});

describe('detectMask and previewDetection in a project', () => {
  let service: Service;
  before(async () => {
    createProject(path.join(dir, 'project')).close();
    service = Service.open(path.join(dir, 'project'), { jobs: false });
  });
  after(async () => {
    await service?.close();
  });

  it('previews the detection as an outline without writing anything, then saves it as the scene’s next mask version', async () => {
    const [imported] = await service.importFiles({ paths: [NIGERIA, dataFile('nigeria-sen12mscr/s1.tif')] });
    assert.equal(imported.status, 'imported', JSON.stringify(imported));
    const scene = (await service.listScenes()).find((s) => s.sensor === 'S2')!;
    const expected = (await detectWhole(NIGERIA, { dilate: 1 })).mask;
    const masks = path.join(dir, 'project/rasters/masks');
    const filesBefore = await fs.readdir(masks).catch(() => []);

    const preview = await service.previewDetection({ sceneId: scene.id, dilate: 1 });
    assert.equal(preview.pixels, expected.data.reduce((a, b) => a + b, 0));
    assert.equal(preview.outline.features[0].properties.pixels, preview.pixels);
    assert.equal(preview.outline.crs?.properties.name, 'urn:ogc:def:crs:EPSG::32631');
    assert.match(preview.description.CLEARSKY_MASK_SHADOWS, /shadows matched/);
    // A window of the scene: its own pixels, and its outline where the window lies on the map.
    const area = { x: 128, y: 128, width: 128, height: 128 };
    const part = await service.previewDetection({ sceneId: scene.id, dilate: 1, area });
    assert.equal(part.pixels, share(expected, 128, 128, 128, 128) * 128 * 128);
    const [x0, , , y0] = scene.grid.geoTransform!;
    const xs = part.outline.features[0].geometry.coordinates.flat(2).map(([x]) => x);
    assert.ok(Math.min(...xs) >= x0 + 10 * 128 - 1e-6, 'the window’s outline starts at its own left edge');
    assert.ok(Math.max(...part.outline.features[0].geometry.coordinates.flat(2).map(([, y]) => y)) <= y0 - 10 * 128 + 1e-6);
    // Another threshold reuses the scene's survey, and answers what a fresh detector answers.
    const higher = await service.previewDetection({ sceneId: scene.id, threshold: 0.3, dilate: 3 });
    assert.equal(higher.pixels, (await detectWhole(NIGERIA, { threshold: 0.3, dilate: 3 })).mask.data.reduce((a, b) => a + b, 0));
    assert.notEqual(higher.pixels, preview.pixels);
    assert.deepEqual(await fs.readdir(masks).catch(() => []), filesBefore, 'a preview writes nothing');
    assert.equal((await service.listMasks()).length, 0);

    const saved = await service.detectMask({ sceneId: scene.id, dilate: 1 });
    assert.equal(saved.source, 'detected');
    assert.equal(saved.sceneId, scene.id);
    assert.equal(saved.version, 1);
    assert.equal(saved.name, 's2_cloudy · detected');
    assert.deepEqual(saved.grid, scene.grid);
    assert.equal(saved.cloudCover, preview.cover);
    assert.equal((await service.listScenes()).find((s) => s.id === scene.id)!.cloudCover, saved.cloudCover);
    assert.deepEqual((await readMask(path.join(dir, 'project', saved.file))).data, expected.data);
    assert.ok(saved.outlineFile && JSON.parse(await fs.readFile(path.join(dir, 'project', saved.outlineFile), 'utf8')).features[0].properties.pixels === preview.pixels);
    assert.deepEqual({ ...saved.parameters, detection: undefined }, { sceneId: scene.id, threshold: 0.2, dilate: 1, shadows: true, detection: undefined });

    // Detected again with other settings: the next version; then edited by drawing, as any mask.
    const again = await service.detectMask({ sceneId: scene.id, threshold: 0.3, shadows: false });
    assert.equal(again.version, 2);
    assert.ok(again.cloudCover! < saved.cloudCover!);
    const [gx, , , gy] = scene.grid.geoTransform!;
    const edited = await service.editMask({ maskId: again.id, add: [[[[gx, gy], [gx + 100, gy], [gx + 100, gy - 100]]]] });
    assert.equal(edited.version, 3);
    // Plans a run like any mask.
    assert.ok((await service.previewTiles({ targetSceneId: scene.id, maskId: saved.id, tileSize: 128, overlap: 16 })).some((tile) => tile.state === 'cloudy'));
  });

  it('refuses a Sentinel-1 scene, an unknown one, a clear one (leaving nothing behind), and a preview window outside the scene', async () => {
    const s1 = (await service.listScenes()).find((s) => s.sensor === 'S1')!;
    await assert.rejects(service.detectMask({ sceneId: s1.id }), (e: Error) => e instanceof InputError && /is Sentinel-1: clouds are detected in Sentinel-2 scenes/.test(e.message));
    await assert.rejects(service.previewDetection({ sceneId: 999 }), (e: Error) => e instanceof InputError && /there is no scene 999/.test(e.message));
    const [clear] = await service.importFiles({ paths: [dataFile('slovenia-2015/S2L1C_20150909.tif')] });
    assert.equal(clear.status, 'imported');
    const before = (await service.listMasks()).length;
    await assert.rejects(service.detectMask({ sceneId: (clear as { record: { id: number } }).record.id }), (e: Error) => e instanceof InputError && /no cloud or shadow found in scene \d+ .* at threshold 0.2/.test(e.message));
    assert.equal((await service.listMasks()).length, before);
    assert.deepEqual((await fs.readdir(path.join(dir, 'project/rasters/masks'))).filter((name) => name.includes('S2L1C_20150909')), [], 'nothing left behind');
    await assert.rejects(service.previewDetection({ sceneId: s1.id + 100 }), InputError);
    const t33 = await service.importFiles({ paths: [dataFile('T33UUU-20170216/S2L1C_T33UUU_20170216_10m.tif')] });
    const t33Id = (t33[0] as { record: { id: number } }).record.id;
    await assert.rejects(service.previewDetection({ sceneId: t33Id, area: { x: 1500, y: 0, width: 100, height: 10 } }), /reaches outside scene/);
  });
});
