/**
 * Finding bands by the names users type, and refusing sources on different grids, on the real data.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../../native/errors.ts';
import { canonicalS2BandName, parseBandList, resolveBands } from '../../../native/raster/sentinel/bands.ts';
import { readBands, readRasterInfo, withRaster } from '../../../native/raster/tiff/geotiff-reader.ts';
import { writeGeoTiff } from '../../../native/raster/tiff/geotiff-writer.ts';
import { assertSameGrid, gridDifferences } from '../../../native/raster/geo/grid.ts';
import type { GeoTransform, RasterInfo } from '../../../native/raster/tiff/raster-info.ts';
import { dataFile } from '../../helpers/data.ts';

const SLOVENIA = dataFile('slovenia-2015', 'S2L1C_20150909.tif');
const SLOVENIA_MASKS = dataFile('slovenia-2015', 'cloudmasks_s2cloudless_2015-2017.tif');
const SCOTLAND_MEAN = dataFile('scotland-2020', 'S2L2A_mean_2019_B04B03B02.tif');
const SCOTLAND_MASK = dataFile('scotland-2020', 'cloudmask.tif');

let tmp: string;
before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-raster-bands-'));
});
after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('band names', () => {
  it('accepts the ways people write Sentinel-2 band names', () => {
    assert.equal(canonicalS2BandName('B4'), 'B04');
    assert.equal(canonicalS2BandName('b04'), 'B04');
    assert.equal(canonicalS2BandName('B8a'), 'B8A');
    assert.equal(canonicalS2BandName('8A'), 'B8A');
    assert.equal(canonicalS2BandName('B12'), 'B12');
    assert.equal(canonicalS2BandName('B13'), null);
    assert.equal(canonicalS2BandName('VV'), null);
    assert.deepEqual(parseBandList('B04, B03,B02,'), ['B04', 'B03', 'B02']);
  });

  it('finds the Scotland mean bands by their descriptions, in the order asked', async () => {
    const info = await readRasterInfo(SCOTLAND_MEAN);
    assert.deepEqual(resolveBands(info, ['B04', 'B03', 'B02']), [0, 1, 2]);
    assert.deepEqual(resolveBands(info, ['B2', 'B4']), [2, 0]);
  });

  it('finds B8A and B08 apart in a 13-band scene', async () => {
    const info = await readRasterInfo(SLOVENIA);
    assert.deepEqual(resolveBands(info, ['B8A', 'B08', 'b8a', 'B1', 'B12']), [8, 7, 8, 0, 12]);
  });

  it('finds a band by any exact description, e.g. a mask date', async () => {
    const info = await readRasterInfo(SLOVENIA_MASKS);
    assert.deepEqual(resolveBands(info, ['2016-01-17T10:10:30']), [12]);
  });

  it('falls back to the standard Sentinel-2 order for a 13-band file without descriptions', async () => {
    const undescribed = path.join(tmp, 'no-descriptions.tif');
    const original = await withRaster(SLOVENIA, async (raster) => {
      const all = await readBands(raster, [...Array(13).keys()]);
      await writeGeoTiff(undescribed, all, { dataType: 'uint16', like: raster });
      return readBands(raster, [8, 3]);
    });
    await withRaster(undescribed, async (raster) => {
      assert.ok(raster.bandNames.every((name) => name === null));
      assert.deepEqual(await readBands(raster, resolveBands(raster, ['B8A', 'B04'])), original);
    });
  });

  it('refuses an unknown band name, listing the bands the file has', async () => {
    const info = await readRasterInfo(SCOTLAND_MEAN);
    assert.throws(
      () => resolveBands(info, ['B04', 'B08']),
      (error: unknown) =>
        error instanceof InputError &&
        error.file === SCOTLAND_MEAN &&
        /has no band B08; available: B04, B03, B02/.test(error.message),
    );
    // A 13-band scene with descriptions is not silently read by position either.
    assert.throws(() => resolveBands({ ...info, bandCount: 13 }, ['B08']), InputError);
  });

  it('refuses a band name a file without S2 descriptions cannot resolve', async () => {
    const info = await readRasterInfo(SCOTLAND_MASK);
    assert.throws(() => resolveBands(info, ['B04']), /has no band B04; available: cloud/);
  });
});

describe('grids', () => {
  it('accepts files on the same grid', async () => {
    assertSameGrid(await readRasterInfo(SLOVENIA), await readRasterInfo(SLOVENIA_MASKS));
    assertSameGrid(await readRasterInfo(SCOTLAND_MEAN), await readRasterInfo(SCOTLAND_MASK));
  });

  it('refuses Slovenia against Scotland, naming both files and every difference', async () => {
    const scotland = await readRasterInfo(SCOTLAND_MEAN);
    const slovenia = await readRasterInfo(SLOVENIA);
    assert.throws(
      () => assertSameGrid(scotland, slovenia),
      (error: unknown) => {
        assert.ok(error instanceof InputError);
        assert.equal(error.file, SLOVENIA);
        assert.ok(error.message.includes(SCOTLAND_MEAN), error.message);
        assert.match(error.message, /size is 100×101, not 256×256/);
        assert.match(error.message, /CRS is EPSG:32633, not EPSG:32630/);
        assert.match(error.message, /origin is \(465181\.052232, 5080254\.633496\), not \(504810, 6195130\)/);
        assert.match(error.message, /pixel size/);
        assert.ok(!error.message.includes('\n'));
        return true;
      },
    );
  });

  it('tolerates float noise in the transform but not a shift of a hundredth of a pixel', async () => {
    const slovenia = await readRasterInfo(SLOVENIA);
    const shifted = (dx: number, dScale = 0): RasterInfo => {
      const t = [...slovenia.geoTransform!] as GeoTransform;
      t[0] += dx * t[1];
      t[1] += dScale;
      return { ...slovenia, path: 'shifted.tif', geoTransform: t };
    };
    assert.deepEqual(gridDifferences(slovenia, shifted(1e-6)), []);
    assert.match(gridDifferences(slovenia, shifted(0.01)).join(), /origin/);
    // A pixel size off by 1e-6 m is 1e-4 m at the far edge: still the same grid; off by 1e-3 m it is not.
    assert.deepEqual(gridDifferences(slovenia, shifted(0, 1e-6)), []);
    assert.match(gridDifferences(slovenia, shifted(0, 1e-3)).join(), /pixel size/);
  });

  it('refuses a georeferenced file against one without georeferencing', async () => {
    const slovenia = await readRasterInfo(SLOVENIA);
    const plain = { ...slovenia, path: 'plain.tif', crs: null, geoTransform: null };
    assert.deepEqual(gridDifferences(slovenia, plain), ['CRS is not set, not EPSG:32633', 'georeferencing is missing, not present']);
  });
});
