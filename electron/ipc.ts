/**
 * The API over Electron IPC: one `ipcMain.handle` channel per command of `COMMANDS` (native/api/contract.ts), so new
 * commands need nothing here, and the event stream. Every call is checked twice before it reaches the
 * API (in the app, the proxy of the workspace host process, native/project/host-client.ts): the sender must be
 * the top frame of one of the app's windows showing the app's own origin (`clearsky://app`), and the
 * arguments must match the command's schema. Checking, calling and the reply are native/api/dispatch.ts's, the
 * same as browser mode's server.
 *
 * Paths are confined by the `Workspace` itself (its roots, as in browser mode; the desktop app's are
 * `appRoots`): a page can open, create, import and export only there. No token: only the app's own
 * window reaches these channels.
 *
 * Replies are envelopes, `{ ok: true, value }` or `{ ok: false, error }`, unwrapped by the preload: an
 * Error thrown by a handler would reach the renderer as "Error invoking remote method …" with the stack of
 * the main process. As in browser mode (the same dispatch), the user's errors (bad arguments, `InputError`)
 * keep their one-line message; anything else is logged here and answered with a short message.
 *
 * Events: the preload sends `EVENTS_ON`/`EVENTS_OFF`; the main process then forwards every `ApiEvent` to that
 * window (`EVENT_CHANNEL`) until it asks to stop, navigates away or is destroyed.
 */
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { IpcMain, IpcMainEvent, IpcMainInvokeEvent, WebContents } from 'electron';
import { COMMANDS, type ClearskyApi, type CommandName } from '../native/api/contract.ts';
import { dispatch } from '../native/api/dispatch.ts';
import { APP_ORIGIN, commandChannel, EVENT_CHANNEL, EVENTS_OFF, EVENTS_ON, SHOW_IN_FOLDER, type Reply } from './channels.ts';

/** What commands answer in the app with no project open (main.ts gives it to the `Workspace`): where to open one. */
export const NO_PROJECT_IN_APP = 'no project is open: open or create one (File menu)';

/** What a path outside the app's roots is told (main.ts gives it to the `Workspace`). */
export const OUTSIDE_ROOTS_IN_APP = 'use the File menu for folders elsewhere, or add the folder to "roots" in settings.json';

/** The desktop app's root folders: those of settings.json that still exist, else the home folder. */
export function appRoots(configured: readonly string[]): string[] {
  const existing = configured.filter((root) => existsSync(root));
  return existing.length > 0 ? existing : [os.homedir()];
}

export interface IpcOptions {
  ipcMain: Pick<IpcMain, 'handle' | 'removeHandler' | 'on' | 'removeListener'>;
  /** What the commands call (each by its name, with checked arguments) and where events come from. */
  api: ClearskyApi;
  /** The web contents of the app's windows (the main window); anything else is refused. */
  isAppContents: (contents: WebContents) => boolean;
  log?: (message: string) => void;
}

/** Only the top frame of an app window, showing the app's origin, may call. */
export function isTrustedSender(event: IpcMainInvokeEvent | IpcMainEvent, isAppContents: (contents: WebContents) => boolean): boolean {
  const frame = event.senderFrame;
  if (!frame || frame.isDestroyed()) return false;
  if (!isAppContents(event.sender)) return false;
  const main = event.sender.mainFrame;
  // The same frame, compared by id (Electron may hand out different wrapper objects for one frame).
  if (frame.parent !== null || !main || frame.processId !== main.processId || frame.routingId !== main.routingId) return false;
  let origin: string;
  try {
    origin = new URL(frame.url).origin;
  } catch {
    return false;
  }
  // Node's URL gives non-special schemes the origin "null"; compare the scheme and host instead.
  return origin === APP_ORIGIN || (origin === 'null' && frame.url.toLowerCase().startsWith(`${APP_ORIGIN}/`));
}

/** Registers the handlers; the returned function removes them (and ends every event forwarding). */
export function registerIpc(options: IpcOptions): () => void {
  const { ipcMain, api, isAppContents } = options;
  const log = options.log ?? ((message: string) => console.error(message));
  const names = Object.keys(COMMANDS) as CommandName[];
  const forwarding = new Map<number, () => void>();

  for (const name of names) {
    ipcMain.handle(commandChannel(name), async (event, ...input: unknown[]): Promise<Reply> => {
      if (!isTrustedSender(event, isAppContents)) {
        log(`clearsky: refused ${name} from ${describeSender(event)}`);
        return { ok: false, error: `${name}: refused (not from the Clearsky window)` };
      }
      const outcome = await dispatch(api, name, input, log);
      return outcome.ok ? outcome : { ok: false, error: outcome.error };
    });
  }

  const stop = (id: number): void => {
    forwarding.get(id)?.();
    forwarding.delete(id);
  };
  const on = (event: IpcMainEvent): void => {
    if (!isTrustedSender(event, isAppContents)) {
      log(`clearsky: refused an event subscription from ${describeSender(event)}`);
      return;
    }
    const contents = event.sender;
    const id = contents.id;
    if (forwarding.has(id)) return;
    const unsubscribe = api.subscribe((apiEvent) => {
      if (contents.isDestroyed()) return stop(id);
      contents.send(EVENT_CHANNEL, apiEvent);
    });
    const gone = (): void => stop(id);
    // A reload or navigation starts a new page whose preload subscribes again if it wants to.
    const navigated = (details: { isSameDocument: boolean; isMainFrame: boolean }): void => {
      if (details.isMainFrame && !details.isSameDocument) stop(id);
    };
    contents.once('destroyed', gone);
    contents.on('did-start-navigation', navigated);
    forwarding.set(id, () => {
      unsubscribe();
      contents.removeListener('destroyed', gone);
      contents.removeListener('did-start-navigation', navigated);
    });
  };
  const off = (event: IpcMainEvent): void => {
    if (isTrustedSender(event, isAppContents)) stop(event.sender.id);
  };
  ipcMain.on(EVENTS_ON, on);
  ipcMain.on(EVENTS_OFF, off);

  return () => {
    for (const name of names) ipcMain.removeHandler(commandChannel(name));
    ipcMain.removeListener(EVENTS_ON, on);
    ipcMain.removeListener(EVENTS_OFF, off);
    for (const id of [...forwarding.keys()]) stop(id);
  };
}

/**
 * The file a page may show in the file manager: an absolute path (a string of at most 4096 characters) to an
 * existing regular GeoTIFF (.tif, .tiff: what exports write) whose real path, links resolved, is inside one of
 * the roots. Anything else is refused in one line; the page cannot make the shell open a program or a folder
 * outside what it may already write to.
 */
export async function checkShownFile(input: unknown, roots: readonly string[]): Promise<{ ok: true; file: string } | { ok: false; error: string }> {
  if (typeof input !== 'string' || input.length === 0 || input.length > 4096 || input.includes('\0')) return { ok: false, error: 'show in folder: a path, please' };
  if (!path.isAbsolute(input)) return { ok: false, error: `show in folder: ${input} is not an absolute path` };
  if (!/\.tiff?$/i.test(input)) return { ok: false, error: `show in folder: ${input} is not a GeoTIFF (.tif) that Clearsky exported` };
  let real: string;
  try {
    real = await fs.realpath(input);
    if (!(await fs.stat(real)).isFile()) return { ok: false, error: `show in folder: ${input} is not a file` };
  } catch {
    return { ok: false, error: `show in folder: ${input} does not exist` };
  }
  for (const root of roots) {
    const realRoot = await fs.realpath(root).catch(() => null);
    if (realRoot === null) continue;
    const inside = path.relative(realRoot, real);
    if (inside !== '' && !inside.startsWith('..') && !path.isAbsolute(inside)) return { ok: true, file: real };
  }
  return { ok: false, error: `show in folder: ${input} is outside the folders the app may use (${roots.join(', ')})` };
}

/** The one shell call the page may ask for: an exported file shown in the file manager (`shell.showItemInFolder`). */
export function registerShellIpc(options: Pick<IpcOptions, 'ipcMain' | 'isAppContents' | 'log'> & { roots: readonly string[]; showItemInFolder: (file: string) => void }): () => void {
  const log = options.log ?? ((message: string) => console.error(message));
  options.ipcMain.handle(SHOW_IN_FOLDER, async (event, input: unknown): Promise<Reply> => {
    if (!isTrustedSender(event, options.isAppContents)) {
      log(`clearsky: refused show in folder from ${describeSender(event)}`);
      return { ok: false, error: 'show in folder: refused (not from the Clearsky window)' };
    }
    const checked = await checkShownFile(input, options.roots);
    if (!checked.ok) return checked;
    options.showItemInFolder(checked.file);
    return { ok: true, value: null };
  });
  return () => options.ipcMain.removeHandler(SHOW_IN_FOLDER);
}

function describeSender(event: IpcMainInvokeEvent | IpcMainEvent): string {
  const url = event.senderFrame?.url ?? 'an unknown frame';
  return `${url.slice(0, 200)} (web contents ${event.sender.id})`;
}

