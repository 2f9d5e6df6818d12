/**
 * End to end, the QA report from the Jobs panel, in browser mode: a real project on the real Slovenia scene
 * with a ground-truth run (idw-fill: seconds) made through the service; in Debian's Chromium, Report… offers
 * a name beside the project, refuses a path inside the project with its one-line reason, writes the report,
 * and the report itself opens in the browser with every picture decoded and no request anywhere, and prints
 * to PDF. Screenshots in test/e2e/artifacts/report-app-*.png (the dialog, the report as opened). A two-seed
 * DIP run beside it shows its loss curves under Jobs (all tiles, then a picked tile's line per seed), outlines
 * its tiles by seed spread, and exports with its quality file (loss-app-*.png).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { readRasterInfo } from '../../native/raster/tiff/geotiff-reader.ts';
import { openApp, screenOfPixel as screenOfRasterPixel } from '../helpers/app-page.ts';
import { ARTIFACTS, startAppSession, type AppSession } from '../helpers/app-session.ts';
import { stepClock, watchPage } from '../helpers/browser.ts';
import { dataFile } from '../helpers/data.ts';

let session: AppSession | undefined;
let work: string;
let projectDir: string;
const step = stepClock();

before(async () => {
  session = await startAppSession({
    prefix: 'clearsky-report-e2e-',
    folder: 'slovenia',
    imports: [dataFile('slovenia-2015', 'S2L1C_20150909.tif'), dataFile('slovenia-2015', 'cloudmasks_s2cloudless_2015-2017.tif')],
    root: true,
    workers: 1,
    step,
    prepare: async (service) => {
      const [scene] = await service.listScenes();
      const mask = (await service.listMasks()).find((m) => m.band === 19)!; // 2016-05-16: another day, so ground truth
      const run = await service.startRun({ targetSceneId: scene.id, maskId: mask.id, method: 'idw-fill', tileSize: 128, groundTruth: true });
      for (let i = 0; i < 600 && (await service.getRun(run.id)).status !== 'done'; i++) await new Promise((r) => setTimeout(r, 200));
      assert.equal((await service.getRun(run.id)).status, 'done');
      step('project: Slovenia 20150909, a ground-truth idw-fill run');
      const dip = await service.startRun({ targetSceneId: scene.id, maskId: mask.id, method: 'dip', mode: 'basic', bands: ['B04', 'B03', 'B02'], steps: 30, seeds: [0, 1], tileSize: 64, overlap: 16 });
      for (let i = 0; i < 1500 && (await service.getRun(dip.id)).status !== 'done'; i++) await new Promise((r) => setTimeout(r, 200));
      assert.equal((await service.getRun(dip.id)).status, 'done');
      step('a two-seed DIP run (30 steps, 64 px tiles)');
    },
  });
  ({ work, projectDir } = session);
});

after(async () => {
  await session?.close();
});

test('Report… in Jobs writes a self-contained QA report that opens and prints in the browser', { timeout: 300_000 }, async () => {
  const { page, problems } = await openApp(session!);
  const job = page.locator('[data-testid="job"][data-run-id="1"][data-status="done"]');
  await job.waitFor({ timeout: 30_000 });
  await job.getByRole('button', { name: 'Report…' }).click();
  const dialog = page.getByTestId('report-dialog');
  const input = dialog.locator('input[name="destination"]');
  assert.equal(await input.inputValue(), path.join(work, 'S2L1C_20150909_idw-fill_run1_report.html'));

  // Inside the project: refused, with the guard's reason, and nothing written.
  const inside = path.join(projectDir, 'report.html');
  await input.fill(inside);
  await dialog.getByRole('button', { name: 'Write report' }).click();
  await dialog.getByRole('alert').waitFor();
  assert.match(await dialog.getByRole('alert').innerText(), /inside the open project/);
  assert.equal(existsSync(inside), false);

  const destination = path.join(work, 'reports', 'run1.html');
  await input.fill(destination);
  await dialog.getByRole('button', { name: 'Write report' }).click();
  await dialog.getByTestId('report-written').waitFor({ timeout: 60_000 });
  assert.equal(await dialog.getByTestId('report-written').locator('code').innerText(), destination);
  await page.screenshot({ path: path.join(ARTIFACTS, 'report-app-dialog.png') });
  await dialog.getByRole('button', { name: 'Close' }).last().click();
  // The one refusal above is answered 422, as the API answers bad input; nothing else went wrong.
  assert.deepEqual(problems.filter((p) => !/422/.test(p)), []);
  assert.equal(problems.filter((p) => /^HTTP 422: .*\/api\/runReport$/.test(p)).length, 1, problems.join('\n'));
  step('report written from the Jobs panel');

  // The report as a client opens it: every picture decodes, nothing is fetched, and it prints to PDF.
  const report = await session!.context.newPage();
  const reportProblems = watchPage(report);
  const requests: string[] = [];
  report.on('request', (r) => {
    if (!r.url().startsWith('data:') && r.url() !== pathToFileURL(destination).href) requests.push(r.url());
  });
  await report.goto(pathToFileURL(destination).href);
  const sizes = await report.$$eval('img', (imgs) => imgs.map((img) => img as unknown as { alt: string; complete: boolean; naturalWidth: number }).map((img) => [img.alt, img.complete && img.naturalWidth > 0]));
  assert.deepEqual(sizes, [['before', true], ['after', true]]);
  assert.match(await report.getByTestId('report-metrics').innerText(), /Under the mask \(\d+ px\)/);
  await report.screenshot({ path: path.join(ARTIFACTS, 'report-app-opened.png'), fullPage: true });
  const pdf = await report.pdf({ path: path.join(ARTIFACTS, 'report-app.pdf'), format: 'A4', printBackground: true });
  assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
  assert.deepEqual(requests, []);
  assert.deepEqual(reportProblems, []);
});

test('the loss curves of a run under Jobs: every tile faint with the median bold, a picked tile a line per seed, outlines by seed spread, the quality file on export', { timeout: 300_000 }, async () => {
  const { page, problems } = await openApp(session!, { width: 1400, height: 900 });
  const job = page.locator('[data-testid="job"][data-run-id="2"][data-status="done"]');
  await job.waitFor({ timeout: 30_000 });
  await job.locator('button.head').click();
  const panel = page.locator('[data-testid="loss-panel"][data-run-id="2"]');
  await panel.waitFor({ timeout: 30_000 });
  const plot = panel.getByTestId('loss-plot');
  await plot.locator('path[data-role="bold"]').waitFor({ timeout: 30_000 });
  const tiles = (await panel.getByTestId('loss-tile').locator('option').allInnerTexts()).filter((t) => t.startsWith('tile '));
  assert.ok(tiles.length >= 2, `tiles to pick: ${tiles.join(', ')}`);
  assert.equal(await plot.locator('path[data-role="faint"]').count(), tiles.length * 2, 'a faint line per finished tile and seed');
  await page.waitForSelector('[data-testid="map"][data-status="ready"]', { timeout: 60_000 });
  await page.screenshot({ path: path.join(ARTIFACTS, 'loss-app-run.png') });
  await panel.screenshot({ path: path.join(ARTIFACTS, 'loss-app-panel-run.png') });

  // A click on the map picks a run's tile: the scene's bottom-right pixel lies only in the last tile.
  const toScreen = await screenOfPixel(page);
  const info = await readRasterInfo(dataFile('slovenia-2015', 'S2L1C_20150909.tif'));
  await page.mouse.click(...toScreen(info.width - 3, info.height - 3));
  const last = tiles.at(-1)!.slice('tile '.length);
  for (let i = 0; i < 50 && (await panel.getByTestId('loss-tile').inputValue()) !== last; i++) await page.waitForTimeout(200);
  assert.equal(await panel.getByTestId('loss-tile').inputValue(), last, 'the click picked the tile under it');
  await plot.locator('path[data-role="seed"]').nth(1).waitFor({ timeout: 30_000 });
  assert.match(await panel.getByTestId('loss-tile-summary').innerText(), new RegExp(`Tile ${last}: final loss`));

  // A tile picked in the list: a line per seed, its final loss and seed spread.
  const index = tiles[0].slice('tile '.length);
  await panel.getByTestId('loss-tile').selectOption(index);
  await plot.locator('path[data-role="seed"]').nth(1).waitFor({ timeout: 30_000 });
  assert.equal(await plot.locator('path[data-role="seed"]').count(), 2);
  assert.equal(await plot.locator('path[data-role="faint"]').count(), 0);
  assert.match(await panel.getByTestId('loss-tile-summary').innerText(), new RegExp(`seed 0\\s+seed 1[\\s\\S]*Tile ${index}: final loss 0\\.\\d{5} · seed spread \\d+\\.\\d DN`));
  // Outlines by seed spread, with the legend's range.
  await panel.getByTestId('quality-by').selectOption('spread');
  await panel.getByTestId('quality-legend').waitFor();
  assert.match(await panel.getByTestId('quality-legend').innerText(), /\d+\.\d[\s\S]*\d+\.\d DN/);
  await page.waitForTimeout(800);
  await page.screenshot({ path: path.join(ARTIFACTS, 'loss-app-tile.png') });
  await panel.screenshot({ path: path.join(ARTIFACTS, 'loss-app-panel-tile.png') });

  // Export with the quality file beside the GeoTIFF.
  await job.getByRole('button', { name: 'Export reconstruction' }).click();
  const dialog = page.getByTestId('export-dialog');
  const destination = path.join(work, 'exports', 'dip.tif');
  await dialog.locator('input[name="destination"]').fill(destination);
  await dialog.locator('input[name="with-quality"]').check();
  await dialog.getByRole('button', { name: 'Export' }).click();
  await dialog.getByTestId('export-written').waitFor({ timeout: 60_000 });
  assert.deepEqual(await dialog.getByTestId('export-file').locator('code').allInnerTexts(), [destination, path.join(work, 'exports', 'dip.quality.json')]);
  const quality = JSON.parse(await fs.readFile(path.join(work, 'exports', 'dip.quality.json'), 'utf8')) as { tiles: { curves: unknown[] }[] };
  assert.ok(quality.tiles.filter((t) => t.curves.length === 2).length === tiles.length);
  assert.deepEqual(problems, []);
});

/** Where a scene pixel's centre (column, row) is on screen now. */
async function screenOfPixel(page: Page): Promise<(col: number, row: number) => [number, number]> {
  const { geoTransform } = await readRasterInfo(dataFile('slovenia-2015', 'S2L1C_20150909.tif'));
  const toScreen = await screenOfRasterPixel(page, geoTransform!);
  return (col, row) => toScreen(col + 0.5, row + 0.5);
}
