/**
 * The Electron shell's IPC and preload without the Electron binary: the real main-process modules
 * (electron/ipc.ts, protocol.ts) around the app's `Workspace` (native/project/workspace.ts; in one test, as main.ts
 * builds it, in the workspace host process behind its proxy) and the real service on a real project folder, reached
 * through the real preload API (electron/preload-api.ts and the built preload bundle), with small fakes of
 * `ipcMain`, `ipcRenderer`, `WebContents` and frames in between that behave as Electron's do (arguments
 * structured-cloned, events per web contents). A run goes through the host and worker processes started the
 * way the desktop app starts them: the bundled dist host and worker, without tsx, with ELECTRON_RUN_AS_NODE=1.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import vm from 'node:vm';
import type { IpcMain, IpcMainEvent, IpcMainInvokeEvent, IpcRendererEvent, WebContents } from 'electron';
import { COMMANDS, type ApiEvent, type ClearskyApi, type ImportOutcome, type RunRecord } from '../../../native/api/contract.ts';
import { startApiHost } from '../../../native/project/host-client.ts';
import { createProject } from '../../../native/catalogue/project.ts';
import { InputError } from '../../../native/errors.ts';
import { startServer } from '../../../native/http/server.ts';
import type { ServiceOptions } from '../../../native/project/service.ts';
import { Workspace } from '../../../native/project/workspace.ts';
import { buildElectron, type BuildResult } from '../../../electron/build.ts';
import { APP_URL, commandChannel, EVENT_CHANNEL, EVENTS_ON } from '../../../electron/channels.ts';
import { appRoots, NO_PROJECT_IN_APP, OUTSIDE_ROOTS_IN_APP, registerIpc } from '../../../electron/ipc.ts';
import { createBridgeApi, exposeClearsky, type PreloadIpc } from '../../../electron/preload-api.ts';
import { createProtocolHandler } from '../../../electron/protocol.ts';
import { DATA_DIR, REPO_ROOT, dataFile } from '../../helpers/data.ts';

type Handler = (event: IpcMainInvokeEvent, ...args: unknown[]) => unknown;
type Listener = (event: IpcMainEvent, ...args: unknown[]) => void;

/** `ipcMain` as far as the shell uses it: handlers per channel, listeners per channel. */
class FakeIpcMain {
  readonly handlers = new Map<string, Handler>();
  readonly listeners = new Map<string, Set<Listener>>();
  handle(channel: string, handler: Handler): void {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, handler);
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
  on(channel: string, listener: Listener): this {
    if (!this.listeners.has(channel)) this.listeners.set(channel, new Set());
    this.listeners.get(channel)!.add(listener);
    return this;
  }
  removeListener(channel: string, listener: Listener): this {
    this.listeners.get(channel)?.delete(listener);
    return this;
  }
  /** What Electron does for `ipcRenderer.invoke`: arguments cloned, no handler is an error. */
  async invoke(sender: FakeContents, frame: FakeFrame | null, channel: string, args: unknown[]): Promise<unknown> {
    const handler = this.handlers.get(channel);
    if (!handler) throw new Error(`No handler registered for '${channel}'`);
    const event = { sender, senderFrame: frame, frameId: 1, processId: 1 } as unknown as IpcMainInvokeEvent;
    return structuredClone(await handler(event, ...structuredClone(args)));
  }
  send(sender: FakeContents, frame: FakeFrame | null, channel: string, args: unknown[]): void {
    const event = { sender, senderFrame: frame } as unknown as IpcMainEvent;
    for (const listener of this.listeners.get(channel) ?? []) listener(event, ...structuredClone(args));
  }
}

interface FakeFrame {
  url: string;
  parent: FakeFrame | null;
  processId: number;
  routingId: number;
  isDestroyed(): boolean;
}

let nextRoutingId = 100;
/** A frame of the app's renderer process (process 7), with a routing id of its own. */
function frame(url: string, parent: FakeFrame | null = null, destroyed = false): FakeFrame {
  return { url, parent, processId: 7, routingId: nextRoutingId++, isDestroyed: () => destroyed };
}

class FakeContents extends EventEmitter {
  destroyed = false;
  readonly sent: { channel: string; args: unknown[] }[] = [];
  readonly mainFrame: FakeFrame;
  /** The renderer side of this window's IPC: what `ipcRenderer.on` registered. */
  readonly renderer = new EventEmitter();
  constructor(
    readonly id: number,
    url = APP_URL,
  ) {
    super();
    this.mainFrame = { url, parent: null, processId: 7, routingId: id, isDestroyed: () => this.destroyed };
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  send(channel: string, ...args: unknown[]): void {
    this.sent.push({ channel, args });
    this.renderer.emit(channel, {} as IpcRendererEvent, ...structuredClone(args));
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('destroyed');
  }
}

/** `ipcRenderer` of a window's frame, connected to the fake ipcMain. */
function rendererIpc(ipcMain: FakeIpcMain, contents: FakeContents, frame: FakeFrame | null = contents.mainFrame): PreloadIpc {
  return {
    invoke: (channel: string, ...args: unknown[]) => ipcMain.invoke(contents, frame, channel, args),
    send: (channel: string, ...args: unknown[]) => ipcMain.send(contents, frame, channel, args),
    on(channel: string, listener: (event: IpcRendererEvent, ...args: unknown[]) => void) {
      contents.renderer.on(channel, listener);
      return this;
    },
    removeListener(channel: string, listener: (...args: unknown[]) => void) {
      contents.renderer.removeListener(channel, listener);
      return this;
    },
  } as PreloadIpc;
}

let dir: string;
let built: BuildResult;
before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-electron-ipc-'));
  // Inside the repository, so the bundles' packages resolve from its node_modules as in the app.
  built = await buildElectron(path.join(REPO_ROOT, '.tmp', `electron-test-${process.pid}`));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
  await fs.rm(path.dirname(built.main), { recursive: true, force: true });
});

/**
 * The open project as main.ts holds it: a Workspace with the app's messages for commands sent with none open
 * and for paths outside its roots (here the test's folder and the sample data, by default).
 */
function appWorkspace(options: ServiceOptions, roots: string[] = [dir, DATA_DIR]): Workspace {
  return new Workspace(options, { noProject: NO_PROJECT_IN_APP, roots: appRoots(roots), outsideHint: OUTSIDE_ROOTS_IN_APP });
}

function setup(workspace: ClearskyApi) {
  const ipcMain = new FakeIpcMain();
  const app = new FakeContents(1);
  const logged: string[] = [];
  const unregister = registerIpc({
    ipcMain: ipcMain as unknown as IpcMain,
    api: workspace,
    isAppContents: (contents: WebContents) => contents === (app as unknown as WebContents),
    log: (message) => logged.push(message),
  });
  const api = createBridgeApi(rendererIpc(ipcMain, app));
  return { ipcMain, app, api, logged, unregister };
}

test('the preload API has exactly the commands of api.ts and subscribe, and the preload exposes only it and clearskyShell', async () => {
  const ipc = { invoke: async () => ({ ok: true, value: null }), send: () => undefined, on() {}, removeListener() {} } as unknown as PreloadIpc;
  const expected = [...Object.keys(COMMANDS), 'subscribe'].sort();
  assert.deepEqual(Object.keys(createBridgeApi(ipc)).sort(), expected);

  const exposed = new Map<string, unknown>();
  exposeClearsky({ exposeInMainWorld: (key: string, value: unknown) => void exposed.set(key, value) }, ipc, { getPathForFile: () => '/data/scene.tif' });
  assert.deepEqual([...exposed.keys()].sort(), ['clearsky', 'clearskyShell']);
  assert.deepEqual(Object.keys(exposed.get('clearsky') as object).sort(), expected);
  const shell = exposed.get('clearskyShell') as { pathForFile(file: unknown): string };
  assert.deepEqual(Object.keys(shell), ['pathForFile', 'showInFolder']);
  assert.equal(shell.pathForFile({}), '/data/scene.tif');
});

test('the built preload bundle (what the sandbox loads) exposes the same two globals and nothing else', () => {
  const exposed = new Map<string, unknown>();
  const required: string[] = [];
  const electron = {
    contextBridge: { exposeInMainWorld: (key: string, value: unknown) => void exposed.set(key, value) },
    ipcRenderer: { invoke: async () => ({ ok: true, value: null }), send() {}, on() {}, removeListener() {} },
    webUtils: { getPathForFile: () => '' },
  };
  const module = { exports: {} };
  // A sandboxed preload's world: `require` knows `electron` (and a few built-ins the bundle must not need).
  const sandbox = {
    require: (name: string) => {
      required.push(name);
      if (name === 'electron') return electron;
      throw new Error(`module not found: ${name}`);
    },
    module,
    exports: module.exports,
    console,
  };
  vm.runInNewContext(readFileSync(built.preload, 'utf8'), sandbox, { filename: built.preload });
  assert.deepEqual(required, ['electron']);
  assert.deepEqual([...exposed.keys()].sort(), ['clearsky', 'clearskyShell']);
  assert.deepEqual(Object.keys(exposed.get('clearsky') as object).sort(), [...Object.keys(COMMANDS), 'subscribe'].sort());
});

test('IPC refuses foreign senders: other web contents, subframes, other origins, destroyed or missing frames', async () => {
  createProject(path.join(dir, 'senders')).close();
  const workspace = appWorkspace({ jobs: false });
  const { ipcMain, app, logged, unregister } = setup(workspace);
  try {
    assert.deepEqual(await ipcMain.invoke(app, app.mainFrame, commandChannel('project'), []), { ok: true, value: null });

    const other = new FakeContents(2); // e.g. a window the app did not create
    const subframe = frame(APP_URL, app.mainFrame);
    // Frames that claim to be the top frame but are not the window's main frame (another routing id)…
    const notMain = frame(APP_URL);
    // …and the main frame after it navigated elsewhere or died.
    const foreignOrigin = { ...app.mainFrame, url: 'https://example.com/' };
    const fileFrame = { ...app.mainFrame, url: 'file:///etc/passwd' };
    const lookalike = { ...app.mainFrame, url: 'clearsky://app.evil/index.html' };
    const dead = { ...app.mainFrame, isDestroyed: () => true };
    const cases: [string, FakeContents, FakeFrame | null][] = [
      ['another web contents', other, other.mainFrame],
      ['a subframe', app, subframe],
      ['a top frame that is not the window’s', app, notMain],
      ['another origin', app, foreignOrigin],
      ['a file: page', app, fileFrame],
      ['a look-alike host', app, lookalike],
      ['a destroyed frame', app, dead],
      ['no frame', app, null],
    ];
    for (const [what, contents, frame] of cases) {
      const reply = (await ipcMain.invoke(contents, frame, commandChannel('openProject'), [{ dir: path.join(dir, 'senders') }])) as { ok: boolean; error: string };
      assert.equal(reply.ok, false, what);
      assert.match(reply.error, /refused \(not from the Clearsky window\)/, what);
    }
    assert.equal(workspace.projectDir, null, 'no refused call reached the service');
    assert.equal(logged.length, cases.length);

    // Event subscriptions from foreign senders are ignored too.
    ipcMain.send(other, other.mainFrame, EVENTS_ON, []);
    assert.match(logged.at(-1)!, /refused an event subscription/);
  } finally {
    unregister();
    await workspace.close();
  }
  assert.equal(ipcMain.handlers.size, 0, 'unregister removes every handler');
});

test('IPC validates every argument against the API schemas before the service sees it', async () => {
  createProject(path.join(dir, 'arguments')).close();
  const workspace = appWorkspace({ jobs: false });
  const { ipcMain, app, api, unregister } = setup(workspace);
  try {
    await api.openProject({ dir: path.join(dir, 'arguments') });
    const call = (name: string, args: unknown[]) => ipcMain.invoke(app, app.mainFrame, commandChannel(name), args) as Promise<{ ok: boolean; error?: string }>;
    const bad: [string, unknown[], RegExp][] = [
      ['getRun', [], /getRun takes 1 argument, got 0/],
      ['getRun', ['1'], /getRun: argument 1: .*number/i],
      ['getRun', [-3], /getRun: argument 1: .*/],
      ['getRun', [1, 2], /takes 1 argument, got 2/],
      ['cancelRun', [1.5], /cancelRun: argument 1/],
      ['listScenes', [{}], /listScenes takes 0 arguments, got 1/],
      ['importFiles', [{ paths: [] }], /importFiles: argument 1 \(paths\)/],
      ['importFiles', [{ paths: ['/x.tif'], kind: 'jpeg' }], /importFiles: argument 1 \(kind\)/],
      ['startRun', [{ targetSceneId: 1, maskId: 1, steps: 1e9 }], /startRun: argument 1 \(steps\)/],
      ['startRun', [{ targetSceneId: 1, maskId: 1, mode: 'rm -rf' }], /startRun: argument 1 \(mode\)/],
      ['exportResult', [{ resultId: 1 }], /exportResult: argument 1 \(destination\)/],
      ['openProject', [{ dir: '' }], /openProject: argument 1 \(dir\)/],
      ['openProject', ['not an object'], /openProject: argument 1/],
    ];
    for (const [name, args, message] of bad) {
      const reply = await call(name, args);
      assert.equal(reply.ok, false, `${name}(${JSON.stringify(args)})`);
      assert.match(reply.error!, message);
    }
    // Through the preload, a refusal is a rejected promise with the one-line message.
    await assert.rejects(api.getRun('x' as unknown as number), (error: Error) => error.name === 'InputError' && /getRun: argument 1/.test(error.message));
    // Channels exist only for the API's commands.
    await assert.rejects(ipcMain.invoke(app, app.mainFrame, 'clearsky:command:close', []), /No handler registered/);
    await assert.rejects(ipcMain.invoke(app, app.mainFrame, 'clearsky:command:constructor', []), /No handler registered/);
    // The service's own errors keep their one-line message; nothing else of the main process leaks.
    await assert.rejects(api.getRun(4242), (error: Error) => error.message === 'there is no run 4242 in this project');
  } finally {
    unregister();
    await workspace.close();
  }

  // A bug (not the user's input) answers a short message; the stack goes to the main process's log only.
  const bugIpc = new FakeIpcMain();
  const window = new FakeContents(1);
  const logged: string[] = [];
  const bug = async (): Promise<never> => {
    throw new TypeError('cannot read properties of undefined\n    at secret (/home/user/clearsky/native/x.ts:1:1)');
  };
  const broken = { ...Object.fromEntries(Object.keys(COMMANDS).map((name) => [name, bug])), subscribe: () => () => undefined } as unknown as ClearskyApi;
  registerIpc({ ipcMain: bugIpc as unknown as IpcMain, api: broken, isAppContents: (c) => c === (window as unknown as WebContents), log: (m) => logged.push(m) });
  const reply = await bugIpc.invoke(window, window.mainFrame, commandChannel('listRuns'), []);
  assert.deepEqual(reply, { ok: false, error: 'listRuns failed: cannot read properties of undefined (details in the log)' });
  assert.match(logged[0], /TypeError: cannot read properties of undefined/);
});

test('IPC and HTTP answer the same bad arguments, input errors and internal errors with the same message (one dispatch)', async () => {
  // One API behind both transports: its commands fail as the user's input error or as a bug, by argument.
  const failing = async (request: { resultId: number }): Promise<never> => {
    if (request.resultId === 1) throw new InputError('/out/x.tif', 'is a folder, not a file');
    throw new TypeError('cannot read properties of undefined\n    at secret (/home/user/clearsky/native/x.ts:1:1)');
  };
  const api = { ...Object.fromEntries(Object.keys(COMMANDS).map((name) => [name, failing])), subscribe: () => () => undefined } as unknown as ClearskyApi;
  const ipcMain = new FakeIpcMain();
  const window = new FakeContents(1);
  const ipcLog: string[] = [];
  const unregister = registerIpc({ ipcMain: ipcMain as unknown as IpcMain, api, isAppContents: (c) => c === (window as unknown as WebContents), log: (m) => ipcLog.push(m) });
  const httpLog: string[] = [];
  const server = await startServer({ api, projectDir: dir, log: (m) => httpLog.push(m) });
  try {
    const cases: [string, unknown[], number][] = [
      ['exportResult', [{ resultId: 'one', destination: '' }], 400],
      ['getRun', [], 400],
      ['listScenes', [1], 400],
      ['exportResult', [{ resultId: 1, destination: '/out/x.tif' }], 422],
      ['exportResult', [{ resultId: 2, destination: '/out/x.tif' }], 500],
    ];
    for (const [name, args, status] of cases) {
      const ipcReply = (await ipcMain.invoke(window, window.mainFrame, commandChannel(name), args)) as { ok: boolean; error: string };
      const response = await fetch(new URL(`api/${name}`, server.origin), {
        method: 'POST',
        headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(args),
      });
      assert.equal(response.status, status, `${name}(${JSON.stringify(args)})`);
      const body = (await response.json()) as { error: string };
      assert.equal(ipcReply.ok, false);
      assert.equal(ipcReply.error, body.error, `${name}(${JSON.stringify(args)}): the same answer over both`);
      assert.ok(!body.error.includes('secret'), 'no stack in an answer');
    }
    assert.equal(ipcLog.length, 1, 'only the bug is logged (IPC)');
    assert.equal(httpLog.length, 1, 'only the bug is logged (HTTP)');
    for (const logged of [ipcLog[0], httpLog[0]]) assert.match(logged, /exportResult failed: TypeError: cannot read properties of undefined\n\s+at secret/);
  } finally {
    unregister();
    await server.close();
  }
});

test('opening and creating projects through IPC; commands without a project say what to do', async () => {
  const workspace = appWorkspace({ jobs: false });
  const { api, unregister } = setup(workspace);
  const opened: string[] = [];
  workspace.onProjectOpened = (info) => opened.push(info.dir);
  try {
    assert.equal(await api.project(), null);
    await assert.rejects(api.listScenes(), /no project is open: open or create one \(File menu\)/);
    await assert.rejects(api.openProject({ dir: path.join(dir, 'nowhere') }), /nowhere/);
    const created = await api.openProject({ dir: path.join(dir, 'created'), create: true, name: 'Created here' });
    assert.equal(created.name, 'Created here');
    assert.equal((await fs.stat(path.join(dir, 'created', 'project.sqlite'))).isFile(), true);
    await assert.rejects(api.openProject({ dir: path.join(dir, 'created'), create: true }), /already holds a Clearsky project/);
    assert.deepEqual(await api.listScenes(), []);
    assert.deepEqual(opened, [path.join(dir, 'created')]);
  } finally {
    unregister();
    await workspace.close();
  }
});

test('import, run on workers started as the desktop app starts them, events, raster by Range over the protocol, export', async () => {
  createProject(path.join(dir, 'slovenia')).close();
  // What main.ts builds: the workspace host and its workers are its own binary as Node (here Node itself) on
  // the bundles, without tsx; the main process holds only the host's proxy.
  const asNode = (script: string) => ({ execPath: process.execPath, script, env: { ELECTRON_RUN_AS_NODE: '1' } });
  const workspace = startApiHost({
    launch: asNode(built.apiHost),
    service: { workers: 1, launch: asNode(built.worker) },
    workspace: { noProject: NO_PROJECT_IN_APP, roots: appRoots([dir, DATA_DIR]), outsideHint: OUTSIDE_ROOTS_IN_APP },
  });
  const { api, app, unregister } = setup(workspace);
  const protocol = createProtocolHandler({ projectDir: () => workspace.projectDir });
  try {
    const info = await api.openProject({ dir: path.join(dir, 'slovenia') });
    assert.equal(info.dir, path.join(dir, 'slovenia'));
    const outcomes: ImportOutcome[] = await api.importFiles({ paths: [dataFile('slovenia-2015', 'S2L1C_20150909.tif'), dataFile('slovenia-2015', 'cloudmasks_s2cloudless_2015-2017.tif')] });
    assert.ok(outcomes.every((o) => o.status === 'imported'), JSON.stringify(outcomes.filter((o) => o.status !== 'imported')));
    const [scene] = await api.listScenes();
    const mask = (await api.listMasks()).find((m) => m.band === 19)!;

    const events: ApiEvent[] = [];
    const finished = new Promise<RunRecord>((resolve) => {
      const unsubscribe = api.subscribe((event) => {
        events.push(event);
        if (event.type === 'run' && ['done', 'partial', 'failed'].includes(event.run.status)) {
          unsubscribe();
          resolve(event.run);
        }
      });
    });
    const started = await api.startRun({ targetSceneId: scene.id, maskId: mask.id, bands: ['B04', 'B03', 'B02'], method: 'idw-fill', tileSize: 64, overlap: 16 });
    assert.equal(started.status, 'queued');
    const run = await finished;
    assert.equal(run.status, 'done', run.error ?? '');
    assert.ok(events.some((e) => e.type === 'tile' && e.runId === run.id), 'tile events reach the renderer');
    assert.ok(app.sent.every((m) => m.channel === EVENT_CHANNEL));

    // The map reads the result through clearsky://app/rasters/… with Range requests.
    const result = run.results.find((r) => r.kind === 'reconstruction')!;
    const response = await protocol(new Request(`clearsky://app/rasters/${result.file}`, { headers: { Range: 'bytes=0-7' } }));
    assert.equal(response.status, 206);
    const bytes = Buffer.from(await response.arrayBuffer());
    assert.deepEqual(bytes, readFileSync(path.join(dir, 'slovenia', result.file)).subarray(0, 8));

    const exported = path.join(dir, 'export', 'result.tif');
    assert.deepEqual(await api.exportResult({ resultId: result.id, destination: exported }), { path: exported });
    assert.ok((await fs.stat(exported)).size > 0);
  } finally {
    unregister();
    await workspace.close();
  }
});

test('events follow the open project and stop when the window goes away', async () => {
  createProject(path.join(dir, 'events-a')).close();
  createProject(path.join(dir, 'events-b')).close();
  const workspace = appWorkspace({ jobs: false });
  const { ipcMain, app, api, unregister } = setup(workspace);
  try {
    await api.openProject({ dir: path.join(dir, 'events-a') });
    const seen: ApiEvent[] = [];
    const stop = api.subscribe((event) => seen.push(event));
    // One forwarding per window however many listeners the page has.
    const stop2 = api.subscribe(() => undefined);
    assert.equal(ipcMain.listeners.get(EVENTS_ON)!.size, 1);
    const emitted: ApiEvent = { type: 'progress', runId: 1, tileIndex: 0, step: 1, steps: 2, loss: 0.5, etaSeconds: 1, runEtaSeconds: 2 };
    (workspace as unknown as { emit(e: ApiEvent): void }).emit(emitted);
    assert.deepEqual(seen, [emitted]);
    await api.openProject({ dir: path.join(dir, 'events-b') });
    (workspace as unknown as { emit(e: ApiEvent): void }).emit(emitted);
    assert.equal(seen.length, 2, 'still subscribed after the project changed');
    stop();
    stop2();
    (workspace as unknown as { emit(e: ApiEvent): void }).emit(emitted);
    assert.equal(seen.length, 2);
    assert.equal(app.sent.length, 2, 'nothing is sent once the page unsubscribed');

    api.subscribe(() => undefined);
    app.destroy();
    (workspace as unknown as { emit(e: ApiEvent): void }).emit(emitted);
    assert.equal(app.sent.length, 2, 'nothing is sent to a destroyed window');
  } finally {
    unregister();
    await workspace.close();
  }
});

test("the page opens, creates, imports and exports only inside the app's roots, symbolic links included; the File menu anywhere", async () => {
  const root = path.join(dir, 'confined-root');
  const outside = path.join(dir, 'confined-outside');
  await fs.mkdir(root);
  await fs.mkdir(outside);
  await fs.symlink(outside, path.join(root, 'link-out'));
  const scene = path.join(outside, 'scene.tif');
  await fs.copyFile(dataFile('slovenia-2015', 'S2L1C_20150909.tif'), scene);
  createProject(path.join(outside, 'existing'), 'Elsewhere').close();
  const workspace = appWorkspace({ jobs: false }, [root]);
  const { api, unregister } = setup(workspace);
  const refused = (given: string) => (error: Error) =>
    error.name === 'InputError' && error.message.startsWith(`${given}: is outside`) && error.message.includes(`(${root})`) && /File menu/.test(error.message);
  try {
    for (const [dirArg, create] of [[path.join(outside, 'new'), true], [path.join(root, 'link-out', 'new'), true], [path.join(outside, 'existing'), false]] as const) {
      await assert.rejects(api.openProject({ dir: dirArg, create }), refused(dirArg));
    }
    assert.equal(await fs.stat(path.join(outside, 'new')).catch(() => null), null);
    await api.openProject({ dir: path.join(root, 'mine'), create: true });
    for (const file of [scene, path.join(root, 'link-out', 'scene.tif')]) await assert.rejects(api.importFiles({ paths: [file] }), refused(file));
    assert.deepEqual(await api.listScenes(), []);
    for (const destination of [path.join(outside, 'x.tif'), path.join(root, 'link-out', 'x.tif')]) {
      await assert.rejects(api.exportResult({ resultId: 1, destination }), refused(destination));
    }
    // The File menu (main.ts) goes through `unconfined`: the user chose the folder in the system's dialog.
    assert.equal((await workspace.unconfined.openProject({ dir: path.join(outside, 'existing') })).name, 'Elsewhere');
    assert.equal((await api.project())?.name, 'Elsewhere');
  } finally {
    unregister();
    await workspace.close();
  }
  assert.deepEqual(appRoots([]), [os.homedir()]);
  assert.deepEqual(appRoots([path.join(dir, 'gone'), root]), [root]);
  assert.deepEqual(appRoots([path.join(dir, 'gone')]), [os.homedir()]);
});

/** Compile-time: the bridge is a ClearskyApi. */
const _typed: (ipc: PreloadIpc) => ClearskyApi = createBridgeApi;
void _typed;
