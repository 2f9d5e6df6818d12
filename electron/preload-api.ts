/**
 * What the preload gives the renderer, and nothing else:
 * - `window.clearsky`: the `ClearskyApi` of native/api/contract.ts — one method per command of `COMMANDS` (each an
 *   `ipcRenderer.invoke` on the command's channel, its reply envelope unwrapped) and `subscribe`;
 * - `window.clearskyShell`: `{ pathForFile(file) }`, the path of a dropped `File` (webUtils.getPathForFile),
 *   for importing by drag and drop; the renderer cannot see paths otherwise; and `showInFolder(path)`, an
 *   exported GeoTIFF shown in the file manager (the main process checks the path: a file inside the roots).
 *
 * Built over `COMMANDS`, so the API's new commands appear without changes here; the type assertions below
 * keep `ClearskyApi` and `COMMANDS` in step. No Electron import at run time: preload.ts passes the modules.
 */
import type { ContextBridge, IpcRenderer, IpcRendererEvent, WebUtils } from 'electron';
import { COMMANDS, type ApiEvent, type ClearskyApi, type CommandName } from '../native/api/contract.ts';
import { commandChannel, EVENT_CHANNEL, EVENTS_OFF, EVENTS_ON, SHOW_IN_FOLDER, type Reply } from './channels.ts';

/** Compile-time: the API's methods are exactly the commands plus `subscribe`. */
type ApiMethod = keyof ClearskyApi;
type Missing = Exclude<CommandName | 'subscribe', ApiMethod> | Exclude<ApiMethod, CommandName | 'subscribe'>;
const apiMatchesCommands: [Missing] extends [never] ? true : { mismatch: Missing } = true;
void apiMatchesCommands;

export interface ClearskyShell {
  /** The file system path of a `File` from a drop or a file input ('' when it has none). */
  pathForFile(file: File): string;
  /** Shows the file in the system's file manager; resolves to null, or to why not (one line). */
  showInFolder(file: string): Promise<string | null>;
}

export type PreloadIpc = Pick<IpcRenderer, 'invoke' | 'send' | 'on' | 'removeListener'>;

export function createBridgeApi(ipc: PreloadIpc): ClearskyApi {
  const api: Record<string, unknown> = {};
  for (const name of Object.keys(COMMANDS) as CommandName[]) {
    api[name] = async (...args: unknown[]): Promise<unknown> => {
      const reply = (await ipc.invoke(commandChannel(name), ...args)) as Reply;
      if (reply.ok) return reply.value;
      const error = new Error(reply.error);
      error.name = 'InputError';
      throw error;
    };
  }
  const listeners = new Set<(event: ApiEvent) => void>();
  const receive = (_event: IpcRendererEvent, apiEvent: ApiEvent): void => {
    for (const listener of [...listeners]) {
      try {
        listener(apiEvent);
      } catch (error) {
        console.error(error);
      }
    }
  };
  api.subscribe = (listener: (event: ApiEvent) => void): (() => void) => {
    if (typeof listener !== 'function') throw new TypeError('subscribe takes a function');
    if (listeners.size === 0) {
      ipc.on(EVENT_CHANNEL, receive);
      ipc.send(EVENTS_ON);
    }
    listeners.add(listener);
    return () => {
      if (listeners.delete(listener) && listeners.size === 0) {
        ipc.removeListener(EVENT_CHANNEL, receive);
        ipc.send(EVENTS_OFF);
      }
    };
  };
  return api as unknown as ClearskyApi;
}

export function createShellApi(webUtils: Pick<WebUtils, 'getPathForFile'>, ipc: Pick<PreloadIpc, 'invoke'>): ClearskyShell {
  return {
    pathForFile: (file: File) => webUtils.getPathForFile(file),
    showInFolder: async (file: string) => {
      const reply = (await ipc.invoke(SHOW_IN_FOLDER, String(file))) as Reply;
      return reply.ok ? null : reply.error;
    },
  };
}

/** The whole preload: the two globals, through the context bridge. */
export function exposeClearsky(contextBridge: Pick<ContextBridge, 'exposeInMainWorld'>, ipc: PreloadIpc, webUtils: Pick<WebUtils, 'getPathForFile'>): void {
  contextBridge.exposeInMainWorld('clearsky', createBridgeApi(ipc));
  contextBridge.exposeInMainWorld('clearskyShell', createShellApi(webUtils, ipc));
}
