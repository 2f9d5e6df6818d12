/**
 * End to end, the loss curve while a run is training (issue 18: the quality signal without ground truth, live):
 * a real project on the real Slovenia scene served by `clearsky serve` to Debian's Chromium; a DIP run started
 * through the API while the page is open; its tile picked in the Loss curves panel under Jobs. Read twice
 * while the run is running, the tile's drawn curve has grown (from the progress events); once the run is done,
 * the panel draws exactly the stored, finished curve. No console errors, no failed requests. Screenshot:
 * test/e2e/artifacts/live-loss-running.png.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Locator } from 'playwright-core';
import { createHttpClient } from '../../native/http/client.ts';
import { curvePoints, plotGeometry } from '../../native/report/loss-plot.ts';
import { stepClock, watchPage } from '../helpers/browser.ts';
import { ARTIFACTS, startAppSession, type AppSession } from '../helpers/app-session.ts';
import { dataFile } from '../helpers/data.ts';

/** Long enough to be read twice while it trains on a busy machine (the loss is read every 10 steps). */
const STEPS = 300;
let session: AppSession | undefined;
const step = stepClock();

before(async () => {
  session = await startAppSession({
    prefix: 'clearsky-live-loss-e2e-',
    folder: 'slovenia',
    imports: [dataFile('slovenia-2015', 'S2L1C_20150909.tif'), dataFile('slovenia-2015', 'cloudmasks_s2cloudless_2015-2017.tif')],
    workers: 1,
    step,
  });
});

after(async () => {
  await session?.close();
});

/** The number of points of the first path of `role` in the plot (M then an L per further point), 0 when none is drawn. */
async function drawnPoints(plot: Locator, role: string): Promise<number> {
  const paths = plot.locator(`path[data-role="${role}"]`);
  if ((await paths.count()) === 0) return 0;
  const d = (await paths.first().getAttribute('d')) ?? '';
  return (d.match(/[ML]/g) ?? []).length;
}

/** Polls `read` until `done` says yes or `seconds` pass; the last value read. */
async function pollUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, seconds: number, what: string): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${seconds} s (last: ${JSON.stringify(value)})`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

test('the loss curve of a tile grows while the run trains, and ends as the stored curve', { timeout: 1_500_000 }, async () => {
  const page = await session!.context.newPage();
  const problems = watchPage(page);
  await page.setViewportSize({ width: 1400, height: 900 });
  await page.goto(session!.url);
  await page.getByTestId('scene').first().waitFor({ timeout: 30_000 });

  // Started while the page is open, as another window or the command line would: the page follows its events.
  const api = createHttpClient(session!.url);
  try {
    const scene = (await api.listScenes())[0];
    const mask = (await api.listMasks()).find((m) => m.band === 19)!;
    const run = await api.startRun({ targetSceneId: scene.id, maskId: mask.id, method: 'dip', mode: 'basic', bands: ['B04', 'B03', 'B02'], steps: STEPS, seeds: [0], tileSize: 128 });
    step(`run #${run.id} started: ${STEPS} steps, one tile`);

    const job = page.locator(`[data-testid="job"][data-run-id="${run.id}"]`);
    await job.waitFor({ timeout: 30_000 });
    await job.locator('button.head').click();
    const panel = page.locator(`[data-testid="loss-panel"][data-run-id="${run.id}"]`);
    await panel.waitFor({ timeout: 30_000 });
    // The training tile can be picked as soon as its first reading arrives.
    const picker = panel.getByTestId('loss-tile');
    await pollUntil(() => picker.locator('option').allInnerTexts(), (options) => options.includes('tile 0'), 300, 'tile 0 to pick');
    await picker.selectOption('0');
    const plot = panel.getByTestId('loss-plot');
    const running = async () => (await job.getAttribute('data-status')) === 'running';

    const first = await pollUntil(() => drawnPoints(plot, 'seed'), (n) => n >= 2, 300, 'a live curve of two points');
    assert.ok(await running(), 'the first reading was taken while the run was running');
    step(`live curve: ${first} points`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'live-loss-running.png') });
    const second = await pollUntil(() => drawnPoints(plot, 'seed'), (n) => n > first, 300, `the curve to grow past ${first} points`);
    assert.ok(await running(), `the second reading (${second} points) was taken while the run was still running`);
    assert.match(await panel.getByTestId('loss-tile-summary').innerText(), /Tile 0: .*training/);
    step(`live curve grew: ${second} points`);

    // Done: the panel draws the stored curve of the tile, point for point, through its last step.
    await page.locator(`[data-testid="job"][data-run-id="${run.id}"][data-status="done"]`).waitFor({ timeout: 1_400_000 });
    const stored = (await api.runLossCurves({ runId: run.id, tiles: [0] })).tiles[0];
    assert.equal(stored.curves.length, 1);
    assert.equal(stored.curves[0].step.at(-1), STEPS);
    const expected = plotGeometry([{ points: curvePoints(stored.curves[0]), role: 'seed', seedIndex: 0 }], 286, 170)!.paths[0].d;
    await pollUntil(() => plot.locator('path[data-role="seed"]').first().getAttribute('d'), (d) => d === expected, 30, 'the finished curve drawn');
    assert.doesNotMatch(await panel.getByTestId('loss-tile-summary').innerText(), /training/);
    step(`finished curve: ${stored.curves[0].step.length} points`);
  } finally {
    api.close();
  }
  assert.deepEqual(problems, []);
});
