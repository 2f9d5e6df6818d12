/**
 * Browser mode without a fixed project: `clearsky serve` with no --project, then projects opened and created
 * from the page. The real Workspace over real services and catalogues, the real server and HTTP client, and
 * the real command line as a child process.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { ApiEvent } from '../../native/api.ts';
import { createProject } from '../../native/catalogue/project.ts';
import { InputError } from '../../native/errors.ts';
import { createHttpClient } from '../../native/http-client.ts';
import { startServer } from '../../native/server.ts';
import { Service } from '../../native/service.ts';
import { NO_PROJECT, Workspace } from '../../native/workspace.ts';
import { dataFile, REPO_ROOT } from '../helpers/data.ts';

let dir: string;
before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-workspace-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const SCENE = dataFile('slovenia-2015', 'S2L1C_20150909.tif');
const MASKS = dataFile('slovenia-2015', 'cloudmasks_s2cloudless_2015-2017.tif');

test('with no project open, the API says so, and projects are created and opened over HTTP; rasters come from the open one', async () => {
  const workspace = new Workspace({ workers: 1 });
  const server = await startServer({ api: workspace, projectDir: () => workspace.projectDir, port: 0 });
  const api = createHttpClient(server.url, { reconnectMs: 50 });
  try {
    assert.equal(await api.project(), null);
    await assert.rejects(api.listScenes(), (e: Error) => e instanceof InputError && e.message === NO_PROJECT);
    await assert.rejects(api.previewTiles({ targetSceneId: 1, maskId: 1 }), new RegExp(NO_PROJECT));
    assert.equal((await fetch(`${server.url}rasters/rasters/s2/x.tif`)).status, 404);
    const backends = await api.backends(); // the machine's, whichever project: no project needed
    assert.ok(backends.available.includes(backends.detected), JSON.stringify(backends));

    // Opening a folder that is not a project names it, and leaves no project open.
    const plain = path.join(dir, 'plain');
    await fs.mkdir(plain);
    await assert.rejects(api.openProject({ dir: plain }), (e: Error) => e instanceof InputError && e.message.includes(plain) && /not a Clearsky project/.test(e.message));
    assert.equal(await api.project(), null);

    // Events subscribed before any project is open arrive from the projects opened later.
    const events: ApiEvent[] = [];
    api.subscribe((event) => events.push(event));
    await new Promise((r) => setTimeout(r, 200));

    const first = path.join(dir, 'first');
    const info = await api.openProject({ dir: first, create: true, name: 'First project' });
    assert.equal(info.name, 'First project');
    assert.equal(info.dir, first);
    assert.deepEqual(await api.project(), info);
    await assert.rejects(api.openProject({ dir: first, create: true }), (e: Error) => e instanceof InputError && e.message.includes(first) && /already holds a Clearsky project/.test(e.message));
    const [imported] = await api.importFiles({ paths: [SCENE] });
    assert.equal(imported.status, 'imported');
    const sceneFile = (await api.listScenes())[0].file;
    assert.equal((await fetch(`${server.url}rasters/${sceneFile}`, { headers: { Range: 'bytes=0-3' } })).status, 206);

    // Another project: the first one's rasters are no longer served, its records no longer listed.
    const second = path.join(dir, 'second');
    createProject(second, 'Second').close();
    assert.equal((await api.openProject({ dir: second })).name, 'Second');
    assert.deepEqual(await api.listScenes(), []);
    assert.equal((await fetch(`${server.url}rasters/${sceneFile}`)).status, 404);
    await api.importFiles({ paths: [SCENE, MASKS] });
    assert.equal((await fetch(`${server.url}rasters/${(await api.listScenes())[0].file}`, { method: 'HEAD' })).status, 200);

    const scene = (await api.listScenes())[0];
    const mask = (await api.listMasks()).find((m) => m.band === 19)!;
    const run = await api.startRun({ targetSceneId: scene.id, maskId: mask.id, method: 'idw-fill', bands: ['B04'] });
    const end = Date.now() + 120_000;
    while (!events.some((e) => e.type === 'run' && e.run.id === run.id && e.run.status === 'done')) {
      if (Date.now() > end) throw new Error(`no 'done' event for run ${run.id}: ${JSON.stringify(events.map((e) => e.type))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    api.close();
    await server.close();
    await workspace.close();
  }
});

test('switching projects leaves the old project\'s unfinished runs to resume, not failed or cancelled', async () => {
  const first = path.join(dir, 'long');
  const workspace = new Workspace({ workers: 1 });
  try {
    await workspace.openProject({ dir: first, create: true });
    await workspace.importFiles({ paths: [SCENE, MASKS] });
    const scene = (await workspace.listScenes())[0];
    const mask = (await workspace.listMasks()).find((m) => m.band === 19)!;
    const run = await workspace.startRun({ targetSceneId: scene.id, maskId: mask.id, steps: 100_000 });
    await workspace.openProject({ dir: path.join(dir, 'other'), create: true });
    const old = Service.open(first, { jobs: false });
    try {
      const record = await old.getRun(run.id);
      assert.ok(['queued', 'running'].includes(record.status), `run ${run.id} is ${record.status}`);
    } finally {
      await old.close();
    }
    await workspace.openProject({ dir: first });
    await workspace.cancelRun(run.id);
  } finally {
    await workspace.close();
  }
});

test('onProjectOpened hears every opened or created project, in order, before openProject answers; never a failed one', async (t) => {
  const a = path.join(dir, 'hook-a');
  const b = path.join(dir, 'hook-b');
  createProject(a, 'A').close();
  const workspace = new Workspace({ jobs: false });
  const opened: { name: string; dir: string; open: string | null }[] = [];
  workspace.onProjectOpened = (info) => opened.push({ name: info.name, dir: info.dir, open: workspace.projectDir });
  try {
    // Two at once: project changes are one at a time, so the hook hears them in the order they were asked.
    const [first, second] = await Promise.all([workspace.openProject({ dir: a }), workspace.openProject({ dir: b, create: true, name: 'B' })]);
    assert.deepEqual(opened, [
      { name: 'A', dir: a, open: a },
      { name: 'B', dir: b, open: b },
    ]);
    assert.equal(first.dir, a);
    assert.equal(second.dir, b);

    // Failures (not a project; already a project) are not openings: the hook hears nothing, B stays open.
    const plain = path.join(dir, 'hook-plain');
    await fs.mkdir(plain);
    await assert.rejects(workspace.openProject({ dir: plain }), /not a Clearsky project/);
    await assert.rejects(workspace.openProject({ dir: a, create: true }), /already holds a Clearsky project/);
    assert.equal(opened.length, 2);
    assert.equal(workspace.projectDir, b);

    // A hook that throws is logged; the project is open all the same and openProject answers it.
    const logged = t.mock.method(console, 'error', () => undefined);
    workspace.onProjectOpened = () => {
      throw new Error('the menu broke');
    };
    assert.equal((await workspace.openProject({ dir: a })).name, 'A');
    assert.equal(workspace.projectDir, a);
    assert.deepEqual(await workspace.listScenes(), []);
    assert.equal(logged.mock.callCount(), 1);
    const message = String(logged.mock.calls[0].arguments[0]);
    assert.ok(message.startsWith(`clearsky: after opening ${a}: Error: the menu broke`), message);
  } finally {
    await workspace.close();
  }
});

test('with no project open, commands fail with the InputError the workspace was given (default NO_PROJECT); project() answers null', async () => {
  const plain = new Workspace({ jobs: false });
  const hinted = new Workspace({ jobs: false }, { noProject: 'no project is open: use the File menu' });
  try {
    await assert.rejects(plain.listRuns(), (e: Error) => e instanceof InputError && e.message === NO_PROJECT);
    for (const call of [() => hinted.listScenes(), () => hinted.getRun(1), () => hinted.importFiles({ paths: [SCENE] })]) {
      await assert.rejects(call(), (e: Error) => e instanceof InputError && e.message === 'no project is open: use the File menu');
    }
    assert.equal(await hinted.project(), null);
    const project = path.join(dir, 'hinted');
    await hinted.openProject({ dir: project, create: true });
    assert.deepEqual(await hinted.listScenes(), []);
  } finally {
    await plain.close();
    await hinted.close();
  }
});

test('clearsky serve starts without --project (none open) and with one', async () => {
  const project = path.join(dir, 'served');
  createProject(project, 'Served').close();
  for (const args of [[], ['--project', project]]) {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/clearsky.js'), 'serve', '--port', '0', '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        let err = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          out += chunk;
          if (out.includes('\n')) resolve(out.split('\n')[0]);
        });
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
        child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
      });
      const { url, project: served } = JSON.parse(line) as { url: string; project: string | null };
      const api = createHttpClient(url);
      if (args.length === 0) {
        assert.equal(served, null);
        assert.equal(await api.project(), null);
        assert.equal((await api.openProject({ dir: project })).name, 'Served');
      } else {
        assert.equal(served, project);
        assert.equal((await api.project())?.name, 'Served');
      }
      assert.deepEqual(await api.listScenes(), []);
    } finally {
      child.kill('SIGINT');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  }
});
