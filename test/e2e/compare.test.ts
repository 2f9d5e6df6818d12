/**
 * End to end, the Compare view in browser mode: the real command line creates a project, imports the real
 * Slovenia 2015-09-09 scene (clear, 100 × 101 px, 13 bands) and the 68-band s2cloudless mask stack, picks a real
 * mask with 15–50 % cloud, and reconstructs the scene under it twice on 64-px tiles: an idw-fill baseline and
 * basic mode for 10 steps. `clearsky serve` serves it and Debian's Chromium opens the app, chooses the scene
 * and clicks Compare.
 *
 * Checked on screen: three panels (the original and one per run) that each show an image and the mask's cyan
 * outline; the two reconstructions differ where the mask is; a drag in the first panel moves the others (one
 * shared view: the same new centre in every panel, and the second panel's picture changes); the tile picker
 * zooms every panel to a reconstructed tile; a run's check box hides and shows its panel; Esc closes the view;
 * with a run selected in Jobs, the view opens on that run's first tile.
 * No console errors, no failed requests, nothing but 127.0.0.1. Screenshots go to test/e2e/artifacts/compare-*.png.
 *
 * Needs /usr/bin/chromium and the sample data in ../shared/data.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { buildRenderer, CHROMIUM, launchChromium, startServe, stepClock, watchPage, type Served } from '../helpers/browser.ts';
import { colourDifference, cyanPixels, luminanceStats, type Box } from '../helpers/screenshot.ts';
import { runClearsky } from '../helpers/cli.ts';
import { dataFile, REPO_ROOT } from '../helpers/data.ts';

const SCENE = dataFile('slovenia-2015', 'S2L1C_20150909.tif');
const MASKS = dataFile('slovenia-2015', 'cloudmasks_s2cloudless_2015-2017.tif');
const ARTIFACTS = path.join(REPO_ROOT, 'test/e2e/artifacts');

let work: string;
let server: Served | undefined;
let url: string;
let context: BrowserContext | undefined;
let maskCover = 0;

const step = stepClock();

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (scripts/setup does)`);
  await fs.mkdir(ARTIFACTS, { recursive: true });
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-compare-'));
  const projectDir = path.join(work, 'project');
  await buildRenderer();
  step('renderer built');
  let result = await runClearsky(['project', 'create', projectDir, '--name', 'Compare e2e'], REPO_ROOT);
  assert.equal(result.code, 0, result.stderr);
  // The mask stack is imported as one mask record per band (per date).
  result = await runClearsky(['project', 'import', projectDir, SCENE, MASKS], REPO_ROOT);
  assert.equal(result.code, 0, result.stderr);
  result = await runClearsky(['project', 'list', projectDir, '--json'], REPO_ROOT);
  assert.equal(result.code, 0, result.stderr);
  const listing = JSON.parse(result.stdout) as { scenes: { id: number }[]; masks: { id: number; cloudCover: number | null }[] };
  assert.equal(listing.scenes.length, 1);
  const mask = listing.masks.find((m) => m.cloudCover !== null && m.cloudCover >= 0.15 && m.cloudCover <= 0.5);
  assert.ok(mask, `no mask with 15–50 % cloud among ${listing.masks.length}`);
  maskCover = mask.cloudCover!;
  step(`project with the scene and ${listing.masks.length} masks; mask ${mask.id} has ${(maskCover * 100).toFixed(0)} % cloud`);
  const common = ['--target', String(listing.scenes[0].id), '--mask', String(mask.id), '--tile', '64', '--overlap', '16'];
  result = await runClearsky(['run', projectDir, ...common, '--method', 'idw-fill'], REPO_ROOT);
  assert.equal(result.code, 0, result.stderr);
  result = await runClearsky(['run', projectDir, ...common, '--mode', 'basic', '--steps', '10'], REPO_ROOT);
  assert.equal(result.code, 0, result.stderr);
  step('two runs done: idw-fill and basic (10 steps)');
  server = await startServe(['--project', projectDir], REPO_ROOT, 30_000);
  url = server.url;
  step(`serving ${url}`);
  context = await launchChromium(path.join(work, 'chromium-profile'));
});

after(async () => {
  await context?.close();
  await server?.stop(5000);
  if (work) await fs.rm(work, { recursive: true, force: true });
});

/** A screenshot of the page (saved as compare-NAME.png). */
async function shot(page: Page, name: string): Promise<PNG> {
  return PNG.sync.read(await page.screenshot({ path: path.join(ARTIFACTS, `compare-${name}.png`) }));
}

/** Waits until there are `count` panels that have each drawn all their tiles once (ComparePanel's data-rendered). */
async function allRendered(page: Page, count: number, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    // (Polled from here: the app's content security policy forbids the string functions of waitForFunction.)
    const rendered = await page.getByTestId('compare-panel').evaluateAll((panels) => panels.map((p) => p.getAttribute('data-rendered')));
    if (rendered.length === count && rendered.every((r) => r === 'true')) return;
    assert.ok(Date.now() < until, `the panels are not all drawn after ${timeoutMs / 1000} s: ${JSON.stringify(rendered)}`);
    await page.waitForTimeout(200);
  }
}

async function centres(page: Page): Promise<string[]> {
  return page.getByTestId('compare-panel').evaluateAll((panels) => panels.map((p) => p.getAttribute('data-center') ?? ''));
}

/** Until the panels' centres settle (a drag ends with a kinetic glide): two reads 300 ms apart that agree. */
async function settledCentres(page: Page): Promise<string[]> {
  let previous = '';
  for (let i = 0; i < 30; i++) {
    await page.waitForTimeout(300);
    const now = await centres(page);
    if (now.join('|') === previous) return now;
    previous = now.join('|');
  }
  return centres(page);
}

test('Compare: the scene and each run side by side, one view, the cloud outlined, the reconstructions differ', { timeout: 300_000 }, async () => {
  const page = await context!.newPage();
  const problems = watchPage(page);
  await page.goto(url);
  const compare = page.getByRole('button', { name: 'Compare', exact: true });
  await page.getByTestId('scene').first().waitFor({ timeout: 30_000 });
  // No scene chosen: the button says why it is disabled.
  assert.equal(await compare.isDisabled(), true);
  assert.equal(await compare.getAttribute('title'), 'Choose a scene first');
  await page.getByTestId('scene').first().click();
  await page.waitForSelector('[data-testid="map"][data-status="ready"]', { timeout: 30_000 });
  assert.equal(await compare.isDisabled(), false, `Compare is disabled: ${await compare.getAttribute('title')}`);

  // 1. Three panels: the original, then the runs in the order they were made.
  await compare.click();
  const view = page.getByTestId('compare');
  await view.waitFor({ timeout: 10_000 });
  await allRendered(page, 3);
  await page.waitForTimeout(500);
  const panels = page.getByTestId('compare-panel');
  const titles = await panels.locator('h3').allInnerTexts();
  assert.deepEqual(titles, ['Original', '#1 idw-fill (baseline)', '#2 basic · 10 steps · 1 seed']);
  assert.deepEqual(await panels.evaluateAll((list) => list.map((p) => p.getAttribute('data-outline-status'))), ['ready', 'ready', 'ready']);
  step('compare view: 3 panels rendered');

  const boxes: Box[] = [];
  for (let i = 0; i < 3; i++) boxes.push((await panels.nth(i).getByTestId('compare-map').boundingBox())!);
  // The panels are side by side (or in rows), all of one size.
  assert.ok(boxes.every((b) => Math.abs(b.width - boxes[0].width) < 2 && Math.abs(b.height - boxes[0].height) < 2 && b.width > 200 && b.height > 150), JSON.stringify(boxes));
  const whole = await shot(page, '1-panels');
  for (let i = 0; i < 3; i++) {
    const sd = luminanceStats(whole, boxes[i]).sd;
    assert.ok(sd > 8, `panel ${i + 1} is blank (luminance spread ${sd.toFixed(1)})`);
    const cyan = cyanPixels(whole, boxes[i], 180);
    assert.ok(cyan > 50, `panel ${i + 1} shows no cyan cloud outline (${cyan} cyan pixels)`);
  }
  // The reconstructions differ (under the mask: elsewhere both are the scene), and each differs from the original.
  const runsApart = colourDifference(whole, boxes[1], whole, boxes[2]);
  const firstVsOriginal = colourDifference(whole, boxes[0], whole, boxes[1]);
  const secondVsOriginal = colourDifference(whole, boxes[0], whole, boxes[2]);
  console.log(`# mean colour difference: #1 vs #2 ${runsApart.toFixed(2)}, original vs #1 ${firstVsOriginal.toFixed(2)}, original vs #2 ${secondVsOriginal.toFixed(2)}`);
  assert.ok(runsApart > 0.5, `the two reconstructions look the same (${runsApart.toFixed(2)})`);
  assert.ok(firstVsOriginal > 0.5 && secondVsOriginal > 0.5, 'a reconstruction looks like the original');

  // 2. A drag in the first panel moves every panel: one view, one new centre.
  const before = await settledCentres(page);
  assert.equal(new Set(before).size, 1, `the panels do not share a centre: ${before.join(' | ')}`);
  const cx = boxes[0].x + boxes[0].width / 2;
  const cy = boxes[0].y + boxes[0].height / 2;
  await page.mouse.move(cx, cy);
  await page.mouse.down();
  await page.mouse.move(cx + 40, cy + 25, { steps: 4 });
  await page.mouse.move(cx + 90, cy + 60, { steps: 6 });
  await page.mouse.up();
  const after = await settledCentres(page);
  assert.notEqual(after[0], before[0], 'the drag did not move the first panel');
  assert.deepEqual(after, [after[0], after[0], after[0]], `the other panels did not follow: ${after.join(' | ')}`);
  await allRendered(page, 3);
  const panned = await shot(page, '2-panned');
  const moved = colourDifference(whole, boxes[1], panned, boxes[1]);
  assert.ok(moved > 2, `the second panel's picture did not move with the first (${moved.toFixed(2)})`);
  step(`dragged: centre ${before[0]} → ${after[0]} in every panel`);

  // 3. The tile picker: the tiles the runs reconstructed; one chosen, every panel zooms to it.
  const picker = page.getByTestId('compare-tile');
  const options = await picker.locator('option').allInnerTexts();
  assert.equal(options[0], 'Whole scene');
  assert.ok(options.length >= 2, `no reconstructed tile to pick: ${options.join(', ')}`);
  assert.ok(options.slice(1).every((o) => /^Tile \d+ · \d+ % cloud$/.test(o)), options.join(', '));
  await picker.selectOption({ index: 1 });
  const zoomed = await settledCentres(page);
  assert.notEqual(zoomed[0], after[0], 'choosing a tile did not move the view');
  assert.equal(new Set(zoomed).size, 1, 'the panels are not on the same tile');
  await allRendered(page, 3);
  await page.waitForTimeout(300);
  const tileShot = await shot(page, '3-tile');
  for (let i = 0; i < 3; i++) assert.ok(luminanceStats(tileShot, boxes[i]).sd > 8, `panel ${i + 1} is blank on the tile`);
  step(`zoomed to ${options[1]} (${options.length - 1} tiles listed)`);

  // 4. A run hidden and shown again.
  await page.locator('[data-testid="compare-run-toggle"][data-run-id="1"]').uncheck();
  await allRendered(page, 2);
  assert.deepEqual(await panels.locator('h3').allInnerTexts(), ['Original', '#2 basic · 10 steps · 1 seed']);
  await page.locator('[data-testid="compare-run-toggle"][data-run-id="1"]').check();
  await allRendered(page, 3);
  await page.waitForTimeout(300);
  await shot(page, '4-shown-again');
  assert.equal(new Set(await centres(page)).size, 1, 'the panel shown again is not on the shared view');
  step('a run hidden and shown again');

  // 5. Esc closes the view; the map is back.
  await page.keyboard.press('Escape');
  await view.waitFor({ state: 'detached', timeout: 10_000 });
  assert.ok(await page.getByTestId('map').isVisible(), 'the main map is not back');
  await shot(page, '5-closed');

  // 6. With a run selected in Jobs, Compare opens on that run's first reconstructed tile, framed in every panel.
  await page.locator('[data-testid="job"][data-run-id="2"] button.head').click();
  await compare.click();
  await view.waitFor({ timeout: 10_000 });
  await allRendered(page, 3);
  const first = await settledCentres(page);
  assert.notEqual(await picker.inputValue(), '', 'no tile chosen for the selected run');
  assert.match(await picker.locator('option:checked').innerText(), /^Tile \d+ · \d+ % cloud$/);
  assert.equal(new Set(first).size, 1);
  await shot(page, '6-selected-run');
  await page.getByTestId('compare-close').click();
  await view.waitFor({ state: 'detached', timeout: 10_000 });
  step('opened on the selected run’s first tile');

  assert.deepEqual(problems, []);
  await page.close();
});
