/**
 * The shell's window security (electron/security.ts), its settings (electron/settings.ts) and `npm start`
 * where the Electron binary is missing (as on this machine), without Electron: its objects are small fakes
 * typed against Electron's declarations.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Session, WebContents } from 'electron';
import { CONTENT_SECURITY_POLICY } from '../../../native/http/headers.ts';
import { SCHEME_PRIVILEGES } from '../../../electron/protocol.ts';
import { denyPermissions, hardenContents, isSafeExternalUrl, windowOptions } from '../../../electron/security.ts';
import { addRecent, loadSettings, MAX_RECENT, restoreBounds, saveSettings, SETTINGS_FILE } from '../../../electron/settings.ts';
import { findElectronBinary, nativeModuleProblem } from '../../../electron/start.ts';
import { REPO_ROOT } from '../../helpers/data.ts';

let dir: string;
before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-electron-shell-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

test('the window is sandboxed, context-isolated, without Node, with web security on', () => {
  const options = windowOptions('/app/dist/electron/preload.cjs', { width: 1200, height: 800 });
  const prefs = options.webPreferences!;
  assert.equal(prefs.preload, '/app/dist/electron/preload.cjs');
  assert.equal(prefs.contextIsolation, true);
  assert.equal(prefs.sandbox, true);
  assert.equal(prefs.nodeIntegration, false);
  assert.equal(prefs.nodeIntegrationInWorker, false);
  assert.equal(prefs.nodeIntegrationInSubFrames, false);
  assert.equal(prefs.webSecurity, true);
  assert.equal(prefs.allowRunningInsecureContent, false);
  assert.equal(prefs.webviewTag, false);
  assert.equal(prefs.experimentalFeatures, false);
  assert.equal(prefs.navigateOnDragDrop, false);
  assert.equal(options.show, false, 'shown when ready, not blank');
  // The scheme is a secure standard origin (so 'self' and same-origin rules apply), not a bypass of CSP.
  assert.equal(SCHEME_PRIVILEGES.privileges.secure, true);
  assert.equal(SCHEME_PRIVILEGES.privileges.standard, true);
  assert.equal('bypassCSP' in SCHEME_PRIVILEGES.privileges, false);
});

test('the Content-Security-Policy allows nothing but the app itself to run or connect', () => {
  const directives = new Map(CONTENT_SECURITY_POLICY.split(';').map((d) => {
    const [name, ...values] = d.trim().split(/\s+/);
    return [name, values] as const;
  }));
  assert.deepEqual(directives.get('default-src'), ["'self'"]);
  assert.deepEqual(directives.get('script-src'), ["'self'"], 'no inline scripts, no eval, no remote scripts');
  assert.deepEqual(directives.get('connect-src'), ["'self'"], 'the app talks to nothing but itself');
  assert.deepEqual(directives.get('object-src'), ["'none'"]);
  assert.deepEqual(directives.get('base-uri'), ["'none'"]);
  assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
  for (const [name, values] of directives) {
    assert.ok(!values.includes("'unsafe-eval'") && !values.includes('*') && !values.some((v) => v.startsWith('http')), `${name}: ${values.join(' ')}`);
  }
});

class FakeContents extends EventEmitter {
  openHandler: ((details: { url: string }) => { action: string }) | undefined;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }): void {
    this.openHandler = handler;
  }
}

function navigationEvent(url: string, isMainFrame = true) {
  const event = { url, isMainFrame, defaultPrevented: false, preventDefault: () => (event.defaultPrevented = true) };
  return event;
}

test('navigation, redirects, new windows and webviews are blocked; only safe web links leave, to the browser', () => {
  const contents = new FakeContents();
  const opened: string[] = [];
  hardenContents(contents as unknown as WebContents, (url) => opened.push(url));
  for (const url of ['https://example.com/', 'clearsky://app/other.html', 'file:///etc/passwd', 'javascript:alert(1)']) {
    const event = navigationEvent(url);
    contents.emit('will-navigate', event);
    assert.equal(event.defaultPrevented, true, url);
  }
  assert.deepEqual(opened, ['https://example.com/'], 'a link to a web page opens in the browser, nothing else');
  const frame = navigationEvent('https://example.com/', false);
  contents.emit('will-frame-navigate', frame);
  assert.equal(frame.defaultPrevented, true);
  const redirect = navigationEvent('https://evil.example/');
  contents.emit('will-redirect', redirect);
  assert.equal(redirect.defaultPrevented, true);
  const webview = navigationEvent('');
  contents.emit('will-attach-webview', webview);
  assert.equal(webview.defaultPrevented, true);

  assert.deepEqual(contents.openHandler!({ url: 'https://scihub.copernicus.eu/' }), { action: 'deny' });
  assert.deepEqual(contents.openHandler!({ url: 'file:///home/user/.ssh/id_rsa' }), { action: 'deny' });
  assert.deepEqual(opened, ['https://example.com/', 'https://scihub.copernicus.eu/']);
});

test('external links must be plain http(s) web addresses', () => {
  for (const url of ['https://dataspace.copernicus.eu/', 'http://example.org/a?b=c#d', 'https://www.mdpi.com/2072-4292/14/6/1342']) assert.equal(isSafeExternalUrl(url), true, url);
  for (const url of [
    'file:///etc/passwd',
    'javascript:alert(1)',
    'data:text/html,<script>1</script>',
    'smb://server/share',
    'ms-settings:privacy',
    'clearsky://app/index.html',
    'https://user:pass@example.com/',
    'http://localhost:8080/',
    'http://127.0.0.1/',
    'http://[::1]/',
    'http://192.168.1.1/admin',
    'http://printer.local/',
    'https://intranet/',
    `https://example.com/${'a'.repeat(3000)}`,
    'not a url',
    42,
  ]) {
    assert.equal(isSafeExternalUrl(url), false, String(url));
  }
});

test('every permission request and check is denied', () => {
  const handlers: Record<string, (...args: never[]) => unknown> = {};
  const session = {
    setPermissionRequestHandler: (h: (...args: never[]) => unknown) => (handlers.request = h),
    setPermissionCheckHandler: (h: (...args: never[]) => unknown) => (handlers.check = h),
    setDevicePermissionHandler: (h: (...args: never[]) => unknown) => (handlers.device = h),
  };
  denyPermissions(session as unknown as Session);
  for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal', 'fullscreen']) {
    let granted: boolean | undefined;
    (handlers.request as (c: unknown, p: string, cb: (g: boolean) => void) => void)(null, permission, (g) => (granted = g));
    assert.equal(granted, false, permission);
    assert.equal((handlers.check as (c: unknown, p: string) => boolean)(null, permission), false, permission);
  }
  assert.equal((handlers.device as () => boolean)(), false);
});

test('settings: recent projects, window place and roots survive restarts; a damaged file gives defaults', () => {
  const folder = path.join(dir, 'user-data');
  const fresh = loadSettings(folder);
  assert.deepEqual(fresh.recentProjects, []);
  assert.deepEqual(fresh.roots, []);
  let recent: string[] = [];
  for (let i = 0; i < 14; i++) recent = addRecent(recent, `/projects/p${i}`);
  recent = addRecent(recent, '/projects/p5');
  assert.equal(recent.length, MAX_RECENT);
  assert.equal(recent[0], '/projects/p5');
  assert.equal(new Set(recent).size, recent.length);
  saveSettings(folder, { recentProjects: recent, window: { x: 50, y: 60, width: 1000, height: 700, maximized: true }, roots: ['/data'] });
  const loaded = loadSettings(folder);
  assert.deepEqual(loaded.roots, ['/data']);
  assert.deepEqual(loaded.recentProjects, recent);
  assert.deepEqual(loaded.window, { x: 50, y: 60, width: 1000, height: 700, maximized: true });

  return fs.writeFile(path.join(folder, SETTINGS_FILE), '{"recentProjects": ["relative/path", 3, "/ok"], "window": {"width": -5, "height": "big", "x": 1e12, "y": 0}, "roots": ["rel", 1, "/mnt/data"]}').then(async () => {
    const odd = loadSettings(folder);
    assert.deepEqual(odd.recentProjects, ['/ok']);
    assert.deepEqual(odd.roots, ['/mnt/data']);
    assert.deepEqual(odd.window, { width: 1280, height: 800, maximized: false });
    await fs.writeFile(path.join(folder, SETTINGS_FILE), '{ truncated');
    assert.deepEqual(loadSettings(folder).recentProjects, []);
  });
});

test('the window reopens where it was, unless that display is gone', () => {
  const displays = [{ x: 0, y: 0, width: 1920, height: 1080 }];
  assert.deepEqual(restoreBounds({ x: 100, y: 100, width: 1000, height: 700, maximized: false }, displays), { x: 100, y: 100, width: 1000, height: 700 });
  // Saved on a second monitor that has been unplugged: same size, placed by the system.
  assert.deepEqual(restoreBounds({ x: 2500, y: 100, width: 1000, height: 700, maximized: false }, displays), { width: 1000, height: 700 });
  // Title bar above the screen: not reachable with the mouse.
  assert.deepEqual(restoreBounds({ x: 100, y: -500, width: 1000, height: 700, maximized: false }, displays), { width: 1000, height: 700 });
  // Bigger than the screen now: shrunk to it.
  assert.deepEqual(restoreBounds({ width: 4000, height: 3000, maximized: false }, displays), { width: 1920, height: 1080 });
  assert.deepEqual(restoreBounds({ x: 2000, y: 10, width: 800, height: 600, maximized: false }, [...displays, { x: 1920, y: 0, width: 1280, height: 1024 }]), { x: 2000, y: 10, width: 800, height: 600 });
});

test('npm start without the Electron binary: one line saying so and how to use browser mode', () => {
  assert.match(JSON.stringify(findElectronBinary(path.join(dir, 'no-such-repo'), {})), /the electron package is not installed/);
  assert.match(JSON.stringify(findElectronBinary(REPO_ROOT, { ELECTRON_OVERRIDE_DIST_PATH: path.join(dir, 'none') })), /has no Electron binary/);
  const found = findElectronBinary(REPO_ROOT, {});
  if ('binary' in found) return; // a machine with the binary launches the app instead; nothing to check here
  const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'electron', 'start.ts')], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, ELECTRON_OVERRIDE_DIST_PATH: '' } });
  assert.equal(run.status, 1);
  assert.equal(run.stdout, '');
  const lines = run.stderr.trim().split('\n');
  assert.equal(lines.length, 1, run.stderr);
  assert.match(lines[0], /^Clearsky: cannot start the desktop app: the Electron binary was not downloaded .*; use browser mode instead: npx clearsky serve --project DIR/);
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
});

test('npm start with native modules built for Node, not Electron: says how to rebuild them', () => {
  const problem = nativeModuleProblem(REPO_ROOT);
  // Here better-sqlite3 is built for this Node (the tests use it), whose ABI is not Electron 41's.
  assert.match(problem ?? '', new RegExp(`built for Node \\(ABI ${process.versions.modules}\\), Electron needs ABI \\d+: run \`npx electron-builder install-app-deps\``));
  assert.equal(nativeModuleProblem(path.join(dir, 'no-such-repo')), null);
});
