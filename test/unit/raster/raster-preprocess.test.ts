/**
 * From file values to the network's scale (METHOD.md) and back, on the real scenes: Sentinel-2 digital
 * numbers, Sentinel-1 in linear and dB with explicit or described band order, cloud masks, and the refusal
 * of NaN.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { maskCover, type Image } from '../../../native/dip/image.ts';
import { InputError } from '../../../native/errors.ts';
import { openRaster, readBands, readRasterInfo, withRaster } from '../../../native/raster/tiff/geotiff-reader.ts';
import { writeGeoTiff } from '../../../native/raster/tiff/geotiff-writer.ts';
import { assertHasClearPixels, nodataMask, readMask } from '../../../native/raster/sentinel/mask.ts';
import { denormaliseS2, detectSarUnits, normaliseS2, resolveSarBands } from '../../../native/raster/sentinel/preprocess.ts';
import { readS1, readS2, readS2Mean } from '../../../native/raster/sentinel/sources.ts';
import { dataFile } from '../../helpers/data.ts';

const T33UUU = dataFile('T33UUU-20170216', 'S2L1C_T33UUU_20170216_10m.tif');
const SLOVENIA = dataFile('slovenia-2015', 'S2L1C_20150909.tif');
const SLOVENIA_MASKS = dataFile('slovenia-2015', 'cloudmasks_s2cloudless_2015-2017.tif');
const SCOTLAND_S1 = dataFile('scotland-2020', 'S1_GRD_sigma0_linear.tif');
const SCOTLAND_MASK = dataFile('scotland-2020', 'cloudmask.tif');
const NIGERIA_S1 = dataFile('nigeria-sen12mscr', 's1.tif');

let tmp: string;
before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-raster-pre-'));
});
after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

/** The band `band` of `image` as an array. */
function bandValues(image: Image, band: number): number[] {
  const values: number[] = [];
  for (let i = band; i < image.data.length; i += image.bands) values.push(image.data[i]);
  return values;
}

/** METHOD.md's SAR scaling, written out independently: dB, clip to [lo, 0], 2·(x − lo)/(−lo). */
function sarScale(db: number, lo: number): number {
  const clipped = Math.min(0, Math.max(lo, db));
  return (2 * (clipped - lo)) / -lo;
}

function assertClose(actual: number[], expected: number[], tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

describe('Sentinel-2', () => {
  it('clips digital numbers to [0, 10000] and divides by 2000 (T33UUU has a bright target above 10000)', async () => {
    const raw = await withRaster(T33UUU, (raster) => readBands(raster, [...Array(13).keys()], { x: 768, y: 256, width: 256, height: 256 }));
    const above = raw.data.filter((dn) => dn > 10000).length;
    assert.ok(above > 0, 'the window should contain digital numbers above 10000');
    const scaled = normaliseS2(raw, T33UUU);
    let atCeiling = 0;
    for (let i = 0; i < raw.data.length; i++) {
      assert.ok(Math.abs(scaled.data[i] - Math.min(raw.data[i], 10000) / 2000) < 1e-6);
      if (scaled.data[i] === 5) atCeiling++;
    }
    assert.ok(atCeiling >= above);
  });

  it('returns the digital numbers it was given, within [0, 10000], when scaled back for a uint16 output', async () => {
    const raw = await withRaster(SLOVENIA, (raster) => readBands(raster, [...Array(13).keys()]));
    assert.deepEqual(denormaliseS2(normaliseS2(raw, SLOVENIA), 'uint16'), raw);
  });

  it('rounds and clips network outputs to the output data type', () => {
    const out = denormaliseS2({ width: 4, height: 1, bands: 1, data: Float32Array.from([0.00026, -0.1, 6, 40]) }, 'uint16');
    assert.deepEqual(Array.from(out.data), [1, 0, 12000, 65535]);
    const bytes = denormaliseS2({ width: 1, height: 1, bands: 1, data: Float32Array.from([1]) }, 'uint8');
    assert.deepEqual(Array.from(bytes.data), [255]);
  });

  it('reads bands by name in the network scale, and the mean of references', async () => {
    const names = ['B04', 'B03', 'B02'];
    const july = dataFile('slovenia-2015', 'S2L1C_20150711.tif');
    const august = dataFile('slovenia-2015', 'S2L1C_20150830.tif');
    const [a, b] = await Promise.all([july, august].map((file) => withRaster(file, (raster) => readS2(raster, names))));
    assert.equal(a.bands, 3);
    const rasters = [await openRaster(july), await openRaster(august)];
    try {
      const mean = await readS2Mean(rasters, names);
      assertClose(Array.from(mean.data), Array.from(a.data, (v, i) => (v + b.data[i]) / 2), 1e-6, 'mean');
    } finally {
      await Promise.all(rasters.map((raster) => raster.close()));
    }
  });

  it('refuses NaN pixels, saying how many; NaN declared as nodata becomes 0 and is masked', async () => {
    const raw = await withRaster(SLOVENIA, (raster) => readBands(raster, [3, 2, 1]));
    const holes = [0, 17, 5050, 10099];
    for (const pixel of holes) raw.data[pixel * 3 + 1] = NaN;
    const file = path.join(tmp, 's2-with-nan.tif');
    await writeGeoTiff(file, raw, { dataType: 'float32', bandNames: ['B04', 'B03', 'B02'] });
    await withRaster(file, async (raster) => {
      await assert.rejects(readS2(raster, ['B04', 'B03', 'B02']), (error: unknown) =>
        error instanceof InputError && error.file === file && /4 of 10100 pixels have NaN/.test(error.message),
      );
    });

    for (const pixel of holes) raw.data.fill(NaN, pixel * 3, pixel * 3 + 3);
    const withNodata = path.join(tmp, 's2-nodata-nan.tif');
    await writeGeoTiff(withNodata, raw, { dataType: 'float32', bandNames: ['B04', 'B03', 'B02'], nodata: NaN });
    await withRaster(withNodata, async (raster) => {
      assert.ok(Number.isNaN(raster.nodata));
      const scaled = await readS2(raster, ['B04', 'B03', 'B02']);
      const unreadable = nodataMask(await readBands(raster, [0, 1, 2]), raster.nodata);
      for (const pixel of holes) {
        assert.deepEqual(Array.from(scaled.data.subarray(pixel * 3, pixel * 3 + 3)), [0, 0, 0]);
        assert.equal(unreadable?.data[pixel], 1);
      }
      assert.equal(unreadable?.data.reduce((n, v) => n + v, 0), holes.length);
    });
  });
});

describe('Sentinel-1', () => {
  it('finds VH and VV in the Scotland file by description (it is ordered VH, VV) and scales linear sigma0', async () => {
    await withRaster(SCOTLAND_S1, async (raster) => {
      assert.deepEqual(resolveSarBands(raster), { vv: 1, vh: 0 });
      const raw = await readBands(raster, [1, 0]);
      assert.equal(detectSarUnits([raster.bandNames[1], raster.bandNames[0]], raw), 'linear');
      const sar = await readS1(raster);
      assert.equal(sar.bands, 2);
      assertClose(bandValues(sar, 0), bandValues(raw, 0).map((v) => sarScale(10 * Math.log10(v), -25)), 1e-5, 'VV');
      assertClose(bandValues(sar, 1), bandValues(raw, 1).map((v) => sarScale(10 * Math.log10(v), -32.5)), 1e-5, 'VH');
      assert.ok(sar.data.every((v) => v >= 0 && v <= 2));
    });
  });

  it('gives the same result for the same backscatter stored in dB, telling dB from the values', async () => {
    const linear = await withRaster(SCOTLAND_S1, (raster) => readS1(raster));
    const dbFile = path.join(tmp, 'scotland-s1-db.tif');
    await withRaster(SCOTLAND_S1, async (raster) => {
      const raw = await readBands(raster, [0, 1, 2]);
      for (let i = 0; i < raw.data.length; i++) if (i % 3 !== 2) raw.data[i] = 10 * Math.log10(raw.data[i]);
      await writeGeoTiff(dbFile, raw, { dataType: 'float32', like: raster, bandNames: raster.bandNames });
    });
    const db = await withRaster(dbFile, (raster) => readS1(raster));
    assertClose(Array.from(db.data), Array.from(linear.data), 1e-5, 'dB vs linear');
  });

  it('reads the Nigeria file as VV, VH in dB', async () => {
    await withRaster(NIGERIA_S1, async (raster) => {
      assert.deepEqual(resolveSarBands(raster), { vv: 0, vh: 1 });
      const raw = await readBands(raster, [0, 1]);
      const sar = await readS1(raster);
      assertClose(bandValues(sar, 0), bandValues(raw, 0).map((v) => sarScale(v, -25)), 1e-5, 'VV');
      assertClose(bandValues(sar, 1), bandValues(raw, 1).map((v) => sarScale(v, -32.5)), 1e-5, 'VH');
    });
  });

  it('uses an explicit band choice over the descriptions (the authors read Scotland as VV, VH)', async () => {
    await withRaster(SCOTLAND_S1, async (raster) => {
      const raw = await readBands(raster, [0]);
      const sar = await readS1(raster, { bands: { vv: 0, vh: 1 }, units: 'linear' });
      assertClose(bandValues(sar, 0), Array.from(raw.data, (v) => sarScale(10 * Math.log10(v), -25)), 1e-5, 'VV from band 1');
    });
  });

  it('refuses to guess VV and VH when the descriptions do not say', async () => {
    const info = await readRasterInfo(SCOTLAND_MASK);
    assert.throws(() => resolveSarBands(info), (error: unknown) =>
      error instanceof InputError && error.file === SCOTLAND_MASK && /cannot tell which band is VV.*1=cloud/.test(error.message),
    );
    assert.throws(() => resolveSarBands(info, { vv: 0, vh: 3 }), /has no band 4 for VH/);
  });

  it('refuses NaN in the SAR, saying how many pixels', async () => {
    const file = path.join(tmp, 's1-with-nan.tif');
    await withRaster(SCOTLAND_S1, async (raster) => {
      const raw = await readBands(raster, [0, 1, 2]);
      for (let pixel = 0; pixel < 37; pixel++) raw.data[pixel * 3 * 101] = NaN;
      await writeGeoTiff(file, raw, { dataType: 'float32', like: raster, bandNames: raster.bandNames });
    });
    await withRaster(file, async (raster) => {
      await assert.rejects(readS1(raster), /s1-with-nan\.tif: 37 of 65536 pixels have NaN or infinite values/);
    });
  });
});

describe('cloud masks', () => {
  it('reads the Scotland mask: 18.7 % cloud, as the data README says', async () => {
    const mask = await readMask(SCOTLAND_MASK);
    assert.deepEqual([mask.width, mask.height], [256, 256]);
    assert.ok(Math.abs(maskCover(mask) - 0.187) < 0.0005, String(maskCover(mask)));
    assertHasClearPixels(mask, SCOTLAND_MASK);
  });

  it('reads one band of the Slovenia masks on the target grid', async () => {
    const target = await readRasterInfo(SLOVENIA);
    const mask = await readMask(SLOVENIA_MASKS, { band: 13, like: target });
    const cover = maskCover(mask);
    assert.ok(cover >= 0.1 && cover <= 0.5, `band 14 is one of the 10–50 % masks, cover ${cover}`);
  });

  it('refuses a fully cloudy mask (2015-07-31) when clear pixels are needed', async () => {
    const mask = await readMask(SLOVENIA_MASKS, { band: 1 });
    assert.equal(maskCover(mask), 1);
    assert.throws(() => assertHasClearPixels(mask, SLOVENIA_MASKS), (error: unknown) =>
      error instanceof InputError && error.file === SLOVENIA_MASKS && /all 10100 pixels as cloud/.test(error.message),
    );
  });

  it('refuses a mask on another grid', async () => {
    const target = await readRasterInfo(SLOVENIA);
    await assert.rejects(readMask(SCOTLAND_MASK, { like: target }), (error: unknown) =>
      error instanceof InputError && error.file === SCOTLAND_MASK && error.message.includes(SLOVENIA),
    );
  });
});
