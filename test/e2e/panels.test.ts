/**
 * End to end, the panels and dialogs around a run, in browser mode on the real Nigeria scene and its real
 * Sentinel-1 (the project made through the service: import, a drawn mask, and two 64-px-tile DIP runs each
 * cancelled after its first finished tile). Debian's Chromium then checks what the user sees:
 * - a cancelled run keeps its finished tiles on the map ("Run #1 (cancelled): … done" in the layer list), and
 *   Jobs offers Resume (the run goes on and ends done) and Finish as it is (a partial run with a result);
 * - Export suggests a name beside the project, writes the mask and uncertainty beside it when ticked (GeoTIFFs
 *   on disk), and in a browser offers the path to copy;
 * - the run dialog preselects the one SAR scene on the scene's grid with its VV/VH and units choice, echoes the
 *   seeds as a list, warns of too few steps, and estimates the duration from run #1's finished tiles;
 * - the pixel inspector puts scene, reconstruction and their difference side by side with the SAR values and a
 *   spectral plot, on the half of the map away from the pixel;
 * - a Sentinel-1 scene shows VV, VH and the VV/VH ratio in dB and nothing optical (no true colour, no cloud
 *   cover, no mask drawing), and the undated scene is given its day;
 * - the legend explains the tile colours and the uncertainty ramp; ? opens the keyboard-shortcut sheet;
 * - a run that is over is deleted from Jobs, saying first what goes; exports stay; a scene is renamed, its
 *   deletion refused while a run uses it (saying which), and the unused SAR scene deleted with its file.
 * No console errors, no request but to 127.0.0.1. Screenshots in test/e2e/artifacts/panels-*.png.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Dialog } from 'playwright-core';
import type { ApiEvent } from '../../native/api/contract.ts';
import { Service } from '../../native/project/service.ts';
import { openApp, screenshots, startNigeriaSession, type NigeriaSession } from '../helpers/app-page.ts';
import { stepClock } from '../helpers/browser.ts';

let session: NigeriaSession | undefined;
let work: string;
let projectDir: string;
const step = stepClock();

/** A 20-step DIP run on 64-px tiles, cancelled once its first tile is done. */
async function cancelledRun(service: Service, sceneId: number, maskId: number, seeds: number[]): Promise<number> {
  const run = await service.startRun({ targetSceneId: sceneId, maskId, method: 'dip', mode: 'basic', steps: 20, seeds, bands: ['B04', 'B03', 'B02'], tileSize: 64, overlap: 16 });
  await new Promise<void>((resolve) => {
    const unsubscribe = service.subscribe((e: ApiEvent) => {
      if (e.type === 'tile' && e.runId === run.id && e.tile.status === 'done') {
        unsubscribe();
        resolve();
      }
    });
  });
  await service.cancelRun(run.id);
  return run.id;
}

before(async () => {
  session = await startNigeriaSession({
    prefix: 'clearsky-panels-',
    root: true,
    workers: 1,
    step,
    prepare: async (service, outcomes) => {
      const s2 = outcomes.flatMap((o) => (o.status === 'imported' && o.kind === 'scene' && o.record.sensor === 'S2' ? [o.record] : []))[0];
      assert.ok(s2, JSON.stringify(outcomes));
      const [x0, y0, x1, y1] = s2.grid.bounds!;
      const at = (fx: number, fy: number): [number, number] => [x0 + (x1 - x0) * fx, y1 - (y1 - y0) * fy];
      // Cloud over the upper middle: several cloudy 64-px tiles, none all cloud.
      const mask = await service.editMask({ sceneId: s2.id, add: [[[at(0.1, 0.1), at(0.9, 0.1), at(0.9, 0.35), at(0.1, 0.35)]]] });
      await cancelledRun(service, s2.id, mask.id, [0, 1]);
      await cancelledRun(service, s2.id, mask.id, [0]);
      step('project: Nigeria S2 + S1, a drawn mask, runs #1 (2 seeds) and #2 cancelled after a tile each');
    },
  });
  ({ work, projectDir } = session);
});

after(async () => {
  await session?.close();
});

const shot = screenshots('panels');

test('cancelled runs, export, the run dialog, the legend and the shortcut sheet', { timeout: 600_000 }, async () => {
  const { page, problems } = await openApp(session!);
  await page.getByTestId('scene').first().waitFor({ timeout: 30_000 });
  await page.getByTestId('scene').filter({ hasText: 'S2' }).click();

  // ---- cancelled runs: their finished tiles on the map; Resume and Finish as it is in Jobs
  const job1 = page.locator('[data-testid="job"][data-run-id="1"]');
  const job2 = page.locator('[data-testid="job"][data-run-id="2"]');
  assert.equal(await job1.getAttribute('data-status'), 'cancelled');
  const tilesRow = page.locator('[data-testid="layer"][data-layer-key="tiles-1"]');
  await tilesRow.waitFor({ timeout: 30_000 });
  assert.match(await tilesRow.innerText(), /Run #1 \(cancelled\): \d+ tiles? done/);
  await page.locator('[data-testid="layer"][data-layer-key="tiles-1"][data-layer-status="ready"]').waitFor({ timeout: 60_000 });
  assert.equal(await job1.getByRole('button', { name: 'Resume' }).isVisible(), true);
  await shot(page, 'cancelled');

  await job2.getByRole('button', { name: 'Resume' }).click();
  await page.locator('[data-testid="job"][data-run-id="2"][data-status="done"]').waitFor({ timeout: 300_000 });
  step('run #2 resumed and done');
  assert.match(await job2.getByTestId('job-tiles').innerText(), /(\d+)\/\1 tiles done/);

  await job1.getByRole('button', { name: 'Finish as it is' }).click();
  await page.locator('[data-testid="job"][data-run-id="1"][data-status="partial"]').waitFor({ timeout: 180_000 });
  assert.match(await job1.innerText(), /finished as it was after a cancel/);
  step('run #1 finished as it was: partial');

  // ---- export: suggested name beside the project, mask and uncertainty beside it, the path to copy
  await job1.getByRole('button', { name: 'Export reconstruction' }).click();
  const exportDialog = page.getByTestId('export-dialog');
  const destination = await exportDialog.locator('input[name="destination"]').inputValue();
  assert.equal(destination, path.join(work, 's2_cloudy_basic_run1.tif'));
  await exportDialog.locator('input[name="with-mask"]').check();
  await exportDialog.locator('input[name="with-uncertainty"]').check();
  await exportDialog.getByRole('button', { name: 'Export', exact: true }).click();
  await exportDialog.getByTestId('export-file').nth(2).waitFor({ timeout: 120_000 });
  const files = await exportDialog.getByTestId('export-file').locator('code').allInnerTexts();
  assert.deepEqual(files, ['s2_cloudy_basic_run1.tif', 's2_cloudy_basic_run1_mask.tif', 's2_cloudy_basic_run1_uncertainty.tif'].map((f) => path.join(work, f)));
  for (const file of files) assert.equal((await fs.readFile(file)).subarray(0, 2).toString('latin1'), 'II', `${file} is a TIFF`);
  await exportDialog.getByRole('button', { name: 'Copy path' }).first().click();
  await exportDialog.getByTestId('export-note').waitFor();
  await shot(page, 'export');
  await exportDialog.getByRole('button', { name: 'Close', exact: true }).last().click();

  // ---- the run dialog: SAR preselected with its options, seeds as a list, few steps warned, an estimate
  await page.getByRole('button', { name: 'Plan run' }).click();
  const bar = page.getByTestId('plan-bar');
  await bar.getByRole('button', { name: 'Whole scene' }).click();
  await bar.getByRole('button', { name: 'Run…' }).click();
  const dialog = page.getByTestId('run-dialog');
  const sarValue = await dialog.locator('select[name="sar"]').inputValue();
  const sarLabel = await dialog.locator('select[name="sar"] option:checked').innerText();
  assert.notEqual(sarValue, '', 'the one SAR scene on the grid is preselected');
  assert.match(sarLabel, /s1/);
  await dialog.getByTestId('run-sar-options').waitFor();
  assert.match(await dialog.locator('select[name="sar-units"] option:checked').innerText(), /detected \(dB\)/);
  assert.deepEqual(await dialog.locator('select[name="sar-vv"] option').allInnerTexts(), ['by description', '1 (VV_dB)', '2 (VH_dB)']);
  await dialog.locator('input[name="seeds"]').fill('0 1 2');
  assert.equal(await dialog.getByTestId('run-seeds').innerText(), '3 seeds: 0, 1, 2 → median, and their spread');
  await dialog.locator('input[name="steps"]').fill('20');
  assert.match(await dialog.getByTestId('run-steps-warning').innerText(), /20 steps is far below what the method needs/);
  const estimate = dialog.getByTestId('run-estimate');
  await estimate.filter({ hasText: 'measured on run #' }).waitFor({ timeout: 60_000 });
  assert.match(await estimate.innerText(), /Estimated .+ on native with one worker \(\d+ cloudy tiles? × 20 steps × 3 seeds × [\d.]+ s a step at 256 px\) — measured on run #\d's \d+ finished tiles? here \(\d+ steps, 64 px\): short tiles, whose reading and writing weigh in, so this is an upper bound/);
  await dialog.locator('input[name="steps"]').fill('4000');
  assert.equal(await dialog.getByTestId('run-steps-warning').count(), 0);
  await shot(page, 'run-dialog');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await bar.getByRole('button', { name: 'Stop planning' }).click();

  // ---- the pixel inspector: scene, reconstruction, differences, SAR, a spectral plot; never over the pixel
  await job2.getByRole('button', { name: /#2/ }).click();
  await page.getByRole('button', { name: 'Inspect' }).click();
  const map = (await page.getByTestId('map').boundingBox())!;
  const inspector = page.getByTestId('inspector');
  for (const [fx, side] of [[0.25, 'right'], [0.62, 'left']] as const) {
    // In the cloud band (rows 10–35 % of the scene), left of the centre and then right of it (clear of the layer list and of the panel).
    const click = { x: map.x + map.width * fx, y: map.y + map.height * 0.2 };
    await page.mouse.click(click.x, click.y);
    await inspector.getByTestId('inspector-compare').waitFor({ timeout: 30_000 }).catch(async (error: unknown) => {
      await shot(page, 'inspector-failed');
      throw new Error(`${String(error)}; the inspector says: ${await inspector.innerText().catch(() => 'nothing')}; ${problems.join('; ')}`);
    });
    await page.locator(`[data-testid="inspector"][data-side="${side}"]`).waitFor({ timeout: 30_000 });
    await page.waitForTimeout(300);
    const box = (await inspector.boundingBox())!;
    const covers = click.x >= box.x && click.x <= box.x + box.width && click.y >= box.y && click.y <= box.y + box.height;
    assert.equal(covers, false, `the inspector (${JSON.stringify(box)}) covers the pixel clicked at ${JSON.stringify(click)}`);
    if (side === 'left') await shot(page, 'inspector');
  }
  const b04 = inspector.locator('[data-testid="inspector-row"][data-band="B04"]');
  const cells = await b04.locator('td').allInnerTexts();
  assert.equal(cells.length, 3, `scene, reconstruction, reconstruction − scene: ${cells}`);
  const [sceneValue, reconValue, diff] = cells.map(Number);
  assert.ok(Number.isFinite(sceneValue) && Number.isFinite(reconValue));
  assert.ok(Math.abs(reconValue - sceneValue - diff) < 0.2, `${cells}`);
  assert.deepEqual(await inspector.locator('[data-testid="inspector-plot"] polyline').evaluateAll((lines) => lines.map((l) => l.getAttribute('data-series'))), ['scene', 'reconstruction']);
  assert.match(await inspector.getByTestId('inspector-sar').innerText(), /VV_dB\s+-?\d+\.\d+\s+-?\d+\.\d+ dB[\s\S]*VH_dB/);
  await page.getByRole('button', { name: 'Close the inspector' }).click();

  // ---- Sentinel-1: its own views (VV, VH, VV/VH ratio in dB), nothing optical; an undated scene given a day
  const s1 = page.getByTestId('scene').filter({ hasText: 'S1' });
  await s1.click();
  await page.locator('[data-testid="map"][data-status="ready"]').waitFor({ timeout: 30_000 });
  const s1Id = await s1.getAttribute('data-scene-id');
  assert.equal(await page.getByTestId('map').getAttribute('data-scene-id'), s1Id);
  const sceneRow = page.locator('[data-testid="layer"][data-layer-key="scene"]');
  assert.deepEqual(await sceneRow.getByTestId('layer-composite').locator('option').allInnerTexts(), ['VV (dB, grey)', 'VH (dB, grey)', 'VV / VH / ratio (dB)', 'Single band (grey)']);
  assert.equal(await sceneRow.getByTestId('layer-composite').inputValue(), 'sar-ratio');
  assert.match(await s1.innerText(), /SAR, dB \(sees through cloud\)/);
  assert.doesNotMatch(await s1.innerText(), /cloud –/);
  assert.equal(await page.getByRole('button', { name: /^(Draw|Edit) mask$/ }).count(), 0, 'no mask drawing on SAR');
  assert.equal(await page.getByRole('button', { name: 'Plan run' }).isDisabled(), true);
  await page.waitForTimeout(1500);
  await shot(page, 'sar');
  await sceneRow.getByTestId('layer-composite').selectOption('vh');
  await page.locator('[data-testid="map"][data-status="ready"]').waitFor({ timeout: 30_000 });
  await page.waitForTimeout(1500);
  await shot(page, 'sar-vh');
  const dateForm = page.getByTestId('scene-date');
  await dateForm.locator('input[name="scene-date"]').fill('2020-01-17');
  await dateForm.getByRole('button', { name: 'Set' }).click();
  await s1.filter({ hasText: '2020-01-17 · S1' }).waitFor({ timeout: 10_000 });
  assert.equal(await page.getByTestId('scene-date').count(), 0, 'a dated scene has no date field');
  await page.getByTestId('scene').filter({ hasText: 'S2' }).click();
  await page.locator('[data-testid="map"][data-status="ready"]').waitFor({ timeout: 30_000 });
  assert.equal(await sceneRow.getByTestId('layer-composite').inputValue(), 'true', 'back to true colour on the optical scene');

  // ---- the legend and the shortcut sheet
  const legend = page.getByTestId('legend');
  await legend.getByRole('button', { name: 'Legend' }).click();
  assert.deepEqual(await legend.getByTestId('legend-tile').evaluateAll((items) => items.map((i) => i.getAttribute('data-state'))), ['clear', 'cloudy', 'all-cloud', 'selected', 'pending', 'running', 'done', 'failed']);
  const ramp = await legend.getByTestId('legend-ramp').evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundImage: string } }).getComputedStyle(el).backgroundImage);
  assert.match(ramp, /linear-gradient.*rgb\(68, 1, 84\).*rgb\(253, 231, 37\)/);
  await shot(page, 'legend');
  await page.locator('body').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('?');
  const sheet = page.getByTestId('shortcuts');
  await sheet.waitFor();
  assert.match(await sheet.innerText(), /Keyboard shortcuts[\s\S]*\?\s+this sheet[\s\S]*I\s+Inspect/);
  await shot(page, 'shortcuts');
  await page.keyboard.press('Escape');
  await sheet.waitFor({ state: 'detached' });

  // ---- deleting a run that is over: what goes is said first; its job and layers leave, its folder too
  let asked = '';
  page.once('dialog', (dialog) => {
    asked = dialog.message();
    void dialog.accept();
  });
  await job1.getByRole('button', { name: 'Delete' }).click();
  await job1.waitFor({ state: 'detached', timeout: 30_000 });
  assert.match(asked, /Delete run #1 with its reconstruction and uncertainty layers and 1 finished tile\? Its files in the project go; files you exported stay\./);
  assert.equal(await page.locator('[data-testid="layer"][data-layer-key^="result-"]').filter({ hasText: 'Run #1' }).count(), 0);
  assert.equal(existsSync(path.join(projectDir, 'runs', '1')), false);
  assert.equal(existsSync(path.join(work, 's2_cloudy_basic_run1.tif')), true, 'the export stays');

  // ---- renaming and deleting scenes: what depends on one is said first, and it stays while a run uses it
  await s1.click();
  page.once('dialog', (dialog) => void dialog.accept('Sentinel-1 VV VH'));
  await page.getByTestId('manage-scene').getByRole('button', { name: 'Rename…' }).click();
  await page.getByTestId('scene').filter({ hasText: 'Sentinel-1 VV VH' }).waitFor({ timeout: 10_000 });
  await page.getByTestId('scene').filter({ hasText: 'S2' }).click();
  let confirmAsked = false;
  const dismiss = (dialog: Dialog): void => {
    confirmAsked = true;
    void dialog.dismiss();
  };
  page.once('dialog', dismiss);
  await page.getByTestId('manage-scene').getByRole('button', { name: 'Delete…' }).click();
  const alert = page.locator('header [role="alert"]');
  await alert.filter({ hasText: 'is used by run #2: delete it first' }).waitFor({ timeout: 10_000 });
  assert.equal(confirmAsked, false, 'nothing to confirm while a run uses the scene');
  page.off('dialog', dismiss);
  await shot(page, 'delete-refused');
  const sarScene = page.getByTestId('scene').filter({ hasText: 'Sentinel-1 VV VH' });
  await sarScene.click();
  const sarFile = (await sarScene.getAttribute('title'))!;
  page.once('dialog', (dialog) => {
    asked = dialog.message();
    void dialog.accept();
  });
  await page.getByTestId('manage-scene').getByRole('button', { name: 'Delete…' }).click();
  await sarScene.waitFor({ state: 'detached', timeout: 10_000 });
  assert.match(asked, /Delete the scene "Sentinel-1 VV VH" and its file from the project\?/);
  assert.equal(existsSync(path.join(projectDir, sarFile)), false, 'its file is gone');

  assert.deepEqual(problems, []);
  await page.close();
});
