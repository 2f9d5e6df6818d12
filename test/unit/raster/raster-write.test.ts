/**
 * Writing GeoTIFFs: what we write reads back equal, and GDAL (`gdalinfo -json`) sees the input's CRS,
 * geotransform, band descriptions and nodata, DEFLATE tiles and our provenance items. A failed write leaves
 * nothing at the output path.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createImage } from '../../../native/dip/image.ts';
import { InputError } from '../../../native/errors.ts';
import { openRaster, readBands, readRasterInfo, withRaster } from '../../../native/raster/tiff/geotiff-reader.ts';
import { writeGeoTiff, writeGeoTiffFromBlocks } from '../../../native/raster/tiff/geotiff-writer.ts';
import { dataFile } from '../../helpers/data.ts';
import { gdalinfo } from '../../helpers/gdal.ts';

const T33UUU = dataFile('T33UUU-20170216', 'S2L1C_T33UUU_20170216_10m.tif');
const SLOVENIA = dataFile('slovenia-2015', 'S2L1C_20150909.tif');
const SCOTLAND_S1 = dataFile('scotland-2020', 'S1_GRD_sigma0_linear.tif');

const PROVENANCE = {
  CLEARSKY_METHOD: 'Deep Image Prior, mode MT',
  CLEARSKY_SEEDS: '0,1,2,3',
  COPERNICUS: 'Contains modified Copernicus Sentinel data',
  NOTE: 'escaping: a & b < c > d "quoted"',
};

let tmp: string;
before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-raster-write-'));
});
after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('writing GeoTIFFs', () => {
  it('round-trips the Slovenia scene as uint16, and GDAL reads it as the input', async () => {
    const out = path.join(tmp, 'slovenia-copy.tif');
    const input = await openRaster(SLOVENIA);
    let original;
    try {
      original = await readBands(input, [...Array(13).keys()]);
      await writeGeoTiff(out, original, { dataType: 'uint16', like: input, bandNames: input.bandNames, nodata: 0, metadata: PROVENANCE });
    } finally {
      await input.close();
    }
    const copy = await openRaster(out);
    try {
      assert.deepEqual(await readBands(copy, [...Array(13).keys()]), original);
      assert.deepEqual(copy.bandNames, input.bandNames);
      assert.deepEqual(copy.geoTransform, input.geoTransform);
      assert.deepEqual(copy.metadata, PROVENANCE);
      assert.equal(copy.nodata, 0);
    } finally {
      await copy.close();
    }

    const gdalIn = gdalinfo(SLOVENIA, ['-checksum']);
    const gdalOut = gdalinfo(out, ['-checksum']);
    // GDAL decodes our tiles (DEFLATE + horizontal predictor) to the very pixels it decodes from the input.
    assert.ok(gdalIn.bands.every((b) => typeof b.checksum === 'number'));
    assert.deepEqual(gdalOut.bands.map((b) => b.checksum), gdalIn.bands.map((b) => b.checksum));
    assert.deepEqual(gdalOut.size, [100, 101]);
    assert.equal(gdalOut.coordinateSystem?.wkt, gdalIn.coordinateSystem?.wkt);
    assert.deepEqual(gdalOut.geoTransform, gdalIn.geoTransform);
    assert.deepEqual(gdalOut.bands.map((b) => b.description), gdalIn.bands.map((b) => b.description));
    assert.ok(gdalOut.bands.every((b) => b.type === 'UInt16' && b.noDataValue === 0 && b.block.join() === '256,256'));
    assert.equal(gdalOut.metadata.IMAGE_STRUCTURE.COMPRESSION, 'DEFLATE');
    assert.equal(gdalOut.metadata.IMAGE_STRUCTURE.INTERLEAVE, 'PIXEL');
    assert.equal(gdalOut.metadata[''].AREA_OR_POINT, 'Area');
    for (const [name, value] of Object.entries(PROVENANCE)) assert.equal(gdalOut.metadata[''][name], value, name);
  });

  it('writes a window of T33UUU in several tiles, georeferenced where the window lies', async () => {
    const window = { x: 300, y: 200, width: 600, height: 300 };
    const out = path.join(tmp, 't33uuu-window.tif');
    const input = await openRaster(T33UUU);
    let original;
    try {
      original = await readBands(input, [3, 2, 1], window);
      await writeGeoTiff(out, original, {
        dataType: 'uint16',
        like: input,
        pixelOffset: window,
        bandNames: ['B04', 'B03', 'B02'],
        nodata: input.nodata,
        tileSize: 128,
      });
    } finally {
      await input.close();
    }
    assert.deepEqual(await withRaster(out, (copy) => readBands(copy, [0, 1, 2])), original);
    const [x0, dx, , y0, , dy] = input.geoTransform!;
    const gdal = gdalinfo(out);
    assert.deepEqual(gdal.geoTransform, [x0 + window.x * dx, dx, 0, y0 + window.y * dy, 0, dy]);
    assert.ok(gdal.bands.every((b) => b.block.join() === '128,128' && b.noDataValue === 0));
    assert.deepEqual(gdal.bands.map((b) => b.description), ['B04', 'B03', 'B02']);
    assert.equal(gdal.stac?.['proj:epsg'], 32633);
  });

  it('writes float32 with NaN as nodata (SAR in dB)', async () => {
    const out = path.join(tmp, 's1-db.tif');
    const input = await openRaster(SCOTLAND_S1);
    let db;
    try {
      db = await readBands(input, [1, 0]);
      for (let i = 0; i < db.data.length; i++) db.data[i] = 10 * Math.log10(db.data[i]);
      db.data.fill(NaN, 0, 2 * 300); // the first 300 pixels: no data
      await writeGeoTiff(out, db, { dataType: 'float32', like: input, bandNames: ['VV_dB', 'VH_dB'], nodata: NaN });
    } finally {
      await input.close();
    }
    const back = await withRaster(out, (copy) => readBands(copy, [0, 1]));
    assert.deepEqual(back, db);
    const gdal = gdalinfo(out);
    assert.ok(gdal.bands.every((b) => b.type === 'Float32' && b.noDataValue === 'NaN'));
    assert.equal(gdal.metadata.IMAGE_STRUCTURE.COMPRESSION, 'DEFLATE');
  });

  it('streams tiles from a block source, reading each window once', async () => {
    const out = path.join(tmp, 'streamed.tif');
    const input = await openRaster(T33UUU);
    const windows: string[] = [];
    try {
      await writeGeoTiffFromBlocks(
        out,
        {
          width: 700,
          height: 300,
          bands: 2,
          read: async (window) => {
            windows.push(`${window.x},${window.y},${window.width},${window.height}`);
            return (await readBands(input, [7, 3], window)).data;
          },
        },
        { dataType: 'uint16', like: input, bandNames: ['B08', 'B04'] },
      );
      assert.deepEqual(windows, ['0,0,256,256', '256,0,256,256', '512,0,188,256', '0,256,256,44', '256,256,256,44', '512,256,188,44']);
      const expected = await readBands(input, [7, 3], { x: 0, y: 0, width: 700, height: 300 });
      assert.deepEqual(await withRaster(out, (copy) => readBands(copy, [0, 1])), expected);
    } finally {
      await input.close();
    }
  });
});

describe('failed writes leave nothing behind', () => {
  const image = createImage(300, 20, 2);
  image.data.fill(1234);

  async function entries(folder: string): Promise<string[]> {
    return (await fs.readdir(folder)).sort();
  }

  it('an output folder that does not exist: an InputError naming the output', async () => {
    const out = path.join(tmp, 'no-such-folder', 'result.tif');
    await assert.rejects(writeGeoTiff(out, image, { dataType: 'uint16' }), (error: unknown) =>
      error instanceof InputError && error.file === out && /folder does not exist/.test(error.message),
    );
    await assert.rejects(fs.stat(out), { code: 'ENOENT' });
  });

  it('an output path below a file: an InputError naming the output', async () => {
    const notAFolder = path.join(tmp, 'plain-file');
    await fs.writeFile(notAFolder, 'x');
    const out = path.join(notAFolder, 'result.tif');
    await assert.rejects(writeGeoTiff(out, image, { dataType: 'uint16' }), InputError);
  });

  it('an error in the middle of the pixels: no output, no temporary file, an older file untouched', async () => {
    const folder = await fs.mkdtemp(path.join(tmp, 'midway-'));
    const out = path.join(folder, 'result.tif');
    const broken = createImage(300, 20, 2);
    broken.data.fill(1234);
    broken.data[broken.data.length - 1] = NaN; // in the last tile: found after the first tile is written
    await assert.rejects(writeGeoTiff(out, broken, { dataType: 'uint16' }), /NaN cannot be written as uint16/);
    assert.deepEqual(await entries(folder), []);

    await writeGeoTiff(out, image, { dataType: 'uint16', metadata: { VERSION: 'old' } });
    const before = await fs.readFile(out);
    await assert.rejects(writeGeoTiff(out, broken, { dataType: 'uint16' }));
    assert.deepEqual(await fs.readFile(out), before);
    assert.deepEqual(await entries(folder), ['result.tif']);
    assert.equal((await readRasterInfo(out)).metadata.VERSION, 'old');
  });

  it('a block source that fails: the error surfaces, nothing is left', async () => {
    const folder = await fs.mkdtemp(path.join(tmp, 'source-'));
    const out = path.join(folder, 'result.tif');
    let reads = 0;
    const failing = {
      width: 1000,
      height: 1000,
      bands: 1,
      read: async (window: { width: number; height: number }) => {
        if (++reads === 5) throw new Error('disk went away');
        return new Float32Array(window.width * window.height);
      },
    };
    await assert.rejects(writeGeoTiffFromBlocks(out, failing, { dataType: 'uint8' }), /disk went away/);
    assert.deepEqual(await entries(folder), []);
  });

  it('an output path that is a folder: an InputError, the folder untouched', async () => {
    const folder = await fs.mkdtemp(path.join(tmp, 'isdir-'));
    await fs.mkdir(path.join(folder, 'result.tif'));
    await assert.rejects(writeGeoTiff(path.join(folder, 'result.tif'), image, { dataType: 'uint16' }), InputError);
    assert.deepEqual(await entries(folder), ['result.tif']);
    assert.ok((await fs.stat(path.join(folder, 'result.tif'))).isDirectory());
  });
});
