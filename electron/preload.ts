/**
 * The preload of the app's window (sandboxed, context-isolated; bundled to CommonJS by electron/build.ts):
 * exposes `window.clearsky` (the typed API of native/api/contract.ts over IPC) and `window.clearskyShell`
 * (`pathForFile`, for drag-and-drop import), nothing else. See preload-api.ts.
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { exposeClearsky } from './preload-api.ts';

exposeClearsky(contextBridge, ipcRenderer, webUtils);
