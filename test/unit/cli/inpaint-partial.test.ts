/**
 * `clearsky inpaint` when one tile fails: the engine refusing one tile's data (a RepresentationError, or an
 * InputError from that tile's window) fails that tile only. The other tiles go on, the output is written with
 * the failed tile's cloud left as the input (as a project's partial run), `--mask-out` and the quality file say
 * which pixels and tiles were not reconstructed, and the command exits 4. Every tile failing, a cancel, or any
 * other error still writes nothing. Real crops of the T33UUU scene; real child processes for the exit codes.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { runInpaint, type InpaintCommand, type InpaintSummary } from '../../../native/commands/inpaint.ts';
import { RepresentationError } from '../../../native/dip/modes.ts';
import { readBands, readRasterInfo, withRaster } from '../../../native/raster/tiff/geotiff-reader.ts';
import { writeGeoTiff } from '../../../native/raster/tiff/geotiff-writer.ts';
import type { QualityFile } from '../../../native/report/quality-file.ts';
import { runClearsky } from '../../helpers/cli.ts';
import { dataFile } from '../../helpers/data.ts';
import { gdalTranslate } from '../../helpers/gdal.ts';

const SCENE = dataFile('T33UUU-20170216', 'S2L1C_T33UUU_20170216_10m.tif');
let dir: string;

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-inpaint-partial-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** A 128 × 64 window of the real scene as its own GeoTIFF: two 64-px tiles side by side (no overlap). */
function crop(name: string, x: number, y: number): string {
  const file = path.join(dir, name);
  gdalTranslate(['-srcwin', String(x), String(y), '128', '64', SCENE, file]);
  return file;
}

/** Cloud in each of the two tiles: left x 16–40, right x 80–112, rows 24–48. */
const inLeftCloud = (x: number, y: number) => x >= 16 && x < 40 && y >= 24 && y < 48;
const inRightCloud = (x: number, y: number) => x >= 80 && x < 112 && y >= 24 && y < 48;

async function twoCloudMask(name: string, like: string): Promise<string> {
  const info = await readRasterInfo(like);
  const data = new Float32Array(128 * 64);
  for (let y = 0; y < 64; y++) for (let x = 0; x < 128; x++) if (inLeftCloud(x, y) || inRightCloud(x, y)) data[y * 128 + x] = 1;
  const file = path.join(dir, name);
  await writeGeoTiff(file, { width: 128, height: 64, bands: 1, data }, { dataType: 'uint8', like: info });
  return file;
}

/** Band `band` (0-based) of a file, 128 × 64. */
const band = (file: string, b: number) => withRaster(file, (raster) => readBands(raster, [b])).then((image) => image.data);

/** What is beside the outputs but the files named: no temporary, no tile folder. */
async function leftovers(folder: string, expected: string[]): Promise<string[]> {
  return (await fs.readdir(folder)).filter((f) => !expected.includes(f));
}

/**
 * The old ÷2000 representation under the sigmoid cannot reach B08 above 2000 DN (the refusal the engine's
 * tests provoke, test/unit/reconstruction/representation.test.ts). Two real 64-px windows of the scene side by
 * side (B04, B08): `left` bright in B08, which the engine refuses for real, and `right`.
 */
async function twoWindows(name: string, left: { x: number; y: number }, right: { x: number; y: number }): Promise<string> {
  const info = await readRasterInfo(SCENE);
  const [a, b] = await withRaster(SCENE, (raster) => Promise.all([left, right].map((w) => readBands(raster, [3, 7], { ...w, width: 64, height: 64 }))));
  const image = { width: 128, height: 64, bands: 2, data: new Float32Array(128 * 64 * 2) };
  for (let y = 0; y < 64; y++) {
    image.data.set(a.data.subarray(y * 128, (y + 1) * 128), y * 256);
    image.data.set(b.data.subarray(y * 128, (y + 1) * 128), y * 256 + 128);
  }
  const file = path.join(dir, name);
  await writeGeoTiff(file, image, { dataType: 'uint16', like: info, pixelOffset: left, bandNames: ['B04', 'B08'], nodata: 0 });
  return file;
}

/** Bright in B08 (median above 3000 DN), and dark (about 700 DN): the refused tile, and the reconstructed one. */
const BRIGHT = { x: 960, y: 96 };
const DARK = { x: 1216, y: 256 };
const OTHER_BRIGHT = { x: 960, y: 160 };

const refusingCommand = (target: string, mask: string, folder: string, extra: Partial<InpaintCommand> = {}): InpaintCommand => ({
  target,
  mask,
  maskBand: 1,
  references: [],
  method: 'dip',
  mode: 'basic',
  steps: 100,
  seeds: [0],
  backend: 'native',
  stitch: true,
  tileSize: 64,
  overlap: 0,
  out: path.join(folder, 'out.tif'),
  maskOut: path.join(folder, 'mask-used.tif'),
  quality: true,
  engine: { representation: 'plain' },
  ...extra,
});

test('a tile the engine refuses fails alone: the other is reconstructed, the output written, the refused tile\'s cloud is the input, mask and quality file say so', async () => {
  const target = await twoWindows('bright-dark.tif', BRIGHT, DARK);
  const mask = await twoCloudMask('bright-dark-mask.tif', target);
  const folder = path.join(dir, 'refused');
  await fs.mkdir(folder);
  const failed: string[] = [];
  const summary: InpaintSummary = await runInpaint({ ...refusingCommand(target, mask, folder), onTileFailed: (label, reason) => failed.push(`${label}: ${reason}`) });

  assert.equal(summary.failed_tiles.length, 1, JSON.stringify(summary.failed_tiles));
  const [refused] = summary.failed_tiles;
  assert.deepEqual({ index: refused.index, row: refused.row, col: refused.col }, { index: 0, row: 0, col: 0 });
  assert.match(refused.reason, /^reconstruction refused: under the clouds, B08 \d+ % at the upper limit/);
  assert.deepEqual(summary.tiles, { total: 2, reconstructed: 1, failed: 1, clear: 0, without_clear_pixels: 0 });
  assert.deepEqual(failed, [`tile 1/2 (row 1, col 1): ${refused.reason}`], 'said as it happened');

  // Pixels: the input's everywhere but under the right tile's cloud, which the network filled.
  const input = await withRaster(target, (raster) => readBands(raster, [0, 1]));
  const output = await withRaster(summary.out, (raster) => readBands(raster, [0, 1]));
  let leftCloud = 0;
  let rightChanged = 0;
  let rightCloud = 0;
  for (let y = 0; y < 64; y++) {
    for (let x = 0; x < 128; x++) {
      for (let b = 0; b < 2; b++) {
        const i = (y * 128 + x) * 2 + b;
        if (inRightCloud(x, y)) {
          rightCloud++;
          if (output.data[i] !== input.data[i]) rightChanged++;
        } else {
          if (inLeftCloud(x, y)) leftCloud++;
          assert.equal(output.data[i], input.data[i], `pixel ${x},${y} band ${b}: the input's (clear, or the refused tile's cloud)`);
        }
      }
    }
  }
  assert.equal(leftCloud, 24 * 24 * 2);
  assert.ok(rightChanged > rightCloud * 0.9, `the right tile's cloud is reconstructed (${rightChanged} of ${rightCloud} values changed)`);

  // --mask-out: 1 where reconstructed, 2 where cloud was left as the input, 0 clear.
  const used = await band(summary.mask_out!, 0);
  for (let y = 0; y < 64; y++) for (let x = 0; x < 128; x++) assert.equal(used[y * 128 + x], inRightCloud(x, y) ? 1 : inLeftCloud(x, y) ? 2 : 0, `mask pixel ${x},${y}`);

  // The quality file: the run is partial; the refused tile is failed with its reason, the other done.
  const quality = JSON.parse(await fs.readFile(summary.quality!, 'utf8')) as QualityFile;
  assert.equal(quality.run.status, 'partial');
  assert.deepEqual(quality.tiles.map((t) => [t.index, t.status, t.error]), [[0, 'failed', refused.reason], [1, 'done', null]]);
  assert.ok(quality.tiles[1].finalLoss! > 0);
  assert.deepEqual(await leftovers(folder, ['out.tif', 'mask-used.tif', 'out.quality.json']), [], 'no temporary or tile folder left');
});

test('every cloudy tile refused: nothing is written and the refusal is thrown, as before', async () => {
  const target = await twoWindows('bright.tif', BRIGHT, OTHER_BRIGHT);
  const mask = await twoCloudMask('bright-mask.tif', target);
  const folder = path.join(dir, 'all-refused');
  await fs.mkdir(folder);
  await assert.rejects(runInpaint(refusingCommand(target, mask, folder)), (error: Error) => {
    assert.ok(error instanceof RepresentationError, String(error));
    assert.match(error.message, /^tile 1\/2 \(row 1, col 1\): reconstruction refused/);
    return true;
  });
  assert.deepEqual(await fs.readdir(folder), []);
});

test('a cancel after a refused tile writes nothing: the finished work is not passed off as a result', async () => {
  const target = await twoWindows('bright-dark-2.tif', BRIGHT, DARK);
  const mask = await twoCloudMask('bright-dark-mask-2.tif', target);
  const folder = path.join(dir, 'cancelled');
  await fs.mkdir(folder);
  const controller = new AbortController();
  // Cancelled while the second tile trains, after the first was refused.
  const cancelling = { signal: controller.signal, onProgress: (p: { label: string }) => p.label.startsWith('tile 2/2') && controller.abort() };
  await assert.rejects(runInpaint({ ...refusingCommand(target, mask, folder), ...cancelling }), (error: Error) => error.name === 'AbortError');
  assert.deepEqual(await fs.readdir(folder), [], 'no output, no temporary, no tile folder');
});

/**
 * For the command line: a reference (Float32, the crop itself) with NaN values over the left tile, which the
 * reader refuses for that tile's window only (an InputError naming the file).
 */
async function referenceWithNaN(name: string, like: string, where: (x: number, y: number) => boolean): Promise<string> {
  const info = await readRasterInfo(like);
  const image = await withRaster(like, (raster) => readBands(raster, [1, 2, 3]));
  for (let y = 0; y < 64; y++) for (let x = 0; x < 128; x++) if (where(x, y)) image.data.fill(NaN, (y * 128 + x) * 3, (y * 128 + x) * 3 + 3);
  const file = path.join(dir, name);
  await writeGeoTiff(file, image, { dataType: 'float32', like: info, bandNames: ['B02', 'B03', 'B04'] });
  return file;
}

const inpaintCli = (target: string, mask: string, reference: string, out: string, extra: string[] = []) =>
  runClearsky(['inpaint', '--target', target, '--mask', mask, '--reference', reference, '--bands', 'B04,B03,B02', '--mode', 'mt', '--steps', '5', '--tile', '64', '--overlap', '0', '--stitch', '--out', out, ...extra], dir);

test('clearsky inpaint: one tile\'s bad data fails that tile; the rest is written, the summary lists it, one line says why, exit 4', async () => {
  const target = crop('cli.tif', 1088, 64);
  const mask = await twoCloudMask('cli-mask.tif', target);
  const reference = await referenceWithNaN('cli-ref.tif', target, (x, y) => x < 64 && y < 8);
  const folder = path.join(dir, 'cli');
  await fs.mkdir(folder);
  const out = path.join(folder, 'out.tif');
  const r = await inpaintCli(target, mask, reference, out, ['--json', '--quality']);
  assert.equal(r.code, 4, r.stderr);
  const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as InpaintSummary;
  assert.equal(summary.failed_tiles.length, 1);
  assert.deepEqual({ ...summary.failed_tiles[0], reason: undefined }, { index: 0, row: 0, col: 0, reason: undefined });
  assert.match(summary.failed_tiles[0].reason, /cli-ref\.tif: 512 of 4096 pixels have NaN or infinite values/);
  const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('clearsky:'));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(r.stderr, /^tile 1\/2 \(row 1, col 1\) failed, keeps the input: .*cli-ref\.tif/m, 'said as it happened');
  assert.match(lines[0], /^clearsky: 1 of 2 cloudy tiles failed and keep the input \(row 1, col 1: .*cli-ref\.tif: 512 of 4096 pixels have NaN.*\); the others are reconstructed in .*out\.tif$/);

  const input = await withRaster(target, (raster) => readBands(raster, [3, 2, 1]));
  const output = await withRaster(out, (raster) => readBands(raster, [0, 1, 2]));
  let rightChanged = 0;
  for (let y = 0; y < 64; y++) {
    for (let x = 0; x < 128; x++) {
      for (let b = 0; b < 3; b++) {
        const i = (y * 128 + x) * 3 + b;
        if (inRightCloud(x, y)) rightChanged += output.data[i] !== input.data[i] ? 1 : 0;
        else assert.equal(output.data[i], input.data[i], `pixel ${x},${y}`);
      }
    }
  }
  assert.ok(rightChanged > 0, 'the right tile is reconstructed');
  const quality = JSON.parse(await fs.readFile(summary.quality!, 'utf8')) as QualityFile;
  assert.deepEqual(quality.tiles.map((t) => t.status), ['failed', 'done']);
  assert.equal(quality.tiles[0].error, summary.failed_tiles[0].reason);
  assert.deepEqual(await leftovers(folder, ['out.tif', 'out.quality.json']), []);
});

test('clearsky inpaint: when every cloudy tile fails, nothing is written and it exits 2 with the one-line error, as before', async () => {
  const target = crop('cli-all.tif', 1088, 64);
  const mask = await twoCloudMask('cli-all-mask.tif', target);
  const reference = await referenceWithNaN('cli-all-ref.tif', target, (_x, y) => y < 8);
  const folder = path.join(dir, 'cli-all');
  await fs.mkdir(folder);
  const r = await inpaintCli(target, mask, reference, path.join(folder, 'out.tif'), ['--mask-out', path.join(folder, 'mask.tif')]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^clearsky: .*cli-all-ref\.tif: 512 of 4096 pixels have NaN or infinite values/m);
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line, no per-tile notice: ${r.stderr}`);
  assert.deepEqual(await fs.readdir(folder), []);
  assert.equal(existsSync(path.join(folder, 'out.tif')), false);
});
