/**
 * The desktop app's workspace host (native/project/host.ts) behind its proxy (native/project/host-client.ts): a real
 * forked host process holding the real Workspace over real project folders and the real sample data. The
 * proxy must answer as the Workspace answers in-process, keep the parent's event loop free while the host
 * works, and survive the host being killed.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startApiHost, type ApiHostClient } from '../../../native/project/host-client.ts';
import { isFinishedRun, type ApiEvent, type ClearskyApi, type RunRecord, type SceneRecord } from '../../../native/api/contract.ts';
import { InputError } from '../../../native/errors.ts';
import { NO_PROJECT, Workspace } from '../../../native/project/workspace.ts';
import { DATA_DIR, dataFile } from '../../helpers/data.ts';

const SCENE = dataFile('slovenia-2015', 'S2L1C_20150909.tif');
const MASKS = dataFile('slovenia-2015', 'cloudmasks_s2cloudless_2015-2017.tif');
/** The largest sample (10 MB): its import (hashing, checking, copying) takes a while. */
const BIG_SCENE = dataFile('T33UUU-20170216', 'S2L1C_T33UUU_20170216_10m.tif');

let dir: string;
before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-api-host-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** What differs between two equal sessions: the project's folder, clocks, timings and lease owners. */
function normalise(value: unknown, projectDir: string): unknown {
  const varies = new Set(['createdAt', 'importedAt', 'startedAt', 'finishedAt', 'heartbeatAt', 'seconds', 'lease']);
  return JSON.parse(JSON.stringify(value, (key, v: unknown) => (varies.has(key) && v !== null ? '<varies>' : v)).replaceAll(projectDir, '<project>'));
}

/** The outcome of a call as plain data: its value, or its error's name and message. */
async function outcome(promise: Promise<unknown>): Promise<unknown> {
  try {
    return { value: await promise };
  } catch (error) {
    return { error: (error as Error).name, message: (error as Error).message };
  }
}

/** A representative session of the API on `api` in `projectDir`; every answer, in order, normalised. */
async function session(api: ClearskyApi, projectDir: string): Promise<unknown[]> {
  const answers: unknown[] = [];
  const record = async (promise: Promise<unknown>): Promise<unknown> => {
    const result = await outcome(promise);
    answers.push(normalise(result, projectDir));
    return (result as { value?: unknown }).value;
  };
  await record(api.project());
  await record(api.listScenes()); // no project open: the Workspace's InputError
  await record(api.openProject({ dir: path.join(projectDir, 'nowhere') }));
  await record(api.openProject({ dir: projectDir, create: true, name: 'Same session' }));
  await record(api.openProject({ dir: projectDir, create: true }));
  await record(api.project());
  await record(api.importFiles({ paths: [SCENE, MASKS] }));
  await record(api.importFiles({ paths: [SCENE] })); // a duplicate
  await record(api.importFiles({ paths: [path.join(os.tmpdir(), 'outside-the-roots.tif')] }));
  const scenes = (await record(api.listScenes())) as SceneRecord[];
  const masks = (await record(api.listMasks())) as { id: number; band: number }[];
  await record(api.listRefs());
  const mask = masks.find((m) => m.band === 19)!;
  await record(api.previewTiles({ targetSceneId: scenes[0].id, maskId: mask.id, tileSize: 128, overlap: 16 }));
  const [minX, minY, maxX, maxY] = scenes[0].grid.bounds!;
  const [x, y] = [(minX + maxX) / 2, (minY + maxY) / 2];
  await record(api.inspectPixel({ sceneId: scenes[0].id, coordinate: [x, y] }));
  await record(api.inspectPixel({ sceneId: scenes[0].id, coordinate: [0, 0] }));
  await record(api.getRun(4242));

  // A run and its event stream: the events of the run, as the renderer follows them.
  const events: ApiEvent[] = [];
  const finished = new Promise<RunRecord>((resolve) => {
    const unsubscribe = api.subscribe((event) => {
      events.push(event);
      if (event.type === 'run' && isFinishedRun(event.run.status)) {
        unsubscribe();
        resolve(event.run);
      }
    });
  });
  await record(api.startRun({ targetSceneId: scenes[0].id, maskId: mask.id, bands: ['B04', 'B03', 'B02'], method: 'idw-fill', tileSize: 128, overlap: 16 }));
  const run = await finished;
  answers.push(normalise({ finished: run }, projectDir));
  const tileEvents = events.filter((e) => e.type === 'tile');
  answers.push({ tilesHeardOf: [...new Set(tileEvents.map((e) => e.tile.index))].sort((a, b) => a - b), runStatuses: [...new Set(events.filter((e) => e.type === 'run').map((e) => e.run.status))] });
  await record(api.getRun(run.id));
  await record(api.listRuns());
  const result = run.results.find((r) => r.kind === 'reconstruction')!;
  await record(api.exportResult({ resultId: result.id, destination: path.join(projectDir, '..', `${path.basename(projectDir)}-export.tif`) }));
  await record(api.editMask({ maskId: mask.id, erase: [[[[x, y], [x + 200, y], [x + 200, y + 200]]]] }));
  await record(api.editMask({ maskId: mask.id, erase: [[[[0, 0], [10, 0], [10, 10]]]] }));
  return answers;
}

test('the proxy over a forked host answers every command as the in-process Workspace does: projects, import, lists, a run and its events, errors', async () => {
  const local = new Workspace({ workers: 1 }, { roots: [dir, DATA_DIR] });
  let expected: unknown[];
  try {
    expected = await session(local, path.join(dir, 'in-process'));
  } finally {
    await local.close();
  }
  const host = startApiHost({ service: { workers: 1 }, workspace: { roots: [dir, DATA_DIR] } });
  const opened: string[] = [];
  host.onProjectOpened = (info) => opened.push(info.dir);
  try {
    const answers = await session(host, path.join(dir, 'hosted'));
    assert.deepEqual(answers, expected);
    // Sanity: the session did what it says (so that two equal failures cannot pass).
    assert.deepEqual((answers[1] as { message: string }).message, NO_PROJECT);
    assert.equal((answers.at(-7) as { finished: RunRecord }).finished.status, 'done');
    assert.deepEqual(opened, [path.join(dir, 'hosted')]);
    assert.equal(host.projectDir, path.join(dir, 'hosted'), 'the proxy knows the open project at once (for the protocol handler)');
    // Errors are of the same kind as in-process: the user's are InputErrors.
    await assert.rejects(host.getRun(4242), (error: unknown) => error instanceof InputError && error.message === 'there is no run 4242 in this project');
  } finally {
    await host.close();
  }
  assert.equal(host.pid, undefined, 'closed: no host process left');
});

test('a long import in the host leaves the parent process free: its timers fire while the import runs', async () => {
  const host = startApiHost({ service: { jobs: false }, workspace: { roots: [dir, DATA_DIR] } });
  try {
    await host.openProject({ dir: path.join(dir, 'free'), create: true });
    let ticks = 0;
    let done = false;
    const timer = setInterval(() => {
      if (!done) ticks++;
    }, 1);
    const imported = host.importFiles({ paths: [BIG_SCENE, SCENE, MASKS] }).finally(() => {
      done = true;
      clearInterval(timer);
    });
    const outcomes = await imported;
    assert.ok(outcomes.length >= 3 && outcomes.every((o) => o.status === 'imported'), JSON.stringify(outcomes.filter((o) => o.status !== 'imported')));
    assert.ok(ticks > 0, 'a timer of the parent fired while the host imported');
  } finally {
    await host.close();
  }
});

test('a killed host is started again and says so; the open project is opened again and the next call works', async () => {
  const logged: string[] = [];
  const host: ApiHostClient = startApiHost({ service: { jobs: false }, workspace: { roots: [dir, DATA_DIR] }, log: (m) => logged.push(m) });
  const restarts: [string, string | null][] = [];
  host.onRestart = (reason, reopened) => restarts.push([reason, reopened]);
  try {
    const project = path.join(dir, 'restarted');
    await host.openProject({ dir: project, create: true });
    await host.importFiles({ paths: [SCENE] });
    const scenes = await host.listScenes();
    await host.whenReady();
    const first = host.pid!;

    // A call in flight when the host dies fails, saying so; it does not hang.
    const inFlight = host.importFiles({ paths: [BIG_SCENE] });
    await new Promise((resolve) => setTimeout(resolve, 100)); // the call is on its way (the import takes seconds)
    process.kill(first, 'SIGKILL');
    await assert.rejects(inFlight, /the workspace process stopped \(killed by SIGKILL\) during importFiles; it was started again/);

    assert.deepEqual(await host.listScenes(), scenes, 'the next call works, on the same project');
    assert.notEqual(host.pid, first, 'a new host process');
    assert.equal(host.projectDir, project);
    assert.equal((await host.project())?.dir, project);
    assert.deepEqual(restarts, [['killed by SIGKILL', project]]);
    assert.match(logged.join('\n'), /the workspace process stopped \(killed by SIGKILL\); starting it again and reopening/);
  } finally {
    await host.close();
  }
});

test('a run the killed host was working resumes in the new host (the catalogue and its leases survive) and finishes', async () => {
  const host = startApiHost({ service: { workers: 1 }, workspace: { roots: [dir, DATA_DIR] } });
  try {
    await host.openProject({ dir: path.join(dir, 'resumed'), create: true });
    await host.importFiles({ paths: [SCENE, MASKS] });
    const [scene] = await host.listScenes();
    const mask = (await host.listMasks()).find((m) => m.band === 19)!;
    let killedDuring: number | undefined;
    const restarted = new Promise<void>((resolve) => (host.onRestart = () => resolve()));
    const finished = new Promise<RunRecord>((resolve) => {
      // The proxy's subscribers stay subscribed across the restart: they hear the new host's events.
      host.subscribe((event) => {
        if (event.type === 'progress' && killedDuring === undefined && event.step >= 5) {
          killedDuring = event.runId;
          process.kill(host.pid!, 'SIGKILL');
        }
        if (event.type === 'run' && isFinishedRun(event.run.status) && killedDuring !== undefined) resolve(event.run);
      });
    });
    // DIP, so that the one tile takes long enough to be killed in the middle of it.
    const started = await host.startRun({ targetSceneId: scene.id, maskId: mask.id, bands: ['B04', 'B03', 'B02'], steps: 60, tileSize: 128, overlap: 16 });
    await restarted;
    const run = await finished;
    assert.equal(killedDuring, started.id, 'the host was killed while it worked the run');
    assert.equal(run.status, 'done', run.error ?? '');
    assert.deepEqual(run.tiles, { total: 1, pending: 0, running: 0, done: 1, failed: 0, clear: 0 });
    assert.equal((await host.getRun(run.id)).status, 'done');
  } finally {
    await host.close();
  }
});

test('a host that keeps dying soon after it started is not started again, and every call says so', async () => {
  const logged: string[] = [];
  const host = startApiHost({ service: { jobs: false }, workspace: { roots: [dir] }, log: (m) => logged.push(m) });
  for (let i = 0; i < 3; i++) {
    await host.whenReady();
    const pid = host.pid!;
    process.kill(pid, 'SIGKILL');
    while (host.pid === pid) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await assert.rejects(host.whenReady(), /keeps stopping \(killed by SIGKILL, 3 times in a row soon after it started\)/);
  await assert.rejects(host.project(), /keeps stopping/);
  assert.equal(host.pid, undefined);
  assert.equal(logged.filter((m) => /starting it again/.test(m)).length, 2);
  await host.close();
});

test('a host that cannot start says why to every call, after a few tries', async () => {
  // A root folder that does not exist: the host's Workspace refuses it, so each start fails.
  const host = startApiHost({ workspace: { roots: [path.join(dir, 'no-such-root')] } });
  await assert.rejects(host.whenReady(), /the workspace process cannot start \(3 tries\): .*no-such-root: no such folder/);
  await assert.rejects(host.project(), /cannot start/);
  await host.close();
});
