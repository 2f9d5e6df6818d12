/**
 * The map's display stretch (renderer/src/map/stretch.ts): the 2–98 % cumulative cut, and what the map reads
 * of a raster before drawing it (stretch from the smallest useful overview, nodata, EPSG), read the way the
 * browser reads it, over HTTP Range requests, from a real Cloud Optimized GeoTIFF of the T33UUU scene. The
 * expected values come from GDAL (Python bindings) reading the same overview.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { cumulativeCut, epsgFromGeoKeys, readRasterFacts, SAMPLE_PIXELS } from '../../../renderer/src/map/stretch.ts';
import { dataFile } from '../../helpers/data.ts';
import { gdalTranslate } from '../../helpers/gdal.ts';

const SCENE = dataFile('T33UUU-20170216', 'S2L1C_T33UUU_20170216_10m.tif');

let work: string;
let server: Server;
let base: string;
let ranges = 0;
let wholeFile = 0;

before(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-map-stretch-'));
  gdalTranslate(['-of', 'COG', '-co', 'BLOCKSIZE=256', '-co', 'OVERVIEWS=IGNORE_EXISTING', SCENE, path.join(work, 'scene.tif')]);
  // A file server that answers single Range requests, as `clearsky serve` does.
  server = createServer((req, res) => {
    void (async () => {
      const file = path.join(work, path.basename(new URL(req.url!, 'http://x').pathname));
      const data = await fs.readFile(file).catch(() => null);
      if (!data) {
        res.writeHead(404).end();
        return;
      }
      const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
      if (!range) {
        wholeFile++;
        res.writeHead(200, { 'Content-Length': data.length, 'Accept-Ranges': 'bytes' }).end(data);
        return;
      }
      ranges++;
      const start = Number(range[1]);
      const end = Math.min(data.length - 1, range[2] ? Number(range[2]) : data.length - 1);
      res.writeHead(206, { 'Content-Range': `bytes ${start}-${end}/${data.length}`, 'Content-Length': end - start + 1, 'Accept-Ranges': 'bytes' });
      res.end(data.subarray(start, end + 1));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

after(async () => {
  await new Promise((resolve) => server?.close(resolve));
  if (work) await fs.rm(work, { recursive: true, force: true });
});

test('cumulativeCut: the 2 % and 98 % values, without nodata and NaN; zeros left out on request', () => {
  const values = Array.from({ length: 101 }, (_, i) => i); // 0 … 100
  assert.deepEqual(cumulativeCut(values, null), { min: 2, max: 98 });
  assert.deepEqual(cumulativeCut([...values, NaN, NaN, -9999, -9999], -9999), { min: 2, max: 98 });
  assert.deepEqual(cumulativeCut([0, 0, 0, 0, ...Array.from({ length: 101 }, (_, i) => 100 + i)], null, 0.02, 0.98, true), { min: 102, max: 198 });
  // A constant band still gets a range, so the display does not divide by zero.
  assert.deepEqual(cumulativeCut([7, 7, 7], null), { min: 7, max: 8 });
  assert.equal(cumulativeCut([0, 0], 0), null);
  assert.equal(cumulativeCut([NaN], null), null);
});

test('epsgFromGeoKeys: the projected code, else the geographic one; user-defined is no code', () => {
  assert.equal(epsgFromGeoKeys({ ProjectedCSTypeGeoKey: 32633, GeographicTypeGeoKey: 4326 }), 32633);
  assert.equal(epsgFromGeoKeys({ GeographicTypeGeoKey: 4326 }), 4326);
  assert.equal(epsgFromGeoKeys({ ProjectedCSTypeGeoKey: 32767 }), null);
  assert.equal(epsgFromGeoKeys(null), null);
});

test('readRasterFacts over HTTP ranges: the T33UUU COG\'s B04/B03/B02 stretch from its smallest overview of ≥ SAMPLE_PIXELS (16,384) pixels, its nodata and EPSG, as GDAL reads them', async () => {
  const facts = await readRasterFacts(`${base}scene.tif`, [4, 3, 2], null);
  assert.equal(facts.epsg, 32633);
  assert.equal(facts.nodata, 0);
  assert.equal(wholeFile, 0, 'the whole file was requested');
  assert.ok(ranges > 0);

  const script = `
import json, sys
import numpy as np
from osgeo import gdal
ds = gdal.Open(sys.argv[1])
sample = int(sys.argv[2])
out = []
for b in (4, 3, 2):
    band = ds.GetRasterBand(b)
    images = [band] + [band.GetOverview(i) for i in range(band.GetOverviewCount())]
    images.sort(key=lambda im: im.XSize * im.YSize)
    image = next((im for im in images if im.XSize * im.YSize >= sample), band)
    v = image.ReadAsArray().astype(np.float64).ravel()
    v = np.sort(v[(v != band.GetNoDataValue()) & ~np.isnan(v)])
    at = lambda q: float(v[min(len(v) - 1, max(0, int(np.floor(q * (len(v) - 1) + 0.5))))])
    out.append({'min': at(0.02), 'max': at(0.98), 'size': [image.XSize, image.YSize]})
print(json.dumps(out))
`;
  const expected = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, path.join(work, 'scene.tif'), String(SAMPLE_PIXELS)], { encoding: 'utf8' })) as { min: number; max: number; size: [number, number] }[];
  assert.ok(expected[0].size[0] < 1536, `GDAL made no overview of ≥ ${SAMPLE_PIXELS} pixels (${expected[0].size.join(' × ')})`);
  assert.deepEqual(facts.stretch, expected.map(({ min, max }) => ({ min, max })));
  assert.ok(facts.stretch.every((s) => s.max > s.min && s.min > 0));
});

test('readRasterFacts with skipZero (uncertainty maps): the minimum is 0 and zeros do not pull the maximum down', async () => {
  // A Float32 raster, 0 except a 64 × 64 patch of 1 … 4096 (as an uncertainty map is 0 outside the clouds).
  const script = `
import sys
import numpy as np
from osgeo import gdal
a = np.zeros((512, 512), np.float32)
a[100:164, 200:264] = np.arange(1, 4097, dtype=np.float32).reshape(64, 64)
ds = gdal.GetDriverByName('MEM').Create('', 512, 512, 1, gdal.GDT_Float32)
ds.SetGeoTransform([500000, 10, 0, 5800000, 0, -10])
ds.GetRasterBand(1).WriteArray(a)
gdal.GetDriverByName('COG').CreateCopy(sys.argv[1], ds, options=['BLOCKSIZE=256', 'OVERVIEWS=NONE'])
`;
  execFileSync('/usr/bin/python3', ['-c', script, path.join(work, 'spread.tif')]);
  const facts = await readRasterFacts(`${base}spread.tif`, [1], null, undefined, true);
  assert.deepEqual(facts.stretch, [{ min: 0, max: 1 + Math.round(0.98 * 4095) }]);
  assert.equal(facts.nodata, null);
  const plain = await readRasterFacts(`${base}spread.tif`, [1], null);
  assert.deepEqual(plain.stretch, [{ min: 0, max: 1 }], 'without skipZero the zeros (98 % of the pixels) decide the stretch');
});
