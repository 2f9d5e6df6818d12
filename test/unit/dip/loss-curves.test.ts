/**
 * The quality signal without ground truth: each tile's loss curve per seed and the seeds' spread under its
 * mask, from a real two-seed DIP run on the real Slovenia scene with a real cloud mask, stored in the real
 * catalogue, returned by the API, drawn in the QA report and written beside the export; the curve's packing
 * through the queue; the bucketing that keeps a 4000-step curve at 200 points.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { LossCurve, RunRecord, TileRecord } from '../../../native/api/contract.ts';
import { createProject } from '../../../native/catalogue/project.ts';
import { compactCurve, MAX_CURVE_POINTS, thinCurve } from '../../../native/dip/loss-curve.ts';
import { InputError } from '../../../native/errors.ts';
import { decodeTileResult, encodeTileResult, PayloadError } from '../../../native/jobs/queue/tile-payload.ts';
import { medianSpreadUnderMask } from '../../../native/reconstruction/pipeline.ts';
import { readBands, withRaster } from '../../../native/raster/tiff/geotiff-reader.ts';
import { medianCurve, plotGeometry } from '../../../native/report/loss-plot.ts';
import { QUALITY_FORMAT, type QualityFile } from '../../../native/report/quality-file.ts';
import { Service } from '../../../native/project/service.ts';
import { runClearsky } from '../../helpers/cli.ts';
import { dataFile } from '../../helpers/data.ts';
import { serviceRunEnded } from '../../helpers/run-ended.ts';

const TARGET = dataFile('slovenia-2015', 'S2L1C_20150909.tif');
const MASKS = dataFile('slovenia-2015', 'cloudmasks_s2cloudless_2015-2017.tif');
/** 2016-05-16, 19 % real cloud (another day's: the scene itself is clear). */
const MASK_BAND = 19;
const STEPS = 25;

let dir: string;
let projectDir: string;
let service: Service;
let run: RunRecord;
let tiles: TileRecord[];

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-loss-'));
  projectDir = path.join(dir, 'slovenia');
  createProject(projectDir, 'Slovenia loss').close();
  service = Service.open(projectDir, { workers: 2 });
  const outcomes = await service.importFiles({ paths: [TARGET, MASKS] });
  assert.ok(outcomes.every((o) => o.status === 'imported'), JSON.stringify(outcomes));
  const sceneId = (await service.listScenes())[0].id;
  const maskId = (await service.listMasks()).find((m) => m.band === MASK_BAND)!.id;
  const started = await service.startRun({ targetSceneId: sceneId, maskId, method: 'dip', mode: 'basic', bands: ['B04', 'B03', 'B02'], steps: STEPS, seeds: [0, 1], tileSize: 64, overlap: 16 });
  run = await serviceRunEnded(service, started.id, 600_000);
  assert.equal(run.status, 'done', run.error ?? '');
  tiles = (await service.getRun(run.id)).tileList;
});
after(async () => {
  await service?.close();
  await fs.rm(dir, { recursive: true, force: true });
});


const increasing = (steps: number[]) => steps.every((s, i) => i === 0 || s > steps[i - 1]);

test('a two-seed run stores each tile’s loss curve per seed (the loss every 10 steps and the last) and its seed spread', async () => {
  const done = tiles.filter((t) => t.status === 'done');
  assert.ok(done.length >= 2, `${done.length} tiles reconstructed`);
  const { tiles: curves } = await service.runLossCurves({ runId: run.id });
  assert.deepEqual(curves.map((c) => c.index), done.map((t) => t.index), 'every finished tile, no other');
  for (const tile of curves) {
    assert.deepEqual(tile.curves.map((c) => c.seed), [0, 1], `tile ${tile.index}: a curve per seed, in seed order`);
    for (const curve of tile.curves) {
      assert.deepEqual(curve.step, [10, 20, 25], `tile ${tile.index} seed ${curve.seed}: read every 10 steps and at the last`);
      assert.equal(curve.loss.length, curve.step.length);
      assert.ok(curve.loss.every((v, i) => Number.isFinite(v) && v > 0 && curve.min[i] === v), `${curve.loss} / ${curve.min}`);
    }
    // The tile's final loss is its last seed's last reading (to the curve's four digits).
    const last = tile.curves[1].loss.at(-1)!;
    assert.ok(Math.abs(last - tile.loss!) <= 1e-3 * tile.loss!, `${last} vs ${tile.loss}`);
  }

  // The spread: recomputed from the tile's own result file (its spread bands) under the real mask.
  const mask = (await service.listMasks()).find((m) => m.band === MASK_BAND)!;
  for (const tile of done) {
    assert.ok(tile.spread !== null && tile.spread > 0, `tile ${tile.index} spread ${tile.spread}`);
    const file = service.catalogue.resolve(tile.resultFile!);
    const result = await withRaster(file, (raster) => readBands(raster, [3, 4, 5]));
    const cloud = await withRaster(service.catalogue.resolve(mask.file), (raster) => readBands(raster, [MASK_BAND - 1], tile.window));
    // medianSpreadUnderMask takes the ÷2000 scale the engine works in.
    const scaled = { ...result, data: result.data.map((v) => v / 2000) };
    const expected = medianSpreadUnderMask(scaled, { width: cloud.width, height: cloud.height, data: Uint8Array.from(cloud.data) });
    assert.ok(expected !== null && Math.abs(expected - tile.spread) <= 1e-3 * expected, `tile ${tile.index}: stored ${tile.spread}, from its file ${expected}`);
  }
});

test('the API thins curves for an overview and picks tiles; an unknown run is refused', async () => {
  const [first] = tiles.filter((t) => t.status === 'done');
  const thin = await service.runLossCurves({ runId: run.id, points: 2 });
  assert.ok(thin.tiles.every((t) => t.curves.every((c) => c.step.length === 2 && c.step[1] === STEPS)), JSON.stringify(thin.tiles[0]));
  const one = await service.runLossCurves({ runId: run.id, tiles: [first.index] });
  assert.deepEqual(one.tiles.map((t) => [t.index, t.status, t.curves.length]), [[first.index, 'done', 2]]);
  // A clear tile asked for by name has no curve (nothing was trained there).
  const clear = tiles.find((t) => t.status === 'clear');
  if (clear) assert.deepEqual((await service.runLossCurves({ runId: run.id, tiles: [clear.index] })).tiles[0].curves, []);
  await assert.rejects(service.runLossCurves({ runId: 999 }), (error: Error) => error instanceof InputError && /there is no run 999/.test(error.message));
});

test('the QA report draws every tile’s curves with their median, a plot per tile, and says which tiles are least sure', async () => {
  const destination = path.join(dir, 'report.html');
  await service.runReport({ runId: run.id, destination });
  const html = await fs.readFile(destination, 'utf8');
  const done = tiles.filter((t) => t.status === 'done');
  const overview = /<svg[^>]*data-testid="report-loss-plot"[\s\S]*?<\/svg>/.exec(html)?.[0];
  assert.ok(overview, 'the overview plot');
  assert.equal(overview.match(/data-role="faint"/g)?.length, done.length * 2, 'a faint line per tile and seed');
  assert.equal(overview.match(/data-role="bold"/g)?.length, 1, 'one bold median');
  for (const tile of done) {
    const plot = new RegExp(`<svg[^>]*data-testid="report-loss-tile-${tile.index}"[\\s\\S]*?</svg>`).exec(html)?.[0];
    assert.ok(plot, `tile ${tile.index} has its plot`);
    assert.equal(plot.match(/data-role="seed"/g)?.length, 2, 'a line per seed');
  }
  assert.doesNotMatch(html, /report-no-curve/);
  const most = [...done].sort((a, b) => b.spread! - a.spread!)[0];
  assert.match(html, new RegExp(`data-testid="report-unsure">Least sure: tile ${most.index} `));
  assert.match(html, new RegExp(`<td>${most.spread!.toFixed(1)}</td>`), 'the seed spread in the tile table');
});

test('an export with its quality file: per-tile loss, spread, steps and curves beside the GeoTIFF, atomically; refused inside the project', async () => {
  const reconstruction = run.results.find((r) => r.kind === 'reconstruction')!;
  const out = path.join(dir, 'export', 'slovenia.tif');
  const written = await service.exportResult({ resultId: reconstruction.id, destination: out, quality: true });
  assert.deepEqual(written, { path: out, quality: path.join(dir, 'export', 'slovenia.quality.json') });
  const quality = JSON.parse(await fs.readFile(written.quality!, 'utf8')) as QualityFile;
  assert.equal(quality.format, QUALITY_FORMAT);
  assert.deepEqual(quality.run.seeds, [0, 1]);
  const cloudy = tiles.filter((t) => t.status !== 'clear');
  assert.deepEqual(quality.tiles.map((t) => t.index), cloudy.map((t) => t.index));
  const { tiles: curves } = await service.runLossCurves({ runId: run.id });
  for (const entry of quality.tiles) {
    const tile = cloudy.find((t) => t.index === entry.index)!;
    assert.deepEqual([entry.finalLoss, entry.spread, entry.window, entry.steps], [tile.loss, tile.spread, tile.window, STEPS]);
    assert.deepEqual(entry.curves, curves.find((c) => c.index === entry.index)!.curves);
  }
  assert.deepEqual((await fs.readdir(path.dirname(out))).sort(), ['slovenia.quality.json', 'slovenia.tif'], 'no temporary left');

  // Without the option, no quality file; for the mask layer, refused; inside the project, nothing written.
  const plain = path.join(dir, 'plain', 'only.tif');
  assert.deepEqual(await service.exportResult({ resultId: reconstruction.id, destination: plain }), { path: plain });
  assert.equal(existsSync(path.join(dir, 'plain', 'only.quality.json')), false);
  const mask = run.results.find((r) => r.kind === 'mask')!;
  await assert.rejects(service.exportResult({ resultId: mask.id, destination: path.join(dir, 'm.tif'), quality: true }), /is the run's mask: a quality file goes beside the reconstruction/);
  await assert.rejects(service.exportResult({ resultId: reconstruction.id, destination: path.join(projectDir, 'in.tif'), quality: true }), /inside the open project/);
  assert.equal(existsSync(path.join(projectDir, 'in.quality.json')), false);
});

test('clearsky export --quality writes both files and says so', async () => {
  await service.close();
  try {
    const reconstruction = run.results.find((r) => r.kind === 'reconstruction')!;
    const out = path.join(dir, 'cli', 'result.tif');
    const r = await runClearsky(['export', projectDir, String(reconstruction.id), out, '--quality'], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`wrote ${out}\\nwrote ${path.join(dir, 'cli', 'result.quality.json')}`));
    const quality = JSON.parse(await fs.readFile(path.join(dir, 'cli', 'result.quality.json'), 'utf8')) as QualityFile;
    assert.equal(quality.run.id, run.id);
    assert.ok(quality.tiles.some((t) => t.curves.length === 2));
  } finally {
    service = Service.open(projectDir, { workers: 1 });
  }
});

test('a tile result with its curves survives the queue’s packing; a malformed curve is refused; a result without one (an older worker) is taken', async () => {
  const image = { width: 2, height: 1, bands: 1, data: Float32Array.from([1000, 2000]) };
  const curves: LossCurve[] = [
    { seed: 0, step: [10, 20, 25], loss: [0.02, 0.01, 0.009], min: [0.02, 0.01, 0.009] },
    { seed: 1, step: [10, 20, 25], loss: [0.03, 0.012, 0.01], min: [0.03, 0.012, 0.01] },
  ];
  const base = { image, bandNames: ['B04'], loss: 0.01, seconds: 1.5, backend: 'native', worker: 'host:1' };
  const packed = JSON.parse(JSON.stringify(await encodeTileResult({ ...base, quality: { curves, spread: 12.5 } }, 'tile'))) as unknown;
  const decoded = decodeTileResult(packed, 'job 1');
  assert.deepEqual(decoded.quality, { curves, spread: 12.5 });

  const older = JSON.parse(JSON.stringify(await encodeTileResult(base, 'tile'))) as Record<string, unknown>;
  assert.equal('quality' in older, false);
  assert.equal(decodeTileResult(older, 'job 2').quality, undefined);

  const withCurve = (curve: Partial<LossCurve>) => ({ ...(packed as object), quality: { curves: [{ ...curves[0], ...curve }], spread: null } });
  const refused = (value: unknown, problem: RegExp) => assert.throws(() => decodeTileResult(value, 'job 3'), (error: Error) => error instanceof PayloadError && /^job 3: not a clearsky tile result/.test(error.message) && problem.test(error.message), problem.source);
  refused(withCurve({ step: [10, 10, 25] }), /steps do not increase/);
  refused(withCurve({ loss: [0.02] }), /differ in length/);
  const long = Array.from({ length: MAX_CURVE_POINTS + 1 }, (_, i) => i + 1);
  refused(withCurve({ step: long, loss: long, min: long }), /quality\.curves\.0\.step/);
});

test('4000 steps read every 10 are kept as 200 points: each the mean and the lowest of its readings; an overview thins them further', () => {
  const steps = Array.from({ length: 400 }, (_, i) => (i + 1) * 10);
  // A falling, noisy curve, as DIP's is (deterministic noise).
  const losses = steps.map((s, i) => 0.05 / Math.sqrt(s) * (1 + 0.2 * Math.sin(i * 1.7)));
  const curve = compactCurve(3, steps, losses);
  assert.equal(curve.seed, 3);
  assert.equal(curve.step.length, MAX_CURVE_POINTS);
  assert.ok(increasing(curve.step));
  assert.equal(curve.step.at(-1), 4000);
  for (let k = 0; k < MAX_CURVE_POINTS; k++) {
    // Two readings per bucket: steps 20k+10 and 20k+20.
    const [a, b] = [losses[2 * k], losses[2 * k + 1]];
    assert.equal(curve.step[k], steps[2 * k + 1]);
    assert.equal(curve.loss[k], Number(((a + b) / 2).toPrecision(4)));
    assert.equal(curve.min[k], Number(Math.min(a, b).toPrecision(4)));
  }
  // Fewer readings than the bound: kept as they are.
  assert.deepEqual(compactCurve(0, [10, 20, 25], [0.3, 0.2, 0.1]).step, [10, 20, 25]);
  // Early stopping ends a curve sooner: buckets follow its own steps.
  const stopped = compactCurve(0, steps.slice(0, 250), losses.slice(0, 250));
  assert.ok(stopped.step.length === MAX_CURVE_POINTS && increasing(stopped.step) && stopped.step.at(-1) === 2500);

  const thin = thinCurve(curve, 50);
  assert.equal(thin.step.length, 50);
  assert.ok(increasing(thin.step) && thin.step.at(-1) === 4000);
  // Each thinned minimum is the lowest of the minima merged into it.
  assert.equal(thin.min[0], Math.min(...curve.min.slice(0, 4)));
  assert.ok(thin.min.every((m, i) => m <= thin.loss[i]));
});

test('the loss plot: the median across seeds, log y, nothing drawn without a finite point', () => {
  const curves: LossCurve[] = [
    { seed: 0, step: [10, 20, 30, 40], loss: [0.5, 0.1, 0.02, 0.01], min: [0.5, 0.1, 0.02, 0.01] },
    { seed: 1, step: [10, 20, 30], loss: [0.4, 0.2, 0.05], min: [0.4, 0.2, 0.05] },
  ];
  // At step 40 seed 1 has stopped: its last value (0.05) stands in, so the median is (0.01 + 0.05) / 2.
  assert.deepEqual(medianCurve(curves).map(([s, v]) => [s, Number(v.toPrecision(6))]), [[10, 0.45], [20, 0.15], [30, 0.035], [40, 0.03]]);
  const lines = [...curves.map((c, i) => ({ points: c.step.map((s, j) => [s, c.loss[j]] as [number, number]), role: 'seed' as const, seedIndex: i })), { points: medianCurve(curves), role: 'bold' as const }];
  const native = plotGeometry(lines, 300, 160);
  assert.ok(native);
  // Log y: a loss ten times lower is the same distance lower, wherever it is.
  assert.equal(native.yTicks.length > 2, true);
  assert.equal(plotGeometry([{ points: [[10, 0], [20, Number.NaN]], role: 'faint' }]), null, 'nothing drawable: no plot');
});
