/**
 * `clearsky inpaint --quality`: the blind-setting quality signal (each cloudy tile's loss curve per seed and the
 * seeds' spread) written beside a reconstruction made without a project, in the format of `clearsky export
 * --quality`. A real child process on the real Slovenia data.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { QUALITY_FORMAT, type QualityFile } from '../../../native/report/quality-file.ts';
import { withRaster } from '../../../native/raster/tiff/geotiff-reader.ts';
import { dataFile } from '../../helpers/data.ts';
import { runClearsky } from '../../helpers/cli.ts';

const TARGET = dataFile('slovenia-2015', 'S2L1C_20150909.tif');
const MASKS = dataFile('slovenia-2015', 'cloudmasks_s2cloudless_2015-2017.tif');
const REFERENCE = dataFile('slovenia-2015', 'S2L1C_20150830.tif');
let dir: string;

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-inpaint-quality-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** A short two-seed MT run (guided by a reference, 20 steps give a sound result) on small tiles, so that there are several cloudy tiles with a curve and a spread each. */
const inpaint = (out: string, extra: string[] = []) =>
  runClearsky(['inpaint', '--target', TARGET, '--mask', MASKS, '--mask-band', '19', '--reference', REFERENCE, '--bands', 'B04,B03', '--mode', 'mt', '--steps', '20', '--seeds', '0,1', '--tile', '64', '--overlap', '16', '--out', out, ...extra], dir);

test('inpaint --quality writes OUT.quality.json beside the GeoTIFF: per cloudy tile its loss, spread, steps and curve per seed', async () => {
  const out = path.join(dir, 'run', 'slovenia.tif');
  await fs.mkdir(path.dirname(out));
  const r = await inpaint(out, ['--quality', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { quality?: string; tiles: { reconstructed: number; without_clear_pixels: number } };
  const qualityOut = path.join(dir, 'run', 'slovenia.quality.json');
  assert.equal(summary.quality, qualityOut);
  assert.ok(summary.tiles.reconstructed > 1, 'several cloudy tiles');

  const quality = JSON.parse(await fs.readFile(qualityOut, 'utf8')) as QualityFile;
  assert.equal(quality.format, QUALITY_FORMAT);
  assert.deepEqual(quality.run, { id: null, name: null, method: 'dip', mode: 'mt', steps: 20, seeds: [0, 1], status: 'done' });
  assert.ok(quality.units.spread.length > 0);
  const done = quality.tiles.filter((t) => t.status === 'done');
  assert.equal(done.length, summary.tiles.reconstructed);
  assert.equal(quality.tiles.length, summary.tiles.reconstructed + summary.tiles.without_clear_pixels);
  assert.deepEqual(quality.tiles.map((t) => t.index), [...quality.tiles.map((t) => t.index)].sort((a, b) => a - b), 'in tile order');
  const { width, height } = await withRaster(out, (raster) => Promise.resolve({ width: raster.width, height: raster.height }));
  for (const tile of done) {
    assert.deepEqual(tile.curves.map((c) => c.seed), [0, 1], `tile ${tile.index}: a curve per seed`);
    for (const curve of tile.curves) {
      assert.equal(curve.step.at(-1), 20, `tile ${tile.index}: the curve runs to the last step`);
      assert.ok(curve.loss.every((l) => Number.isFinite(l) && l >= 0));
    }
    assert.equal(tile.steps, 20);
    assert.ok(Number.isFinite(tile.finalLoss) && tile.finalLoss! > 0, `tile ${tile.index}: final loss ${tile.finalLoss}`);
    assert.ok(typeof tile.spread === 'number' && tile.spread >= 0, `tile ${tile.index}: spread ${tile.spread}`);
    assert.ok(tile.seconds! > 0);
    const w = tile.window;
    assert.ok(w.x >= 0 && w.y >= 0 && w.x + w.width <= width && w.y + w.height <= height, `tile ${tile.index}: window inside the output`);
  }
  assert.ok(done.some((t) => t.spread! > 0), 'two seeds disagree somewhere');
  assert.deepEqual((await fs.readdir(path.dirname(out))).sort(), ['slovenia.quality.json', 'slovenia.tif'], 'no temporary left');
});

test('without --quality no quality file; the quality file is an output: never written over an input', async () => {
  const plain = path.join(dir, 'plain.tif');
  const r = await inpaint(plain, ['--steps', '1']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(existsSync(path.join(dir, 'plain.quality.json')), false);

  // The mask, under the name the quality file of `guard.tif` would take.
  const mask = path.join(dir, 'guard.quality.json');
  await fs.copyFile(MASKS, mask);
  const before = await fs.readFile(mask);
  const guarded = await runClearsky(['inpaint', '--target', TARGET, '--mask', mask, '--mask-band', '14', '--bands', 'B04', '--mode', 'basic', '--steps', '1', '--out', path.join(dir, 'guard.tif'), '--quality'], dir);
  assert.equal(guarded.code, 2, guarded.stderr);
  assert.match(guarded.stderr.trim(), /guard\.quality\.json/);
  assert.equal(guarded.stderr.trim().split('\n').length, 1, guarded.stderr);
  assert.deepEqual(await fs.readFile(mask), before, 'the input is untouched');
  assert.equal(existsSync(path.join(dir, 'guard.tif')), false);
});
