/**
 * End to end in browser mode, the multi-temporal path: a project (made with the real command line) holds three
 * real Slovenia scenes and the s2cloudless mask stack. In Chromium the user chooses the clear 2015-09-09
 * scene, builds a reference from the two other dates (each with its own mask) in the Build reference dialog,
 * sees it on the map, runs mode mt with that reference and two seeds as a ground-truth run under a real mask
 * of another day, sees the reconstruction and the uncertainty layers, reads the reference's values in the
 * pixel inspector, finds the run scored in the metrics panel, and exports the uncertainty layer, which GDAL
 * must read as Float32 spread bands on the scene's grid.
 *
 * No console errors, no request but to 127.0.0.1. Screenshots: test/e2e/artifacts/reference-*.png.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { buildRenderer, CHROMIUM, launchChromium, startServe, watchPage, type Served } from '../helpers/browser.ts';
import { runClearsky } from '../helpers/cli.ts';
import { dataFile, REPO_ROOT } from '../helpers/data.ts';
import { gdalinfo } from '../helpers/gdal.ts';
import { changedPixels } from '../helpers/screenshot.ts';

const slovenia = (name: string) => dataFile('slovenia-2015', name);
const ARTIFACTS = path.join(REPO_ROOT, 'test/e2e/artifacts');

let work: string;
let server: Served | undefined;
let context: BrowserContext | undefined;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (scripts/setup does)`);
  await fs.mkdir(ARTIFACTS, { recursive: true });
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-reference-e2e-'));
  const projectDir = path.join(work, 'project');
  let result = await runClearsky(['project', 'create', projectDir, '--name', 'Slovenia references'], REPO_ROOT);
  assert.equal(result.code, 0, result.stderr);
  const files = ['S2L1C_20150820.tif', 'S2L1C_20150830.tif', 'S2L1C_20150909.tif', 'cloudmasks_s2cloudless_2015-2017.tif'].map(slovenia);
  result = await runClearsky(['project', 'import', projectDir, ...files], REPO_ROOT);
  assert.equal(result.code, 0, result.stderr);
  await buildRenderer();
  // Exports go to the test's folder: the page may write only inside --root.
  server = await startServe(['--project', projectDir, '--root', work], work);
  context = await launchChromium(path.join(work, 'chromium-profile'));
});

after(async () => {
  await context?.close();
  await server?.stop();
  if (work) await fs.rm(work, { recursive: true, force: true });
});

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(ARTIFACTS, `reference-${name}.png`) });

test('build a reference in the app, run mt with it and two seeds, inspect it, export the uncertainty', { timeout: 600_000 }, async () => {
  const page = await context!.newPage();
  const problems = watchPage(page);
  await page.goto(server!.url);

  // The clear 2015-09-09 scene.
  await page.locator('[data-testid="scene"]').filter({ hasText: '2015-09-09' }).click();
  await page.waitForSelector('[data-testid="map"][data-status="ready"]', { timeout: 60_000 });
  await page.waitForTimeout(1000);
  // The first drag after a click in the catalogue pans the map.
  const mapBox = (await page.getByTestId('map').boundingBox())!;
  const still = PNG.sync.read(await page.screenshot());
  await page.mouse.move(mapBox.x + mapBox.width / 2, mapBox.y + mapBox.height / 2);
  await page.mouse.down();
  await page.mouse.move(mapBox.x + mapBox.width / 2 + 120, mapBox.y + mapBox.height / 2 + 60, { steps: 8 });
  await page.mouse.up();
  await page.waitForTimeout(500);
  assert.ok(changedPixels(still, PNG.sync.read(await page.screenshot()), mapBox) > 2000, 'the first drag did not pan the map');
  await page.getByTestId('zoom-to-layer').click();

  // Build: the two other dates are chosen by default (the scene itself is not), each with its own mask.
  await page.getByRole('button', { name: 'Build…' }).click();
  const dialog = page.getByTestId('reference-dialog');
  const scenes = dialog.locator('input[name="scene"]');
  assert.equal(await scenes.count(), 3);
  assert.deepEqual(await Promise.all([0, 1, 2].map((i) => scenes.nth(i).isChecked())), [true, true, false]);
  await dialog.locator('input[name="bands"]').fill('B04,B03,B02');
  await shot(page, '1-dialog');
  await dialog.getByRole('button', { name: 'Build' }).click();
  await dialog.getByTestId('reference-built').waitFor({ timeout: 120_000 });
  assert.match(await dialog.getByTestId('reference-built').innerText(), /mean of 2 scenes 2015-08-20…2015-08-30/);
  await dialog.getByRole('button', { name: 'Close' }).first().click();
  await dialog.waitFor({ state: 'detached' });
  // Listed, shown over the scene (the layer list names it).
  await page.getByTestId('ref').filter({ hasText: 'mean of 2 scenes' }).waitFor();
  const layers = page.getByTestId('layer-list');
  await layers.getByTestId('layer').filter({ hasText: 'Reference mean of 2 scenes' }).waitFor({ timeout: 30_000 });
  await page.waitForTimeout(1500);
  await shot(page, '2-reference-shown');

  // A real mask of another day (2016-05-16, 19 % cloud): the scene is clear under it, so it is ground truth.
  await page.locator('[data-testid="mask"]').filter({ hasText: '2016-05-16' }).first().click();
  await page.getByRole('button', { name: 'Plan run' }).click();
  const bar = page.getByTestId('plan-bar');
  await bar.getByTestId('plan-stats').filter({ hasText: /cloudy/ }).waitFor({ timeout: 60_000 });
  await bar.getByRole('button', { name: 'Whole scene' }).click();
  await bar.getByRole('button', { name: 'Run…' }).click();
  const run = page.getByTestId('run-dialog');
  assert.equal(await run.locator('select[name="mode"] option[value="mt"]').isDisabled(), true, 'mt is offered before a reference is chosen');
  await run.locator('select[name="reference"]').selectOption({ label: (await page.getByTestId('ref').first().locator('.title').innerText()).trim() });
  // A reference chosen: mtfit at 25 steps is what the dialog recommends and now preselects (defaultMethod).
  assert.equal(await run.locator('select[name="method"]').inputValue(), 'dip');
  assert.equal(await run.locator('select[name="mode"]').inputValue(), 'mtfit');
  assert.equal(await run.locator('input[name="steps"]').inputValue(), '25');
  assert.match(await run.getByTestId('run-recommendation').innerText(), /^Recommended for these sources: dip, mtfit — /);
  // The test's run stays MT, as the rest of it expects (a two-seed MT run and its uncertainty).
  await run.locator('select[name="mode"]').selectOption('mt');
  await run.locator('input[name="steps"]').fill('20');
  await run.locator('input[name="seeds"]').fill('0,1');
  await run.locator('input[name="bands"]').fill('B04,B03,B02');
  await run.locator('input[name="ground-truth"]').check();
  await shot(page, '3-run-dialog');
  await run.getByRole('button', { name: 'Start run' }).click();
  await run.waitFor({ state: 'detached' });
  const job = page.locator('[data-testid="job"][data-run-id="1"]');
  await job.locator('[data-testid="job-status"]').filter({ hasText: /done|failed|partial/ }).waitFor({ timeout: 300_000 });
  assert.equal(await job.getAttribute('data-status'), 'done', await job.innerText());

  // Both result layers; the job offers both for export.
  await layers.getByTestId('layer').filter({ hasText: 'Run #1 reconstruction' }).waitFor({ timeout: 60_000 });
  await layers.getByTestId('layer').filter({ hasText: 'Run #1 uncertainty' }).waitFor({ timeout: 60_000 });
  await page.waitForTimeout(1500);
  const before = PNG.sync.read(await page.screenshot({ path: path.join(ARTIFACTS, 'reference-4-results.png') }));
  // The uncertainty map waits to be ticked (it would hide the reconstruction); ticked, it colours the clouds.
  const uncertainty = layers.getByTestId('layer').filter({ hasText: 'Run #1 uncertainty' }).getByTestId('layer-visible');
  assert.equal(await uncertainty.isChecked(), false);
  await uncertainty.check();
  await page.waitForTimeout(2000);
  const after = PNG.sync.read(await page.screenshot({ path: path.join(ARTIFACTS, 'reference-4b-uncertainty.png') }));
  const changed = changedPixels(before, after, mapBox);
  assert.ok(changed > 500, `the uncertainty layer changed only ${changed} pixels of the map`);
  await uncertainty.uncheck();

  // The inspector reads the scene, the reconstruction and the reference shown.
  await page.keyboard.press('i');
  await page.mouse.click(mapBox.x + mapBox.width / 2, mapBox.y + mapBox.height / 2);
  const inspector = page.getByTestId('inspector');
  await inspector.getByText(/column \d+, row \d+/).waitFor({ timeout: 30_000 });
  const read = await inspector.innerText();
  assert.match(read, /reference/i);
  assert.match(read, /reconstruction/i);
  await shot(page, '5-inspect');
  await page.keyboard.press('Escape');

  // Scored against the hidden truth.
  const row = page.getByTestId('metrics').locator('[data-testid="metrics-row"][data-run-id="1"]');
  const ssim = Number(await row.locator('[data-score="SSIM"]').innerText({ timeout: 30_000 }));
  assert.ok(ssim > 0 && ssim < 1, `SSIM under the mask ${ssim}`);
  assert.match(await row.innerText(), /mt · 20 steps · 2 seeds/);

  // Export the uncertainty: GDAL reads Float32 spread bands on the scene's grid.
  await job.getByRole('button', { name: 'Export uncertainty' }).click();
  const exportDialog = page.getByTestId('export-dialog');
  const destination = path.join(work, 'out', 'uncertainty.tif');
  await exportDialog.locator('input[name="destination"]').fill(destination);
  await exportDialog.getByRole('button', { name: 'Export', exact: true }).click();
  await exportDialog.getByTestId('export-written').waitFor({ timeout: 60_000 });
  await shot(page, '6-export-uncertainty');
  const info = gdalinfo(destination);
  assert.deepEqual(info.size, [100, 101]);
  assert.equal(info.bands.length, 3);
  assert.ok(info.bands.every((b) => b.type === 'Float32'), JSON.stringify(info.bands.map((b) => b.type)));
  assert.match(info.bands[0].description ?? '', /B04 spread/);
  assert.deepEqual(info.geoTransform, gdalinfo(slovenia('S2L1C_20150909.tif')).geoTransform);

  assert.deepEqual(problems, []);
  await page.close();
});
