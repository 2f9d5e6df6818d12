/**
 * Resampling onto another grid, judged against GDAL's own gdalwarp on real Sentinel-2 data: coarser copies
 * brought back to 10 m, and reprojections to another UTM zone and Web Mercator brought back.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InputError } from '../../../native/errors.ts';
import type { Image } from '../../../native/dip/image.ts';
import { proj4Definition } from '../../../native/raster/geo/crs.ts';
import { readBands, readRasterInfo, withRaster } from '../../../native/raster/tiff/geotiff-reader.ts';
import { writeGeoTiff } from '../../../native/raster/tiff/geotiff-writer.ts';
import type { GridInfo } from '../../../native/raster/geo/grid.ts';
import { coversGrid, readBandsOnGrid, type ResampleMethod } from '../../../native/raster/geo/resample.ts';
import { dataFile } from '../../helpers/data.ts';
import { gdalTranslate } from '../../helpers/gdal.ts';

const SCENE = dataFile('T33UUU-20170216', 'S2L1C_T33UUU_20170216_10m.tif');
const SCOTLAND = dataFile('scotland-2020', 'S2L2A_mean_2019_B04B03B02.tif');

let tmp: string;
/** 512 × 256 px of band B04 of the T33UUU scene (EPSG:32633, 10 m, nodata 0), Float32 so warps are not rounded. */
let original: string;
let originalGrid: GridInfo;

function gdalwarp(args: string[]): void {
  execFileSync('gdalwarp', ['-q', '-overwrite', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** gdalwarp of `src` onto exactly the grid of `grid` (same CRS, extent and size), Float32, with `method`. */
function gdalwarpOnto(src: string, grid: GridInfo, gdalMethod: string, dst: string, extra: string[] = []): void {
  const t = grid.geoTransform!;
  const extent = [t[0], t[3] + grid.height * t[5], t[0] + grid.width * t[1], t[3]].map(String);
  gdalwarp(['-et', '0', '-r', gdalMethod, '-t_srs', `EPSG:${grid.crs!.epsg}`, '-te', ...extent, '-ts', String(grid.width), String(grid.height), '-ot', 'Float32', ...extra, src, dst]);
}

async function ours(src: string, grid: GridInfo, method: ResampleMethod, bands = [0]): Promise<Image> {
  return withRaster(src, (raster) => readBandsOnGrid(raster, bands, grid, undefined, method));
}

async function gdals(src: string, grid: GridInfo, gdalMethod: string, name: string, extra: string[] = []): Promise<{ image: Image; nodata: number | null }> {
  const dst = path.join(tmp, name);
  gdalwarpOnto(src, grid, gdalMethod, dst, extra);
  return withRaster(dst, async (raster) => ({ image: await readBands(raster, [0]), nodata: raster.nodata }));
}

/** Pixels at least `border` from the edge where both have a valid value: count, equal count, worst relative difference. */
function compare(a: Image, b: Image, bNodata: number | null, border: number): { compared: number; equal: number; worst: number } {
  let compared = 0;
  let equal = 0;
  let worst = 0;
  for (let row = border; row < a.height - border; row++) {
    for (let col = border; col < a.width - border; col++) {
      const i = row * a.width + col;
      const x = a.data[i];
      const y = b.data[i];
      if (Number.isNaN(x) || Number.isNaN(y) || y === bNodata) continue;
      compared++;
      if (x === y) equal++;
      worst = Math.max(worst, Math.abs(x - y) / Math.max(Math.abs(y), 1));
    }
  }
  return { compared, equal, worst };
}

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-resample-'));
  original = path.join(tmp, 'original.tif');
  gdalTranslate(['-srcwin', '256', '128', '512', '256', '-b', '4', '-ot', 'Float32', SCENE, original]);
  originalGrid = await readRasterInfo(original);
});
after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('same grid', () => {
  it('equals readBands exactly, for the whole grid and a window, with every method', async () => {
    await withRaster(SCOTLAND, async (raster) => {
      const whole = await readBands(raster, [0, 1, 2]);
      const window = { x: 37, y: 101, width: 90, height: 61 };
      const part = await readBands(raster, [2, 0], window);
      for (const method of ['nearest', 'bilinear', 'average'] as const) {
        assert.deepEqual(await readBandsOnGrid(raster, [0, 1, 2], raster, undefined, method), whole);
        assert.deepEqual(await readBandsOnGrid(raster, [2, 0], raster, window, method), part);
      }
    });
  });

  it('a crop resampled onto the full grid fills its own pixels and leaves the rest NaN', async () => {
    const crop = path.join(tmp, 'crop.tif');
    gdalTranslate(['-srcwin', '50', '40', '100', '80', SCOTLAND, crop]);
    const full = await withRaster(SCOTLAND, (raster) => readBands(raster, [1]));
    const placed = await ours(crop, await readRasterInfo(SCOTLAND), 'bilinear', [1]);
    for (let row = 0; row < 256; row++) {
      for (let col = 0; col < 256; col++) {
        const inside = col >= 50 && col < 150 && row >= 40 && row < 120;
        const value = placed.data[row * 256 + col];
        if (inside) assert.equal(value, full.data[row * 256 + col]);
        else assert.ok(Number.isNaN(value), `pixel (${col}, ${row}) is outside the crop`);
      }
    }
  });
});

describe('coarser sources onto the 10 m grid, against gdalwarp', () => {
  for (const resolution of [20, 30]) {
    it(`${resolution} m → 10 m: nearest equals gdalwarp -r near, bilinear within 1e-3 in the interior`, async () => {
      const coarse = path.join(tmp, `coarse-${resolution}.tif`);
      gdalwarp(['-r', 'average', '-tr', String(resolution), String(resolution), original, coarse]);
      const near = await ours(coarse, originalGrid, 'nearest');
      const gdalNear = await gdals(coarse, originalGrid, 'near', `near-${resolution}.tif`);
      const n = compare(near, gdalNear.image, gdalNear.nodata, 0);
      assert.ok(n.compared > 0.95 * 512 * 256, `compared ${n.compared}`);
      assert.equal(n.equal, n.compared, `nearest: ${n.compared - n.equal} pixels differ`);

      const bilinear = await ours(coarse, originalGrid, 'bilinear');
      const gdalBilinear = await gdals(coarse, originalGrid, 'bilinear', `bilinear-${resolution}.tif`);
      const b = compare(bilinear, gdalBilinear.image, gdalBilinear.nodata, resolution / 10);
      assert.ok(b.compared > 0.9 * 512 * 256, `compared ${b.compared}`);
      assert.ok(b.worst < 1e-3, `bilinear: worst relative difference ${b.worst}`);
    });
  }

  it('10 m → 20 m with average equals gdalwarp -r average', async () => {
    const coarse = path.join(tmp, 'avg-20.tif');
    gdalwarp(['-r', 'average', '-tr', '20', '20', '-ot', 'Float32', original, coarse]);
    const grid = await readRasterInfo(coarse);
    const mine = await ours(original, grid, 'average');
    const theirs = await withRaster(coarse, (raster) => readBands(raster, [0]));
    const c = compare(mine, theirs, grid.nodata, 0);
    assert.ok(c.compared > 0.95 * 256 * 128);
    assert.ok(c.worst < 1e-5, `worst relative difference ${c.worst}`);
  });
});

describe('reprojection, against gdalwarp', () => {
  for (const [epsg, resolution] of [[32632, 10], [3857, 16]] as const) {
    it(`EPSG:32633 → EPSG:${epsg} and back: nearest and bilinear match gdalwarp's reverse in the interior`, async () => {
      const warped = path.join(tmp, `warped-${epsg}.tif`);
      gdalwarp(['-et', '0', '-r', 'bilinear', '-t_srs', `EPSG:${epsg}`, '-tr', String(resolution), String(resolution), original, warped]);
      const warpedInfo = await readRasterInfo(warped);
      assert.equal(warpedInfo.crs?.epsg, epsg);

      const near = await ours(warped, originalGrid, 'nearest');
      const gdalNear = await gdals(warped, originalGrid, 'near', `back-near-${epsg}.tif`);
      const n = compare(near, gdalNear.image, gdalNear.nodata, 8);
      assert.ok(n.compared > 0.8 * 512 * 256, `compared ${n.compared}`);
      // A centre within a hair of a source pixel edge may round either way; GDAL's own approximation differs too.
      assert.ok(n.equal >= 0.999 * n.compared, `nearest: ${n.compared - n.equal} of ${n.compared} differ`);

      const bilinear = await ours(warped, originalGrid, 'bilinear');
      // gdalwarp widens its bilinear kernel when a chunk's size ratio is below 1 (here ~0.96 from the rotation
      // between the grids); ours is the plain 2 × 2 interpolation, so compare with GDAL's at scale 1.
      const gdalBilinear = await gdals(warped, originalGrid, 'bilinear', `back-bilinear-${epsg}.tif`, ['-wo', 'XSCALE=1', '-wo', 'YSCALE=1']);
      const b = compare(bilinear, gdalBilinear.image, gdalBilinear.nodata, 8);
      assert.ok(b.compared > 0.8 * 512 * 256, `compared ${b.compared}`);
      assert.ok(b.worst < 1e-4, `bilinear: worst relative difference ${b.worst}`);
    });
  }

  it('a window of the target grid equals the same part of the whole', async () => {
    const warped = path.join(tmp, 'warped-32632.tif');
    const window = { x: 200, y: 70, width: 100, height: 90 };
    await withRaster(warped, async (raster) => {
      const whole = await readBandsOnGrid(raster, [0], originalGrid, undefined, 'bilinear');
      const part = await readBandsOnGrid(raster, [0], originalGrid, window, 'bilinear');
      for (let row = 0; row < window.height; row++) {
        for (let col = 0; col < window.width; col++) {
          const a = part.data[row * window.width + col];
          const b = whole.data[(row + window.y) * 512 + col + window.x];
          assert.ok(Math.abs(a - b) <= 1e-3 * Math.abs(b), `(${col}, ${row}): ${a} vs ${b}`);
        }
      }
    });
  });

  it('pixels outside the source are NaN; coversGrid tells whether a source covers a grid', async () => {
    // A reprojection of the original with a 100 m margin around gdalwarp's own (slightly tight) extent, and a crop of it.
    const tight = path.join(tmp, 'tight-32632.tif');
    gdalwarp(['-t_srs', 'EPSG:32632', '-tr', '10', '10', original, tight]);
    const tightInfo = await readRasterInfo(tight);
    const t = tightInfo.geoTransform!;
    const extent = [t[0] - 100, t[3] - tightInfo.height * 10 - 100, t[0] + tightInfo.width * 10 + 100, t[3] + 100].map(String);
    const full = path.join(tmp, 'full-32632.tif');
    gdalwarp(['-t_srs', 'EPSG:32632', '-te', ...extent, '-tr', '10', '10', original, full]);
    const crop = path.join(tmp, 'crop-32632.tif');
    gdalTranslate(['-srcwin', '100', '50', '200', '150', full, crop]);
    const info = await readRasterInfo(crop);
    assert.equal(coversGrid(info, originalGrid), false);
    assert.equal(coversGrid(await readRasterInfo(full), originalGrid), true);
    const image = await ours(crop, originalGrid, 'nearest');
    assert.ok(Number.isNaN(image.data[0]));
    assert.ok(image.data.some((v) => !Number.isNaN(v)));
  });
});

describe('nodata and errors', () => {
  it('bilinear renormalises over valid neighbours; nearest gives NaN on nodata', async () => {
    // A 2 × 2 source, one pixel nodata, onto a 4 × 4 grid of half-size pixels over the same extent.
    const source = path.join(tmp, 'nodata.tif');
    const like = await readRasterInfo(SCOTLAND);
    await writeGeoTiff(source, { width: 2, height: 2, bands: 1, data: new Float32Array([100, 200, 300, -9999]) }, { dataType: 'float32', like, nodata: -9999 });
    const fine = path.join(tmp, 'fine.tif');
    gdalTranslate(['-outsize', '4', '4', '-r', 'near', source, fine]);
    const grid = await readRasterInfo(fine);
    assert.equal(grid.geoTransform![1], like.geoTransform![1] / 2);
    await withRaster(source, async (raster) => {
      const near = await readBandsOnGrid(raster, [0], grid, undefined, 'nearest');
      assert.deepEqual(Array.from(near.data.slice(0, 4)), [100, 100, 200, 200]);
      assert.ok(Number.isNaN(near.data[15]));
      const bilinear = await readBandsOnGrid(raster, [0], grid, undefined, 'bilinear');
      // Pixel (1, 1): centre at source pixel coordinates (0.75, 0.75): weights 9/16, 3/16, 3/16, 1/16, the last on nodata.
      const expected = (100 * 9 + 200 * 3 + 300 * 3) / 15;
      assert.ok(Math.abs(bilinear.data[1 * 4 + 1] - expected) < 1e-3, `${bilinear.data[5]} vs ${expected}`);
      assert.ok(Number.isNaN(bilinear.data[15]), 'a pixel whose only neighbour is nodata stays NaN');
      assert.ok(bilinear.data.every((v, i) => i === 15 || (v >= 100 && v <= 300)), 'no value is pulled towards -9999');
    });
  });

  it('a CRS we do not bundle is an InputError naming the file and the EPSG code', async () => {
    const swiss = path.join(tmp, 'swiss.tif');
    gdalwarp(['-t_srs', 'EPSG:31468', '-tr', '10', '10', original, swiss]);
    await withRaster(swiss, async (raster) => {
      await assert.rejects(readBandsOnGrid(raster, [0], originalGrid), (error: unknown) => {
        assert.ok(error instanceof InputError);
        assert.match(error.message, /swiss\.tif: .*EPSG:31468/);
        return true;
      });
    });
  });

  it('bundles the CRSs Sentinel products come in', () => {
    for (const epsg of [4326, 3857, 3035, 32601, 32633, 32660, 32701, 32760, 25828, 25833, 25838]) assert.ok(proj4Definition(epsg), `EPSG:${epsg}`);
    for (const epsg of [32600, 32661, 25827, 25839, 2056]) assert.equal(proj4Definition(epsg), null, `EPSG:${epsg}`);
  });
});
