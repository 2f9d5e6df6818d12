/**
 * The one shell call the page may make: show an exported file in the file manager (Export's "Show in folder").
 * The real main-process handler (electron/ipc.ts) and preload side (electron/preload-api.ts), with a fake
 * ipcMain that clones arguments as Electron's does, on real files and symbolic links: only an existing GeoTIFF
 * inside the app's roots is shown, only for the app's own window; anything else is refused in one line and the
 * shell is never called.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron';
import { APP_URL, SHOW_IN_FOLDER } from '../../../electron/channels.ts';
import { registerShellIpc } from '../../../electron/ipc.ts';
import { createShellApi, type PreloadIpc } from '../../../electron/preload-api.ts';

let dir: string;
let root: string;
before(async () => {
  dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-shell-')));
  root = path.join(dir, 'home');
  await fs.mkdir(path.join(root, 'qgis'), { recursive: true });
  await fs.writeFile(path.join(root, 'qgis', 'result.tif'), 'II*\0');
  await fs.writeFile(path.join(root, 'qgis', 'run.sh'), '#!/bin/sh\n');
  await fs.mkdir(path.join(root, 'folder.tif'));
  await fs.writeFile(path.join(dir, 'outside.tif'), 'II*\0');
  await fs.symlink(path.join(dir, 'outside.tif'), path.join(root, 'qgis', 'link.tif'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

type Handler = (event: IpcMainInvokeEvent, ...args: unknown[]) => unknown;

function setup() {
  const handlers = new Map<string, Handler>();
  const ipcMain = { handle: (channel: string, handler: Handler) => void handlers.set(channel, handler), removeHandler: (channel: string) => void handlers.delete(channel) };
  const app = { id: 1, mainFrame: { url: APP_URL, parent: null, processId: 7, routingId: 1, isDestroyed: () => false } };
  const other = { id: 2, mainFrame: { url: APP_URL, parent: null, processId: 7, routingId: 2, isDestroyed: () => false } };
  const shown: string[] = [];
  const logged: string[] = [];
  const unregister = registerShellIpc({
    ipcMain: ipcMain as unknown as IpcMain,
    roots: [root],
    showItemInFolder: (file) => void shown.push(file),
    isAppContents: (contents: WebContents) => contents === (app as unknown as WebContents),
    log: (message) => void logged.push(message),
  });
  const ipcFor = (contents: typeof app): Pick<PreloadIpc, 'invoke'> => ({
    invoke: async (channel: string, ...args: unknown[]) => {
      const handler = handlers.get(channel);
      if (!handler) throw new Error(`No handler registered for '${channel}'`);
      const event = { sender: contents, senderFrame: contents.mainFrame } as unknown as IpcMainInvokeEvent;
      return structuredClone(await handler(event, ...structuredClone(args)));
    },
  });
  const webUtils = { getPathForFile: () => '' };
  return { shell: createShellApi(webUtils, ipcFor(app)), foreign: createShellApi(webUtils, ipcFor(other)), shown, logged, unregister, handlers };
}

test('an exported GeoTIFF inside the roots is shown in the file manager, by its real path', async () => {
  const { shell, shown, unregister, handlers } = setup();
  assert.equal(await shell.showInFolder(path.join(root, 'qgis', 'result.tif')), null);
  assert.equal(await shell.showInFolder(path.join(root, 'qgis', '..', 'qgis', 'result.tif')), null);
  assert.deepEqual(shown, [path.join(root, 'qgis', 'result.tif'), path.join(root, 'qgis', 'result.tif')]);
  unregister();
  assert.equal(handlers.has(SHOW_IN_FOLDER), false);
});

test('anything else is refused in one line and the shell is not called', async () => {
  const { shell, foreign, shown, logged } = setup();
  const refused: [unknown, RegExp][] = [
    ['qgis/result.tif', /is not an absolute path/],
    [path.join(root, 'qgis', 'run.sh'), /is not a GeoTIFF \(\.tif\) that Clearsky exported/],
    [path.join(root, 'qgis', 'missing.tif'), /does not exist/],
    [path.join(root, 'folder.tif'), /is not a file/],
    [path.join(dir, 'outside.tif'), /is outside the folders the app may use/],
    [path.join(root, 'qgis', 'link.tif'), /is outside the folders the app may use/],
    ['', /a path, please/],
    [`${root}/qgis/result.tif\0.sh`, /a path, please/],
  ];
  for (const [input, expected] of refused) {
    const error = await shell.showInFolder(input as string);
    assert.match(error ?? '', expected, String(input));
    assert.equal(error?.includes('\n'), false);
  }
  assert.match((await foreign.showInFolder(path.join(root, 'qgis', 'result.tif'))) ?? '', /refused \(not from the Clearsky window\)/);
  assert.equal(logged.length, 1);
  assert.deepEqual(shown, []);
});
