/**
 * End to end in browser mode, many dates at once (issue 17): an empty project; in Chromium the user imports a
 * folder holding a season of real Slovenia scenes and a mask file (Import… → Folder…, its progress in the task
 * strip; cancelled there, then imported again for the rest), sees the timeline of the dates with their cloud cover (the all-cloud day tall, the clear days flat, the masked day at
 * its mask's 19 %), chooses a date by its mark, and queues "Run every cloudy date…": the reference built once
 * from the clear dates, mode mt, 5 steps in 64-px tiles. Jobs groups the batch (n of N over, each run's own
 * progress), and both runs finish done. No console errors, no request but to 127.0.0.1.
 *
 * Screenshots: test/e2e/artifacts/dates-*.png.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { buildRenderer, CHROMIUM, launchChromium, startServe, stepClock, watchPage, type Served } from '../helpers/browser.ts';
import { runClearsky } from '../helpers/cli.ts';
import { REPO_ROOT } from '../helpers/data.ts';
import { makeSeasonFolder } from '../helpers/season.ts';

const ARTIFACTS = path.join(REPO_ROOT, 'test/e2e/artifacts');
const step = stepClock();

let work: string;
let season: string;
let server: Served | undefined;
let context: BrowserContext | undefined;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (scripts/setup does)`);
  await fs.mkdir(ARTIFACTS, { recursive: true });
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-dates-e2e-'));
  season = await makeSeasonFolder(path.join(work, 'season-2015'));
  const projectDir = path.join(work, 'project');
  const result = await runClearsky(['project', 'create', projectDir, '--name', 'Field season 2015'], REPO_ROOT);
  assert.equal(result.code, 0, result.stderr);
  await buildRenderer();
  server = await startServe(['--project', projectDir, '--root', work], work);
  context = await launchChromium(path.join(work, 'chromium-profile'));
  step('project, season folder, renderer and server ready');
});

after(async () => {
  await context?.close();
  await server?.stop();
  if (work) await fs.rm(work, { recursive: true, force: true });
});

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(ARTIFACTS, `dates-${name}.png`) });

test('import a season folder, see its timeline with cloud cover, run every cloudy date and follow the batch', { timeout: 600_000 }, async () => {
  const page = await context!.newPage();
  const problems = watchPage(page);
  await page.goto(server!.url);

  // Import… → Folder…: the folder's path under the root; progress while it goes, then every file's outcome.
  await page.getByRole('button', { name: 'Import…' }).click();
  const dialog = page.getByTestId('import-dialog');
  await dialog.getByLabel('Folder…').check();
  await dialog.locator('input[name="folder"]').fill(season);
  await dialog.getByRole('button', { name: 'Import folder' }).click();
  await dialog.getByTestId('import-progress').waitFor({ timeout: 30_000 });
  // Its progress and Cancel are the task strip's, as for every long action: one task named after the folder.
  const task = page.getByTestId('task').filter({ hasText: 'Import season-2015' });
  await task.waitFor({ timeout: 30_000 });
  await shot(page, 'import-progress');
  // Cancelled there: the file under way finishes, the dialog names the files not imported.
  await task.getByRole('button', { name: 'Cancel' }).click();
  const cancelled = dialog.getByTestId('import-cancelled');
  await cancelled.waitFor({ timeout: 60_000 });
  const notImported = Number(/; (\d+) not imported/.exec((await cancelled.textContent()) ?? '')?.[1]);
  const outcomes = dialog.locator('[data-testid="import-outcomes"] li');
  const done = await outcomes.count();
  assert.equal(done + notImported, 6, 'every file of the folder is either done or named as not imported');
  assert.ok(notImported > 0, 'stopped before the end');
  const kept = await dialog.locator('[data-testid="import-outcomes"] li[data-status="imported"]').count();
  await shot(page, 'import-cancelled');
  // Imported again: the rest come in, those kept are duplicates.
  await dialog.getByRole('button', { name: 'Import folder' }).click();
  await cancelled.waitFor({ state: 'detached', timeout: 10_000 });
  await dialog.getByTestId('import-progress').waitFor({ state: 'detached', timeout: 120_000 });
  assert.equal(await dialog.locator('[data-testid="import-outcomes"] li[data-status="imported"]').count(), 6 - kept);
  assert.equal(await dialog.locator('[data-testid="import-outcomes"] li[data-status="duplicate"]').count(), kept);
  await shot(page, 'import-done');
  await dialog.getByText('Close', { exact: true }).click();
  step('folder imported');

  // The timeline: one mark per date, bar height = cloud cover.
  const marks = page.getByTestId('timeline-mark');
  await marks.nth(4).waitFor();
  assert.equal(await marks.count(), 5);
  const covers = Object.fromEntries(await marks.evaluateAll((nodes) => nodes.map((n) => [n.getAttribute('aria-label')!.slice(0, 10), Number(n.getAttribute('data-cloud-cover'))])));
  assert.ok(covers['2015-07-11'] > 0.95, JSON.stringify(covers));
  assert.ok(covers['2015-07-31'] > 0.1 && covers['2015-07-31'] < 0.6, JSON.stringify(covers));
  assert.equal(covers['2015-08-20'], 0);
  assert.ok(Math.abs(covers['2015-09-09'] - 0.193) < 0.001, JSON.stringify(covers));
  // Bars are drawn to scale: the all-cloud day's bar is the tallest, the clear days' the lowest.
  const heights = Object.fromEntries(await marks.evaluateAll((nodes) => nodes.map((n) => [n.getAttribute('aria-label')!.slice(0, 10), n.querySelector('rect:not(.hit)')!.getBoundingClientRect().height])));
  assert.ok(heights['2015-07-11'] > heights['2015-07-31'] && heights['2015-07-31'] > heights['2015-09-09'] && heights['2015-09-09'] > heights['2015-08-20'], JSON.stringify(heights));
  // A mark chooses its scene.
  await marks.filter({ has: page.locator('title', { hasText: '2015-07-31' }) }).click();
  await page.waitForSelector('[data-testid="scene"][aria-pressed="true"]:has-text("2015-07-31")');
  await page.waitForSelector('[data-testid="map"][data-status="ready"]', { timeout: 60_000 });
  await page.waitForTimeout(800);
  await shot(page, 'timeline');
  step('timeline checked');

  // Run every cloudy date: the reference built from the clear dates, mode mt, 5 steps, 64-px tiles.
  await page.getByRole('button', { name: 'Run every cloudy date…' }).click();
  const batch = page.getByTestId('batch-dialog');
  await batch.locator('select[name="reference"]').selectOption('build');
  await batch.locator('select[name="mode"]').selectOption('mt');
  await batch.locator('input[name="steps"]').fill('5');
  await batch.locator('input[name="bands"]').fill('B04,B03,B02');
  await batch.locator('input[name="tile-size"]').fill('64');
  await batch.locator('input[name="overlap"]').fill('16');
  const states = await batch.getByTestId('batch-date').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-state')));
  assert.deepEqual(states, ['too-cloudy', 'run', 'reference', 'reference', 'run']);
  await shot(page, 'batch-dialog');
  await batch.getByRole('button', { name: 'Start 2 runs' }).click();
  await batch.getByTestId('batch-started').waitFor({ timeout: 120_000 });
  const outcome = await batch.getByTestId('batch-outcome').locator('li').evaluateAll((nodes) => nodes.map((n) => `${n.querySelector('.day')!.textContent} ${n.getAttribute('data-state')}`));
  assert.deepEqual(outcome, ['2015-07-11 too-cloudy', '2015-07-31 queued', '2015-08-20 skipped', '2015-08-30 skipped', '2015-09-09 queued']);
  await shot(page, 'batch-started');
  await batch.getByText('Close', { exact: true }).click();
  step('batch queued');

  // Jobs: one group for the batch, each run with its own progress; both end done.
  const group = page.getByTestId('job-batch');
  await group.waitFor();
  assert.equal(await group.getByTestId('job').count(), 2);
  assert.deepEqual(await group.getByTestId('job').locator('.title').allTextContents(), ['#1 2015-07-31 · mt', '#2 2015-09-09 · mt']);
  await page.waitForSelector('[data-testid="job-batch"] [data-testid="job"][data-status="running"]', { timeout: 120_000 });
  assert.ok(await group.getByTestId('cancel-batch').isVisible(), 'Cancel all is offered while the batch runs');
  await group.scrollIntoViewIfNeeded();
  await shot(page, 'batch-running');
  await page.waitForSelector('[data-testid="job-batch"][data-over="2"]', { timeout: 400_000 });
  assert.deepEqual(await group.getByTestId('job').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-status'))), ['done', 'done']);
  assert.match(await group.getByTestId('batch-status').textContent() ?? '', /2 of 2 runs done/);
  assert.equal(await group.getByTestId('cancel-batch').count(), 0);
  await page.waitForTimeout(1000);
  await group.scrollIntoViewIfNeeded();
  await shot(page, 'batch-done');
  step('batch done');

  // A long batch (4000 steps) is cancelled whole with Cancel all: every run of it ends cancelled.
  await page.getByRole('button', { name: 'Run every cloudy date…' }).click();
  await batch.locator('input[name="tile-size"]').fill('64');
  await batch.getByRole('button', { name: 'Start 2 runs' }).click();
  await batch.getByTestId('batch-started').waitFor({ timeout: 120_000 });
  await batch.getByText('Close', { exact: true }).click();
  const second = page.getByTestId('job-batch').filter({ has: page.locator('[data-run-id="3"]') });
  await second.waitFor();
  assert.deepEqual(await second.getByTestId('job').locator('.title').allTextContents(), ['#3 2015-07-31 · basic', '#4 2015-09-09 · basic']);
  // Queued or already running, every run of it is cancelled (no wait on how fast the workers pick them up).
  await second.getByTestId('cancel-batch').click();
  await page.waitForSelector('[data-testid="job-batch"][data-over="2"] [data-run-id="3"]', { timeout: 60_000 });
  assert.deepEqual(await second.getByTestId('job').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-status'))), ['cancelled', 'cancelled']);
  assert.match(await second.getByTestId('batch-status').textContent() ?? '', /0 of 2 runs done · 2 stopped/);
  step('second batch cancelled');

  assert.deepEqual(problems, []);
});
