/**
 * Whole scenes through `clearsky inpaint` (a real child process) on crops of the real T33UUU L1C scene:
 * tiling, clear tiles left alone, the uncertainty layer, and seams that do not show.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { readBands, readRasterInfo, withRaster } from '../../../native/raster/tiff/geotiff-reader.ts';
import { writeGeoTiff } from '../../../native/raster/tiff/geotiff-writer.ts';
import { planTiles } from '../../../native/raster/tiles/tiling.ts';
import { dataFile } from '../../helpers/data.ts';
import { gdalinfo, gdalTranslate } from '../../helpers/gdal.ts';
import { runClearsky } from '../../helpers/cli.ts';

const SCENE = dataFile('T33UUU-20170216', 'S2L1C_T33UUU_20170216_10m.tif');
let dir: string;

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-scene-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const clearsky = (args: string[]) => runClearsky(args, dir);

/** A window of the real scene as its own GeoTIFF (GDAL cuts it, so its georeferencing is GDAL's). */
function crop(name: string, x: number, y: number, width: number, height: number): string {
  const file = path.join(dir, name);
  gdalTranslate(['-srcwin', String(x), String(y), String(width), String(height), SCENE, file]);
  return file;
}

/** A mask on `like`'s grid with cloud inside the rectangle. */
async function rectangleMask(name: string, like: string, cloud: { x0: number; x1: number; y0: number; y1: number }): Promise<string> {
  const info = await readRasterInfo(like);
  const data = new Float32Array(info.width * info.height);
  for (let y = cloud.y0; y < cloud.y1; y++) data.fill(1, y * info.width + cloud.x0, y * info.width + cloud.x1);
  const file = path.join(dir, name);
  await writeGeoTiff(file, { width: info.width, height: info.height, bands: 1, data }, { dataType: 'uint8', like: info });
  return file;
}

test('a scene larger than a tile is tiled: clear tiles keep the input, the uncertainty layer has the spread', async () => {
  const target = crop('scene.tif', 200, 300, 200, 100);
  // Cloud only in the left part: of the tiles at x = 0, 48, 96, 136 (64 px, overlap 16) the last is clear.
  const mask = await rectangleMask('mask.tif', target, { x0: 10, x1: 100, y0: 20, y1: 70 });
  const out = path.join(dir, 'out.tif');
  const spread = path.join(dir, 'spread.tif');
  const r = await clearsky(['inpaint', '--target', target, '--mask', mask, '--bands', 'B04,B03,B02', '--mode', 'basic', '--steps', '8',
    '--seeds', '0,1', '--tile', '64', '--overlap', '16', '--uncertainty', spread, '--mask-out', path.join(dir, 'used-mask.tif'), '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  const plan = planTiles(200, 100, { tileSize: 64, overlap: 16 });
  assert.equal(summary.tiles.total, plan.tiles.length);
  const expectedCloudy = plan.tiles.filter(({ window: w }) => w.x < 100 && w.x + w.width > 10 && w.y < 70 && w.y + w.height > 20).length;
  assert.equal(summary.tiles.reconstructed, expectedCloudy);
  assert.ok(summary.tiles.clear > 0);
  assert.match(r.stderr, /tile \d+\/\d+ \(row \d+, col \d+\) seed 1 \(2\/2\) step 8\/8/);
  assert.deepEqual((await fs.readdir(dir)).filter((f) => f.includes('.tiles-')), [], 'the tile folder is removed');

  const input = await withRaster(target, (raster) => readBands(raster, [3, 2, 1]));
  const output = await withRaster(out, (raster) => readBands(raster, [0, 1, 2]));
  const uncertainty = await withRaster(spread, (raster) => readBands(raster, [0, 1, 2]));
  let changedUnderCloud = 0;
  for (let y = 0; y < 100; y++) {
    for (let x = 0; x < 200; x++) {
      const covered = plan.tiles.some(({ window: w }) => w.x < 100 && w.x + w.width > 10 && w.y < 70 && w.y + w.height > 20 && x >= w.x && x < w.x + w.width && y >= w.y && y < w.y + w.height);
      for (let b = 0; b < 3; b++) {
        const i = (y * 200 + x) * 3 + b;
        if (!covered) {
          assert.equal(output.data[i], input.data[i], `pixel ${x},${y} of a clear tile is the input's`);
          assert.equal(uncertainty.data[i], 0);
        } else if (x >= 10 && x < 100 && y >= 20 && y < 70) {
          if (output.data[i] !== input.data[i]) changedUnderCloud++;
          assert.ok(uncertainty.data[i] >= 0 && Number.isFinite(uncertainty.data[i]));
        }
      }
    }
  }
  assert.ok(changedUnderCloud > 0.9 * 90 * 50 * 3, 'cloudy pixels are reconstructed');
  assert.ok(uncertainty.data.some((v) => v > 0), 'two seeds differ somewhere');

  const info = gdalinfo(out);
  const source = gdalinfo(target);
  assert.deepEqual(info.geoTransform, source.geoTransform);
  assert.equal(info.coordinateSystem?.wkt, source.coordinateSystem?.wkt);
  assert.deepEqual(info.bands.map((b) => [b.type, b.description]), [['UInt16', 'B04'], ['UInt16', 'B03'], ['UInt16', 'B02']]);
  assert.equal(info.metadata['']?.CLEARSKY_TILING, '64 px tiles, 16 px feathered overlap');
  assert.match(gdalinfo(spread).bands[0].description ?? '', /B04 spread/);
  const usedMask = await withRaster(path.join(dir, 'used-mask.tif'), (raster) => readBands(raster, [0]));
  const givenMask = await withRaster(mask, (raster) => readBands(raster, [0]));
  assert.deepEqual(usedMask.data, givenMask.data, '--mask-out writes the mask the run used');
});

test('--uncertainty with one seed and a bad --tile are refused before any work', async () => {
  const target = crop('small.tif', 0, 0, 64, 64);
  const mask = await rectangleMask('small-mask.tif', target, { x0: 0, x1: 10, y0: 0, y1: 10 });
  const one = await clearsky(['inpaint', '--target', target, '--mask', mask, '--mode', 'basic', '--uncertainty', path.join(dir, 's.tif'), '--out', path.join(dir, 'o.tif')]);
  assert.equal(one.code, 2, one.stderr);
  assert.match(one.stderr, /s\.tif: .*two or more .*--seeds/);
  const tile = await clearsky(['inpaint', '--target', target, '--mask', mask, '--mode', 'basic', '--tile', '64', '--overlap', '48', '--out', path.join(dir, 'o.tif')]);
  assert.equal(tile.code, 2);
  assert.match(tile.stderr, /--tile\/--overlap: overlap must be/);
  assert.equal(tile.stderr.trim().split('\n').length, 1, 'one line');
});

/**
 * The seam statistic of the issue: the mean absolute jump between horizontally neighbouring cloudy pixels
 * across tile borders (tile edges and the middle of each overlap), over the same statistic everywhere else
 * under the cloud. Without overlap each tile's network settles on its own colours and the borders jump.
 */
function seamRatio(image: { width: number; data: Float32Array; bands: number }, cloud: (x: number, y: number) => boolean, borders: Set<number>, height: number): number {
  let seam = 0;
  let seamPairs = 0;
  let inside = 0;
  let insidePairs = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 1; x < image.width; x++) {
      if (!cloud(x, y) || !cloud(x - 1, y)) continue;
      let jump = 0;
      for (let b = 0; b < image.bands; b++) jump += Math.abs(image.data[(y * image.width + x) * image.bands + b] - image.data[(y * image.width + x - 1) * image.bands + b]);
      if (borders.has(x)) {
        seam += jump;
        seamPairs++;
      } else {
        inside += jump;
        insidePairs++;
      }
    }
  }
  return seam / seamPairs / (inside / insidePairs);
}

test('feathered overlaps leave no seam across tile borders on real data; abutting tiles do', async () => {
  const target = crop('seam.tif', 300, 200, 384, 128);
  const cloud = { x0: 20, x1: 360, y0: 24, y1: 104 };
  const mask = await rectangleMask('seam-mask.tif', target, cloud);
  const inCloud = (x: number, y: number) => x >= cloud.x0 && x < cloud.x1 && y >= cloud.y0 && y < cloud.y1;
  const ratios: Record<number, number> = {};
  for (const overlap of [32, 0]) {
    const out = path.join(dir, `seam-${overlap}.tif`);
    const r = await clearsky(['inpaint', '--target', target, '--mask', mask, '--bands', 'B04,B03,B02', '--mode', 'basic', '--steps', '50',
      '--tile', '128', '--overlap', String(overlap), '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const plan = planTiles(384, 128, { tileSize: 128, overlap });
    const borders = new Set<number>();
    for (const { window: w } of plan.tiles) {
      if (w.x > 0) borders.add(w.x);
      if (w.x + w.width < 384) borders.add(w.x + w.width);
      if (w.x > 0 && overlap > 0) borders.add(w.x + overlap / 2);
    }
    ratios[overlap] = seamRatio(await withRaster(out, (raster) => readBands(raster, [0, 1, 2])), inCloud, borders, 128);
  }
  assert.ok(ratios[32] < 1.5, `with feathering the jump across borders is like any other (ratio ${ratios[32].toFixed(2)})`);
  assert.ok(ratios[0] > 2 * ratios[32], `the statistic does see seams when tiles abut (ratio ${ratios[0].toFixed(2)})`);
});

test('--method idw-fill fills the cloud in seconds without the network; reference-fit needs a reference', async () => {
  const target = crop('quick.tif', 600, 300, 300, 200);
  const mask = await rectangleMask('quick-mask.tif', target, { x0: 100, x1: 160, y0: 50, y1: 120 });
  const out = path.join(dir, 'quick-out.tif');
  const r = await clearsky(['inpaint', '--target', target, '--mask', mask, '--method', 'idw-fill', '--stitch', '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  assert.equal(summary.method, 'idw-fill');
  assert.equal(summary.steps, 0);
  const input = await withRaster(target, (raster) => readBands(raster, raster.bandNames.map((_, b) => b)));
  const output = await withRaster(out, (raster) => readBands(raster, raster.bandNames.map((_, b) => b)));
  assert.equal(output.bands, 13, 'every band by default');
  for (let y = 0; y < 200; y++) {
    for (let x = 0; x < 300; x++) {
      const cloudy = x >= 100 && x < 160 && y >= 50 && y < 120;
      for (let b = 0; b < 13; b++) {
        const i = (y * 300 + x) * 13 + b;
        if (!cloudy) assert.equal(output.data[i], input.data[i]);
      }
    }
  }
  // Inside the cloud each value lies within the range of the clear values of its band (a distance-weighted mean).
  for (let b = 0; b < 13; b++) {
    let low = Infinity;
    let high = -Infinity;
    for (let p = 0; p < 300 * 200; p++) {
      const x = p % 300;
      const y = Math.floor(p / 300);
      if (x >= 100 && x < 160 && y >= 50 && y < 120) continue;
      low = Math.min(low, input.data[p * 13 + b]);
      high = Math.max(high, input.data[p * 13 + b]);
    }
    const centre = output.data[(85 * 300 + 130) * 13 + b];
    assert.ok(centre >= low && centre <= high, `band ${b + 1}: ${centre} in [${low}, ${high}]`);
  }
  assert.match(gdalinfo(out).metadata['']?.CLEARSKY_METHOD ?? '', /inverse-distance/);

  const refused = await clearsky(['inpaint', '--target', target, '--mask', mask, '--method', 'reference-fit', '--out', out + '2']);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /reference-fit needs --reference/);
});

test('a reference in another CRS is refused with advice, and with --resample it is reprojected onto the target grid', async () => {
  const target = dataFile('scotland-2020', 'S2L2A_mean_2019_B04B03B02.tif');
  const mask = dataFile('scotland-2020', 'cloudmask.tif');
  // The target itself reprojected into the neighbouring UTM zone: as a reference it should predict the cloud well.
  const reference = path.join(dir, 'reference-utm29.tif');
  execFileSync('gdalwarp', ['-q', '-t_srs', 'EPSG:32629', '-r', 'bilinear', '-et', '0', target, reference]);
  const out = path.join(dir, 'resampled-ref.tif');
  const args = ['inpaint', '--target', target, '--mask', mask, '--reference', reference, '--method', 'reference-fit', '--stitch', '--out', out];
  const refused = await clearsky(args);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /reference-utm29\.tif: is not on the grid of .*CRS is EPSG:32629, not EPSG:32630.*add --resample/);
  assert.equal(existsSync(out), false);

  const r = await clearsky([...args, '--resample']);
  assert.equal(r.code, 0, r.stderr);
  const truth = await withRaster(target, (raster) => readBands(raster, [0, 1, 2]));
  const output = await withRaster(out, (raster) => readBands(raster, [0, 1, 2]));
  const cloud = await withRaster(mask, (raster) => readBands(raster, [0]));
  // Compared with what a one-pixel misalignment alone would cost: the truth against itself shifted by a pixel.
  let error = 0;
  let shifted = 0;
  let n = 0;
  for (let p = 0; p < cloud.data.length; p++) {
    if (!cloud.data[p] || p % 256 === 0) continue;
    for (let b = 0; b < 3; b++) {
      error += (output.data[p * 3 + b] - truth.data[p * 3 + b]) ** 2;
      shifted += (truth.data[(p - 1) * 3 + b] - truth.data[p * 3 + b]) ** 2;
      n++;
    }
  }
  const rmse = Math.sqrt(error / n);
  const misaligned = Math.sqrt(shifted / n);
  assert.ok(rmse < 0.6 * misaligned, `under the cloud the reprojected reference predicts the target: RMSE ${rmse.toFixed(1)} DN, a 1-pixel shift gives ${misaligned.toFixed(1)}`);
});
