/**
 * Cloud masks from binary masks, SCL layers and cloud probabilities, on real data: the Scotland mask
 * reproduced, Slovenia's s2cloudless band, an SCL made from real data at 20 m brought onto the 10 m grid,
 * dilation streamed across tiles of a full 1536 × 768 scene, and the errors a user can cause.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createMask, type Mask } from '../../../native/dip/image.ts';
import { dilateMask } from '../../../native/dip/mask-ops.ts';
import { InputError } from '../../../native/errors.ts';
import { readCloudMask, writeCloudMask } from '../../../native/raster/sentinel/cloud-masks.ts';
import { readBands, readRasterInfo, withRaster } from '../../../native/raster/tiff/geotiff-reader.ts';
import { writeGeoTiff } from '../../../native/raster/tiff/geotiff-writer.ts';
import { readMaskBand } from '../../../native/raster/sentinel/mask.ts';
import type { RasterInfo } from '../../../native/raster/tiff/raster-info.ts';
import { dataFile } from '../../helpers/data.ts';
import { gdalinfo, gdalTranslate } from '../../helpers/gdal.ts';

const SCOTLAND_MASK = dataFile('scotland-2020', 'cloudmask.tif');
const SCOTLAND_MEAN = dataFile('scotland-2020', 'S2L2A_mean_2019_B04B03B02.tif');
const SLOVENIA_MASKS = dataFile('slovenia-2015', 'cloudmasks_s2cloudless_2015-2017.tif');
const SCENE = dataFile('T33UUU-20170216', 'S2L1C_T33UUU_20170216_10m.tif');

let tmp: string;
let scotland: RasterInfo;
let scotlandMask: Mask;
/** A 10 m SCL-like class raster made from the real Scotland mask and mean, and its 20 m version. */
let scl10: string;
let scl20: string;

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-cloud-masks-'));
  scotland = await readRasterInfo(SCOTLAND_MEAN);
  scotlandMask = await withRaster(SCOTLAND_MASK, (raster) => readMaskBand(raster));
  // Classes from real data: cloud → 9 (bright) or 8, clear → 6 water (dark) or 4 vegetation, a band of
  // shadow (3) and cirrus (10) below the clouds, no data (0) in the top-left corner.
  const red = await withRaster(SCOTLAND_MEAN, (raster) => readBands(raster, [0]));
  const classes = new Float32Array(256 * 256);
  for (let p = 0; p < classes.length; p++) {
    const [col, row] = [p % 256, Math.floor(p / 256)];
    if (col < 20 && row < 30) classes[p] = 0;
    else if (scotlandMask.data[p]) classes[p] = red.data[p] > 600 ? 9 : 8;
    else if (p >= 256 && scotlandMask.data[p - 256]) classes[p] = col % 3 === 0 ? 10 : 3;
    else classes[p] = red.data[p] < 300 ? 6 : 4;
  }
  scl10 = path.join(tmp, 'scl10.tif');
  await writeGeoTiff(scl10, { width: 256, height: 256, bands: 1, data: classes }, { dataType: 'uint8', like: scotland, bandNames: ['SCL'] });
  scl20 = path.join(tmp, 'scl20.tif');
  gdalTranslate(['-tr', '20', '20', '-r', 'nearest', scl10, scl20]);
});
after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

function cover(mask: Mask): number {
  return mask.data.reduce((n, v) => n + v, 0) / mask.data.length;
}

async function rejectsWith(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof InputError, `an InputError, not ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('binary masks', () => {
  it('reproduces the real Scotland mask (18.7 % cloud) and writes it as a UInt8 "cloud mask" with provenance', async () => {
    const mask = await readCloudMask({ kind: 'binary', path: SCOTLAND_MASK });
    assert.deepEqual(mask, scotlandMask);
    assert.equal(cover(mask).toFixed(3), '0.187');

    const out = path.join(tmp, 'scotland.tif');
    const written = await writeCloudMask(out, { kind: 'binary', path: SCOTLAND_MASK });
    assert.equal(written.cloudPixels, 12244);
    assert.equal(written.resampled, false);
    const info = gdalinfo(out, ['-checksum']);
    assert.equal(info.bands[0].type, 'Byte');
    assert.equal(info.bands[0].description, 'cloud mask');
    assert.equal(info.bands[0].checksum, gdalinfo(SCOTLAND_MASK, ['-checksum']).bands[0].checksum);
    assert.deepEqual(info.geoTransform, gdalinfo(SCOTLAND_MASK).geoTransform);
    assert.equal(info.metadata['']?.CLEARSKY_MASK_KIND, 'binary');
    assert.equal(info.metadata['']?.CLEARSKY_MASK_SOURCE, SCOTLAND_MASK);
  });

  it('reads one band of Slovenia\'s 68-band s2cloudless file; without --band it is an error', async () => {
    const mask = await readCloudMask({ kind: 'binary', path: SLOVENIA_MASKS, band: 19 });
    assert.deepEqual(mask, await withRaster(SLOVENIA_MASKS, (raster) => readMaskBand(raster, 18)));
    assert.ok(cover(mask) > 0 && cover(mask) < 1);
    await rejectsWith(readCloudMask({ kind: 'binary', path: SLOVENIA_MASKS }), /cloudmasks_s2cloudless_2015-2017\.tif: has 68 bands .*--band/);
    await rejectsWith(readCloudMask({ kind: 'binary', path: SLOVENIA_MASKS, band: 69 }), /has no band 69 \(it has 68/);
  });
});

describe('Scene Classification (SCL)', () => {
  it('a 20 m SCL on the 10 m grid equals its classes replicated onto the 10 m pixels', async () => {
    const classes20 = await withRaster(scl20, (raster) => readBands(raster, [0]));
    assert.deepEqual([classes20.width, classes20.height], [128, 128]);
    for (const chosen of [undefined, [8, 9]]) {
      const isCloud = new Set(chosen ?? [3, 8, 9, 10]);
      const expected = createMask(256, 256);
      for (let p = 0; p < expected.data.length; p++) {
        const [col, row] = [p % 256, Math.floor(p / 256)];
        expected.data[p] = isCloud.has(classes20.data[Math.floor(row / 2) * 128 + Math.floor(col / 2)]) ? 1 : 0;
      }
      const out = path.join(tmp, 'scl-mask.tif');
      const written = await writeCloudMask(out, { kind: 'scl', path: scl20, classes: chosen }, { like: scotland });
      assert.equal(written.resampled, true);
      const mask = await withRaster(out, async (raster) => {
        assert.deepEqual(raster.geoTransform, scotland.geoTransform);
        assert.equal(raster.metadata.CLEARSKY_MASK_CLASSES, [...isCloud].sort((a, b) => a - b).join(','));
        return readMaskBand(raster);
      });
      assert.deepEqual(mask, expected);
      assert.ok(cover(mask) > 0.1, `cover ${cover(mask)}`);
    }
  });

  it('on its own 10 m grid: default classes 3, 8, 9, 10; class 0 (no data) is never cloud', async () => {
    const mask = await readCloudMask({ kind: 'scl', path: scl10 });
    const classes = await withRaster(scl10, (raster) => readBands(raster, [0]));
    for (let p = 0; p < mask.data.length; p++) assert.equal(mask.data[p], [3, 8, 9, 10].includes(classes.data[p]) ? 1 : 0);
    assert.equal(mask.data[0], 0);
    const dilated = await readCloudMask({ kind: 'scl', path: scl10, classes: [8, 9] }, { dilate: 2 });
    const real = createMask(256, 256);
    for (let p = 0; p < real.data.length; p++) real.data[p] = classes.data[p] === 0 ? 0 : scotlandMask.data[p];
    assert.deepEqual(dilated, dilateMask(real, 2), 'classes 8 and 9 are the real cloud mask outside the no-data corner');
  });

  it('refuses values outside 0–11 and classes that do not exist', async () => {
    await rejectsWith(readCloudMask({ kind: 'scl', path: SCOTLAND_MEAN, band: 1 }), /S2L2A_mean_2019_B04B03B02\.tif: holds the value \d+, which is not a Scene Classification class \(0–11\)/);
    await rejectsWith(readCloudMask({ kind: 'scl', path: scl10, classes: [0, 9] }), /SCL class 0 does not exist as cloud \(0 is no data\)/);
    await rejectsWith(readCloudMask({ kind: 'scl', path: scl10, classes: [12] }), /SCL class 12 does not exist/);
  });
});

describe('cloud probability', () => {
  let probability: string;
  let expectedAt: (threshold: number) => Mask;
  before(async () => {
    // A real-valued raster in 0–1: the Scotland red band as "probability" (reflectance × 10000 / 4000, clipped).
    const red = await withRaster(SCOTLAND_MEAN, (raster) => readBands(raster, [0]));
    const values = red.data.map((v) => Math.min(v / 4000, 1));
    probability = path.join(tmp, 'probability.tif');
    await writeGeoTiff(probability, { ...red, data: values }, { dataType: 'float32', like: scotland });
    expectedAt = (threshold) => ({ width: 256, height: 256, data: Uint8Array.from(values, (v) => (v > threshold ? 1 : 0)) });
  });

  it('float probabilities 0–1: cloud where probability > threshold', async () => {
    for (const threshold of [0.1, 0.25]) {
      const mask = await readCloudMask({ kind: 'probability', path: probability, threshold });
      assert.deepEqual(mask, expectedAt(threshold));
      assert.ok(cover(mask) > 0.01 && cover(mask) < 0.99, `cover ${cover(mask)} at ${threshold}`);
    }
  });

  it('integer probabilities need --scale; with it, 0–255 and 0–100 rasters agree with the float one', async () => {
    const byte = path.join(tmp, 'probability-255.tif');
    gdalTranslate(['-ot', 'Byte', '-scale', '0', '1', '0', '255', probability, byte]);
    await rejectsWith(readCloudMask({ kind: 'probability', path: byte, threshold: 0.25 }), /probability-255\.tif: is an integer \(Byte\) probability raster: .*--scale \(255 for Sentinel Hub CLP, 100 for Sen2Cor MSK_CLDPRB\)/);
    const at255 = await readCloudMask({ kind: 'probability', path: byte, threshold: 0.25, scale: 255 });
    const expected = expectedAt(0.25);
    let differ = 0;
    for (let p = 0; p < expected.data.length; p++) differ += at255.data[p] !== expected.data[p] ? 1 : 0;
    assert.ok(differ < 0.01 * expected.data.length, `${differ} pixels differ (rounding to 1/255 only)`);
    // A 0–255 raster read as percentages: values above 100 are caught, not obeyed.
    await rejectsWith(readCloudMask({ kind: 'probability', path: byte, threshold: 0.25, scale: 100 }), /holds the value \d+, outside the probability scale 0–100; check --scale/);
  });

  it('refuses thresholds outside (0, 1) and float values outside 0–1', async () => {
    for (const threshold of [0, 1, 1.5, -0.1, NaN]) {
      await rejectsWith(readCloudMask({ kind: 'probability', path: probability, threshold }), /probability\.tif: the cloud-probability threshold must be between 0 and 1/);
    }
    await rejectsWith(readCloudMask({ kind: 'probability', path: SCOTLAND_MEAN, band: 1, threshold: 0.4, scale: 1 }), /outside the probability scale 0–1/);
    const percent = path.join(tmp, 'percent.tif');
    gdalTranslate(['-scale', '0', '1', '0', '100', probability, percent]);
    await rejectsWith(readCloudMask({ kind: 'probability', path: percent, threshold: 0.4 }), /outside the probability scale 0–1; for percentages give --scale 100/);
  });

  it('nodata pixels are not cloud', async () => {
    const withNodata = path.join(tmp, 'probability-nodata.tif');
    const values = new Float32Array(256 * 256).fill(0.9);
    values.fill(-1, 0, 256 * 10);
    await writeGeoTiff(withNodata, { width: 256, height: 256, bands: 1, data: values }, { dataType: 'float32', like: scotland, nodata: -1 });
    const mask = await readCloudMask({ kind: 'probability', path: withNodata, threshold: 0.5 });
    assert.equal(mask.data.subarray(0, 2560).reduce((n, v) => n + v, 0), 0);
    assert.equal(mask.data.subarray(2560).reduce((n, v) => n + v, 0), 256 * 246);
  });
});

describe('dilation and streaming', () => {
  it('dilating a 1536 × 768 mask window by window (with a halo) equals dilateMask of the whole', async () => {
    // A real mask of the full scene: the brightest 5 % of B02 (the thin cloud streaks in the east), as a binary GeoTIFF.
    const blue = await withRaster(SCENE, (raster) => readBands(raster, [1]));
    const threshold = blue.data.slice().sort()[Math.floor(0.95 * blue.data.length)];
    const binary = path.join(tmp, 'scene-mask.tif');
    const info = await readRasterInfo(SCENE);
    await writeGeoTiff(binary, { ...blue, data: blue.data.map((v) => (v > threshold ? 1 : 0)) }, { dataType: 'uint8', like: info });
    const whole = await withRaster(binary, (raster) => readMaskBand(raster));
    assert.ok(cover(whole) > 0.001 && cover(whole) < 0.5, `cover ${cover(whole)}`);
    for (const radius of [0, 5, 40]) {
      const out = path.join(tmp, `dilated-${radius}.tif`);
      const written = await writeCloudMask(out, { kind: 'binary', path: binary }, { dilate: radius, keepMask: true });
      const expected = dilateMask(whole, radius);
      assert.deepEqual(written.mask, expected);
      assert.deepEqual(await withRaster(out, (raster) => readMaskBand(raster)), expected);
      assert.equal(written.cloudPixels, expected.data.reduce((n, v) => n + v, 0));
    }
    const overviews = gdalinfo(path.join(tmp, 'dilated-5.tif')).bands[0] as { overviews?: unknown[] };
    assert.ok((overviews.overviews?.length ?? 0) >= 1, 'a multi-tile mask has overviews');
  });

  it('refuses a negative or fractional dilation', async () => {
    await rejectsWith(readCloudMask({ kind: 'binary', path: SCOTLAND_MASK }, { dilate: -1 }), /dilation must be a whole number/);
    await rejectsWith(readCloudMask({ kind: 'binary', path: SCOTLAND_MASK }, { dilate: 1.5 }), /dilation must be a whole number/);
  });
});

describe('grids', () => {
  it('a source that does not cover the --like grid is an error naming both files', async () => {
    const crop = path.join(tmp, 'crop.tif');
    gdalTranslate(['-srcwin', '0', '0', '200', '256', SCOTLAND_MASK, crop]);
    await rejectsWith(readCloudMask({ kind: 'binary', path: crop }, { like: scotland }), new RegExp(`crop\\.tif: does not cover the whole grid of .*S2L2A_mean_2019_B04B03B02\\.tif \\(size is 200×256, not 256×256\\)`));
  });

  it('a source in a CRS we cannot transform is an error naming both files and the EPSG code', async () => {
    const other = path.join(tmp, 'osgb.tif');
    execFileSync('gdalwarp', ['-q', '-t_srs', 'EPSG:27700', '-tr', '10', '10', SCOTLAND_MASK, other], { stdio: 'ignore' });
    await rejectsWith(readCloudMask({ kind: 'binary', path: other }, { like: scotland }), /osgb\.tif: is not on the grid of .*S2L2A_mean_2019_B04B03B02\.tif \(.*CRS is EPSG:27700, not EPSG:32630.*\) and cannot be resampled onto it: .*EPSG:27700 is not one Clearsky can reproject/);
  });

  it('a source in another UTM zone is reprojected onto the --like grid (nearest)', async () => {
    const other = path.join(tmp, 'utm29.tif');
    execFileSync('gdalwarp', ['-q', '-t_srs', 'EPSG:32629', '-tr', '10', '10', '-r', 'near', '-te_srs', 'EPSG:32630', '-te', '504310', '6192130', '507830', '6195630', SCOTLAND_MASK, other], { stdio: 'ignore' });
    const mask = await readCloudMask({ kind: 'binary', path: other }, { like: scotland });
    let same = 0;
    for (let p = 0; p < mask.data.length; p++) same += mask.data[p] === scotlandMask.data[p] ? 1 : 0;
    // Two nearest-neighbour resamplings through a rotated grid move edges by up to a pixel.
    assert.ok(same > 0.95 * mask.data.length, `${same} of ${mask.data.length} agree`);
    assert.ok(Math.abs(cover(mask) - cover(scotlandMask)) < 0.01);
  });
});
