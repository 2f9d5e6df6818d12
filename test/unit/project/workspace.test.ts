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
import type { ApiEvent } from '../../../native/api/contract.ts';
import { createProject } from '../../../native/catalogue/project.ts';
import { InputError } from '../../../native/errors.ts';
import { createHttpClient } from '../../../native/http/client.ts';
import { startServer } from '../../../native/http/server.ts';
import { Service } from '../../../native/project/service.ts';
import { NO_PROJECT, Workspace } from '../../../native/project/workspace.ts';
import { runClearsky } from '../../helpers/cli.ts';
import { DATA_DIR, dataFile, REPO_ROOT } from '../../helpers/data.ts';

let dir: string;
before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-workspace-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const SCENE = dataFile('slovenia-2015', 'S2L1C_20150909.tif');
/** The test's folder and the sample data: where these workspaces may open, create, import and export. */
const roots = (): string[] => [dir, DATA_DIR];
const MASKS = dataFile('slovenia-2015', 'cloudmasks_s2cloudless_2015-2017.tif');

test('with no project open, the API says so, and projects are created and opened over HTTP; rasters come from the open one', async () => {
  const workspace = new Workspace({ workers: 1 }, { roots: roots() });
  const server = await startServer({ api: workspace, projectDir: () => workspace.projectDir, port: 0 });
  const api = createHttpClient(server.url, { reconnectMs: 50 });
  const fetch = (url: string, init: RequestInit = {}) => globalThis.fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), Authorization: `Bearer ${server.token}` } });
  try {
    assert.equal(await api.project(), null);
    await assert.rejects(api.listScenes(), (e: Error) => e instanceof InputError && e.message === NO_PROJECT);
    await assert.rejects(api.previewTiles({ targetSceneId: 1, maskId: 1 }), new RegExp(NO_PROJECT));
    assert.equal((await fetch(`${server.origin}rasters/rasters/s2/x.tif`)).status, 404);
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
    assert.equal((await fetch(`${server.origin}rasters/${sceneFile}`, { headers: { Range: 'bytes=0-3' } })).status, 206);

    // Another project: the first one's rasters are no longer served, its records no longer listed.
    const second = path.join(dir, 'second');
    createProject(second, 'Second').close();
    assert.equal((await api.openProject({ dir: second })).name, 'Second');
    assert.deepEqual(await api.listScenes(), []);
    assert.equal((await fetch(`${server.origin}rasters/${sceneFile}`)).status, 404);
    await api.importFiles({ paths: [SCENE, MASKS] });
    assert.equal((await fetch(`${server.origin}rasters/${(await api.listScenes())[0].file}`, { method: 'HEAD' })).status, 200);

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
  const workspace = new Workspace({ workers: 1 }, { roots: roots() });
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
  const workspace = new Workspace({ jobs: false }, { roots: roots() });
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
  const plain = new Workspace({ jobs: false }, { roots: roots() });
  const hinted = new Workspace({ jobs: false }, { noProject: 'no project is open: use the File menu', roots: roots() });
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

/** Starts `clearsky serve --json ARGS`; its first stdout line, and all it printed so far. */
function serve(args: string[]) {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/clearsky.js'), 'serve', '--port', '0', '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const started = new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
  });
  const stop = async (): Promise<string> => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      await exited;
    }
    return out + err;
  };
  return { started, stop };
}

test('clearsky serve starts without --project (none open) and with one, prints its token once, never in its logs', async () => {
  const project = path.join(dir, 'served');
  createProject(project, 'Served').close();
  for (const args of [[], ['--project', project]]) {
    const served = serve(['--root', dir, ...args]);
    let token = '';
    try {
      const { url, project: opened, roots: given } = JSON.parse(await served.started) as { url: string; project: string | null; roots: string[] };
      token = new URL(url).searchParams.get('token') ?? '';
      assert.match(token, /^[A-Za-z0-9_-]{43}$/);
      assert.deepEqual(given, [await fs.realpath(dir)]);
      // Without the token: 401, the API untouched.
      const refused = await fetch(new URL('api/openProject', url), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify([{ dir: path.join(dir, 'sneaked'), create: true }]) });
      assert.equal(refused.status, 401);
      assert.equal(await fs.stat(path.join(dir, 'sneaked')).catch(() => null), null);
      // With it (the printed address as it is): the API.
      const api = createHttpClient(url);
      if (args.length === 0) {
        assert.equal(opened, null);
        assert.equal(await api.project(), null);
        assert.equal((await api.openProject({ dir: project })).name, 'Served');
      } else {
        assert.equal(opened, project);
        assert.equal((await api.project())?.name, 'Served');
      }
      assert.deepEqual(await api.listScenes(), []);
      // Failing requests carrying the token, and a failing import.
      await assert.rejects(api.openProject({ dir: path.join(os.tmpdir(), 'elsewhere'), create: true }), (e: Error) => e instanceof InputError && e.message.includes(dir) && /--root/.test(e.message));
      await assert.rejects(api.getRun(99), InputError);
      assert.equal((await fetch(new URL(`rasters/runs/9/x.tif?x=1&token=${token}`, url))).status, 404);
    } finally {
      const printed = await served.stop();
      assert.equal(printed.split(token).length - 1, 1, `the token appears once, in the start line:\n${printed}`);
    }
  }
});

test('clearsky serve --project opens a folder outside the roots (the user named it); a missing --root is an input error', async () => {
  const outside = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-outside-'));
  const root = path.join(dir, 'serve-root');
  await fs.mkdir(root);
  try {
    createProject(path.join(outside, 'p'), 'Outside').close();
    const served = serve(['--root', root, '--project', path.join(outside, 'p')]);
    try {
      const { url, project } = JSON.parse(await served.started) as { url: string; project: string };
      assert.equal(project, path.join(outside, 'p'));
      assert.equal((await createHttpClient(url).project())?.name, 'Outside');
    } finally {
      await served.stop();
    }
    const missing = await runClearsky(['serve', '--root', path.join(dir, 'no-such-root'), '--port', '0'], REPO_ROOT);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no-such-root: no such folder/);
  } finally {
    await fs.rm(outside, { recursive: true, force: true });
  }
});

test('the API opens, creates, imports and exports only inside the root folders; symbolic links cannot lead out', async () => {
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-confine-'));
  const root = path.join(base, 'root');
  const outside = path.join(base, 'outside');
  await fs.mkdir(root);
  await fs.mkdir(outside);
  const victim = path.join(outside, 'victim.tif');
  await fs.writeFile(victim, 'precious');
  await fs.copyFile(SCENE, path.join(outside, 'scene.tif'));
  createProject(path.join(outside, 'existing'), 'Outside').close();
  await fs.symlink(outside, path.join(root, 'link-out'));
  await fs.symlink(victim, path.join(root, 'victim-link.tif'));
  await fs.symlink(path.join(outside, 'not-yet.tif'), path.join(root, 'dangling.tif'));
  await fs.symlink(path.join(outside, 'scene.tif'), path.join(root, 'scene-link.tif'));
  const workspace = new Workspace({ jobs: false }, { roots: [root], outsideHint: 'start with --root' });
  const outsideError = (given: string) => (e: Error) =>
    e instanceof InputError && e.message.startsWith(`${given}: `) && e.message.includes(`(${root})`) && /start with --root/.test(e.message);
  try {
    assert.deepEqual(workspace.roots, [root]);
    for (const dirArg of [path.join(outside, 'new'), path.join(root, 'link-out', 'new'), path.join(root, '..', 'outside', 'new'), '/']) {
      await assert.rejects(workspace.openProject({ dir: dirArg, create: true }), outsideError(dirArg));
    }
    assert.equal(await fs.stat(path.join(outside, 'new')).catch(() => null), null, 'nothing was created outside');
    for (const dirArg of [path.join(outside, 'existing'), path.join(root, 'link-out', 'existing')]) {
      await assert.rejects(workspace.openProject({ dir: dirArg }), outsideError(dirArg));
    }
    assert.equal(workspace.projectDir, null);

    // Inside the root (even through a folder that does not exist yet): created.
    const inside = path.join(root, 'projects', 'mine');
    assert.equal((await workspace.openProject({ dir: inside, create: true })).dir, inside);

    for (const file of [path.join(outside, 'scene.tif'), path.join(root, 'link-out', 'scene.tif'), path.join(root, 'scene-link.tif'), outside]) {
      await assert.rejects(workspace.importFiles({ paths: [path.join(root, 'missing.tif'), file] }), outsideError(file));
    }
    // A folder inside the root is searched without following its links out (scene-link.tif, link-out/).
    const [folder] = await workspace.importFiles({ paths: [root] });
    assert.equal(folder.status, 'failed');
    assert.deepEqual(await workspace.listScenes(), [], 'nothing was imported');

    for (const destination of [path.join(outside, 'x.tif'), path.join(root, 'link-out', 'x.tif'), victim, path.join(root, 'victim-link.tif')]) {
      await assert.rejects(workspace.exportResult({ resultId: 1, destination }), outsideError(destination));
    }
    // A link to a file that does not exist yet would be written through: refused, naming it.
    await assert.rejects(workspace.exportResult({ resultId: 1, destination: path.join(root, 'dangling.tif') }), (e: Error) => e instanceof InputError && /cannot be checked to lie inside/.test(e.message));
    assert.equal(await fs.readFile(victim, 'utf8'), 'precious');
    assert.equal(await fs.stat(path.join(outside, 'not-yet.tif')).catch(() => null), null);
    // Inside the root the export gets as far as the result (there is none).
    await assert.rejects(workspace.exportResult({ resultId: 1, destination: path.join(root, 'out', 'x.tif') }), (e: Error) => !/outside|cannot be checked/.test(e.message));

    // What the user chose themselves (command line, desktop dialogs) is not confined.
    assert.equal((await workspace.unconfined.openProject({ dir: path.join(outside, 'existing') })).name, 'Outside');
    const [imported] = await workspace.unconfined.importFiles({ paths: [path.join(outside, 'scene.tif')] });
    assert.equal(imported.status, 'imported');
  } finally {
    await workspace.close();
    await fs.rm(base, { recursive: true, force: true });
  }
});

test('without roots, the home folder is the root; a root that is missing or a file is an input error', async () => {
  const workspace = new Workspace({ jobs: false });
  try {
    assert.deepEqual(workspace.roots, [await fs.realpath(os.homedir())]);
  } finally {
    await workspace.close();
  }
  assert.throws(() => new Workspace({ jobs: false }, { roots: [path.join(dir, 'nope')] }), (e: Error) => e instanceof InputError && /nope: no such folder/.test(e.message));
  assert.throws(() => new Workspace({ jobs: false }, { roots: [SCENE] }), (e: Error) => e instanceof InputError && /is not a folder/.test(e.message));
});
