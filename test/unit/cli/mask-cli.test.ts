/**
 * `clearsky mask` as users run it: a real child process on the real Scotland and Slovenia data. Bad input
 * exits 2 with one line naming the file, and leaves no output behind.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readBands, withRaster } from '../../../native/raster/tiff/geotiff-reader.ts';
import { readMaskBand } from '../../../native/raster/sentinel/mask.ts';
import { dataFile } from '../../helpers/data.ts';
import { gdalinfo, gdalTranslate } from '../../helpers/gdal.ts';
import { runClearsky } from '../../helpers/cli.ts';

const SCOTLAND_MASK = dataFile('scotland-2020', 'cloudmask.tif');
const SCOTLAND_MEAN = dataFile('scotland-2020', 'S2L2A_mean_2019_B04B03B02.tif');
const SLOVENIA_MASKS = dataFile('slovenia-2015', 'cloudmasks_s2cloudless_2015-2017.tif');
let dir: string;

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-mask-cli-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const clearsky = (args: string[]) => runClearsky(args, dir);

describe('clearsky mask', () => {
  it('--from reproduces the Scotland mask, with its outline as GeoJSON in EPSG:32630', async () => {
    const out = path.join(dir, 'scotland.tif');
    const geojson = path.join(dir, 'scotland.geojson');
    const r = await clearsky(['mask', '--from', SCOTLAND_MASK, '--out', out, '--geojson', geojson, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.cloud_pixels, 12244);
    assert.equal(summary.cloud_fraction.toFixed(3), '0.187');
    assert.ok(summary.outline_polygons > 0);
    assert.equal(gdalinfo(out, ['-checksum']).bands[0].checksum, gdalinfo(SCOTLAND_MASK, ['-checksum']).bands[0].checksum);
    const outline = JSON.parse(await fs.readFile(geojson, 'utf8'));
    assert.equal(outline.crs.properties.name, 'urn:ogc:def:crs:EPSG::32630');
    assert.equal(outline.features[0].properties.pixels, 12244);

    const text = await clearsky(['mask', '--from', SCOTLAND_MASK, '--out', out, '--dilate', '2']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stderr, /^wrote .*scotland\.tif \(256×256\): \d+\.\d % cloud, \d+ pixels, dilated by 2\n$/);
  });

  it('--from-scl at 20 m with --like a 10 m scene, and a Slovenia band with --band', async () => {
    // An SCL-like file at 20 m: the real mask as class 9, the rest class 4.
    const scl10 = path.join(dir, 'scl10.tif');
    gdalTranslate(['-scale', '0', '1', '4', '9', SCOTLAND_MASK, scl10]);
    const scl20 = path.join(dir, 'scl20.tif');
    gdalTranslate(['-tr', '20', '20', '-r', 'nearest', scl10, scl20]);
    const out = path.join(dir, 'scl.tif');
    const r = await clearsky(['mask', '--from-scl', scl20, '--classes', '9', '--like', SCOTLAND_MEAN, '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.resampled, true);
    assert.deepEqual([summary.width, summary.height], [256, 256]);
    const coarse = await withRaster(scl20, (raster) => readBands(raster, [0]));
    const mask = await withRaster(out, (raster) => readMaskBand(raster));
    for (let p = 0; p < mask.data.length; p++) {
      const [col, row] = [p % 256, Math.floor(p / 256)];
      assert.equal(mask.data[p], coarse.data[Math.floor(row / 2) * 128 + Math.floor(col / 2)] === 9 ? 1 : 0);
    }
    assert.equal(gdalinfo(out).metadata['']?.CLEARSKY_MASK_RESAMPLING, `nearest, from the grid of ${scl20}`);

    const band = path.join(dir, 'slovenia.tif');
    const s = await clearsky(['mask', '--from', SLOVENIA_MASKS, '--band', '19', '--out', band]);
    assert.equal(s.code, 0, s.stderr);
    assert.deepEqual(await withRaster(band, (raster) => readMaskBand(raster)), await withRaster(SLOVENIA_MASKS, (raster) => readMaskBand(raster, 18)));
  });

  it('bad input: exit 2, one line naming the file, no output left behind', async () => {
    const crop = path.join(dir, 'crop.tif');
    gdalTranslate(['-srcwin', '0', '0', '128', '256', SCOTLAND_MASK, crop]);
    const cases: [string[], RegExp][] = [
      [['--from', SLOVENIA_MASKS], /cloudmasks_s2cloudless_2015-2017\.tif: has 68 bands .*choose one with --band/],
      [['--from-probability', SCOTLAND_MASK, '--threshold', '1.5'], /cloudmask\.tif: the cloud-probability threshold must be between 0 and 1/],
      [['--from-probability', SCOTLAND_MASK, '--threshold', '0.4'], /cloudmask\.tif: is an integer \(Byte\) probability raster: .*--scale/],
      [['--from-scl', SCOTLAND_MEAN, '--band', '1'], /S2L2A_mean_2019_B04B03B02\.tif: holds the value \d+, which is not a Scene Classification class/],
      [['--from', crop, '--like', SCOTLAND_MEAN], /crop\.tif: does not cover the whole grid of .*S2L2A_mean_2019_B04B03B02\.tif/],
      [['--from', path.join(dir, 'missing.tif')], /missing\.tif: file not found/],
    ];
    for (const [args, message] of cases) {
      const out = path.join(dir, 'bad.tif');
      const geojson = path.join(dir, 'bad.geojson');
      const r = await clearsky(['mask', ...args, '--out', out, '--geojson', geojson]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /^clearsky: /);
      assert.match(lines[0], message);
      assert.deepEqual((await fs.readdir(dir)).filter((name) => name.startsWith('bad') || name.includes('.tmp')), [], 'no output left behind');
    }
    const usage = await clearsky(['mask', '--from', SCOTLAND_MASK, '--from-scl', SCOTLAND_MASK, '--out', path.join(dir, 'bad.tif')]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /exactly one of --from, --from-scl, --from-probability/);
  });
});

describe('clearsky mask --detect', () => {
  const NIGERIA = dataFile('nigeria-sen12mscr', 's2_cloudy.tif');

  it('writes a mask GeoTIFF on the scene’s grid, with cloud and shadow, that clearsky inpaint --mask takes', async () => {
    const out = path.join(dir, 'detected.tif');
    const geojson = path.join(dir, 'detected.geojson');
    const r = await clearsky(['mask', '--detect', NIGERIA, '--dilate', '2', '--out', out, '--geojson', geojson, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.kind, 'detected');
    assert.ok(summary.cloud_fraction > 0.2 && summary.cloud_fraction < 0.7, String(summary.cloud_fraction));
    assert.equal(summary.detection.sunSource, 'searched');
    assert.ok(summary.detection.cast, 'shadows matched');
    const [mask, scene] = [gdalinfo(out), gdalinfo(NIGERIA)];
    assert.deepEqual(mask.size, scene.size);
    assert.deepEqual(mask.geoTransform, scene.geoTransform);
    assert.equal(mask.coordinateSystem?.wkt, scene.coordinateSystem?.wkt);
    assert.equal(mask.bands.length, 1);
    assert.equal(mask.bands[0].type, 'Byte');
    assert.equal(mask.bands[0].description, 'cloud mask');
    assert.equal(mask.metadata['']?.CLEARSKY_MASK_KIND, 'detected');
    const values = await withRaster(out, (raster) => readMaskBand(raster));
    assert.ok(values.data.every((v) => v === 0 || v === 1));
    assert.equal(JSON.parse(await fs.readFile(geojson, 'utf8')).features[0].properties.pixels, summary.cloud_pixels);

    const text = await clearsky(['mask', '--detect', NIGERIA, '--no-shadows', '--threshold', '0.3', '--out', path.join(dir, 'cloud-only.tif')]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stderr, /^wrote .*cloud-only\.tif \(256×256\): \d+\.\d % cloud and shadow, \d+ pixels; bands B02,B03,B04,B08,B11,B01,B10 \(B10 cirrus test\); .*shadows not looked for\n$/);

    const result = path.join(dir, 'filled.tif');
    const inpaint = await clearsky(['inpaint', '--target', NIGERIA, '--mask', out, '--method', 'idw-fill', '--bands', 'B04,B03,B02', '--out', result]);
    assert.equal(inpaint.code, 0, inpaint.stderr);
    assert.deepEqual(gdalinfo(result).size, scene.size);
  });

  it('bad input: exit 2, one line naming the file (a missing band names it), no output left behind', async () => {
    const cases: [string[], RegExp][] = [
      [['--detect', SCOTLAND_MEAN], /S2L2A_mean_2019_B04B03B02\.tif: cloud detection needs bands B02, B03, B04, B08, B11, and the file has no band B08/],
      [['--detect', NIGERIA, '--like', SCOTLAND_MEAN], /S2L2A_mean_2019_B04B03B02\.tif: --like is for imported masks/],
      [['--detect', NIGERIA, '--threshold', '1.5'], /detection threshold must be between 0 and 1/],
      [['--detect', NIGERIA, '--sun-azimuth', '150'], /--sun-azimuth and --sun-zenith go together/],
      [['--from', SCOTLAND_MASK, '--no-shadows'], /--no-shadows is for --detect/],
      [['--detect', path.join(dir, 'missing.tif')], /missing\.tif: file not found/],
    ];
    for (const [args, message] of cases) {
      const out = path.join(dir, 'bad.tif');
      const r = await clearsky(['mask', ...args, '--out', out]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr.trim().split('\n')[0], message);
      assert.deepEqual((await fs.readdir(dir)).filter((name) => name.startsWith('bad') || name.includes('.tmp')), [], 'no output left behind');
    }
  });
});
