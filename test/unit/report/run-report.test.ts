/**
 * The QA report of a finished run, made from real runs in a real project (the real Slovenia scene with a real
 * cloud mask of another day, so the run has ground truth): its parameters, its pictures (PNG data: URIs that
 * decode, with the mask outline in cyan), the scores, the uncertainty of a two-seed run, the tiles' losses and
 * the provenance; written only where the output guard allows. With Chromium here, the report is also printed
 * to PDF and screenshotted into test/e2e/artifacts/ (report-*.png) to look at.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { PNG } from 'pngjs';
import { CATALOGUE_FILE, createProject } from '../../../native/catalogue/project.ts';
import { InputError } from '../../../native/errors.ts';
import { readBands, readRasterInfo, withRaster } from '../../../native/raster/tiff/geotiff-reader.ts';
import { sampleRaster, thumbnailStep } from '../../../native/report/thumbnails.ts';
import { Service } from '../../../native/project/service.ts';
import { runClearsky } from '../../helpers/cli.ts';
import { dataFile } from '../../helpers/data.ts';
import { serviceRunEnded } from '../../helpers/run-ended.ts';

const TARGET = dataFile('slovenia-2015', 'S2L1C_20150909.tif');
const MASKS = dataFile('slovenia-2015', 'cloudmasks_s2cloudless_2015-2017.tif');
/** 2016-05-16, 19 % real cloud: not the target's own day, so what lies under it is ground truth. */
const OTHER_DAY_BAND = 19;
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.resolve('test/e2e/artifacts');

let dir: string;
let projectDir: string;
let service: Service;
let sceneId: number;
let maskId: number;
before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-report-'));
  projectDir = path.join(dir, 'slovenia');
  createProject(projectDir, 'Slovenia QA').close();
  service = Service.open(projectDir, { workers: 1 });
  const outcomes = await service.importFiles({ paths: [TARGET, MASKS] });
  assert.ok(outcomes.every((o) => o.status === 'imported'), JSON.stringify(outcomes.filter((o) => o.status !== 'imported')));
  sceneId = (await service.listScenes())[0].id;
  maskId = (await service.listMasks()).find((m) => m.band === OTHER_DAY_BAND)!.id;
});
after(async () => {
  await service.close();
  await fs.rm(dir, { recursive: true, force: true });
});


/** The data: URIs of the report's <img> elements by their alt text, decoded. */
function images(html: string): Map<string, PNG> {
  const found = new Map<string, PNG>();
  for (const match of html.matchAll(/<img src="([^"]*)" alt="([^"]*)"/g)) {
    const [, src, alt] = match;
    assert.match(src, /^data:image\/png;base64,/, `${alt} is inlined as a PNG data: URI`);
    found.set(alt, PNG.sync.read(Buffer.from(src.slice(src.indexOf(',') + 1), 'base64')));
  }
  return found;
}

function cyanPixels(png: PNG): number {
  let n = 0;
  for (let i = 0; i < png.data.length; i += 4) if (png.data[i] === 0 && png.data[i + 1] === 255 && png.data[i + 2] === 255) n++;
  return n;
}

/** The text of the table cell after the header `name` in the report. */
function cell(html: string, name: string): string {
  const match = new RegExp(`<th>${name}</th><td[^>]*>([^<]*)</td>`).exec(html);
  assert.ok(match, `the report has a row "${name}"`);
  return match[1];
}

test('a ground-truth run gets a self-contained report with its parameters, pictures, scores, tile losses and provenance', async () => {
  const run = await serviceRunEnded(service, (await service.startRun({ name: 'idw check', targetSceneId: sceneId, maskId, method: 'idw-fill', tileSize: 128, groundTruth: true })).id, 300_000);
  assert.equal(run.status, 'done', run.error ?? '');
  assert.ok(run.metrics);
  const destination = path.join(dir, 'out', 'nested', 'report.html');
  assert.deepEqual(await service.runReport({ runId: run.id, destination }), { path: destination });
  const html = await fs.readFile(destination, 'utf8');

  // Self-contained: no script, nothing fetched from anywhere.
  assert.doesNotMatch(html, /<script/i);
  assert.doesNotMatch(html, /(src|href)="(?!data:)/);
  assert.match(html, /Contains modified Copernicus Sentinel data/);

  assert.equal(cell(html, 'Project'), 'Slovenia QA');
  assert.match(cell(html, 'Run'), new RegExp(`^${run.id} — idw check$`));
  assert.equal(cell(html, 'Method'), 'idw-fill');
  assert.equal(cell(html, 'Steps'), 'not used by idw-fill');
  assert.equal(cell(html, 'Seeds'), '0');
  assert.match(cell(html, 'Scene'), /S2L1C_20150909/);
  assert.match(cell(html, 'Cloud mask'), new RegExp(`mask ${maskId}\\)`));
  assert.match(cell(html, 'Tiles'), /^128 px, overlap 32 px/);
  assert.match(cell(html, 'Ground truth'), /^yes/);
  assert.equal(cell(html, 'Backend'), run.backend ?? run.request.backend);

  // Before and after, the size of the 100 × 101 scene, with the mask outline in cyan on both.
  const pictures = images(html);
  const info = await readRasterInfo(TARGET);
  for (const name of ['before', 'after']) {
    const png = pictures.get(name);
    assert.ok(png, `a ${name} picture`);
    assert.deepEqual([png.width, png.height], [info.width, info.height]);
    assert.ok(cyanPixels(png) > 20, `${name} shows the mask outline`);
  }
  assert.notDeepEqual(pictures.get('before')!.data, pictures.get('after')!.data, 'the reconstruction differs from the scene under the mask');

  // The run's own scores, as the catalogue holds them.
  assert.match(html, /data-testid="report-metrics"/);
  assert.match(html, new RegExp(`<td>${run.metrics.masked.ssim!.toFixed(3)}</td><td>${run.metrics.masked.rmse!.toFixed(4)}</td>`));
  assert.match(html, new RegExp(`Under the mask \\(${run.metrics.maskedPixels} px\\)`));
  // One seed: no uncertainty, and it says so; the tiles' final losses, and why a baseline has no loss curve.
  assert.match(html, /data-testid="report-no-uncertainty">One seed/);
  const tile = (await service.getRun(run.id)).tileList.find((t) => t.status === 'done')!;
  assert.match(html, new RegExp(`<tr><td>${tile.index}</td><td>${tile.window.width} × ${tile.window.height} at \\(${tile.window.x}, ${tile.window.y}\\)</td><td>done</td>`));
  assert.match(html, /data-testid="report-no-curve">No loss curve: idw-fill does not train a network\./);
  // The result GeoTIFF's provenance tags, all of them.
  const result = run.results.find((r) => r.kind === 'reconstruction')!;
  const tags = (await readRasterInfo(service.catalogue.resolve(result.file))).metadata;
  for (const [key, value] of Object.entries(tags).filter(([k]) => k.startsWith('CLEARSKY_'))) {
    assert.match(html, new RegExp(`<th>${key}</th><td class="wrap">`), `provenance ${key}`);
    void value;
  }
  assert.ok(Object.keys(tags).some((k) => k === 'CLEARSKY_VERSION'));

  if (existsSync(CHROMIUM)) await printAndShoot(destination, 'ground-truth');
});

test('a two-seed DIP run’s report shows the uncertainty with its ramp', async () => {
  const run = await serviceRunEnded(service, (await service.startRun({ targetSceneId: sceneId, maskId, method: 'dip', bands: ['B04', 'B03', 'B02'], steps: 30, seeds: [0, 1], tileSize: 128 })).id, 300_000);
  assert.equal(run.status, 'done', run.error ?? '');
  assert.ok(run.results.some((r) => r.kind === 'uncertainty'));
  const destination = path.join(dir, 'out', 'dip.html');
  await service.runReport({ runId: run.id, destination });
  const html = await fs.readFile(destination, 'utf8');
  assert.match(cell(html, 'Method'), /^Deep Image Prior, basic mode$/);
  assert.equal(cell(html, 'Steps'), '30');
  // Its loss curves: the one tile's two seeds, read at steps 10, 20 and 30.
  assert.match(html, /data-testid="report-loss-tile-0"[\s\S]*?(<path d="M[^"]*L[^"]*L[^"]*" fill="none" stroke="#[0-9a-f]+" stroke-width="1.5" data-role="seed"\/>){2}<text/);
  assert.equal(cell(html, 'Seeds'), '0, 1');
  assert.equal(cell(html, 'Bands'), 'B04, B03, B02');
  assert.match(html, /data-testid="report-no-metrics"/);
  const pictures = images(html);
  const spread = pictures.get('uncertainty');
  assert.ok(spread, 'an uncertainty picture');
  assert.equal(spread.width, pictures.get('after')!.width);
  assert.equal(pictures.get('ramp')!.width, 240);
  // Where the seeds disagree the ramp's colours show (not only the dark grey of untouched pixels).
  let ramped = 0;
  for (let i = 0; i < spread.data.length; i += 4) if (!(spread.data[i] === 40 && spread.data[i + 1] === 40 && spread.data[i + 2] === 40)) ramped++;
  assert.ok(ramped > 100, `${ramped} pixels on the ramp`);
  if (existsSync(CHROMIUM)) await printAndShoot(destination, 'uncertainty');
});

test('the report is never written into the project or over the run’s files, and an unfinished run has none', async () => {
  const run = (await service.listRuns()).find((r) => r.status === 'done')!;
  const catalogue = path.join(projectDir, CATALOGUE_FILE);
  const before = await fs.readFile(catalogue);
  const refused = (where: RegExp) => (error: Error) => error instanceof InputError && where.test(error.message);
  await assert.rejects(service.runReport({ runId: run.id, destination: catalogue }), refused(/the report is inside the open project/));
  await assert.rejects(service.runReport({ runId: run.id, destination: path.join(projectDir, 'report.html') }), refused(/inside the open project/));
  const scene = path.join(projectDir, (await service.listScenes())[0].file);
  await assert.rejects(service.runReport({ runId: run.id, destination: scene }), refused(/inside the open project|same file as the run's scene/));
  // Another project's runs/ folder is refused too.
  createProject(path.join(dir, 'other')).close();
  await assert.rejects(service.runReport({ runId: run.id, destination: path.join(dir, 'other', 'runs', 'r.html') }), refused(/inside the Clearsky project .*other/));
  assert.deepEqual(await fs.readFile(catalogue), before, 'the catalogue is untouched');
  assert.equal(existsSync(path.join(dir, 'other', 'runs', 'r.html')), false);

  await assert.rejects(service.runReport({ runId: 999, destination: path.join(dir, 'x.html') }), /there is no run 999/);
  const cancelled = await service.startRun({ targetSceneId: sceneId, maskId, method: 'dip', steps: 5000, tileSize: 128 });
  await service.cancelRun(cancelled.id);
  await serviceRunEnded(service, cancelled.id, 300_000);
  await assert.rejects(service.runReport({ runId: cancelled.id, destination: path.join(dir, 'x.html') }), refused(/is cancelled: a report is made for a run that finished/));
  assert.equal(existsSync(path.join(dir, 'x.html')), false);
});

test('clearsky report DIR RUN_ID --out writes the report, and exits 2 with one line for a path in the project', async () => {
  const run = (await service.listRuns()).find((r) => r.status === 'done')!;
  const out = path.join(dir, 'cli', 'report.html');
  const written = await runClearsky(['report', projectDir, String(run.id), '--out', out], dir);
  assert.equal(written.code, 0, written.stderr);
  assert.match(written.stderr, new RegExp(`wrote ${out}`));
  assert.match(await fs.readFile(out, 'utf8'), new RegExp(`Clearsky QA report — run ${run.id}`));

  const inside = path.join(projectDir, 'runs', 'report.html');
  const refused = await runClearsky(['report', projectDir, String(run.id), '--out', inside], dir);
  assert.equal(refused.code, 2);
  assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
  assert.match(refused.stderr, /report\.html.*inside the (open project|Clearsky project)/);
  assert.equal(existsSync(inside), false);
  const usage = await runClearsky(['report', projectDir, String(run.id)], dir);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /usage: clearsky report DIR RUN_ID --out REPORT\.html/);
});

test('thumbnails of a full-size scene are every step-th pixel of a window, read in row chunks', async () => {
  const file = dataFile('T33UUU-20170216', 'S2L1C_T33UUU_20170216_10m.tif');
  const window = { x: 101, y: 37, width: 1400, height: 700 };
  const step = thumbnailStep(window.width, window.height);
  assert.equal(step, 3);
  const all = Array.from({ length: 13 }, (_, i) => i);
  // All 13 bands: the 4 M-value chunk is then a few dozen rows, so the window takes several reads.
  const sampled = await sampleRaster(file, () => all, step, window);
  assert.deepEqual([sampled.width, sampled.height, sampled.bands], [467, 234, 13]);
  const full = await withRaster(file, (raster) => readBands(raster, all, window));
  for (const [tx, ty] of [[0, 0], [466, 233], [200, 77], [13, 150]]) {
    const from: number = (ty * step * window.width + tx * step) * 13;
    assert.deepEqual(Array.from(sampled.data.subarray((ty * sampled.width + tx) * 13, (ty * sampled.width + tx + 1) * 13)), Array.from(full.data.subarray(from, from + 13)), `pixel ${tx},${ty}`);
  }
});

/** Prints the report to PDF with headless Chromium and screenshots it, into the e2e artifacts to look at. */
async function printAndShoot(file: string, name: string): Promise<void> {
  await fs.mkdir(ARTIFACTS, { recursive: true });
  const run = promisify(execFile);
  const common = ['--headless', '--no-sandbox', '--disable-gpu', '--no-pdf-header-footer', `--user-data-dir=${path.join(dir, `chromium-${name}`)}`];
  const pdf = path.join(ARTIFACTS, `report-${name}.pdf`);
  await run(CHROMIUM, [...common, `--print-to-pdf=${pdf}`, `file://${file}`], { timeout: 120_000 });
  const head = (await fs.readFile(pdf)).subarray(0, 5).toString('latin1');
  assert.equal(head, '%PDF-');
  const png = path.join(ARTIFACTS, `report-${name}.png`);
  await run(CHROMIUM, [...common, '--hide-scrollbars', '--window-size=1100,2200', `--screenshot=${png}`, `file://${file}`], { timeout: 120_000 });
  assert.ok(PNG.sync.read(await fs.readFile(png)).width > 0);
}
