/** Importing a raster in whatever layout it came: the copy is our tiled COG with exactly the source's values. */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { copyRaster } from '../../../native/raster/tiff/copy-raster.ts';
import { readBands, readRasterInfo, withRaster } from '../../../native/raster/tiff/geotiff-reader.ts';
import { dataFile } from '../../helpers/data.ts';
import { gdalinfo, gdalTranslate } from '../../helpers/gdal.ts';

let dir: string;
before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-copy-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

for (const layout of [['TILED=NO', 'COMPRESS=DEFLATE'], ['TILED=NO', 'COMPRESS=NONE'], ['TILED=YES', 'COMPRESS=LZW']]) {
  test(`a ${layout.join(' ')} scene is copied into a tiled COG with the same values, bands and grid`, async () => {
    const source = path.join(dir, `${layout.join('-')}.tif`);
    gdalTranslate(['-srcwin', '0', '100', '1536', '300', ...layout.flatMap((o) => ['-co', o]), dataFile('T33UUU-20170216', 'S2L1C_T33UUU_20170216_10m.tif'), source]);
    const copy = path.join(dir, `${layout.join('-')}-copy.tif`);
    await copyRaster(source, copy);
    const [a, b] = await Promise.all([source, copy].map((file) => withRaster(file, (r) => readBands(r, r.bandNames.map((_, i) => i)))));
    assert.deepEqual(b.data, a.data);
    const [infoA, infoB] = await Promise.all([readRasterInfo(source), readRasterInfo(copy)]);
    assert.deepEqual([infoB.geoTransform, infoB.bandNames, infoB.nodata, infoB.dataType], [infoA.geoTransform, infoA.bandNames, infoA.nodata, infoA.dataType]);
    assert.equal(gdalinfo(copy).metadata['IMAGE_STRUCTURE']?.LAYOUT, 'COG');
  });
}
