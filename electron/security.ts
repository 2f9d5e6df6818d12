/**
 * The window's security, in one place so that tests can read it: the webPreferences, what happens on
 * navigation, new windows, webviews and permission requests, and which links may open in the user's browser.
 *
 * - The renderer is sandboxed and context-isolated, without Node, with web security on; it reaches the back
 *   end only through the preload's API. Its Content-Security-Policy is browser mode's (native/http/headers.ts),
 *   sent with every answer of the `clearsky:` protocol (protocol.ts).
 * - It may not navigate anywhere (the app is one page; `reload` is not a navigation), open windows, attach
 *   webviews or get any permission (camera, notifications, geolocation, clipboard, HID/USB/serial…).
 * - A link to an http(s) page (documentation, Copernicus) opens in the user's browser through
 *   `shell.openExternal`, only when it passes `isSafeExternalUrl`.
 *
 * Electron objects are parameters (types only), so this loads without Electron.
 */
import type { BrowserWindowConstructorOptions, Session, WebContents, WebPreferences } from 'electron';
import { APP_ORIGIN } from './channels.ts';

export function secureWebPreferences(preload: string): WebPreferences {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    safeDialogs: true,
    spellcheck: false,
  };
}

export function windowOptions(preload: string, bounds: { x?: number; y?: number; width: number; height: number }): BrowserWindowConstructorOptions {
  return {
    ...bounds,
    minWidth: 800,
    minHeight: 500,
    show: false,
    title: 'Clearsky',
    backgroundColor: '#1e1e1e',
    webPreferences: secureWebPreferences(preload),
  };
}

/**
 * May this URL leave the app for the user's browser? Only http(s) with a host name, no credentials, no
 * local addresses (nothing on this machine or its network is a page the app links to), at most 2048 characters.
 */
export function isSafeExternalUrl(raw: unknown): boolean {
  if (typeof raw !== 'string' || raw.length > 2048) return false;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return false;
  if (url.username !== '' || url.password !== '') return false;
  const host = url.hostname.toLowerCase();
  if (host === '' || !host.includes('.') || host.endsWith('.local') || host.endsWith('.localhost')) return false;
  if (/^[\d.]+$/.test(host) || host.startsWith('[')) return false; // bare IP addresses
  return true;
}

/** Is this URL the app's own page (the only thing the window shows)? */
export function isAppUrl(raw: string): boolean {
  return raw.toLowerCase().startsWith(`${APP_ORIGIN}/`);
}

type Contents = Pick<WebContents, 'on' | 'setWindowOpenHandler'>;

/** Blocks navigation, redirects, new windows and webviews; safe http(s) links go to `openExternal`. */
export function hardenContents(contents: Contents, openExternal: (url: string) => void): void {
  const leave = (url: string): void => {
    if (isSafeExternalUrl(url)) openExternal(url);
  };
  contents.on('will-navigate', (event) => {
    event.preventDefault();
    leave(event.url);
  });
  contents.on('will-frame-navigate', (event) => {
    if (!event.isMainFrame) event.preventDefault();
  });
  contents.on('will-redirect', (event) => {
    if (!isAppUrl(event.url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    leave(url);
    return { action: 'deny' };
  });
}

/** Every permission request and check is refused (the app needs none). */
export function denyPermissions(session: Pick<Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler' | 'setDevicePermissionHandler'>): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.setDevicePermissionHandler(() => false);
}
