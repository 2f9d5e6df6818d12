/**
 * The `clearsky:` protocol handler (electron/protocol.ts) as Electron calls it — a Fetch `Request` in, a
 * `Response` out — on a real project folder created by the catalogue code, with a real Sentinel-2 GeoTIFF,
 * a file outside the project and symlinks that try to leave it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createProject } from '../../../native/catalogue/project.ts';
import { CONTENT_SECURITY_POLICY } from '../../../native/http/headers.ts';
import { createProtocolHandler } from '../../../electron/protocol.ts';
import { dataFile } from '../../helpers/data.ts';

let dir: string;
let project: string;
let other: string;
let renderer: string;
let scene: Buffer;
const SECRET = 'secret outside the project';

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-electron-protocol-'));
  project = path.join(dir, 'project');
  createProject(project).close();
  await fs.copyFile(dataFile('slovenia-2015', 'S2L1C_20150909.tif'), path.join(project, 'rasters', 'scene.tif'));
  scene = readFileSync(path.join(project, 'rasters', 'scene.tif'));
  await fs.mkdir(path.join(project, 'runs', '1'), { recursive: true });
  await fs.writeFile(path.join(project, 'runs', '1', 'result.tif'), 'II*\0result');
  await fs.writeFile(path.join(project, 'rasters', '.hidden.tif'), 'hidden');
  await fs.writeFile(path.join(dir, 'outside.tif'), SECRET);
  await fs.mkdir(path.join(dir, 'outside-folder'));
  await fs.writeFile(path.join(dir, 'outside-folder', 'x.tif'), SECRET);
  await fs.symlink(path.join(dir, 'outside.tif'), path.join(project, 'rasters', 'link.tif'));
  await fs.symlink(path.join(dir, 'outside-folder'), path.join(project, 'rasters', 'linked-folder'));
  other = path.join(dir, 'other');
  createProject(other).close();
  await fs.writeFile(path.join(other, 'rasters', 'only-in-other.tif'), 'other project');
  renderer = path.join(dir, 'renderer');
  await fs.mkdir(path.join(renderer, 'assets'), { recursive: true });
  await fs.writeFile(path.join(renderer, 'index.html'), '<!doctype html><title>Clearsky</title>');
  await fs.writeFile(path.join(renderer, 'assets', 'app.js'), 'console.log(1)');
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const handler = () => createProtocolHandler({ rendererDir: renderer, projectDir: () => project });

test('rasters of the open project, whole and by Range, with the CSP on every answer', async () => {
  const get = handler();
  const whole = await get(new Request('clearsky://app/rasters/rasters/scene.tif'));
  assert.equal(whole.status, 200);
  assert.equal(whole.headers.get('content-type'), 'image/tiff');
  assert.equal(whole.headers.get('accept-ranges'), 'bytes');
  assert.equal(whole.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
  assert.equal(whole.headers.get('x-content-type-options'), 'nosniff');
  assert.deepEqual(Buffer.from(await whole.arrayBuffer()), scene);

  const part = await get(new Request('clearsky://app/rasters/rasters/scene.tif', { headers: { Range: 'bytes=100-1099' } }));
  assert.equal(part.status, 206);
  assert.equal(part.headers.get('content-range'), `bytes 100-1099/${scene.length}`);
  assert.equal(part.headers.get('content-length'), '1000');
  assert.deepEqual(Buffer.from(await part.arrayBuffer()), scene.subarray(100, 1100));

  const suffix = await get(new Request('clearsky://app/rasters/rasters/scene.tif', { headers: { Range: 'bytes=-16' } }));
  assert.equal(suffix.status, 206);
  assert.deepEqual(Buffer.from(await suffix.arrayBuffer()), scene.subarray(scene.length - 16));

  const past = await get(new Request('clearsky://app/rasters/rasters/scene.tif', { headers: { Range: `bytes=${scene.length}-` } }));
  assert.equal(past.status, 416);
  assert.equal(past.headers.get('content-range'), `bytes */${scene.length}`);

  const head = await get(new Request('clearsky://app/rasters/runs/1/result.tif', { method: 'HEAD' }));
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-length'), '10');
  assert.equal((await head.arrayBuffer()).byteLength, 0);

  const post = await get(new Request('clearsky://app/rasters/rasters/scene.tif', { method: 'POST', body: 'x' }));
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
});

test('refuses every path outside the project’s rasters/ and runs/ folders', async () => {
  const get = handler();
  const refused = [
    'clearsky://app/rasters/project.sqlite',
    'clearsky://app/rasters/rasters/%2e%2e/project.sqlite',
    'clearsky://app/rasters/rasters/..%2fproject.sqlite',
    'clearsky://app/rasters/rasters/..%2Foutside.tif',
    'clearsky://app/rasters/rasters/%252e%252e/project.sqlite',
    'clearsky://app/rasters/rasters/..%5c..%5coutside.tif',
    'clearsky://app/rasters/rasters/%2Fetc%2Fpasswd',
    'clearsky://app/rasters/rasters/C%3A%5CWindows%5Cwin.ini',
    'clearsky://app/rasters/runs/..%2F..%2Foutside.tif',
    'clearsky://app/rasters/rasters/link.tif',
    'clearsky://app/rasters/rasters/linked-folder/x.tif',
    'clearsky://app/rasters/rasters/.hidden.tif',
    'clearsky://app/rasters/rasters/scene.tif%00.png',
    'clearsky://app/rasters/rasters/',
    'clearsky://app/rasters/rasters',
    'clearsky://app/rasters/rasters/missing.tif',
    'clearsky://app/rasters/rasters/only-in-other.tif',
    'clearsky://app/rasters/outside.tif',
    'clearsky://other-host/rasters/rasters/scene.tif',
  ];
  for (const url of refused) {
    const response = await get(new Request(url));
    assert.ok(response.status === 400 || response.status === 404, `${url}: ${response.status}`);
    const body = await response.text();
    assert.ok(!body.includes(SECRET) && !body.includes('SQLite'), url);
  }
  // The literal `..` never gets this far: URL parsing resolves it, and what is left is checked as above.
  const dotted = await get(new Request('clearsky://app/rasters/rasters/../../outside.tif'));
  assert.equal(dotted.status, 404);
});

test('confined to the project open at the time of the request; nothing without one', async () => {
  let current: string | null = null;
  const get = createProtocolHandler({ projectDir: () => current });
  assert.equal((await get(new Request('clearsky://app/rasters/rasters/scene.tif'))).status, 404);
  current = other;
  assert.equal((await get(new Request('clearsky://app/rasters/rasters/scene.tif'))).status, 404);
  assert.equal(await (await get(new Request('clearsky://app/rasters/rasters/only-in-other.tif'))).text(), 'other project');
  current = project;
  assert.equal((await get(new Request('clearsky://app/rasters/rasters/scene.tif'))).status, 200);
  assert.equal((await get(new Request('clearsky://app/rasters/rasters/only-in-other.tif'))).status, 404);
});

test('the app itself: index.html for the app’s routes, its assets, nothing outside the renderer folder', async () => {
  const get = handler();
  const index = await get(new Request('clearsky://app/'));
  assert.equal(index.status, 200);
  assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.equal(index.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
  assert.match(await index.text(), /<title>Clearsky<\/title>/);
  assert.match(await (await get(new Request('clearsky://app/projects/3?x=1'))).text(), /<title>Clearsky/);
  const script = await get(new Request('clearsky://app/assets/app.js'));
  assert.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8');
  for (const url of ['clearsky://app/..%2Foutside.tif', 'clearsky://app/assets/..%2F..%2Foutside.tif', 'clearsky://app/assets/missing.js']) {
    const response = await get(new Request(url));
    assert.ok(response.status === 400 || response.status === 404, url);
  }
  const withoutRenderer = createProtocolHandler({ projectDir: () => project });
  assert.equal((await withoutRenderer(new Request('clearsky://app/index.html'))).status, 404);
});
