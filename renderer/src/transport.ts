/**
 * How the renderer reaches the back end: always through the one typed API (`native/api/contract.ts`), never Node.
 * In the desktop app the Electron shell's preload exposes that API over IPC as `window.clearsky`, picked
 * here when present; in browser mode (`clearsky serve`) it is the HTTP client on the page's own origin, whose
 * requests (and the map's raster reads) carry the server's token in the cookie that opening the address
 * `clearsky serve` printed has set (native/http/server.ts): no code here handles it.
 */
import type { ClearskyApi } from '../../native/api/contract.ts';
import { createHttpClient } from '../../native/http/client.ts';

/** The desktop shell's extras (electron/preload-api.ts); absent in browser mode. */
export interface ClearskyShell {
  /** The file system path of a dropped `File` (for importing by drag and drop); '' when it has none. */
  pathForFile(file: File): string;
  /** Shows an exported file in the file manager; resolves to null, or to why not. */
  showInFolder(file: string): Promise<string | null>;
}

declare global {
  interface Window {
    /** Set by the Electron shell's preload (electron/preload-api.ts). */
    clearsky?: ClearskyApi;
    /** Set by the Electron shell's preload; undefined in browser mode. */
    clearskyShell?: ClearskyShell;
  }
}

/** The origin the desktop app's page and the project's rasters are served from (electron/protocol.ts). */
const DESKTOP_ORIGIN = 'clearsky://app';

export function createTransport(): ClearskyApi {
  if (window.clearsky) return window.clearsky;
  return createHttpClient(new URL('./', window.location.href).href);
}

/**
 * The URL a catalogue path (relative to the project, e.g. `rasters/s2/x.tif`) is served at: in the desktop
 * app `clearsky://app/rasters/<path>` (the shell's protocol, with Range requests), in browser mode
 * `/rasters/<path>` on the server's origin.
 */
export function rasterUrl(file: string): string {
  const path = file.split('/').map(encodeURIComponent).join('/');
  const base = window.clearsky ? `${DESKTOP_ORIGIN}/` : new URL('/', window.location.href).href;
  return new URL(`rasters/${path}`, base).href;
}
