/**
 * The `clearsky` command as users and other tools run it: a real child process on the real Slovenia data.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { openRaster, readBands, withRaster } from '../../../native/raster/tiff/geotiff-reader.ts';
import { readMaskBand } from '../../../native/raster/sentinel/mask.ts';
import { writeGeoTiff } from '../../../native/raster/tiff/geotiff-writer.ts';
import { REPO_ROOT, dataFile } from '../../helpers/data.ts';
import { runClearsky } from '../../helpers/cli.ts';

const slovenia = (name: string) => dataFile('slovenia-2015', name);
const TARGET = slovenia('S2L1C_20150909.tif');
const MASKS = slovenia('cloudmasks_s2cloudless_2015-2017.tif');
const REFS = [slovenia('S2L1C_20150711.tif'), slovenia('S2L1C_20150830.tif')];
let dir: string;

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-cli-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const clearsky = (args: string[]) => runClearsky(args, dir);

test('inpaint writes a georeferenced UInt16 GeoTIFF of the chosen bands, stitched, with a JSON summary', async () => {
  const out = path.join(dir, 'mt.tif');
  const r = await clearsky(['inpaint', '--target', TARGET, '--mask', MASKS, '--mask-band', '19', '--reference', REFS[0], '--reference', REFS[1],
    '--bands', 'B04,B03,B02', '--mode', 'mt', '--steps', '3', '--stitch', '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  assert.equal(summary.mode, 'mt');
  assert.equal(summary.steps, 3);
  assert.ok(summary.seconds_per_step > 0 && typeof summary.backend === 'string' && Number.isFinite(summary.final_loss));
  assert.match(r.stderr, /step 3\/3/);

  const input = await openRaster(TARGET);
  const output = await openRaster(out);
  try {
    assert.equal(output.dataType, 'uint16');
    assert.deepEqual([output.width, output.height, output.bandCount], [100, 101, 3]);
    assert.deepEqual(output.geoTransform, input.geoTransform);
    assert.equal(output.crs?.epsg, 32633);
    assert.deepEqual(output.bandNames, ['B04', 'B03', 'B02']);
    assert.equal(output.metadata.CLEARSKY_MODE, 'mt');
    assert.match(output.metadata.ATTRIBUTION, /Contains modified Copernicus Sentinel data/);
    const mask = await withRaster(MASKS, (m) => readMaskBand(m, 18));
    const before = await readBands(input, [3, 2, 1]);
    const after = await readBands(output, [0, 1, 2]);
    let changed = 0;
    for (let p = 0; p < mask.data.length; p++) {
      for (let b = 0; b < 3; b++) {
        const i = p * 3 + b;
        if (!mask.data[p]) assert.equal(after.data[i], Math.min(before.data[i], 10000), `clear pixel ${p} band ${b}`);
        else if (after.data[i] !== before.data[i]) changed++;
      }
    }
    assert.ok(changed > 0, 'cloudy pixels were reconstructed');
  } finally {
    await input.close();
    await output.close();
  }
});

test('several seeds give a median result; bad flags are a usage error', async () => {
  const r = await clearsky(['inpaint', '--target', TARGET, '--mask', MASKS, '--mask-band', '14', '--bands', 'B04', '--mode', 'basic', '--steps', '1', '--seeds', '0,1,2', '--out', path.join(dir, 'seeds.tif'), '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').at(-1)!).seeds, [0, 1, 2]);
  const bad = await clearsky(['inpaint', '--target', TARGET, '--frobnicate']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /frobnicate/);
});

/** Runs an inpaint that must fail: exit 2, one line naming `names`, and no file at the output path. */
async function assertRefused(args: string[], message: RegExp) {
  const out = path.join(dir, `refused-${Math.random().toString(36).slice(2)}.tif`);
  const r = await clearsky(['inpaint', '--mode', 'basic', '--steps', '2', '--out', out, ...args]);
  assert.equal(r.code, 2, `exit code; stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.match(lines[0], message);
  assert.ok(lines.length <= 2, `short error, got:\n${r.stderr}`);
  await assert.rejects(fs.access(out), 'no output file is left behind');
  const leftovers = (await fs.readdir(dir)).filter((f) => f.includes('refused'));
  assert.deepEqual(leftovers, []);
}

test('bad input gets a one-line error naming the file and the problem, and no output', async () => {
  const notTiff = path.join(dir, 'notes.tif');
  await fs.writeFile(notTiff, 'these are my field notes, not an image\n');
  await assertRefused(['--target', path.join(dir, 'missing.tif'), '--mask', MASKS], /missing\.tif.*(not exist|no such|not found)/i);
  await assertRefused(['--target', notTiff, '--mask', MASKS], /notes\.tif.*TIFF/i);
  await assertRefused(['--target', TARGET, '--mask', dataFile('scotland-2020', 'cloudmask.tif')], /cloudmask\.tif.*grid.*S2L1C_20150909\.tif/);
  await assertRefused(['--target', TARGET, '--mask', MASKS, '--mask-band', '2'], /cloudmasks.*band 2.*all .* pixels as cloud/);
  await assertRefused(['--target', TARGET, '--mask', MASKS, '--mask-band', '14', '--bands', 'B04,B13'], /S2L1C_20150909\.tif.*no band B13/);
  await assertRefused(['--target', TARGET, '--mask', MASKS, '--mask-band', '14', '--mode', 'mt'], /needs a multi-temporal reference/);
  await assertRefused(['--target', TARGET, '--mask', MASKS, '--mask-band', '14', '--reference', dataFile('scotland-2020', 'S2L2A_mean_2019_B04B03B02.tif'), '--mode', 'mt'], /S2L2A_mean_2019.*grid/);
});

test('a target with NaN pixels is refused with the count, not fitted into garbage', async () => {
  const nanTarget = path.join(dir, 'nan.tif');
  await withRaster(TARGET, async (raster) => {
    const image = await readBands(raster, [3, 2, 1]);
    for (let i = 0; i < 30; i++) image.data[i * 3] = Number.NaN;
    await writeGeoTiff(nanTarget, image, { dataType: 'float32', like: raster, bandNames: ['B04', 'B03', 'B02'] });
  });
  await assertRefused(['--target', nanTarget, '--mask', MASKS, '--mask-band', '14'], /nan\.tif.*30 of 10100 pixels have NaN/);
});

test('an unwritable output folder is refused before any optimisation', async () => {
  const r = await clearsky(['inpaint', '--target', TARGET, '--mask', MASKS, '--mask-band', '14', '--mode', 'basic', '--out', path.join(dir, 'no/such/folder/out.tif')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /out\.tif.*cannot write here/);
  assert.doesNotMatch(r.stderr, /step/);
});

test('Ctrl-C (SIGINT) cancels a run between steps: exit 130 and no output file, also when pressed again and again', async () => {
  for (const presses of [1, 3]) {
    const out = path.join(dir, `interrupted-${presses}.tif`);
    const child = (await import('node:child_process')).spawn(process.execPath, [path.join(REPO_ROOT, 'bin/clearsky.js'), 'inpaint', '--target', TARGET, '--mask', MASKS,
      '--mask-band', '14', '--bands', 'B04', '--mode', 'basic', '--steps', '100000', '--out', out], { cwd: dir });
    let stderr = '';
    let interrupted = false;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (interrupted || !/step \d+\/100000/.test(stderr)) return;
      interrupted = true;
      for (let i = 0; i < presses; i++) child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 130, `${presses} Ctrl-C: ${stderr}`);
    if (presses === 1) assert.match(stderr, /cancelled/);
    await assert.rejects(fs.access(out));
  }
});

test('without --bands every band is reconstructed: a 13-band L1C scene in, 13 described bands out', async () => {
  const out = path.join(dir, 'all-bands.tif');
  const r = await clearsky(['inpaint', '--target', TARGET, '--mask', MASKS, '--mask-band', '19', '--mode', 'mtr', '--reference', REFS[1], '--steps', '1', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  await withRaster(out, async (raster) => {
    assert.equal(raster.bandCount, 13);
    assert.deepEqual(raster.bandNames, ['B01', 'B02', 'B03', 'B04', 'B05', 'B06', 'B07', 'B08', 'B8A', 'B09', 'B10', 'B11', 'B12']);
    assert.equal(raster.metadata.CLEARSKY_MODE, 'mtr');
  });
});

test('SAR bands and units can be given explicitly; units that contradict the values are refused', async () => {
  const target = dataFile('scotland-2020', 'S2L2A_mean_2019_B04B03B02.tif');
  const mask = dataFile('scotland-2020', 'cloudmask.tif');
  const sar = dataFile('scotland-2020', 'S1_GRD_sigma0_linear.tif');
  const args = (extra: string[]) => ['inpaint', '--target', target, '--mask', mask, '--sar', sar, '--mode', 'ms', '--steps', '2', '--out', path.join(dir, 'ms.tif'), ...extra];
  const ok = await clearsky(args(['--sar-bands', '2,1', '--sar-units', 'linear']));
  assert.equal(ok.code, 0, ok.stderr);
  const wrong = await clearsky(args(['--sar-bands', '2,1', '--sar-units', 'db']));
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /S1_GRD_sigma0_linear\.tif: --sar-units db, but \d+ % of the values lie in \[0, 1\]/);
  const oneBand = await clearsky(args(['--sar-bands', '2']));
  assert.equal(oneBand.code, 2);
  assert.match(oneBand.stderr, /--sar-bands takes the 1-based VV and VH band numbers/);
});
