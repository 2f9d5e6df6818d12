/**
 * `clearsky eval --set`: the public sets resolve under the data folder (and a missing one is named), the
 * SEN12MS-CR pairs are scored under the detector's mask and only where the cloud-free truth is valid, the T33UUU
 * crop goes through the project's tiled pipeline over several tiles, `--modes default` runs what defaultMethod
 * picks, and the JSON rows carry the table's columns. Few steps, baselines where the network is not the point.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { defaultMethod } from '../../../native/api/contract.ts';
import { resolveEvalSets, type PairsSet, type TiledSet } from '../../../native/commands/eval-sets.ts';
import { formatSetTable, methodsFor, runSetEval, scoreWhereValid, tiledSetMask, variantName, type SetEvalRow } from '../../../native/commands/eval-table.ts';
import { variantFrom } from '../../../native/cli/eval.ts';
import { inverseDistanceFill } from '../../../native/dip/baselines.ts';
import { inpaint, medianOf } from '../../../native/dip/inpaint.ts';
import { scoreReconstruction } from '../../../native/dip/metrics.ts';
import { loadMask, loadSources } from '../../../native/reconstruction/source-files.ts';
import { createImage, createMask, hideMasked } from '../../../native/dip/image.ts';
import { openCloudDetector } from '../../../native/raster/sentinel/cloud-detect.ts';
import { openRaster, readBands } from '../../../native/raster/tiff/geotiff-reader.ts';
import { writeGeoTiff } from '../../../native/raster/tiff/geotiff-writer.ts';
import { planTiles } from '../../../native/raster/tiles/tiling.ts';
import { runClearsky } from '../../helpers/cli.ts';
import { DATA_DIR } from '../../helpers/data.ts';

let dir: string;
before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-eval-sets-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const COLUMNS = ['set', 'case', 'cover', 'method', 'mode', 'seed', 'steps', 'ssim_mask', 'rmse_mask', 'ssim_whole', 'rmse_whole', 'seconds', 'tiles', 'seconds_per_tile', 'mask_source', 'truth'];

test('defaultMethod: reference → mtfit at 25 steps, SAR → ms, both → msmt, the scene alone → inverse-distance fill; each says why', () => {
  const picks = [
    [{ reference: false, sar: false }, 'idw-fill', 'basic'],
    [{ reference: true, sar: false }, 'dip', 'mtfit'],
    [{ reference: false, sar: true }, 'dip', 'ms'],
    [{ reference: true, sar: true }, 'dip', 'msmt'],
  ] as const;
  for (const [sources, method, mode] of picks) {
    const picked = defaultMethod(sources);
    assert.equal(picked.method, method, JSON.stringify(sources));
    assert.equal(picked.mode, mode, JSON.stringify(sources));
    assert.equal(picked.steps, mode === 'mtfit' ? 25 : 4000);
    assert.deepEqual(picked.seeds, [0]);
    assert.ok(picked.why.length > 20 && !picked.why.includes('\n'), `one line of why: ${picked.why}`);
  }
});

test('the sets resolve under the data folder: Slovenia with its 9 masks and the clear reference, 3 pairs, a multi-tile T33UUU crop', () => {
  const [slovenia, pairs, t33] = resolveEvalSets(['slovenia', 'sen12mscr', 't33uuu'], DATA_DIR);
  assert.equal(slovenia.kind, 'pasted');
  if (slovenia.kind !== 'pasted') return;
  assert.deepEqual(slovenia.maskBands, [14, 19, 21, 35, 37, 41, 48, 50, 51]);
  // 0711 is a cloud: the clear reference is the mean of 0820 and 0830.
  assert.deepEqual(slovenia.references.map((r) => path.basename(r)), ['S2L1C_20150820.tif', 'S2L1C_20150830.tif']);
  assert.equal(slovenia.target, path.join(DATA_DIR, 'slovenia-2015', 'S2L1C_20150909.tif'));
  assert.equal(pairs.kind, 'pairs');
  assert.equal((pairs as PairsSet).pairs.length, 3);
  for (const pair of (pairs as PairsSet).pairs) {
    assert.match(pair.cloudy, /s2_cloudy/);
    assert.match(pair.clear, /s2_cloudfree/);
    assert.equal(pair.sar, undefined, 'the folder holds no S1 for the pairs');
  }
  assert.equal(t33.kind, 'tiled');
  const plan = planTiles((t33 as TiledSet).area.width, (t33 as TiledSet).area.height, { tileSize: (t33 as TiledSet).tileSize, overlap: (t33 as TiledSet).overlap });
  assert.ok(plan.tiles.length >= 6, `${plan.tiles.length} tiles`);
});

test('a missing data folder, or a set file missing from it, is refused naming the path (exit 2)', async () => {
  const missing = path.join(dir, 'no-such-data');
  const result = await runClearsky(['eval', '--set', 'all', '--data', missing, '--steps', '1'], dir);
  assert.equal(result.code, 2, result.stderr);
  assert.equal(result.stderr.trim(), `clearsky: ${missing}: no such data folder: the public sets are read from it (give --data DIR or set CLEARSKY_DATA)`);
  // A folder holding only part of the sets: the first missing file is named.
  const partial = path.join(dir, 'partial');
  await fs.mkdir(path.join(partial, 'slovenia-2015'), { recursive: true });
  await fs.copyFile(path.join(DATA_DIR, 'slovenia-2015', 'S2L1C_20150909.tif'), path.join(partial, 'slovenia-2015', 'S2L1C_20150909.tif'));
  const env = await runClearsky(['eval', '--set', 'slovenia', '--steps', '1'], dir, { CLEARSKY_DATA: partial });
  assert.equal(env.code, 2, env.stderr);
  assert.match(env.stderr, new RegExp(`${path.join(partial, 'slovenia-2015', 'cloudmasks_s2cloudless_2015-2017.tif').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: is missing from the data folder`));
});

test('scores where the truth is valid leave out invalid pixels, however wrong the prediction is there', () => {
  const truth = createImage(40, 40, 3);
  const pred = createImage(40, 40, 3);
  for (let i = 0; i < truth.data.length; i++) truth.data[i] = pred.data[i] = 0.3 + 0.2 * Math.sin(i / 7);
  const mask = createMask(40, 40);
  const valid = createMask(40, 40);
  valid.data.fill(1);
  for (let y = 10; y < 30; y++) for (let x = 10; x < 30; x++) mask.data[y * 40 + x] = 1;
  // Invalid truth inside the mask, with a wildly wrong prediction there.
  for (let y = 10; y < 15; y++) for (let x = 10; x < 30; x++) {
    valid.data[y * 40 + x] = 0;
    for (let b = 0; b < 3; b++) pred.data[(y * 40 + x) * 3 + b] = 5;
  }
  const scores = scoreWhereValid(truth, pred, mask, valid);
  assert.equal(scores.masked.rmse, 0);
  assert.equal(scores.whole.rmse, 0);
  assert.ok(scores.masked.ssim > 0.999);
  const unguarded = scoreWhereValid(truth, pred, mask, null);
  assert.ok(unguarded.masked.rmse > 1, 'without the valid mask the wrong pixels count');
});

test('sen12mscr: the cloudy image under the detector’s mask, scored against the cloud-free image only where it is valid', async () => {
  const [set] = resolveEvalSets(['sen12mscr'], DATA_DIR) as PairsSet[];
  const pair = set.pairs[0];
  // The detector's own mask of the cloudy image (as `clearsky mask --detect` makes it).
  const detector = await openCloudDetector(pair.cloudy);
  const detected = await detector.read({ x: 0, y: 0, width: detector.grid.width, height: detector.grid.height });
  await detector.close();
  const cloudPixels = detected.data.reduce((n, v) => n + v, 0);
  assert.ok(cloudPixels > 1000, `the detector finds the pair's clouds (${cloudPixels} px)`);

  const [original] = await runSetEval({ sets: [{ ...set, pairs: [pair] }], modes: [], backend: 'auto' });
  assert.equal(original.method, 'idw-fill');
  assert.equal(original.case, 'ROIs1158_spring_39_p100');
  assert.ok(Math.abs(original.cover - cloudPixels / (256 * 256)) < 0.01, `cover ${original.cover} is the detected mask's`);
  // The fill from the detected mask, scored by hand against the cloud-free image: the row's figures.
  const read = async (file: string) => {
    const raster = await openRaster(file);
    const image = await readBands(raster, [3, 2, 1]);
    await raster.close();
    for (let i = 0; i < image.data.length; i++) image.data[i] = Math.min(10000, Math.max(0, image.data[i])) / 2000;
    return image;
  };
  const truth = await read(pair.clear);
  const filled = inverseDistanceFill(await read(pair.cloudy), detected);
  const expected = scoreWhereValid(truth, filled, detected, null);
  assert.ok(Math.abs(original.rmse_mask! - expected.masked.rmse) < 0.005, `RMSE in the mask ${original.rmse_mask} vs ${expected.masked.rmse}`);
  assert.ok(Math.abs(original.ssim_mask! - expected.masked.ssim) < 0.005, `SSIM in the mask ${original.ssim_mask} vs ${expected.masked.ssim}`);

  // The same pair with a hole of nodata in the cloud-free image, over the clouds: left out, not scored as 0.
  const raster = await openRaster(pair.clear);
  const clear = await readBands(raster, raster.bandNames.map((_, b) => b));
  const hole = { x: 0, y: 0 };
  let best = -1;
  for (let y = 0; y + 40 <= 256; y += 8) for (let x = 0; x + 40 <= 256; x += 8) {
    let n = 0;
    for (let yy = y; yy < y + 40; yy++) for (let xx = x; xx < x + 40; xx++) n += detected.data[yy * 256 + xx];
    if (n > best) [best, hole.x, hole.y] = [n, x, y];
  }
  for (let y = hole.y; y < hole.y + 40; y++) clear.data.fill(0, (y * 256 + hole.x) * clear.bands, (y * 256 + hole.x + 40) * clear.bands);
  const holed = path.join(dir, 'clear-with-hole.tif');
  await writeGeoTiff(holed, clear, { dataType: 'uint16', like: raster, nodata: 0 });
  await raster.close();
  const [withHole] = await runSetEval({ sets: [{ ...set, pairs: [{ ...pair, clear: holed }] }], modes: [], backend: 'auto' });
  assert.ok(withHole.cover < original.cover - 0.005, `the hole's cloud is not scored: cover ${withHole.cover} vs ${original.cover}`);
  // Nodata is not truth: the figures are those of the fill over the clouds outside the hole.
  const outside = createMask(256, 256);
  outside.data.fill(1);
  for (let y = hole.y; y < hole.y + 40; y++) outside.data.fill(0, y * 256 + hole.x, y * 256 + hole.x + 40);
  const expectedOutside = scoreWhereValid(truth, filled, detected, outside);
  assert.ok(Math.abs(withHole.rmse_mask! - expectedOutside.masked.rmse) < 0.005, `RMSE in the mask ${withHole.rmse_mask} vs ${expectedOutside.masked.rmse}`);
  assert.ok(Math.abs(withHole.rmse_whole! - expectedOutside.whole.rmse) < 0.005, `RMSE over the image ${withHole.rmse_whole} vs ${expectedOutside.whole.rmse}`);
});

test('t33uuu: a ground-truth run through the tiled pipeline over several tiles, stitched and scored', async () => {
  const [set] = resolveEvalSets(['t33uuu'], DATA_DIR) as TiledSet[];
  const mask = await tiledSetMask(set);
  const plan = planTiles(set.area.width, set.area.height, { tileSize: set.tileSize, overlap: set.overlap });
  // Clouds cross tile edges, where the mosaic blends neighbours.
  const edge = plan.tiles[0].window.width - 1;
  assert.ok(Array.from({ length: set.area.height }, (_, y) => mask.data[y * set.area.width + edge]).includes(1), 'cloud on the first tile’s right edge');
  const rows = await runSetEval({ sets: [set], modes: [], backend: 'auto' });
  assert.equal(rows.length, 1);
  const [row] = rows;
  assert.equal(row.method, 'idw-fill');
  assert.ok(row.tiles > 1, `${row.tiles} tiles reconstructed`);
  // A real reconstruction under the clouds (before the pipeline kept hidden pixels as nodata, RMSE 0.61, SSIM 0.005).
  assert.ok(row.rmse_mask! < 0.1, `RMSE in the mask ${row.rmse_mask}`);
  assert.ok(row.ssim_mask! > 0.5, `SSIM in the mask ${row.ssim_mask}`);
  assert.ok(row.ssim_whole! > row.ssim_mask!, 'clear pixels are kept exactly');
});

test('--modes default runs what defaultMethod picks for the set’s sources; --json rows carry the columns; --out resumes', async () => {
  const sets = resolveEvalSets(['slovenia', 'sen12mscr', 't33uuu'], DATA_DIR);
  const labels = sets.map((set) => methodsFor(set, { modes: ['default'] }).map((m) => `${m.label}:${m.mode}:${m.steps}`));
  assert.deepEqual(labels, [
    [`default (${defaultMethod({ reference: true, sar: false }).mode}):mtfit:25`, 'reference-fit:null:0', 'reference-seamless:null:0', 'idw-fill:null:0'],
    [`default (${defaultMethod({ reference: false, sar: false }).method}):null:0`, 'idw-fill:null:0'],
    ['default (idw-fill):null:0', 'idw-fill:null:0'],
  ]);

  const out = path.join(dir, 'rows.jsonl');
  const args = ['eval', '--set', 'slovenia', '--modes', 'default', '--steps', '2', '--out', out, '--json'];
  const first = await runClearsky(args, dir);
  assert.equal(first.code, 0, first.stderr);
  const rows = JSON.parse(first.stdout.trim().split('\n').at(-1)!) as SetEvalRow[];
  assert.equal(rows.length, 9 * 4, '9 masks × (default, reference-fit, reference-seamless, idw-fill)');
  for (const row of rows) assert.deepEqual(Object.keys(row).sort(), [...COLUMNS].sort());
  const picked = rows.filter((r) => r.method.startsWith('default'));
  assert.equal(picked.length, 9);
  for (const row of picked) {
    assert.equal(row.mode, defaultMethod({ reference: true, sar: false }).mode);
    assert.equal(row.steps, 2);
    assert.equal(row.seed, 0);
    assert.ok(row.ssim_mask! > 0 && row.ssim_mask! <= 1 && row.seconds > 0);
  }
  assert.equal((await fs.readFile(out, 'utf8')).trim().split('\n').length, 36);
  // Again with the same file: nothing is run twice, the table holds every row.
  const again = await runClearsky(args, dir);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /36 rows already done, not run again/);
  assert.doesNotMatch(again.stderr, /step \d+\/2/);
  assert.equal((JSON.parse(again.stdout.trim().split('\n').at(-1)!) as SetEvalRow[]).length, 36);
  assert.equal((await fs.readFile(out, 'utf8')).trim().split('\n').length, 36);
  // The table: one row per set × method, medians with their spread.
  const table = await runClearsky(args.filter((a) => a !== '--json'), dir);
  assert.match(table.stdout, /\| slovenia \| default \(mtfit\) \| 0\.\d{3} \(0\.\d{3}–0\.\d{3}\) \|/);
  assert.match(table.stdout, /slovenia \(9 cases\): clouds = real s2cloudless masks/);
});

test('--out: a last line cut short by a kill is run again on a line of its own; a set file is never appended to', async () => {
  const [set] = resolveEvalSets(['t33uuu'], DATA_DIR);
  const out = path.join(dir, 'cut.jsonl');
  const done = { set: 'x', case: 'c', cover: 0.1, method: 'idw-fill', mode: null, seed: null, steps: 0, ssim_mask: 0.9, rmse_mask: 0.1, ssim_whole: 0.9, rmse_whole: 0.1, seconds: 1, tiles: 1, seconds_per_tile: 1, mask_source: 'm', truth: 't' };
  await fs.writeFile(out, JSON.stringify(done) + '\n{"set":"t33uuu","ca');
  const rows = await runSetEval({ sets: [set], modes: [], backend: 'auto', out });
  assert.deepEqual(rows.map((r) => r.set), ['x', 't33uuu']);
  const lines = (await fs.readFile(out, 'utf8')).split('\n');
  assert.equal(lines.length, 4, 'done row, cut line, new row, final newline');
  assert.equal(JSON.parse(lines[2]).set, 't33uuu');

  const onInput = await runClearsky(['eval', '--set', 't33uuu', '--out', dataFileOf(set)], dir);
  assert.equal(onInput.code, 2);
  assert.match(onInput.stderr, /--out is the same file as a set file/);
});

function dataFileOf(set: ReturnType<typeof resolveEvalSets>[number]): string {
  return set.kind === 'tiled' ? set.maskFile : set.kind === 'pasted' ? set.masks : set.pairs[0].clear;
}

test('--steps 1,2 scores each step count of one training; an engine variant’s rows carry its name and resume apart from the plain ones', async () => {
  const out = path.join(dir, 'variants.jsonl');
  const base = ['eval', '--set', 'slovenia', '--modes', 'mtfit', '--seeds', '0', '--out', out, '--json'];
  const es = await runClearsky([...base, '--steps', '1,2', '--early-stopping'], dir);
  assert.equal(es.code, 0, es.stderr);
  const rows = JSON.parse(es.stdout.trim().split('\n').at(-1)!) as SetEvalRow[];
  assert.equal(rows.length, 9 * 5, '9 masks × (mtfit +es at 1 and at 2 steps, reference-fit, reference-seamless, idw-fill)');
  const variant = rows.filter((r) => r.method === 'mtfit +es');
  assert.deepEqual(variant.map((r) => r.steps), Array.from({ length: 9 }, () => [1, 2]).flat());
  for (const row of variant) assert.equal(row.variant, '+es');
  assert.equal((es.stderr.match(/step 2\/2/g) ?? []).length, 9, 'one training per mask, scored at 1 and 2 steps');

  // The plain method is not taken for done by the variant's rows; the baselines are.
  const plain = await runClearsky([...base, '--steps', '2'], dir);
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(plain.stderr, /45 rows already done/);
  const all = JSON.parse(plain.stdout.trim().split('\n').at(-1)!) as SetEvalRow[];
  assert.equal(all.length, 45 + 9);
  assert.equal(all.filter((r) => r.method === 'mtfit' && r.steps === 2 && r.variant === undefined).length, 9);
  const table = await runClearsky(base.filter((a) => a !== '--json').concat('--steps', '2'), dir);
  assert.match(table.stdout, /\| slovenia \| mtfit \+es \| [^\n]+\| 1 \|\n\| slovenia \| mtfit \+es \| [^\n]+\| 2 \|/);
  assert.match(table.stdout, /\| slovenia \| mtfit \| [^\n]+\| 2 \|/);
});

test('the variant flags are read and checked before any work: a wrong value is refused in one line (exit 2)', async () => {
  assert.deepEqual(variantFrom({ 'early-stopping': true }), { earlyStopping: true });
  assert.deepEqual(variantFrom({ ema: '0.99', 'learning-rate': '0.005' }), { emaDecay: 0.99, learningRate: 0.005 });
  assert.equal(variantFrom({ 'early-stopping': false }), undefined);
  assert.equal(variantName({ emaDecay: 0.99, learningRate: 0.005 }), '+ema0.99+lr0.005');
  const refusals: [string[], RegExp][] = [
    [['--ema', '1.5'], /--ema must be a decay between 0 and 1/],
    [['--ema', 'slow'], /--ema must be a number, not 'slow'/],
    [['--learning-rate', '0'], /--learning-rate must be above 0/],
    [['--early-stopping', '--ema', '0.99'], /--early-stopping and --ema are separate variants/],
    [['--steps', '50,0'], /--steps must be at least 1, not 0/],
  ];
  for (const [flags, message] of refusals) {
    const result = await runClearsky(['eval', '--set', 'slovenia', '--modes', 'mtfit', ...flags, '--out', path.join(dir, 'never.jsonl')], dir);
    assert.equal(result.code, 2, flags.join(' '));
    assert.match(result.stderr, message);
    assert.equal(result.stderr.trim().split('\n')[0].startsWith('clearsky: '), true);
  }
  await assert.rejects(fs.stat(path.join(dir, 'never.jsonl')), 'nothing written');
  const fileEval = await runClearsky(['eval', '--target', 'a.tif', '--masks', 'm.tif', '--mask-bands', '1', '--early-stopping'], dir);
  assert.equal(fileEval.code, 2);
  assert.match(fileEval.stderr, /go with --set/);
});

test('--ensemble scores each DIP method’s seeds as one result: the per-pixel median of the seeds’ stitched outputs', async () => {
  const [slovenia] = resolveEvalSets(['slovenia'], DATA_DIR);
  assert.equal(slovenia.kind, 'pasted');
  const set = { ...slovenia, maskBands: [slovenia.maskBands[0]] };
  const out = path.join(dir, 'ensemble.jsonl');
  const rows = await runSetEval({ sets: [set], modes: ['mtfit'], steps: [1, 2], seeds: [0, 1, 2], ensemble: true, backend: 'auto', out });
  const ensemble = rows.filter((r) => r.method === 'mtfit median of 3');
  assert.deepEqual(ensemble.map((r) => [r.steps, r.seed]), [[1, null], [2, null]]);
  assert.equal(rows.filter((r) => r.method === 'mtfit').length, 3 * 2, 'each seed keeps its own rows');

  // The same seeds run on their own, combined by hand: the ensemble row scores exactly that median.
  const sources = await loadSources({ target: set.target, bands: set.bands, references: set.references });
  const mask = await loadMask(set.masks, set.maskBands[0], sources.target.info);
  const cloudy = hideMasked(sources.s2, mask);
  const outputs = [];
  for (const seed of [0, 1, 2]) {
    const result = await inpaint('mtfit', { ...sources, s2: cloudy, mask }, { steps: 2, seeds: [seed], stitch: true });
    outputs.push(result.reconstruction);
  }
  const byHand = scoreReconstruction(sources.s2, medianOf(outputs), mask);
  const at2 = ensemble.find((r) => r.steps === 2)!;
  assert.equal(at2.ssim_mask, byHand.masked.ssim);
  assert.equal(at2.rmse_mask, byHand.masked.rmse);
  assert.equal(at2.rmse_whole, byHand.whole.rmse);
  // Three seeds' compute, and it differs from every seed's own score (it is not one of them picked).
  const seeds2 = rows.filter((r) => r.method === 'mtfit' && r.steps === 2);
  assert.ok(Math.abs(at2.seconds - seeds2.reduce((s, r) => s + r.seconds, 0)) < 1e-9);
  for (const row of seeds2) assert.notEqual(row.rmse_mask, at2.rmse_mask);
  // Again: all done, nothing run.
  const again = await runSetEval({ sets: [set], modes: ['mtfit'], steps: [1, 2], seeds: [0, 1, 2], ensemble: true, backend: 'auto', out });
  assert.equal(again.length, rows.length);
});

test('--ensemble is refused where it makes no sense, in one line before any work (exit 2)', async () => {
  const refusals: [string[], RegExp][] = [
    [['--set', 'slovenia', '--seeds', '0'], /--ensemble combines several seeds/],
    [['--set', 'slovenia'], /--ensemble combines several seeds/],
    [['--set', 't33uuu', '--seeds', '0,1', '--warm-start'], /--ensemble and --warm-start are separate/],
    [['--set', 'sen12mscr', '--seeds', '0,1'], /--ensemble is measured on slovenia only, not on sen12mscr/],
    [['--target', 'a.tif', '--masks', 'm.tif', '--mask-bands', '1', '--seeds', '0,1'], /--ensemble goes with --set/],
  ];
  for (const [flags, message] of refusals) {
    const result = await runClearsky(['eval', '--modes', 'mtfit', '--ensemble', ...flags, '--out', path.join(dir, 'never-ensemble.jsonl')], dir);
    assert.equal(result.code, 2, flags.join(' '));
    assert.match(result.stderr, message);
  }
  await assert.rejects(fs.stat(path.join(dir, 'never-ensemble.jsonl')), 'nothing written');
});

test('a tile the engine refuses fails its method’s row with the reason; the other methods’ rows go on and the table says it', async () => {
  // A one-tile set: a 48 × 48 Slovenia crop (B04, B08) under the real mask 37, whose B08 (mostly above 2000 DN)
  // the old ÷2000 representation caps under the clouds: the engine refuses that tile for real.
  const [slovenia] = resolveEvalSets(['slovenia'], DATA_DIR);
  if (slovenia.kind !== 'pasted') throw new Error('slovenia is a pasted set');
  const area = { x: 20, y: 20, width: 48, height: 48 };
  const masks = await openRaster(slovenia.masks);
  const cloud = await readBands(masks, [36], area);
  await masks.close();
  const maskFile = path.join(dir, 'mask-37-crop.tif');
  await writeGeoTiff(maskFile, cloud, { dataType: 'uint8' });
  const set: TiledSet = { kind: 'tiled', name: 't33uuu', target: slovenia.target, area, tileSize: 48, overlap: 0, maskFile, maskScale: 1, bands: ['B04', 'B08'], maskSource: 'mask 37', truth: 'the crop' };
  const notes: string[] = [];
  const out = path.join(dir, 'refused.jsonl');
  const rows = await runSetEval({ sets: [set], modes: ['basic'], steps: 200, seeds: [0], backend: 'native', representation: 'plain', out, onNote: (line) => notes.push(line) });
  assert.deepEqual(rows.map((r) => r.method), ['basic', 'idw-fill']);
  const [refused, fill] = rows;
  assert.match(refused.error ?? '', /^tile 1\/1 \(x 0, y 0\): reconstruction refused: under the clouds, B08 \d+ % at the upper limit/);
  assert.deepEqual([refused.ssim_mask, refused.rmse_mask, refused.ssim_whole, refused.rmse_whole], [null, null, null, null]);
  assert.equal(fill.error, undefined);
  assert.ok(fill.ssim_mask! > 0 && fill.rmse_mask! > 0, 'the baseline is still scored');
  assert.ok(notes.some((n) => /basic seed 0 at 200 steps failed, the other rows go on: tile 1\/1/.test(n)), notes.join('\n'));
  // The failed row is kept in --out (a rerun does not train it again) and the table names it.
  const saved = (await fs.readFile(out, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as SetEvalRow);
  assert.equal(saved[0].error, refused.error);
  const table = formatSetTable(rows);
  assert.match(table, /\| t33uuu \| basic \| – \| – \| – \| – \| 1 \(1 failed\) \|/);
  assert.match(table, /1 run\(s\) failed, left out of the medians:\nFAILED: t33uuu 48×48\+20\+20 basic seed 0 at 200 steps: tile 1\/1 \(x 0, y 0\): reconstruction refused/);
  assert.match(table, /\| t33uuu \| idw-fill \| 0\.\d{3} \|/);
});
