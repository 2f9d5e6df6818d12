/**
 * End to end, clouds found by the app (issue 17), in browser mode on the real cloudy Nigeria scene (SEN12MS-CR,
 * 256 × 256 px, 13 bands, about 19 % cumulus, no mask) and its Sentinel-1 scene, imported by the real command
 * line and served by `clearsky serve` to Debian's Chromium:
 *
 * - Detect clouds is offered beside Draw mask on the optical scene, not on the SAR one;
 * - it opens a bar whose preview appears on the map as a cyan outline with its cover; a higher threshold
 *   gives a smaller cover, dilation a larger one; after quick changes the figure shown is the last setting's;
 * - Cancel saves nothing; Save writes the scene's next mask version, source 'detected', with the settings
 *   shown, chosen and outlined on the map, and editable by drawing (Edit mask).
 *
 * No console errors, no failed requests. Screenshots: test/e2e/artifacts/detect-ui-*.png.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { mapBox, openApp, projectListing, screenshots, startNigeriaSession, type NigeriaSession } from '../helpers/app-page.ts';
import { stepClock } from '../helpers/browser.ts';
import { cyanPixels } from '../helpers/screenshot.ts';

let session: NigeriaSession | undefined;
const step = stepClock();
const shot = screenshots('detect-ui');
const listing = () => projectListing(session!.projectDir);

before(async () => {
  session = await startNigeriaSession({ prefix: 'clearsky-detect-ui-', name: 'Detect e2e', step });
  assert.deepEqual((await listing()).masks, [], 'the scene came with a mask');
});

after(async () => {
  await session?.close();
});

/** The cover the bar shows once no preview is being computed, as a number of percent. */
async function coverShown(page: Page): Promise<number> {
  const bar = page.getByTestId('detect-bar');
  await bar.getByTestId('detect-busy').waitFor({ state: 'detached', timeout: 60_000 });
  const text = await bar.getByTestId('detect-cover').innerText();
  const match = /([\d.]+) %/.exec(text);
  assert.ok(match, `no cover figure in "${text}"`);
  return Number(match[1]);
}

/** Moves the threshold slider as a drag does: its value set and an input event per value. */
async function setThreshold(page: Page, value: number): Promise<void> {
  await page.getByTestId('detect-bar').locator('input[name="threshold"]').evaluate((element, v) => {
    // Runs in the page (no DOM types here): the slider's value, then the input event a drag fires.
    const input = element as unknown as { value: string; dispatchEvent(event: Event): boolean };
    input.value = String(v);
    input.dispatchEvent(new Event('input', { bubbles: true }));
  }, value);
}

test('detect clouds on the Nigeria scene: preview with its cover, tune threshold and dilation, cancel, then save a new mask version', { timeout: 600_000 }, async () => {
  const { page, problems } = await openApp(session!);
  const { s1, s2 } = session!;
  const detectButton = page.getByRole('button', { name: 'Detect clouds' });

  // 1. Not on the SAR scene; offered beside Draw mask on the optical one.
  const sarItem = page.getByTestId('scene').filter({ hasText: s1.name });
  await sarItem.waitFor({ timeout: 30_000 });
  await sarItem.click();
  await page.waitForSelector(`[data-testid="map"][data-status="ready"][data-rendered="${s1.id}"]`, { timeout: 60_000 });
  assert.equal(await detectButton.count(), 0, 'Detect clouds offered on a Sentinel-1 scene');
  await page.getByTestId('scene').filter({ hasText: s2.name }).click();
  await page.waitForSelector(`[data-testid="map"][data-status="ready"][data-rendered="${s2.id}"]`, { timeout: 60_000 });
  await page.waitForTimeout(800);
  assert.equal(await detectButton.isEnabled(), true);
  await page.getByRole('button', { name: 'Draw mask' }).waitFor();
  const sceneShot = await shot(page, '1-scene');
  step('Detect clouds offered on S2, not on S1');

  // 2. The preview: a cover figure and a cyan outline on the map.
  await detectButton.click();
  const bar = page.getByTestId('detect-bar');
  await bar.waitFor();
  const cover20 = await coverShown(page);
  assert.ok(cover20 > 5 && cover20 < 60, `cover ${cover20} % at threshold 0.2 on a scene with about 19 % cumulus`);
  assert.equal(await bar.getByTestId('detect-threshold').innerText(), '0.20');
  await page.waitForTimeout(800); // the map redraws after the bar pushed it down
  const map = await mapBox(page);
  const previewShot = await shot(page, '2-preview');
  const cyanScene = cyanPixels(sceneShot, map, 180);
  const cyanPreview = cyanPixels(previewShot, map, 180);
  assert.ok(cyanPreview > cyanScene + 300, `no cyan preview outline on the map (${cyanScene} → ${cyanPreview} cyan pixels)`);
  step(`preview at 0.20: ${cover20} %, ${cyanPreview} cyan pixels`);

  // 3. A higher threshold finds less; dilation grows it; quick changes end on the last one's figure.
  await setThreshold(page, 0.5);
  await bar.getByTestId('detect-threshold').filter({ hasText: '0.50' }).waitFor();
  await bar.getByTestId('detect-cover').filter({ hasNotText: `${cover20.toFixed(1)} %` }).waitFor({ timeout: 60_000 });
  const cover50 = await coverShown(page);
  assert.ok(cover50 < cover20, `threshold 0.5 covers ${cover50} %, 0.2 covered ${cover20} %`);
  await shot(page, '3-threshold-050');
  await bar.locator('input[name="dilate"]').fill('3');
  await bar.locator('input[name="dilate"]').press('Enter');
  await bar.getByTestId('detect-cover').filter({ hasNotText: `${cover50.toFixed(1)} %` }).waitFor({ timeout: 60_000 });
  const cover50d3 = await coverShown(page);
  assert.ok(cover50d3 > cover50, `dilation 3 covers ${cover50d3} %, none ${cover50} %`);
  for (const value of [0.3, 0.6, 0.45, 0.35]) await setThreshold(page, value);
  await bar.getByTestId('detect-threshold').filter({ hasText: '0.35' }).waitFor();
  await page.waitForTimeout(600); // past the debounce: the last setting has been asked for
  const cover35d3 = await coverShown(page);
  step(`covers: 0.20 → ${cover20} %, 0.50 → ${cover50} %, 0.50 dilate 3 → ${cover50d3} %, 0.35 dilate 3 → ${cover35d3} %`);

  // 4. Cancel: nothing saved, the bar and the preview gone.
  await bar.getByRole('button', { name: 'Cancel' }).click();
  await bar.waitFor({ state: 'detached' });
  assert.deepEqual((await listing()).masks, [], 'Cancel saved a mask');
  await page.waitForTimeout(800);
  const cancelledShot = await shot(page, '4-cancelled');
  assert.ok(cyanPixels(cancelledShot, await mapBox(page), 180) <= cyanScene + 50, 'the preview outline stayed on the map after Cancel');

  // 5. Again, the settings kept; Save: the scene's mask v1, source 'detected', the settings and the cover shown.
  await detectButton.click();
  await bar.waitFor();
  assert.equal(await bar.getByTestId('detect-threshold').innerText(), '0.35');
  assert.equal(await coverShown(page), cover35d3);
  await bar.getByRole('button', { name: 'Save as a new mask' }).click();
  await page.getByTestId('chosen-mask').filter({ hasText: `${s2.name} · detected` }).waitFor({ timeout: 60_000 });
  await bar.waitFor({ state: 'detached' });
  const { masks } = await listing();
  assert.equal(masks.length, 1);
  const [saved] = masks;
  assert.equal(saved.source, 'detected');
  assert.equal(saved.sceneId, s2.id);
  assert.equal(saved.version, 1);
  assert.equal(saved.parameters.threshold, 0.35);
  assert.equal(saved.parameters.dilate, 3);
  assert.equal(saved.parameters.shadows, true);
  assert.equal((saved.cloudCover! * 100).toFixed(1), cover35d3.toFixed(1), 'the saved mask is not what the preview showed');
  const item = page.getByTestId('mask');
  assert.equal(await item.count(), 1);
  assert.equal(await item.getAttribute('aria-pressed'), 'true', 'the new mask is not chosen');
  await page.getByRole('button', { name: 'Edit mask' }).waitFor();
  await page.waitForSelector('[data-testid="map"][data-outline-status="ready"]', { timeout: 30_000 });
  await page.waitForTimeout(1500);
  const savedShot = await shot(page, '5-saved');
  const cyanSaved = cyanPixels(savedShot, await mapBox(page), 180);
  assert.ok(cyanSaved > cyanScene + 300, `the saved mask's outline is not on the map (${cyanScene} → ${cyanSaved} cyan pixels)`);
  step(`saved mask ${saved.id} v${saved.version}: ${(saved.cloudCover! * 100).toFixed(1)} %, ${cyanSaved} cyan pixels`);

  // 6. It is edited by drawing, as any mask.
  await page.getByRole('button', { name: 'Edit mask' }).click();
  assert.match(await page.getByTestId('mask-edit-bar').innerText(), new RegExp(`Editing ${s2.name} · detected v1`));
  await page.keyboard.press('Escape');

  assert.deepEqual(problems, []);
  await page.close();
});
