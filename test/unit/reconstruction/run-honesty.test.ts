/**
 * A project never holds a "reconstruction" that is only its input: scenes with NaN or infinite pixels are
 * refused at import (naming the file and the band), and a run whose every cloudy tile failed ends failed
 * with no result registered. Real `clearsky` child processes, real projects, the real Slovenia scene.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { readBands, withRaster } from '../../../native/raster/tiff/geotiff-reader.ts';
import { writeGeoTiff } from '../../../native/raster/tiff/geotiff-writer.ts';
import { runClearsky } from '../../helpers/cli.ts';
import { dataFile } from '../../helpers/data.ts';

const TARGET = dataFile('slovenia-2015', 'S2L1C_20150909.tif');
const MASKS = dataFile('slovenia-2015', 'cloudmasks_s2cloudless_2015-2017.tif');
let dir: string;
const clearsky = (args: string[]) => runClearsky(args, dir);

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-honesty-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** The Slovenia scene as Float32 with `value` in `band` (0-based) of a few pixels. */
async function sceneWith(file: string, band: number, value: number): Promise<void> {
  await withRaster(TARGET, async (raster) => {
    const image = await readBands(raster, raster.bandNames.map((_, b) => b));
    for (let pixel = 500; pixel < 520; pixel++) image.data[pixel * image.bands + band] = value;
    await writeGeoTiff(file, image, { dataType: 'float32', like: raster, bandNames: raster.bandNames, metadata: raster.metadata });
  });
}

test('project import refuses a scene with NaN or infinite pixels, naming the file and the band', async () => {
  assert.equal((await clearsky(['project', 'create', 'imports'])).code, 0);
  const nan = path.join(dir, 'nan-scene.tif');
  const inf = path.join(dir, 'inf-scene.tif');
  await sceneWith(nan, 3, Number.NaN);
  await sceneWith(inf, 1, Number.POSITIVE_INFINITY);
  for (const [file, band] of [[nan, /band 4 \(B04\) has NaN values/], [inf, /band 2 \(B02\) has infinite values/]] as const) {
    const r = await clearsky(['project', 'import', 'imports', file, '--kind', 'S2']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const line = r.stdout.split('\n').find((l) => l.startsWith('failed'));
    assert.ok(line?.includes(file), `the failure names the file: ${r.stdout}`);
    assert.match(line!, band);
  }
  const listing = JSON.parse((await clearsky(['project', 'list', 'imports', '--json'])).stdout);
  assert.deepEqual(listing.scenes, []);
  assert.deepEqual(await fs.readdir(path.join(dir, 'imports', 'rasters', 's2')).catch(() => []), [], 'no raster (or temporary) left in the project');
});

test('a run whose every cloudy tile fails ends failed and registers no result equal to the input', async () => {
  for (const args of [['project', 'create', 'proj'], ['project', 'import', 'proj', TARGET, MASKS]]) assert.equal((await clearsky(args)).code, 0, args.join(' '));
  // The imported scene's pixels replaced afterwards (by another program, or a project imported before the check).
  const raster = path.join(dir, 'proj', 'rasters', 's2', 'S2L1C_20150909.tif');
  await sceneWith(path.join(dir, 'broken.tif'), 3, Number.NaN);
  await fs.rm(raster);
  await fs.copyFile(path.join(dir, 'broken.tif'), raster);

  const r = await clearsky(['run', 'proj', '--target', '1', '--mask', '19', '--method', 'idw-fill', '--workers', '1', '--json']);
  assert.equal(r.code, 1, r.stderr);
  const run = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  assert.equal(run.status, 'failed');
  assert.deepEqual(run.results, [], 'no result layer is registered');
  assert.match(run.error, /all 1 cloudy tile failed, so there is no reconstruction \(first: .*NaN/);
  await assert.rejects(fs.access(path.join(dir, 'proj', 'runs', String(run.id), 'result.tif')), 'no result file either');
});
