/**
 * What the end-to-end tests of the app do once `startAppSession` has served the project: the Nigeria pair
 * (S2 + S1) imported and listed by the real command line, a watched page on the app, screenshots into
 * test/e2e/artifacts, and where the map shows a scene's pixel (read from the map's cursor readout).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { PNG } from 'pngjs';
import type { Grid, MaskRecord, SceneRecord } from '../../native/api/contract.ts';
import { ARTIFACTS, startAppSession, type AppSession, type AppSessionOptions } from './app-session.ts';
import { watchPage } from './browser.ts';
import { runClearsky } from './cli.ts';
import { dataFile, REPO_ROOT } from './data.ts';
import type { Box } from './screenshot.ts';

/** The real cloudy Nigeria scene (SEN12MS-CR, 256 × 256 px, 13 bands, about 19 % cumulus, no mask) and its Sentinel-1 scene. */
export const NIGERIA_S2 = dataFile('nigeria-sen12mscr', 's2_cloudy.tif');
export const NIGERIA_S1 = dataFile('nigeria-sen12mscr', 's1.tif');

/** The project's scenes and masks as `clearsky project list --json` lists them. */
export async function projectListing(projectDir: string): Promise<{ scenes: SceneRecord[]; masks: MaskRecord[] }> {
  const result = await runClearsky(['project', 'list', projectDir, '--json'], REPO_ROOT);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as { scenes: SceneRecord[]; masks: MaskRecord[] };
}

export interface NigeriaSession extends AppSession {
  s2: SceneRecord;
  s1: SceneRecord;
}

/** A session on a project `nigeria` holding the Nigeria S2 and S1 scenes (and what `prepare` adds), as the command line lists them. */
export async function startNigeriaSession(options: Omit<AppSessionOptions, 'imports' | 'folder'>): Promise<NigeriaSession> {
  const session = await startAppSession({ ...options, folder: 'nigeria', imports: [NIGERIA_S2, NIGERIA_S1] });
  try {
    const { scenes } = await projectListing(session.projectDir);
    assert.deepEqual(scenes.map((s) => s.sensor).sort(), ['S1', 'S2']);
    return { ...session, s2: scenes.find((s) => s.sensor === 'S2')!, s1: scenes.find((s) => s.sensor === 'S1')! };
  } catch (error) {
    await session.close();
    throw error;
  }
}

/** A new page on the served app, watched for console errors and failed requests from before it loads. */
export async function openApp(session: AppSession, viewport?: { width: number; height: number }): Promise<{ page: Page; problems: string[] }> {
  const page = await session.context.newPage();
  const problems = watchPage(page);
  if (viewport) await page.setViewportSize(viewport);
  await page.goto(session.url);
  return { page, problems };
}

/** `shot(page, name)` saves the page as test/e2e/artifacts/PREFIX-NAME.png and returns it decoded. */
export function screenshots(prefix: string): (page: Page, name: string) => Promise<PNG> {
  return async (page, name) => PNG.sync.read(await page.screenshot({ path: path.join(ARTIFACTS, `${prefix}-${name}.png`) }));
}

export async function mapBox(page: Page): Promise<Box> {
  return (await page.getByTestId('map').boundingBox())!;
}

/** Map coordinates under the mouse, from the cursor readout ("EPSG:32631 713000 E 1288000 N · …"). */
export async function mapCoordinateAt(page: Page, x: number, y: number): Promise<[number, number]> {
  await page.mouse.move(x, y);
  const cursor = page.getByTestId('cursor');
  await cursor.filter({ hasText: / E .* N/ }).waitFor({ timeout: 10_000 });
  const match = / (-?[\d.]+) E (-?[\d.]+) N/.exec(await cursor.innerText());
  assert.ok(match, `no coordinates in the cursor readout: ${await cursor.innerText()}`);
  return [Number(match[1]), Number(match[2])];
}

/**
 * Where a pixel corner of a raster with this geotransform (column, row; fractions allowed) is on screen now.
 * The map is north up and not rotated, so the readouts at two points of the map (`at`, fractions of its
 * width and height; the map now unless `map` is given) give its scale and offset.
 */
export async function screenOfPixel(
  page: Page,
  geoTransform: NonNullable<Grid['geoTransform']>,
  options: { map?: Box; at?: [number, number] } = {},
): Promise<(col: number, row: number) => [number, number]> {
  const map = options.map ?? (await mapBox(page));
  const [a, b] = options.at ?? [0.3, 0.7];
  const [ax, ay] = [map.x + map.width * a, map.y + map.height * a];
  const [bx, by] = [map.x + map.width * b, map.y + map.height * b];
  const [ae, an] = await mapCoordinateAt(page, ax, ay);
  const [be, bn] = await mapCoordinateAt(page, bx, by);
  const perX = (be - ae) / (bx - ax);
  const perY = (bn - an) / (by - ay);
  assert.ok(perX > 0 && perY < 0, `the map is not north up (${perX}, ${perY} m per screen pixel)`);
  const [x0, pw, , y0, , ph] = geoTransform;
  return (col, row) => [ax + (x0 + pw * col - ae) / perX, ay + (y0 + ph * row - an) / perY];
}
