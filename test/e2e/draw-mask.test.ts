/**
 * End to end, drawing a cloud mask from scratch in browser mode: the real command line creates a project and
 * imports the real cloudy Nigeria scene (SEN12MS-CR, 256 × 256 px, 13 bands, about 19 % cumulus, no mask) and
 * its Sentinel-1 scene; `clearsky serve` serves it and Debian's Chromium opens the app. The user chooses the S2
 * scene, clicks Draw mask (there is no mask to edit), draws a polygon over the big cumulus in the north-west by
 * clicks on the map and saves it as a new mask: it is catalogued as the scene's mask version 1 and chosen, its
 * cyan outline is on the map, and its pixels are where the scene is bright (the clicks landed on the cloud).
 * Then a whole-scene run with it: dip in ms mode (S2 + the SAR scene), 10 steps, true colour, followed to the
 * end; the reconstruction appears in the layer list and on the map, darker than the cloud where the mask is.
 *
 * No console errors, no failed requests, nothing but 127.0.0.1. Screenshots go to
 * test/e2e/artifacts/draw-mask-*.png. Needs /usr/bin/chromium and the sample data in ../shared/data.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { readBands, withRaster } from '../../native/raster/tiff/geotiff-reader.ts';
import { readMask } from '../../native/raster/sentinel/mask.ts';
import { NIGERIA_S2, openApp, projectListing, screenOfPixel, screenshots, startNigeriaSession, type NigeriaSession } from '../helpers/app-page.ts';
import { stepClock } from '../helpers/browser.ts';
import { cyanPixels, luminanceStats, type Box } from '../helpers/screenshot.ts';

/** The polygon drawn, in the scene's pixels (column, row): around the cumulus in the north-west. */
const CUMULUS: [number, number][] = [[14, 10], [78, 7], [92, 52], [80, 112], [30, 110], [5, 62]];

let session: NigeriaSession | undefined;
const step = stepClock();
/** A screenshot of the page (saved as draw-mask-NAME.png). */
const shot = screenshots('draw-mask');
const listing = () => projectListing(session!.projectDir);

before(async () => {
  session = await startNigeriaSession({ prefix: 'clearsky-draw-mask-', name: 'Nigeria e2e', step });
  const { s1, s2 } = session;
  assert.deepEqual((await listing()).masks, [], 'the scene came with a mask');
  step(`project with ${s2.name} (S2) and ${s1.name} (S1), no mask`);
});

after(async () => {
  await session?.close();
});

test('draw a mask from scratch over the cumulus of a scene without one, save it, and reconstruct with it (dip, S2 + SAR)', { timeout: 600_000 }, async () => {
  const { page, problems } = await openApp(session!);
  const { s1, s2 } = session!;

  // 1. The S2 scene on the map: no mask is chosen, so the mask tool draws a new one.
  const scene = page.getByTestId('scene').filter({ hasText: s2.name });
  await scene.waitFor({ timeout: 30_000 });
  await scene.click();
  await page.waitForSelector(`[data-testid="map"][data-status="ready"][data-rendered="${s2.id}"]`, { timeout: 60_000 });
  await page.waitForTimeout(1000);
  assert.equal(await page.getByTestId('chosen-mask').innerText(), '');
  assert.equal(await page.getByTestId('mask').count(), 0);
  assert.equal(await page.getByRole('button', { name: 'Edit mask' }).count(), 0, 'Edit mask with no mask to edit');
  const drawButton = page.getByRole('button', { name: 'Draw mask' });
  assert.equal(await drawButton.isEnabled(), true, 'Draw mask is disabled with a scene chosen');
  assert.match((await drawButton.getAttribute('title')) ?? '', /new cloud mask on this scene/);
  const sceneShot = await shot(page, '1-scene');
  step('scene shown; Draw mask offered');

  // 2. Draw mask: the bar says a new mask on the scene; a polygon around the cumulus, closed on its first vertex.
  await drawButton.click();
  const bar = page.getByTestId('mask-edit-bar');
  await bar.waitFor();
  assert.match(await bar.innerText(), new RegExp(`New mask on ${s2.name}`));
  assert.equal(await bar.getByRole('button', { name: 'Save as a new mask' }).isDisabled(), true, 'Save before any polygon');
  const mapBox = (await page.getByTestId('map').boundingBox())!; // below the bar
  const toScreen = await screenOfPixel(page, s2.grid.geoTransform!, { map: mapBox });
  const corners = CUMULUS.map(([col, row]) => toScreen(col, row));
  for (const [x, y] of corners) {
    assert.ok(x > mapBox.x + 50 && x < mapBox.x + mapBox.width - 10 && y > mapBox.y + 5 && y < mapBox.y + mapBox.height - 5, `a corner (${x}, ${y}) is off the map ${JSON.stringify(mapBox)}`);
    await page.mouse.click(x, y);
    await page.waitForTimeout(250);
  }
  await page.mouse.click(corners[0][0], corners[0][1]); // the first vertex again closes the polygon
  await page.getByTestId('mask-edit-counts').filter({ hasText: '1 to add · 0 to erase' }).waitFor({ timeout: 10_000 });
  // Esc abandons a polygon being drawn and keeps the finished one and the tool.
  const [sx, sy] = toScreen(200, 200);
  await page.mouse.click(sx, sy);
  await page.waitForTimeout(250);
  await page.mouse.click(sx + 40, sy);
  await page.keyboard.press('Escape');
  assert.match(await page.getByTestId('mask-edit-counts').innerText(), /1 to add · 0 to erase/);
  assert.ok(await bar.isVisible(), 'Esc during a polygon left the mask tool');
  await shot(page, '2-sketch');
  step('polygon drawn around the cumulus');

  // 3. Saved as a new mask: catalogued, chosen, its outline cyan on the map around the cumulus.
  await bar.getByRole('button', { name: 'Save as a new mask' }).click();
  await page.getByTestId('chosen-mask').filter({ hasText: `${s2.name} · drawn` }).waitFor({ timeout: 60_000 });
  await bar.waitFor({ state: 'detached' });
  const item = page.getByTestId('mask');
  assert.equal(await item.count(), 1);
  assert.match(await item.innerText(), new RegExp(`drawn · v1 · this scene[\\s\\S]*${s2.name} · drawn`));
  assert.equal(await item.getAttribute('aria-pressed'), 'true', 'the new mask is not chosen');
  await page.getByRole('button', { name: 'Edit mask' }).waitFor();
  await page.waitForSelector('[data-testid="map"][data-outline-status="ready"]', { timeout: 30_000 });
  await page.waitForTimeout(1500);
  // The bar has gone, so the map is taller: where the scene is on screen is read again (as in the scene's shot).
  const toSaved = await screenOfPixel(page, s2.grid.geoTransform!);
  const box = (from: [number, number], to: [number, number]): Box => ({ x: from[0], y: from[1], width: to[0] - from[0], height: to[1] - from[1] });
  const around = box(toSaved(2, 1), toSaved(95, 115));
  const elsewhere = box(toSaved(130, 150), toSaved(190, 220));
  const savedShot = await shot(page, '3-saved');
  const cyanBefore = cyanPixels(sceneShot, around, 180);
  const cyanAfter = cyanPixels(savedShot, around, 180);
  assert.ok(cyanAfter > cyanBefore + 200, `the new mask's outline is not drawn around the polygon (${cyanBefore} → ${cyanAfter} cyan pixels)`);
  assert.equal(cyanPixels(savedShot, elsewhere, 180), 0, 'cyan away from the drawn mask');

  // The record and the file: the scene's version 1, and cloud where the scene is bright.
  const { masks } = await listing();
  assert.equal(masks.length, 1);
  const [drawn] = masks;
  assert.equal(drawn.source, 'drawn');
  assert.equal(drawn.sceneId, s2.id);
  assert.equal(drawn.version, 1);
  assert.equal(drawn.name, `${s2.name} · drawn`);
  const polygonArea = Math.abs(CUMULUS.reduce((sum, [x, y], i) => sum + x * CUMULUS[(i + 1) % CUMULUS.length][1] - CUMULUS[(i + 1) % CUMULUS.length][0] * y, 0)) / 2;
  assert.ok(Math.abs(drawn.cloudCover! - polygonArea / (256 * 256)) < 0.01, `cloud cover ${drawn.cloudCover} for a polygon of ${polygonArea / (256 * 256)} of the scene`);
  const mask = await readMask(path.join(session!.projectDir, drawn.file));
  const blue = await withRaster(NIGERIA_S2, (raster) => readBands(raster, [1]));
  let [inside, outside, nIn, nOut] = [0, 0, 0, 0];
  for (let i = 0; i < mask.data.length; i++) {
    if (mask.data[i]) [inside, nIn] = [inside + blue.data[i], nIn + 1];
    else [outside, nOut] = [outside + blue.data[i], nOut + 1];
  }
  assert.ok(inside / nIn > 1.5 * (outside / nOut), `B02 under the mask ${(inside / nIn).toFixed(0)}, elsewhere ${(outside / nOut).toFixed(0)}: the polygon missed the cumulus`);
  assert.ok(existsSync(path.join(session!.projectDir, drawn.outlineFile!)), 'no outline file');
  step(`mask ${drawn.id} saved: v${drawn.version}, ${(drawn.cloudCover! * 100).toFixed(1)} % cloud; B02 ${(inside / nIn).toFixed(0)} under it, ${(outside / nOut).toFixed(0)} elsewhere`);

  // 4. Plan run → Whole scene → Run…: dip, ms (S2 + SAR), 10 steps, true colour.
  await page.getByRole('button', { name: 'Plan run' }).click();
  const plan = page.getByTestId('plan-bar');
  await plan.getByTestId('plan-stats').filter({ hasText: /cloudy/ }).waitFor({ timeout: 60_000 });
  await plan.getByRole('button', { name: 'Whole scene' }).click();
  await plan.getByRole('button', { name: 'Run…' }).click();
  const dialog = page.getByTestId('run-dialog');
  await dialog.waitFor();
  assert.match(await dialog.getByTestId('run-area').innerText(), /whole scene/);
  await dialog.locator('select[name="method"]').selectOption('dip');
  // The project's one SAR scene on this grid is chosen already; without it, ms is not available.
  assert.equal(await dialog.locator('select[name="sar"]').inputValue(), String(s1.id));
  await dialog.locator('select[name="sar"]').selectOption('');
  assert.equal(await dialog.locator('select[name="mode"] option[value="ms"]').isDisabled(), true, 'ms without a SAR scene');
  await dialog.locator('select[name="sar"]').selectOption(String(s1.id));
  await dialog.locator('select[name="mode"]').selectOption('ms');
  await dialog.locator('input[name="steps"]').fill('10');
  await dialog.locator('input[name="bands"]').fill('B04,B03,B02');
  await shot(page, '4-run-dialog');
  await dialog.getByRole('button', { name: 'Start run' }).click();
  await dialog.waitFor({ state: 'detached' });
  const job = page.locator('[data-testid="job"][data-run-id="1"]');
  await job.waitFor({ timeout: 30_000 });
  step('run started');
  const deadline = Date.now() + 480_000;
  for (;;) {
    const status = await job.getAttribute('data-status');
    if (status === 'done') break;
    assert.ok(status !== 'failed' && status !== 'partial' && status !== 'cancelled', `the run ended ${status}: ${await job.innerText()}`);
    assert.ok(Date.now() < deadline, `the run is still ${status} after 8 minutes`);
    await page.waitForTimeout(500);
  }
  step('run done');

  // 5. The reconstruction on the map, in the layer list; where the cumulus was it is darker now.
  await page.getByTestId('layer-list').getByText('Run #1 reconstruction').waitFor({ timeout: 60_000 });
  await page.locator('[data-testid="layer"][data-layer-status="ready"]').filter({ hasText: 'Run #1 reconstruction' }).waitFor({ timeout: 60_000 });
  await page.waitForTimeout(2000);
  const resultShot = await shot(page, '5-result');
  const toResult = await screenOfPixel(page, s2.grid.geoTransform!);
  const moved = Math.hypot(toResult(30, 30)[0] - toSaved(30, 30)[0], toResult(30, 30)[1] - toSaved(30, 30)[1]);
  assert.ok(moved < 3, `the view moved by ${moved.toFixed(1)} px since the mask was saved`);
  // Inside the polygon, clear of its outline: the cumulus in the saved mask's shot, the result now.
  const core = box(toSaved(30, 30), toSaved(70, 80));
  const [cloudy, reconstructed] = [luminanceStats(savedShot, core).mean, luminanceStats(resultShot, core).mean];
  assert.ok(reconstructed < cloudy - 30, `the cumulus is still there in the reconstruction (luminance ${cloudy.toFixed(0)} → ${reconstructed.toFixed(0)})`);
  assert.ok(cyanPixels(resultShot, around, 180) > 200, 'the outline is gone with the result shown');
  step(`reconstruction shown: luminance under the cumulus ${cloudy.toFixed(0)} → ${reconstructed.toFixed(0)}`);

  assert.deepEqual(problems, []);
  await page.close();
});
