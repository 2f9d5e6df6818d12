/**
 * Multi-temporal references from the real Slovenia scenes: the static mean equals a per-pixel mean computed
 * here independently, masks and nodata take observations out, the dynamic reference takes the latest clear
 * observation before the date, GDAL sees the scenes' grid and bands, and bad input is one line naming the
 * file (real `clearsky reference` child processes).
 *
 * The shipped scenes are not what the data README says: 20150711 is cloudy (bright) and 20150820 clear, while
 * the s2cloudless masks say the opposite for those dates. No test relies on either claim: each checks the
 * pixel values or mask values it depends on.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Image } from '../../../native/dip/image.ts';
import { InputError } from '../../../native/errors.ts';
import { readBands, withRaster } from '../../../native/raster/tiff/geotiff-reader.ts';
import { writeGeoTiff, writeGeoTiffFromBlocks } from '../../../native/raster/tiff/geotiff-writer.ts';
import { openReference, parseMaskChoice, sceneDate } from '../../../native/raster/sentinel/reference.ts';
import { runReference } from '../../../native/commands/reference.ts';
import { dataFile } from '../../helpers/data.ts';
import { gdalinfo } from '../../helpers/gdal.ts';
import { runClearsky } from '../../helpers/cli.ts';

const slovenia = (name: string) => dataFile('slovenia-2015', name);
const scene = (day: string) => slovenia(`S2L1C_${day}.tif`);
const MASKS = slovenia('cloudmasks_s2cloudless_2015-2017.tif');
const ALL_BANDS = [...Array(13).keys()];
const S2_NAMES = ['B01', 'B02', 'B03', 'B04', 'B05', 'B06', 'B07', 'B08', 'B8A', 'B09', 'B10', 'B11', 'B12'];
const WIDTH = 100;
const HEIGHT = 101;
const PIXELS = WIDTH * HEIGHT;

let dir: string;
const pixels = new Map<string, Image>();

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-reference-'));
  for (const day of ['20150711', '20150731', '20150820', '20150830', '20150909']) pixels.set(day, await readAll(scene(day)));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function readAll(file: string, bands = ALL_BANDS): Promise<Image> {
  return withRaster(file, (raster) => readBands(raster, bands));
}

/** Mask band (1-based) of the s2cloudless stack whose description is `day`, found by description. */
async function maskBandOf(day: string): Promise<number> {
  const iso = `${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6)}`;
  return withRaster(MASKS, async (raster) => {
    const index = raster.bandNames.findIndex((name) => name?.startsWith(iso));
    assert.ok(index >= 0, `a mask band described as ${iso}`);
    return index + 1;
  });
}

/** Per-pixel mean of the given scenes' values, rounded as the UInt16 writer rounds (Math.round). */
function independentMean(days: string[]): Float32Array {
  const images = days.map((day) => pixels.get(day)!);
  const out = new Float32Array(images[0].data.length);
  for (let i = 0; i < out.length; i++) {
    let sum = 0;
    for (const image of images) sum += image.data[i];
    out[i] = Math.round(sum / images.length);
  }
  return out;
}

function assertValuesEqual(actual: Float32Array, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) assert.fail(`${what}: value ${i} (pixel ${Math.floor(i / 13)}) is ${actual[i]}, expected ${expected[i]}`);
  }
}

/** A one- or more-band UInt8 mask on the Slovenia grid; `cloud(x, y, band)` says where it is cloud. */
async function writeMask(name: string, bands: number, cloud: (x: number, y: number, band: number) => boolean): Promise<string> {
  const file = path.join(dir, name);
  const data = new Float32Array(PIXELS * bands);
  for (let y = 0; y < HEIGHT; y++) for (let x = 0; x < WIDTH; x++) for (let b = 0; b < bands; b++) data[(y * WIDTH + x) * bands + b] = cloud(x, y, b) ? 1 : 0;
  await withRaster(scene('20150830'), (like) => writeGeoTiff(file, { width: WIDTH, height: HEIGHT, bands, data }, { dataType: 'uint8', like }));
  return file;
}

const clearsky = (args: string[]) => runClearsky(args, dir);

describe('static reference', () => {
  it('is the per-pixel mean of 20150711 and 20150830 in UInt16 DN, on their grid, as GDAL sees it', async () => {
    const out = path.join(dir, 'mean.tif');
    const r = await clearsky(['reference', '--out', out, scene('20150711'), scene('20150830'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.method, 'static');
    assert.equal(summary.no_clear_observation, 0);
    assert.deepEqual(summary.scenes.map((s: { pixels: number }) => s.pixels), [PIXELS, PIXELS]);

    const expected = independentMean(['20150711', '20150830']);
    // The pair differs a lot (0711 is cloudy), so a mean is not trivially one of them.
    assert.ok(expected.some((value, i) => Math.abs(value - pixels.get('20150830')!.data[i]) > 500));
    await withRaster(out, async (raster) => {
      assert.equal(raster.dataType, 'uint16');
      assert.equal(raster.nodata, 0);
      assert.deepEqual(raster.bandNames, S2_NAMES);
      assert.equal(raster.metadata.CLEARSKY_REFERENCE_SCENES, 'S2L1C_20150711.tif,S2L1C_20150830.tif');
      assert.equal(raster.metadata.CLEARSKY_REFERENCE_SCENE_DATES, '2015-07-11,2015-08-30');
      assert.match(raster.metadata.CLEARSKY_REFERENCE_METHOD, /^static/);
      assert.match(raster.metadata.CLEARSKY_VERSION, /^\d+\.\d+\.\d+/);
      assert.equal(raster.metadata.ATTRIBUTION, 'Contains modified Copernicus Sentinel data');
      assertValuesEqual((await readBands(raster, ALL_BANDS)).data, expected, 'mean');
    });

    const input = gdalinfo(scene('20150830'));
    const output = gdalinfo(out);
    assert.deepEqual(output.size, input.size);
    assert.deepEqual(output.geoTransform, input.geoTransform);
    assert.equal(output.coordinateSystem?.wkt, input.coordinateSystem?.wkt);
    assert.deepEqual(output.bands.map((b) => b.description), input.bands.map((b) => b.description));
    assert.deepEqual(new Set(output.bands.map((b) => b.type)), new Set(['UInt16']));
    assert.equal(output.bands[0].noDataValue, 0);
    assert.equal(output.metadata['']?.ATTRIBUTION, 'Contains modified Copernicus Sentinel data');
  });

  it('streams: written in many small tiles, the mean of chosen bands is the same', async () => {
    const out = path.join(dir, 'mean-tiles.tif');
    const reference = await openReference({ scenes: [scene('20150711'), scene('20150830')], bands: ['B04', 'B03', 'B02'] });
    try {
      const windows: number[] = [];
      const source = { ...reference, read: (w: Parameters<typeof reference.read>[0]) => (windows.push(w.width * w.height), reference.read(w)) };
      await writeGeoTiffFromBlocks(out, source, { dataType: reference.dataType, like: reference.like, bandNames: reference.bandNames, nodata: reference.nodata, tileSize: 32 });
      assert.ok(windows.length >= 16 && Math.max(...windows) <= 32 * 32, 'read tile by tile');
      assert.deepEqual(reference.stats().pixels, PIXELS);
    } finally {
      await reference.close();
    }
    const all = independentMean(['20150711', '20150830']);
    const rgb = new Float32Array(PIXELS * 3);
    for (let p = 0; p < PIXELS; p++) for (const [i, band] of [3, 2, 1].entries()) rgb[p * 3 + i] = all[p * 13 + band];
    await withRaster(out, async (raster) => {
      assert.deepEqual(raster.bandNames, ['B04', 'B03', 'B02']);
      assertValuesEqual((await readBands(raster, [0, 1, 2])).data, rgb, 'B04,B03,B02 mean');
    });
  });

  it('leaves out a scene its mask calls cloudy: 20150731 with a full-cover mask changes nothing', async () => {
    const [b0711, b0731, b0830] = [await maskBandOf('20150711'), await maskBandOf('20150731'), await maskBandOf('20150830')];
    const masks = await readAll(MASKS, [b0711 - 1, b0731 - 1, b0830 - 1]);
    for (let p = 0; p < PIXELS; p++) assert.deepEqual([...masks.data.subarray(p * 3, p * 3 + 3)], [0, 1, 0], `mask values at pixel ${p}`);
    const pair = independentMean(['20150711', '20150830']);
    const unmasked = independentMean(['20150711', '20150731', '20150830']);
    assert.ok(unmasked.some((value, i) => value !== pair[i]), 'without its mask 20150731 would change the mean');

    const out = path.join(dir, 'masked.tif');
    const r = await clearsky(['reference', '--out', out, scene('20150711'), scene('20150731'), scene('20150830'),
      '--masks', `${MASKS}:${b0711}`, `${MASKS}:2015-07-31`, `${MASKS}:${b0830}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /mean of 3 scenes.*0 of 10100 pixels/);
    await withRaster(out, async (raster) => {
      assertValuesEqual((await readBands(raster, ALL_BANDS)).data, pair, 'masked mean');
      assert.equal(raster.metadata.CLEARSKY_REFERENCE_MASKS, `cloudmasks_s2cloudless_2015-2017.tif:${b0711},cloudmasks_s2cloudless_2015-2017.tif:${b0731},cloudmasks_s2cloudless_2015-2017.tif:${b0830}`);
    });
  });

  it('per pixel: cloudy and nodata observations never count; where none is clear the output is nodata', async () => {
    // 20150830 with nodata 0 declared and rows 0–9 set to it; 20150820 cloudy in the left half.
    const holed = path.join(dir, 'S2L1C_20150830_holed.tif');
    const original = pixels.get('20150830')!;
    const data = original.data.slice();
    data.fill(0, 0, 10 * WIDTH * 13);
    await withRaster(scene('20150830'), (like) => writeGeoTiff(holed, { ...original, data }, { dataType: 'uint16', like, bandNames: S2_NAMES, nodata: 0 }));
    const mask = await writeMask('left-half.tif', 2, (x, _y, band) => band === 0 && x < 50);

    const summary = await runReference({ scenes: [scene('20150820'), holed], masks: [`${mask}:1`, `${mask}:2`], method: 'static', out: path.join(dir, 'holed-mean.tif') });
    const a = pixels.get('20150820')!.data;
    const expected = new Float32Array(a.length);
    let empty = 0;
    for (let y = 0; y < HEIGHT; y++) {
      for (let x = 0; x < WIDTH; x++) {
        const cloudyA = x < 50;
        const missingB = y < 10;
        if (cloudyA && missingB) empty++;
        for (let b = 0; b < 13; b++) {
          const i = (y * WIDTH + x) * 13 + b;
          expected[i] = cloudyA ? (missingB ? 0 : data[i]) : missingB ? a[i] : Math.round((a[i] + data[i]) / 2);
        }
      }
    }
    assert.equal(summary.no_clear_observation, empty);
    assert.equal(empty, 500);
    assertValuesEqual((await readAll(summary.out)).data, expected, 'mean with cloud and nodata');
  });
});

describe('dynamic reference', () => {
  it('before 2015-09-09 takes 20150830 where it is clear, and the next older clear scene where it is not', async () => {
    const masks = await writeMask('dynamic-masks.tif', 2, (x, _y, band) => band === 1 && x >= 60);
    const out = path.join(dir, 'dynamic.tif');
    const age = path.join(dir, 'age.tif');
    const r = await clearsky(['reference', '--dynamic', '--date', '2015-09-09', '--out', out, '--age', age,
      scene('20150820'), scene('20150909'), scene('20150830'), '--masks', `${masks}:1`, `${masks}:1`, `${masks}:2`]);
    assert.equal(r.code, 0, r.stderr);
    const a = pixels.get('20150820')!.data;
    const b = pixels.get('20150830')!.data;
    const expected = new Float32Array(a.length);
    const expectedAge = new Float32Array(PIXELS);
    for (let p = 0; p < PIXELS; p++) {
      const cloudy0830 = p % WIDTH >= 60;
      expected.set((cloudy0830 ? a : b).subarray(p * 13, p * 13 + 13), p * 13);
      expectedAge[p] = cloudy0830 ? 20 : 10;
    }
    await withRaster(out, async (raster) => {
      assertValuesEqual((await readBands(raster, ALL_BANDS)).data, expected, 'dynamic reference');
      assert.deepEqual(raster.bandNames, S2_NAMES);
      assert.equal(raster.metadata.CLEARSKY_REFERENCE_DATE, '2015-09-09');
      assert.match(raster.metadata.CLEARSKY_REFERENCE_METHOD, /^dynamic/);
      assert.equal(raster.metadata.CLEARSKY_REFERENCE_SCENES, 'S2L1C_20150830.tif,S2L1C_20150820.tif', 'used scenes, latest first; 0909 is not before the date');
      assert.equal(raster.metadata.CLEARSKY_REFERENCE_SCENE_DATES, '2015-08-30,2015-08-20');
    });
    await withRaster(age, async (raster) => {
      assert.equal(raster.dataType, 'uint16');
      assert.deepEqual(raster.bandNames, ['AGE_DAYS']);
      assert.equal(raster.nodata, 0);
      assertValuesEqual((await readBands(raster, [0])).data, expectedAge, 'age in days');
    });
    assert.match(r.stderr, /latest clear of 2 scenes before 2015-09-09/);
  });

  it('with the s2cloudless masks: before 2015-09-09 it is 20150830; before 2015-08-30 the masks leave only 20150711', async () => {
    const days = ['20150711', '20150731', '20150820', '20150830', '20150909'];
    const bands = await Promise.all(days.map(maskBandOf));
    const masks = await readAll(MASKS, bands.map((band) => band - 1));
    const cover = days.map((_, d) => masks.data.filter((_, i) => i % days.length === d).reduce((n, v) => n + (v ? 1 : 0), 0));
    assert.deepEqual(cover, [0, PIXELS, PIXELS, 0, 0], 's2cloudless cover per date');

    const args = ['reference', '--dynamic', ...days.map(scene), '--masks', MASKS, '--mask-bands', bands.join(','), '--json'];
    const r1 = await clearsky([...args, '--date', '2015-09-09', '--out', path.join(dir, 'dyn-0909.tif')]);
    assert.equal(r1.code, 0, r1.stderr);
    assert.deepEqual(JSON.parse(r1.stdout).scenes.map((s: { pixels: number; used: boolean }) => [s.used, s.pixels]), [[true, 0], [true, 0], [true, 0], [true, PIXELS], [false, 0]]);
    assertValuesEqual((await readAll(path.join(dir, 'dyn-0909.tif'))).data, pixels.get('20150830')!.data, 'reference before 2015-09-09');

    const r2 = await clearsky([...args, '--date', '2015-08-30', '--out', path.join(dir, 'dyn-0830.tif')]);
    assert.equal(r2.code, 0, r2.stderr);
    assertValuesEqual((await readAll(path.join(dir, 'dyn-0830.tif'))).data, pixels.get('20150711')!.data, 'reference before 2015-08-30');
  });

  it('finds acquisition dates in metadata, else in the file name', () => {
    assert.deepEqual(sceneDate({ path: 'a.tif', metadata: { ACQUISITION_DATE: '2015-08-30T10:05:47' } }), { date: '2015-08-30', time: Date.UTC(2015, 7, 30, 10, 5, 47), source: 'metadata ACQUISITION_DATE' });
    assert.equal(sceneDate({ path: 'a.tif', metadata: { datatake_1_datatake_sensing_start: '2017-02-16T10:20:31.026Z' } })?.date, '2017-02-16');
    assert.equal(sceneDate({ path: 'a.tif', metadata: { SENSING_TIME: '2020:06:01 10:00:00' } })?.date, '2020-06-01');
    assert.equal(sceneDate({ path: '/x/S2L1C_20150830.tif', metadata: { PRODUCT: 'L1C' } })?.source, 'file name');
    assert.equal(sceneDate({ path: '/x/S2A_MSIL1C_20170216T102101_N0204_R065_T33UUU_20170216T102204.tif', metadata: {} })?.date, '2017-02-16');
    assert.equal(sceneDate({ path: 'clear-2019-07-04.tif', metadata: {} })?.date, '2019-07-04');
    assert.equal(sceneDate({ path: 'scene_20151340.tif', metadata: {} }), null, 'not a real day');
    assert.equal(sceneDate({ path: 'mean.tif', metadata: { TITLE: 'x' } }), null);
    assert.deepEqual(parseMaskChoice('C:\\data\\m.tif:4'), { path: 'C:\\data\\m.tif', band: 4 });
    assert.deepEqual(parseMaskChoice('m.tif:2015-08-30'), { path: 'm.tif', date: '2015-08-30' });
    assert.deepEqual(parseMaskChoice('C:\\data\\m.tif'), { path: 'C:\\data\\m.tif' });
  });
});

/** Runs a reference that must fail: exit 2, a short error whose first line matches, and no output file. */
async function assertRefused(args: string[], message: RegExp): Promise<string> {
  const out = path.join(dir, `refused-${Math.random().toString(36).slice(2)}.tif`);
  const r = await clearsky(['reference', '--out', out, ...args]);
  assert.equal(r.code, 2, `exit code; stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.match(lines[0], message);
  assert.ok(lines.length <= 2, `short error, got:\n${r.stderr}`);
  await assert.rejects(fs.access(out), 'no output file is left behind');
  assert.deepEqual((await fs.readdir(dir)).filter((f) => f.includes('refused')), []);
  return lines[0];
}

describe('clearsky reference refuses bad input with one line naming the file', () => {
  it('missing, not a TIFF, another grid, a missing band, masks', async () => {
    const notTiff = path.join(dir, 'notes.tif');
    await fs.writeFile(notTiff, 'field notes, not an image\n');
    const rgbOnly = path.join(dir, 'rgb-only.tif');
    await withRaster(scene('20150820'), async (like) => writeGeoTiff(rgbOnly, await readBands(like, [3, 2, 1]), { dataType: 'uint16', like, bandNames: ['B04', 'B03', 'B02'] }));

    await assertRefused([scene('20150830'), path.join(dir, 'missing.tif')], /missing\.tif.*not found/);
    await assertRefused([scene('20150830'), notTiff], /notes\.tif.*not a TIFF/);
    await assertRefused([scene('20150830'), dataFile('scotland-2020', 'S2L2A_mean_2019_B04B03B02.tif')], /S2L2A_mean_2019_B04B03B02\.tif.*not on the grid of .*S2L1C_20150830\.tif.*size/);
    await assertRefused([scene('20150830'), rgbOnly], /rgb-only\.tif: has no band B01/);
    await assertRefused([scene('20150830'), scene('20150820'), '--masks', `${MASKS}:4`], /1 mask for 2 scenes: give one mask per scene/);
    await assertRefused([scene('20150830'), '--masks', dataFile('scotland-2020', 'cloudmask.tif')], /cloudmask\.tif.*not on the grid of .*S2L1C_20150830\.tif/);
    await assertRefused([scene('20150830'), '--masks', MASKS], /cloudmasks_s2cloudless_2015-2017\.tif: has 68 bands; say which is the mask of S2L1C_20150830\.tif by appending :BAND/);
    await assertRefused([scene('20150830'), '--masks', `${MASKS}:2`], /cloudmasks_s2cloudless_2015-2017\.tif: band 2 is the mask of 2015-07-31, but .*S2L1C_20150830\.tif was acquired 2015-08-30/);
    await assertRefused([scene('20150830'), '--masks', `${MASKS}:99`], /cloudmasks_s2cloudless_2015-2017\.tif: has no band 99/);
  });

  it('dynamic: no date, nothing before the date, a bad --date; an unwritable folder', async () => {
    const undated = path.join(dir, 'clear-scene.tif');
    await withRaster(scene('20150820'), async (like) => writeGeoTiff(undated, await readBands(like, [3]), { dataType: 'uint16', like, bandNames: ['B04'] }));
    await assertRefused(['--dynamic', '--date', '2015-09-09', scene('20150830'), undated, '--bands', 'B04'], /clear-scene\.tif: has no acquisition date.*file name/);
    await assertRefused(['--dynamic', '--date', '2015-07-11', scene('20150711'), scene('20150830')], /no scene was acquired before 2015-07-11: S2L1C_20150711\.tif is 2015-07-11/);
    await assertRefused(['--dynamic', '--date', '9 Sept 2015', scene('20150830')], /--date must be a date as YYYY-MM-DD/);
    await assertRefused(['--dynamic', scene('20150830')], /--date is required/);
    const r = await clearsky(['reference', '--out', path.join(dir, 'no/such/folder/ref.tif'), scene('20150830')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /ref\.tif: cannot write here/);
    await assert.rejects(
      runReference({ scenes: [scene('20150830')], method: 'static', out: scene('20150830') }),
      (error) => error instanceof InputError && /--out is the same file as the scene/.test(error.message),
    );
  });
});
