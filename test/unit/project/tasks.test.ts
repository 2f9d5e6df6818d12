/**
 * Long actions as tasks (native/project/tasks.ts) on a real project: importing the real 1536×768×13 T33UUU scene,
 * detecting its clouds, building a reference, exporting a run's whole-scene mosaic and writing its QA report
 * each report their progress in order (a named step, done of a known total) and stop when cancelled mid-way,
 * leaving no file (no hidden temporary either) and no catalogue row; a newer detection preview cancels an
 * older one; and over real HTTP a cancelled import answers one line, not as an error status (a page's console
 * would log it), while its events stream.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ApiEvent, ClearskyApi, TaskEvent } from '../../../native/api/contract.ts';
import { createProject } from '../../../native/catalogue/project.ts';
import { CancelledError } from '../../../native/errors.ts';
import { createHttpClient } from '../../../native/http/client.ts';
import { startServer } from '../../../native/http/server.ts';
import { Service } from '../../../native/project/service.ts';
import { Tasks } from '../../../native/project/tasks.ts';
import { Workspace } from '../../../native/project/workspace.ts';
import { dataFile } from '../../helpers/data.ts';

const T33UUU = dataFile('T33UUU-20170216', 'S2L1C_T33UUU_20170216_10m.tif');
const SLOVENIA = ['S2L1C_20150820.tif', 'S2L1C_20150830.tif'].map((f) => dataFile('slovenia-2015', f));

let dir: string;
let service: Service;
before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-tasks-'));
  createProject(path.join(dir, 'p')).close();
  service = Service.open(path.join(dir, 'p'), { workers: 1 });
});
after(async () => {
  await service?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

/** Every file below `folder` (hidden temporaries included), relative to it. */
async function filesBelow(folder: string): Promise<string[]> {
  const entries = await fs.readdir(folder, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => !e.isDirectory()).map((e) => path.relative(folder, path.join(e.parentPath, e.name))).sort();
}

/**
 * Starts `action` while recording the task events of `api`; `cancelWhen` (given each running event) says when
 * to cancel that task. Answers the action's outcome and the task's events.
 */
async function withTask<T>(api: Pick<ClearskyApi, 'subscribe' | 'cancelTask'>, action: () => Promise<T>, cancelWhen?: (event: TaskEvent) => boolean): Promise<{ outcome: PromiseSettledResult<T>; events: TaskEvent[] }> {
  const events: TaskEvent[] = [];
  let cancelling: Promise<unknown> | undefined;
  const stop = api.subscribe((event: ApiEvent) => {
    // Only the task this action started (a late event of an earlier one may still come through a stream).
    if (event.type !== 'task' || (events.length > 0 && event.taskId !== events[0].taskId) || (events.length === 0 && event.state !== 'running')) return;
    events.push(event);
    if (!cancelling && event.state === 'running' && cancelWhen?.(event)) cancelling = api.cancelTask(event.taskId);
  });
  try {
    const [outcome] = await Promise.allSettled([action()]);
    // Over HTTP the task's last event may come through the stream after the answer.
    for (let waits = 0; events.length > 0 && events.at(-1)!.state === 'running' && waits < 100; waits++) await new Promise((resolve) => setTimeout(resolve, 50));
    const answer = (await cancelling) as { cancelled: boolean } | undefined;
    if (cancelWhen) assert.equal(answer?.cancelled, true, 'the task was going on when cancelled');
    return { outcome, events };
  } finally {
    stop();
  }
}

/** The events of one task: in order, each with a named step and a known total, done never going back within a step. */
function assertOrdered(events: TaskEvent[], end: TaskEvent['state']): void {
  assert.ok(events.length >= 2, `progress was reported (${events.length} events)`);
  assert.equal(new Set(events.map((e) => e.taskId)).size, 1, 'one task');
  const running = events.slice(0, -1);
  assert.ok(running.every((e) => e.state === 'running' && e.total > 0 && e.done >= 0 && e.done <= e.total && e.step !== ''), JSON.stringify(running));
  for (let i = 1; i < running.length; i++) {
    if (running[i].step === running[i - 1].step) assert.ok(running[i].done >= running[i - 1].done, `done goes forward within "${running[i].step}"`);
  }
  assert.equal(events.at(-1)!.state, end);
}

const midWay = (step: RegExp) => (event: TaskEvent) => step.test(event.step) && event.done > 0 && event.done < event.total;

test('a task sends at most one event per whole percent of a step, every new step, and its end; a newer task of its group cancels it', async () => {
  const tasks = new Tasks();
  const events: TaskEvent[] = [];
  tasks.subscribe((event) => events.push(event));
  await tasks.run('Hash', async (task) => {
    for (let done = 0; done <= 10_000; done++) task.progress(done, 10_000, 'hashing');
    task.progress(0, 3, 'writing');
    task.progress(3, 3);
  });
  const hashing = events.filter((e) => e.step === 'hashing');
  assert.deepEqual(hashing.map((e) => e.done), Array.from({ length: 101 }, (_, i) => i * 100), 'the first of each percent');
  assert.deepEqual(events.slice(-3).map((e) => [e.step, e.done, e.total, e.state]), [['writing', 0, 3, 'running'], ['writing', 3, 3, 'running'], ['writing', 3, 3, 'done']]);

  // The work fails its own way once aborted (a closed stream, say): still a cancel.
  const first = tasks.run('Preview 1', (task) => new Promise((_, reject) => task.signal.addEventListener('abort', () => reject(new Error('stream closed')))), { group: 'preview' });
  const second = tasks.run('Preview 2', async () => 'newer', { group: 'preview' });
  await assert.rejects(first, (error: Error) => error.name === 'AbortError' && error.message === 'Preview 1 cancelled');
  assert.equal(await second, 'newer');
  assert.equal(events.at(-2)!.state, 'cancelled');
  assert.equal(tasks.cancel('no-such-task'), false);
  assert.deepEqual(tasks.ids(), []);
});

test('a task that notices its cancel and returns what it did resolves with that, its last event cancelled; an outer signal cancels it too', async () => {
  const tasks = new Tasks();
  const events: TaskEvent[] = [];
  tasks.subscribe((event) => events.push(event));
  const files = ['a.tif', 'b.tif', 'c.tif'];
  const importing = (task: Parameters<Parameters<Tasks['run']>[1]>[0]) => async () => {
    const done: string[] = [];
    for (const [index, file] of files.entries()) {
      if (task.signal.aborted) break; // between files: the ones done stay
      task.progress(index, files.length, file);
      await new Promise((resolve) => setImmediate(resolve));
      done.push(file);
    }
    return done;
  };
  const unsubscribe = tasks.subscribe((event) => {
    if (event.step === 'a.tif' && event.state === 'running') tasks.cancel(event.taskId);
  });
  const stopped = tasks.run('Import season', (task) => importing(task)());
  assert.deepEqual(await stopped, ['a.tif'], 'resolves with what it did, not a CancelledError');
  assert.deepEqual(events.map((e) => [e.step, e.state]), [['a.tif', 'running'], ['a.tif', 'cancelled']]);
  unsubscribe();

  // Ctrl-C on the command line: the caller's own signal, aborted before or during.
  const outer = new AbortController();
  outer.abort();
  assert.deepEqual(await tasks.run('Import early', (task) => importing(task)(), { signal: outer.signal }), []);
  assert.equal(events.at(-1)!.state, 'cancelled');
  assert.deepEqual(await tasks.run('Import all', (task) => importing(task)()), files);
  assert.equal(events.at(-1)!.state, 'done', 'not aborted: done');
  assert.deepEqual(tasks.ids(), []);
});

describe('tasks: progress and cancel', { timeout: 600_000 }, () => {
  test('an import of the real 1536×768 scene cancelled while writing its tiles leaves no file and no scene; imported again, it reports every tile', async () => {
    const cancelled = await withTask(service, () => service.importFiles({ paths: [T33UUU] }), midWay(/writing tiles/));
    assert.equal(cancelled.outcome.status, 'rejected');
    const error = (cancelled.outcome as PromiseRejectedResult).reason as Error;
    assert.equal(error.name, 'AbortError');
    assert.equal(error.message, 'Import S2L1C_T33UUU_20170216_10m.tif cancelled');
    assertOrdered(cancelled.events, 'cancelled');
    assert.equal(cancelled.events[0].label, 'Import S2L1C_T33UUU_20170216_10m.tif');
    assert.ok(cancelled.events.some((e) => /checking for a duplicate/.test(e.step)), 'the hashing step is reported');
    assert.deepEqual(await service.listScenes(), [], 'no scene recorded');
    assert.deepEqual(await filesBelow(path.join(dir, 'p', 'rasters')), [], 'no file left, no temporary either');

    const done = await withTask(service, () => service.importFiles({ paths: [T33UUU] }));
    assert.equal(done.outcome.status, 'fulfilled');
    assertOrdered(done.events, 'done');
    const tiles = done.events.filter((e) => /writing tiles/.test(e.step));
    assert.deepEqual([tiles[0].done, tiles.at(-1)!.done, tiles.at(-1)!.total], [0, 18, 18], 'the 6×3 tiles of the full resolution, from none to all');
    assert.equal((await service.listScenes()).length, 1);
  });

  test('a detection saved is cancelled mid-way with no mask left; a newer preview cancels the older one', async () => {
    const [scene] = await service.listScenes();
    const masksBefore = await filesBelow(path.join(dir, 'p', 'rasters', 'masks'));
    const cancelled = await withTask(service, () => service.detectMask({ sceneId: scene.id }), midWay(/writing tiles/));
    assert.equal(cancelled.outcome.status, 'rejected');
    assert.match(((cancelled.outcome as PromiseRejectedResult).reason as Error).message, /^Detect clouds in S2L1C_T33UUU_20170216_10m cancelled$/);
    assertOrdered(cancelled.events, 'cancelled');
    assert.ok(cancelled.events.some((e) => /surveying/.test(e.step)), 'the survey is a step of its own');
    assert.deepEqual(await service.listMasks(), [], 'no mask recorded');
    assert.deepEqual(await filesBelow(path.join(dir, 'p', 'rasters', 'masks')), masksBefore, 'no mask file left');

    const area = { x: 1024, y: 0, width: 512, height: 512 };
    const older = service.previewDetection({ sceneId: scene.id, area });
    const newer = service.previewDetection({ sceneId: scene.id, area, threshold: 0.3 });
    await assert.rejects(older, (error: Error) => error.name === 'AbortError' && /cancelled$/.test(error.message));
    assert.ok((await newer).pixels > 0, 'the newer preview answers');
  });

  test('building a reference, exporting a whole-scene mosaic and writing its report stop when cancelled, leaving nothing', async () => {
    // A reference from two real scenes.
    const imported = await service.importFiles({ paths: SLOVENIA });
    const sceneIds = imported.map((o) => (o.status === 'imported' ? o.record.id : assert.fail(JSON.stringify(o))));
    const refsFolder = path.join(dir, 'p', 'rasters', 'references');
    const reference = await withTask(service, () => service.buildReference({ sceneIds, masks: 'none' }), (e) => /averaging 2 scenes/.test(e.step));
    assert.equal(reference.outcome.status, 'rejected');
    assert.equal(((reference.outcome as PromiseRejectedResult).reason as Error).message, 'Build a reference from 2 scenes cancelled');
    assertOrdered(reference.events, 'cancelled');
    assert.deepEqual(await service.listRefs(), []);
    assert.deepEqual(await filesBelow(refsFolder), []);

    // A real run over one tile of the T33UUU scene: its mosaic is the whole scene, 18 tiles to export.
    const [scene] = (await service.listScenes()).filter((s) => s.grid.width === 1536);
    const [x0, , , y1] = scene.grid.bounds!;
    const mask = await service.editMask({ sceneId: scene.id, add: [[[[x0 + 300, y1 - 300], [x0 + 1500, y1 - 300], [x0 + 1500, y1 - 1500], [x0 + 300, y1 - 1500]]]] });
    const started = await service.startRun({ targetSceneId: scene.id, maskId: mask.id, method: 'idw-fill', tiles: [0] });
    let run = await service.getRun(started.id);
    for (const until = Date.now() + 300_000; !['done', 'partial', 'failed'].includes(run.status); run = await service.getRun(started.id)) {
      assert.ok(Date.now() < until, 'the run ended');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(run.status, 'done', run.error ?? '');
    const result = run.results.find((r) => r.kind === 'reconstruction')!;

    const out = path.join(dir, 'exports');
    const exported = await withTask(service, () => service.exportResult({ resultId: result.id, destination: path.join(out, 'scene.tif') }), midWay(/tile by tile/));
    assert.equal(exported.outcome.status, 'rejected');
    assert.equal(((exported.outcome as PromiseRejectedResult).reason as Error).message, 'Export scene.tif cancelled');
    assertOrdered(exported.events, 'cancelled');
    assert.equal(exported.events[0].total, 18);
    assert.deepEqual(await filesBelow(out), [], 'no export and no temporary beside it');

    const report = await withTask(service, () => service.runReport({ runId: run.id, destination: path.join(out, 'report.html') }), (e) => e.done === 1);
    assert.equal(report.outcome.status, 'rejected');
    assert.equal(((report.outcome as PromiseRejectedResult).reason as Error).message, `QA report of run ${run.id} cancelled`);
    assertOrdered(report.events, 'cancelled');
    assert.deepEqual(await filesBelow(out), []);

    // Not cancelled, the same export is written whole, and Cancel afterwards finds nothing to stop.
    const whole = await withTask(service, () => service.exportResult({ resultId: result.id, destination: path.join(out, 'scene.tif') }));
    assert.equal(whole.outcome.status, 'fulfilled');
    assertOrdered(whole.events, 'done');
    assert.deepEqual(await filesBelow(out), ['scene.tif']);
    assert.deepEqual(await service.cancelTask(whole.events[0].taskId), { taskId: whole.events[0].taskId, cancelled: false });
  });

  test('over HTTP a cancelled import answers one line, marked cancelled (not a 4xx the console logs), and its task events stream to the page', async () => {
    const workspace = new Workspace({ jobs: false }, { roots: [dir, path.dirname(T33UUU)] });
    const logged: string[] = [];
    const server = await startServer({ api: workspace, projectDir: () => workspace.projectDir, log: (message) => logged.push(message) });
    // What a page's console sees: the statuses of the answers (Chromium logs every 4xx/5xx as an error).
    const statuses: { url: string; status: number }[] = [];
    const client = createHttpClient(server.url, {
      fetch: async (...args: Parameters<typeof fetch>) => {
        const response = await fetch(...args);
        statuses.push({ url: String(args[0]), status: response.status });
        return response;
      },
    });
    // The event stream is connected once a task's events come through it: an import of nothing ends one at once.
    let connected = false;
    const stop = client.subscribe((event) => (connected ||= event.type === 'task'));
    try {
      await client.openProject({ dir: path.join(dir, 'http'), create: true });
      while (!connected) await client.importFiles({ paths: [path.join(dir, 'http', 'nothing.tif')] });
      const { outcome, events } = await withTask(client, () => client.importFiles({ paths: [T33UUU] }), midWay(/writing tiles/));
      assert.deepEqual(statuses.filter(({ url }) => url.endsWith('/importFiles')).map(({ status }) => status).at(-1), 200);
      assert.equal(outcome.status, 'rejected');
      const error = (outcome as PromiseRejectedResult).reason as Error;
      assert.ok(error instanceof CancelledError, String(error));
      assert.equal(error.message, 'Import S2L1C_T33UUU_20170216_10m.tif cancelled');
      assertOrdered(events, 'cancelled');
      assert.deepEqual(await client.listScenes(), []);
      assert.deepEqual(await filesBelow(path.join(dir, 'http', 'rasters')), []);
      assert.deepEqual(logged, [], 'a cancel is not an error to log');
    } finally {
      stop();
      client.close();
      await server.close();
      await workspace.close();
    }
  });
});
