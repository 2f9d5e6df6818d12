/**
 * Reading the real Sentinel GeoTIFFs: headers as the data README describes them, georeferencing as GDAL
 * reads it, pixels by window and in every storage layout, and one-line InputErrors for files we cannot read.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../../native/errors.ts';
import { openRaster, readBands, readRasterInfo, withRaster } from '../../../native/raster/tiff/geotiff-reader.ts';
import { S2_BAND_ORDER } from '../../../native/raster/sentinel/bands.ts';
import { dataFile } from '../../helpers/data.ts';
import { gdalinfo, gdalTranslate } from '../../helpers/gdal.ts';

const S2_13 = [...S2_BAND_ORDER];

/** What the data README says about each file. */
const REAL_FILES = [
  { file: ['T33UUU-20170216', 'S2L1C_T33UUU_20170216_10m.tif'], size: [1536, 768], bands: S2_13, type: 'uint16', epsg: 32633, nodata: 0 },
  { file: ['slovenia-2015', 'S2L1C_20150711.tif'], size: [100, 101], bands: S2_13, type: 'uint16', epsg: 32633 },
  { file: ['slovenia-2015', 'S2L1C_20150731.tif'], size: [100, 101], bands: S2_13, type: 'uint16', epsg: 32633 },
  { file: ['slovenia-2015', 'S2L1C_20150820.tif'], size: [100, 101], bands: S2_13, type: 'uint16', epsg: 32633 },
  { file: ['slovenia-2015', 'S2L1C_20150830.tif'], size: [100, 101], bands: S2_13, type: 'uint16', epsg: 32633 },
  { file: ['slovenia-2015', 'S2L1C_20150909.tif'], size: [100, 101], bands: S2_13, type: 'uint16', epsg: 32633 },
  { file: ['slovenia-2015', 'cloudmasks_s2cloudless_2015-2017.tif'], size: [100, 101], bandCount: 68, type: 'uint8', epsg: 32633 },
  { file: ['scotland-2020', 'S2L2A_mean_2019_B04B03B02.tif'], size: [256, 256], bands: ['B04', 'B03', 'B02'], type: 'uint16', epsg: 32630 },
  { file: ['scotland-2020', 'S1_GRD_sigma0_linear.tif'], size: [256, 256], bandCount: 3, type: 'float32', epsg: 32630 },
  { file: ['scotland-2020', 'cloudmask.tif'], size: [256, 256], bandCount: 1, type: 'uint8', epsg: 32630 },
  { file: ['nigeria-sen12mscr', 's2_cloudy.tif'], size: [256, 256], bands: S2_13, type: 'uint16', epsg: 32631 },
  { file: ['nigeria-sen12mscr', 's1.tif'], size: [256, 256], bandCount: 2, type: 'float32', epsg: 32631 },
];

const T33UUU = dataFile('T33UUU-20170216', 'S2L1C_T33UUU_20170216_10m.tif');
const SLOVENIA = dataFile('slovenia-2015', 'S2L1C_20150909.tif');

let tmp: string;
before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-raster-read-'));
});
after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('reading the real sample data', () => {
  for (const expected of REAL_FILES) {
    it(`reads ${expected.file.join('/')} as the data README describes it`, async () => {
      const file = dataFile(...expected.file);
      const info = await readRasterInfo(file);
      assert.equal(info.path, file);
      assert.deepEqual([info.width, info.height], expected.size);
      assert.equal(info.dataType, expected.type);
      assert.equal(info.crs?.epsg, expected.epsg);
      if (expected.bands) assert.deepEqual(info.bandNames, expected.bands);
      assert.equal(info.bandCount, expected.bands?.length ?? expected.bandCount);
      assert.equal(info.nodata, expected.nodata ?? null);
    });
  }

  it('reports the geotransform gdalinfo reports, for each data set', async () => {
    for (const file of [T33UUU, SLOVENIA, dataFile('scotland-2020', 'S1_GRD_sigma0_linear.tif'), dataFile('nigeria-sen12mscr', 's1.tif')]) {
      const info = await readRasterInfo(file);
      const gdal = gdalinfo(file).geoTransform!;
      assert.ok(info.geoTransform, file);
      gdal.forEach((value, i) => assert.ok(Math.abs(value - info.geoTransform![i]) < 1e-9, `${file}: coefficient ${i}`));
    }
  });

  it('reads a window across tile borders as the same pixels as a larger read', async () => {
    await withRaster(T33UUU, async (raster) => {
      const bands = [3, 2, 1, 8];
      const outer = await readBands(raster, bands, { x: 240, y: 500, width: 40, height: 30 });
      const inner = await readBands(raster, bands, { x: 250, y: 510, width: 20, height: 15 });
      assert.equal(inner.bands, 4);
      for (let row = 0; row < 15; row++) {
        for (let col = 0; col < 20; col++) {
          for (let b = 0; b < 4; b++) {
            assert.equal(inner.data[(row * 20 + col) * 4 + b], outer.data[((row + 10) * 40 + col + 10) * 4 + b]);
          }
        }
      }
    });
  });

  it('reads the pixel values gdallocationinfo reports, bands in the order asked', async () => {
    const pixels = [[0, 0], [257, 300], [1535, 767], [1200, 40]];
    // One gdallocationinfo run: pixel coordinates on stdin, one value per band and pixel on stdout.
    const gdalValues = execFileSync('gdallocationinfo', ['-valonly', T33UUU], {
      encoding: 'utf8',
      input: pixels.map(([x, y]) => `${x} ${y}`).join('\n') + '\n',
    })
      .trim()
      .split('\n')
      .map(Number);
    assert.equal(gdalValues.length, pixels.length * 13);
    await withRaster(T33UUU, async (raster) => {
      for (const [i, [x, y]] of pixels.entries()) {
        const gdalPixel = gdalValues.slice(i * 13, (i + 1) * 13);
        const pixel = await readBands(raster, [12, 8, 0], { x, y, width: 1, height: 1 });
        assert.deepEqual(Array.from(pixel.data), [gdalPixel[12], gdalPixel[8], gdalPixel[0]]);
      }
    });
  });

  it('reads striped, band-interleaved uncompressed and LZW copies as the same pixels', async () => {
    const original = await withRaster(SLOVENIA, (raster) => readBands(raster, [3, 2, 1, 12]));
    const variants: Record<string, string[]> = {
      striped: ['-co', 'TILED=NO', '-co', 'COMPRESS=DEFLATE'],
      bandInterleavedUncompressed: ['-co', 'INTERLEAVE=BAND', '-co', 'TILED=YES', '-co', 'BLOCKXSIZE=32', '-co', 'BLOCKYSIZE=32'],
      lzw: ['-co', 'COMPRESS=LZW', '-co', 'PREDICTOR=2'],
    };
    for (const [name, options] of Object.entries(variants)) {
      const copy = path.join(tmp, `${name}.tif`);
      gdalTranslate([...options, SLOVENIA, copy]);
      const image = await withRaster(copy, async (raster) => {
        assert.deepEqual(raster.bandNames, S2_13, name);
        return readBands(raster, [3, 2, 1, 12]);
      });
      assert.deepEqual(image, original, name);
    }
  });
});

describe('files we cannot read', () => {
  async function assertInputError(promise: Promise<unknown>, file: string, problem: RegExp): Promise<void> {
    await assert.rejects(promise, (error: unknown) => {
      assert.ok(error instanceof InputError, `expected an InputError, got ${String(error)}`);
      assert.equal(error.file, file);
      assert.ok(error.message.startsWith(`${file}: `), error.message);
      assert.match(error.message, problem);
      assert.ok(!error.message.includes('\n'), 'one line');
      return true;
    });
  }

  it('a missing file', async () => {
    const missing = path.join(tmp, 'no-such-scene.tif');
    await assertInputError(openRaster(missing), missing, /file not found/);
  });

  it('a text file', async () => {
    const text = path.join(tmp, 'notes.tif');
    await fs.writeFile(text, 'These are not the pixels you are looking for.\n');
    await assertInputError(openRaster(text), text, /not a TIFF/);
  });

  it('a folder', async () => {
    await assertInputError(openRaster(tmp), tmp, /directory/);
  });

  it('a truncated copy of a real scene', async () => {
    const truncated = path.join(tmp, 'truncated.tif');
    const bytes = await fs.readFile(SLOVENIA);
    await fs.writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await assertInputError(openRaster(truncated), truncated, /truncated/);
  });

  it('a real scene with damaged pixel data', async () => {
    const damaged = path.join(tmp, 'damaged.tif');
    const bytes = Buffer.from(await fs.readFile(SLOVENIA));
    // The header and directory take the first few hundred bytes; the rest is the deflate stream of the one tile.
    bytes.fill(0xa5, 20_000, 40_000);
    await fs.writeFile(damaged, bytes);
    const raster = await openRaster(damaged);
    try {
      await assertInputError(readBands(raster, [0]), damaged, /cannot decode/);
    } finally {
      await raster.close();
    }
  });

  it('a compression geotiff cannot decode (LZMA)', async () => {
    const lzma = path.join(tmp, 'lzma.tif');
    gdalTranslate(['-co', 'COMPRESS=LZMA', SLOVENIA, lzma]);
    await assertInputError(openRaster(lzma), lzma, /unsupported compression LZMA/);
  });

  it('a band that does not exist', async () => {
    await withRaster(SLOVENIA, async (raster) => {
      await assertInputError(readBands(raster, [13]), SLOVENIA, /has no band 14 \(it has 13\)/);
    });
  });
});
