/**
 * How the renderer reaches the back end: always through the one typed API (`native/api.ts`), never Node.
 * In browser mode (`clearsky serve`) that is the HTTP client on the page's own origin; the Electron shell will
 * expose the same API over IPC (a preload's `window.clearsky`), picked here when present.
 */
import type { ClearskyApi } from '../../native/api.ts';
import { createHttpClient } from '../../native/http-client.ts';

declare global {
  interface Window {
    /** Set by the Electron shell's preload (to come). */
    clearsky?: ClearskyApi;
  }
}

export function createTransport(): ClearskyApi {
  if (window.clearsky) return window.clearsky;
  return createHttpClient(new URL('./', window.location.href).href);
}

/** The URL a catalogue path (relative to the project, e.g. `rasters/s2/x.tif`) is served at in browser mode. */
export function rasterUrl(file: string): string {
  const path = file.split('/').map(encodeURIComponent).join('/');
  return new URL(`rasters/${path}`, new URL('/', window.location.href)).href;
}
