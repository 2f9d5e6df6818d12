/**
 * mtfit: the reference-fit baseline plus a correction the network learns from the clear pixels. On the real
 * Slovenia scene (2015-09-09, B04 B03 B02) under a real cloud mask of another date, with the mean of the two clear
 * scenes of that summer as reference: the untrained network's reconstruction is the baseline (cloned seamlessly), training lowers the
 * error on the clear pixels, a run without a reference is refused, and the mode flows through `clearsky inpaint`
 * and project runs into the outputs' provenance. `clearsky eval --steps 2,3` scores one training at each count as
 * separate runs of that many steps would score.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { runEval } from '../../../native/commands/eval.ts';
import { referenceFitEstimate, referenceSubstitution } from '../../../native/dip/baselines.ts';
import { hideMasked, type Image, type Mask } from '../../../native/dip/image.ts';
import { MODES, parseMode, setupMode } from '../../../native/dip/modes.ts';
import { cloneSeamlessly } from '../../../native/dip/seamless.ts';
import { fitDip, type FitOptions } from '../../../native/dip/optimise.ts';
import { selectBackend } from '../../../native/dip/backends/select.ts';
import { withRaster } from '../../../native/raster/tiff/geotiff-reader.ts';
import { loadMask, loadSources } from '../../../native/reconstruction/source-files.ts';
import { runClearsky } from '../../helpers/cli.ts';
import { dataFile } from '../../helpers/data.ts';

const slovenia = (name: string) => dataFile('slovenia-2015', name);
const TARGET = slovenia('S2L1C_20150909.tif');
const MASKS = slovenia('cloudmasks_s2cloudless_2015-2017.tif');
const CLEAR_REFS = [slovenia('S2L1C_20150820.tif'), slovenia('S2L1C_20150830.tif')];
/** 2016-05-16, 19 % real cloud. */
const MASK_BAND = 19;
// A small network keeps the fits to seconds; the mode's behaviour does not depend on the widths.
const small: FitOptions = { network: { downWidths: [8, 16, 16], upWidths: [8, 16, 16] } };

let dir: string;
let truth: Image;
let reference: Image;
let mask: Mask;
before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-mtfit-'));
  const sources = await loadSources({ target: TARGET, references: CLEAR_REFS, bands: ['B04', 'B03', 'B02'] });
  truth = sources.s2;
  reference = sources.reference!;
  mask = await loadMask(MASKS, MASK_BAND, sources.target.info);
  await selectBackend('auto');
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const clearSquaredError = (image: Image, s2: Image) => {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < image.data.length; i++) {
    if (mask.data[Math.floor(i / image.bands)]) continue;
    sum += (image.data[i] - s2.data[i]) ** 2;
    n++;
  }
  return sum / n;
};

test('mtfit is a mode of the contract, spelt mtfit or mt-fit', () => {
  assert.ok(MODES.includes('mtfit'));
  assert.equal(parseMode('mt-fit'), 'mtfit');
  assert.equal(parseMode('MT_FIT'), 'mtfit');
});

test('before any training step the reconstruction under the clouds is the reference-fit baseline, cloned seamlessly', async () => {
  const s2 = hideMasked(truth, mask);
  const setup = setupMode('mtfit', { s2, mask, reference });
  assert.equal(setup.problem.head, 'linear');
  const fit = await fitDip(setup.problem, { ...small, steps: 0 });
  const reconstruction = setup.decode(fit.output);
  const baseline = cloneSeamlessly(referenceFitEstimate({ s2, mask, reference }), s2, mask);
  // Cloning moves it: the plain substitution differs under the clouds.
  const plain = referenceSubstitution(s2, reference, mask);
  assert.ok(mask.data.some((cloud, p) => cloud && Math.abs(plain.data[p * 3] - baseline.data[p * 3]) > 1e-3));
  let masked = 0;
  let worst = 0;
  for (let p = 0; p < mask.data.length; p++) {
    if (!mask.data[p]) continue;
    masked++;
    for (let b = 0; b < 3; b++) worst = Math.max(worst, Math.abs(reconstruction.data[p * 3 + b] - baseline.data[p * 3 + b]));
  }
  assert.ok(masked > 1000, `${masked} cloudy pixels`);
  assert.ok(worst < 1e-6, `largest difference from the baseline under the clouds: ${worst}`);
  // The baseline itself is not the truth there, or there would be nothing to learn.
  let baselineError = 0;
  for (let p = 0; p < mask.data.length; p++) if (mask.data[p]) baselineError += Math.abs(baseline.data[p * 3] - truth.data[p * 3]);
  assert.ok(baselineError / masked > 0.005, `baseline's mean error under the clouds ${baselineError / masked}`);
});

test('held-out pixels for early stopping are unseen by the baseline: their values do not move its gain and offset', async () => {
  const s2 = hideMasked(truth, mask);
  // Every 5th pixel of the clear ring around the clouds, where the baseline's gain and offset are fitted.
  const heldOut = { ...mask, data: mask.data.map((cloud, p) => (!cloud && p % 5 === 0 && ringAround(p) ? 1 : 0)) };
  const corrupted = { ...s2, data: s2.data.slice() };
  for (let p = 0; p < heldOut.data.length; p++) if (heldOut.data[p]) corrupted.data.fill(1.5, p * 3, p * 3 + 3);
  const honest = setupMode('mtfit', { s2, mask, reference }, { heldOut });
  const seen = setupMode('mtfit', { s2: corrupted, mask, reference }, { heldOut });
  // The untrained network (zero head) gives the baseline: the same whatever the held-out pixels hold.
  const zero = { ...s2, data: new Float32Array(s2.data.length) };
  assert.deepEqual(seen.decode(zero).data, honest.decode(zero).data);
  assert.ok(heldOut.data.some((h, p) => h && seen.problem.weights[p * 3] === 0), 'held out of the loss too');
  // Without the held-out option the corrupted pixels do move the baseline: the check above could fail.
  const without = setupMode('mtfit', { s2: corrupted, mask, reference });
  assert.notDeepEqual(without.decode(zero).data, honest.decode(zero).data);
});

/** Within 10 pixels (the baseline's ring) of a cloud pixel. */
function ringAround(p: number): boolean {
  const x = p % mask.width;
  const y = Math.floor(p / mask.width);
  for (let dy = -10; dy <= 10; dy++) {
    for (let dx = -10; dx <= 10; dx++) {
      const xx = x + dx;
      const yy = y + dy;
      if (xx >= 0 && yy >= 0 && xx < mask.width && yy < mask.height && mask.data[yy * mask.width + xx]) return true;
    }
  }
  return false;
}

test('training lowers the loss and the error on the clear pixels below the baseline’s', async () => {
  const s2 = hideMasked(truth, mask);
  const setup = setupMode('mtfit', { s2, mask, reference });
  const losses: number[] = [];
  const fit = await fitDip(setup.problem, { ...small, steps: 60, progressEvery: 10, onProgress: (p) => losses.push(p.loss) });
  assert.ok(losses.at(-1)! < losses[0] * 0.9, `loss ${losses.join(' → ')}`);
  const before = clearSquaredError(setup.decode((await fitDip(setup.problem, { ...small, steps: 0 })).output), s2);
  const afterTraining = clearSquaredError(setup.decode(fit.output), s2);
  assert.ok(afterTraining < before * 0.9, `squared error on the clear pixels ${before} → ${afterTraining}`);
});

test('mtfit without a reference is refused with the reason, also by `clearsky inpaint` (status 2)', async () => {
  assert.throws(() => setupMode('mtfit', { s2: truth, mask }), { name: 'InputError', message: /mode mtfit needs a multi-temporal reference \(--reference\)/ });
  const r = await runClearsky(['inpaint', '--target', TARGET, '--mask', MASKS, '--mask-band', String(MASK_BAND), '--mode', 'mt-fit', '--steps', '1', '--out', path.join(dir, 'none.tif')], dir);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /mode mtfit needs a multi-temporal reference/);
  await assert.rejects(fs.access(path.join(dir, 'none.tif')));
});

test('`clearsky inpaint --mode mt-fit` writes a result whose provenance names the mode', async () => {
  const out = path.join(dir, 'mtfit.tif');
  const r = await runClearsky(['inpaint', '--target', TARGET, '--mask', MASKS, '--mask-band', String(MASK_BAND), '--mode', 'mt-fit', ...CLEAR_REFS.flatMap((f) => ['--reference', f]),
    '--bands', 'B04,B03,B02', '--steps', '2', '--stitch', '--out', out], dir);
  assert.equal(r.code, 0, r.stderr);
  await withRaster(out, async (raster) => {
    assert.equal(raster.bandCount, 3);
    assert.equal(raster.metadata.CLEARSKY_MODE, 'mtfit');
  });
});

test('`clearsky eval` with several step counts scores each as a run of that many steps does', async () => {
  const common = { target: TARGET, masks: MASKS, maskBands: [MASK_BAND], references: CLEAR_REFS, bands: ['B04', 'B03', 'B02'], modes: ['mtfit' as const], seeds: [0], backend: 'auto' as const, engine: small };
  const curve = await runEval({ ...common, steps: [2, 3] });
  const two = await runEval({ ...common, steps: 2 });
  const rows = (rows: typeof curve, steps: number) => rows.filter((r) => r.method === 'mtfit' && r.steps === steps);
  assert.equal(rows(curve, 2).length, 1);
  assert.equal(rows(curve, 3).length, 1);
  assert.deepEqual({ ...rows(curve, 2)[0], seconds_per_step: null }, { ...rows(two, 2)[0], seconds_per_step: null });
  assert.notEqual(rows(curve, 3)[0].rmse_mask, rows(curve, 2)[0].rmse_mask);
  const baseline = curve.find((r) => r.method === 'reference-fit')!;
  assert.equal(baseline.steps, null);
});

test('a project run in mode mt-fit reconstructs with the project’s reference; without one it is refused before it starts', async () => {
  const project = path.join(dir, 'project');
  const clearsky = (args: string[]) => runClearsky(args, dir);
  assert.equal((await clearsky(['project', 'create', project])).code, 0);
  assert.equal((await clearsky(['project', 'import', project, TARGET, MASKS])).code, 0);
  assert.equal((await clearsky(['project', 'import', project, CLEAR_REFS[1], '--kind', 'reference'])).code, 0);
  const refused = await clearsky(['run', project, '--target', '1', '--mask', String(MASK_BAND), '--bands', 'B04,B03,B02', '--mode', 'mt-fit', '--steps', '2', '--json']);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /mode mtfit needs a multi-temporal reference/);
  const r = await clearsky(['run', project, '--target', '1', '--mask', String(MASK_BAND), '--reference', '1', '--bands', 'B04,B03,B02', '--mode', 'mt-fit', '--steps', '2', '--tile', '128', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const run = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { status: string; request: { mode: string }; results: { kind: string; file: string }[] };
  assert.equal(run.status, 'done');
  assert.equal(run.request.mode, 'mtfit');
  const result = run.results.find((x) => x.kind === 'reconstruction')!;
  await withRaster(path.join(project, result.file), async (raster) => {
    assert.equal(raster.metadata.CLEARSKY_MODE, 'mtfit');
  });
});

test('`clearsky eval --stitch` scores what a stitched result hands out: the clear pixels are the truth', async () => {
  const args = ['eval', '--target', TARGET, '--masks', MASKS, '--mask-bands', String(MASK_BAND), ...CLEAR_REFS.flatMap((f) => ['--reference', f]), '--bands', 'B04,B03,B02', '--modes', 'mt-fit', '--steps', '1', '--json'];
  const parse = (stdout: string) => (JSON.parse(stdout.trim().split('\n').at(-1)!) as { method: string; cover: number; rmse_mask: number; rmse_whole: number }[]).find((r) => r.method === 'mtfit')!;
  const plain = await runClearsky(args, dir);
  const stitched = await runClearsky([...args, '--stitch'], dir);
  assert.equal(stitched.code, 0, stitched.stderr);
  const a = parse(plain.stdout);
  const b = parse(stitched.stdout);
  // Under the mask the same network output; outside it, stitched pixels are the truth, so all the error is the mask's.
  assert.ok(Math.abs(a.rmse_mask - b.rmse_mask) < 1e-9, `${a.rmse_mask} vs ${b.rmse_mask}`);
  assert.ok(Math.abs(b.rmse_whole ** 2 - b.cover * b.rmse_mask ** 2) < 1e-9, `whole ${b.rmse_whole}, mask ${b.rmse_mask}, cover ${b.cover}`);
  assert.ok(a.rmse_whole ** 2 > a.cover * a.rmse_mask ** 2 * 1.01, 'without --stitch the clear pixels are the network’s');
});
