/**
 * End to end, the QA report from the Jobs panel, in browser mode: a real project on the real Slovenia scene
 * with a ground-truth run (idw-fill: seconds) made through the service; in Debian's Chromium, Report… offers
 * a name beside the project, refuses a path inside the project with its one-line reason, writes the report,
 * and the report itself opens in the browser with every picture decoded and no request anywhere, and prints
 * to PDF. Screenshots in test/e2e/artifacts/report-app-*.png (the dialog, the report as opened).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { stepClock, watchPage } from '../helpers/browser.ts';
import { startAppSession, type AppSession } from '../helpers/app-session.ts';
import { dataFile, REPO_ROOT } from '../helpers/data.ts';

const ARTIFACTS = path.join(REPO_ROOT, 'test/e2e/artifacts');
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
    },
  });
  ({ work, projectDir } = session);
});

after(async () => {
  await session?.close();
});

test('Report… in Jobs writes a self-contained QA report that opens and prints in the browser', { timeout: 300_000 }, async () => {
  const page = await session!.context.newPage();
  const problems = watchPage(page);
  await page.goto(session!.url);
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
