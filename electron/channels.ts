/**
 * Names shared by the main process and the preload (no imports: the sandboxed preload bundles this alone):
 * the app's custom scheme and origin, and the IPC channels.
 */
export const SCHEME = 'clearsky';
export const APP_HOST = 'app';
/** The renderer's origin; IPC accepts only frames of this origin. */
export const APP_ORIGIN = `${SCHEME}://${APP_HOST}`;
export const APP_URL = `${APP_ORIGIN}/index.html`;

export const COMMAND_PREFIX = 'clearsky:command:';
export const EVENTS_ON = 'clearsky:events:on';
export const EVENTS_OFF = 'clearsky:events:off';
export const EVENT_CHANNEL = 'clearsky:event';
/** Shows an exported file in the system's file manager (electron/ipc.ts checks the path first). */
export const SHOW_IN_FOLDER = 'clearsky:shell:show-in-folder';

/** A command's reply over IPC: its value, or the one-line error the renderer sees. */
export type Reply = { ok: true; value: unknown } | { ok: false; error: string };

export function commandChannel(name: string): string {
  return `${COMMAND_PREFIX}${name}`;
}
