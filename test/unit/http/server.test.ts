/**
 * Browser mode's transport (native/http/server.ts and native/http/client.ts): a real server on a free port of
 * 127.0.0.1, real HTTP requests (fetch, and raw sockets for paths fetch would normalise), a temporary project
 * folder with a real GeoTIFF, and an in-test API that records its calls (the transport is under test, not
 * the service). The transport's tests send the server's token in a header, as programs do; the tests of
 * the token itself send it every way (or not at all).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fromArrayBuffer, fromUrl } from 'geotiff';
import type { ApiEvent, ClearskyApi, MaskRecord, ProjectInfo, RefRecord, RunRecord } from '../../../native/api/contract.ts';
import { InputError } from '../../../native/errors.ts';
import { createHttpClient, HttpApiError, readServerSentEvents } from '../../../native/http/client.ts';
import { parseRange } from '../../../native/http/files.ts';
import { CONTENT_SECURITY_POLICY } from '../../../native/http/headers.ts';
import { startServer, type RunningServer } from '../../../native/http/server.ts';
import { dataFile } from '../../helpers/data.ts';

const SECRET = 'SQLite format 3 -- the catalogue must never be served';

/** A ClearskyApi that records every call and answers from a table; `fail` makes the next call throw. */
class RecordingApi implements ClearskyApi {
  calls: { name: string; args: unknown[] }[] = [];
  listeners = new Set<(event: ApiEvent) => void>();
  fail: Error | undefined;

  private answer<T>(name: string, args: unknown[], value: T): Promise<T> {
    this.calls.push({ name, args });
    const error = this.fail;
    this.fail = undefined;
    return error ? Promise.reject(error) : Promise.resolve(value);
  }
  project = () => this.answer('project', [], PROJECT);
  listScenes = () => this.answer('listScenes', [], []);
  listRefs = () => this.answer('listRefs', [], []);
  listMasks = () => this.answer('listMasks', [], []);
  importFiles: ClearskyApi['importFiles'] = (request) =>
    this.answer('importFiles', [request], request.paths.map((p) => ({ path: p, status: 'failed' as const, error: 'not a raster' })));
  importFolder: ClearskyApi['importFolder'] = (request) => this.answer('importFolder', [request], { outcomes: [], cancelled: false, notImported: [] });
  runCloudyDates: ClearskyApi['runCloudyDates'] = (request) => this.answer('runCloudyDates', [request], { batch: 'b', reference: null, runs: [], dates: [] });
  cancelBatch: ClearskyApi['cancelBatch'] = (request) => this.answer('cancelBatch', [request], []);
  buildReference: ClearskyApi['buildReference'] = (request) => this.answer('buildReference', [request], REF);
  startRun: ClearskyApi['startRun'] = (request) => this.answer('startRun', [request], run(7));
  listRuns = () => this.answer('listRuns', [], [run(1), run(2)]);
  getRun: ClearskyApi['getRun'] = (runId) => this.answer('getRun', [runId], { ...run(runId), tileList: [] });
  runLossCurves: ClearskyApi['runLossCurves'] = (request) => this.answer('runLossCurves', [request], { runId: request.runId, tiles: [] });
  cancelRun: ClearskyApi['cancelRun'] = (runId) => this.answer('cancelRun', [runId], { ...run(runId), status: 'cancelled' });
  setSceneDate: ClearskyApi['setSceneDate'] = (request) => this.answer('setSceneDate', [request], { id: request.sceneId, name: 's', file: 'rasters/s.tif', sensor: 'S2', level: null, acquired: request.date, bands: [], grid: MASK.grid, dataType: 'uint16', nodata: null, units: null, cloudCover: null, importedAt: '2024-01-01T00:00:00.000Z' });
  resumeRun: ClearskyApi['resumeRun'] = (runId) => this.answer('resumeRun', [runId], { ...run(runId), status: 'running' });
  deleteRun: ClearskyApi['deleteRun'] = (runId) => this.answer('deleteRun', [runId], { runId });
  renameItem: ClearskyApi['renameItem'] = (request) => this.answer('renameItem', [request], { ...request });
  dependents: ClearskyApi['dependents'] = (request) => this.answer('dependents', [request], { runs: [], references: [], masks: [] });
  deleteItem: ClearskyApi['deleteItem'] = (request) => this.answer('deleteItem', [request], { ...request });
  finishRun: ClearskyApi['finishRun'] = (runId) => this.answer('finishRun', [runId], { ...run(runId), status: 'running' });
  exportResult: ClearskyApi['exportResult'] = (request) => this.answer('exportResult', [request], { path: request.destination });
  runReport: ClearskyApi['runReport'] = (request) => this.answer('runReport', [request], { path: request.destination });
  openProject: ClearskyApi['openProject'] = (request) => this.answer('openProject', [request], { ...PROJECT, dir: request.dir });
  previewTiles: ClearskyApi['previewTiles'] = (request) =>
    this.answer('previewTiles', [request], [{ index: 0, window: { x: 0, y: 0, width: 256, height: 256 }, state: 'cloudy' as const, cloudFraction: 0.25 }]);
  inspectPixel: ClearskyApi['inspectPixel'] = (request) =>
    this.answer('inspectPixel', [request], { column: 3, row: 4, layers: [{ kind: 'scene' as const, label: 'scene', bands: [{ name: 'B04', value: 1234 }] }] });
  editMask: ClearskyApi['editMask'] = (request) => this.answer('editMask', [request], MASK);
  detectMask: ClearskyApi['detectMask'] = (request) => this.answer('detectMask', [request], MASK);
  previewDetection: ClearskyApi['previewDetection'] = (request) =>
    this.answer('previewDetection', [request], { sceneId: request.sceneId, area: { x: 0, y: 0, width: 8, height: 8 }, pixels: 0, cover: 0, outline: { type: 'FeatureCollection' as const, features: [] }, description: {} });
  backends = () => this.answer('backends', [], { detected: 'native', available: ['native', 'wasm', 'cpu'] });
  setQueue: ClearskyApi['setQueue'] = (request) => this.answer('setQueue', [request], { ...PROJECT, queue: request.url });
  cancelTask: ClearskyApi['cancelTask'] = (taskId) => this.answer('cancelTask', [taskId], { taskId, cancelled: true });
  subscribe(listener: (event: ApiEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(event: ApiEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

const MASK: MaskRecord = {
  id: 9, name: 'drawn', file: 'rasters/m.tif', band: 1, source: 'drawn', sceneId: 1, acquired: null, version: 2, parameters: { parent: 3 },
  grid: { width: 4, height: 4, epsg: null, crs: null, geoTransform: null, bounds: null }, cloudCover: 0.5, outlineFile: null, sourceFile: null, createdAt: '2024-01-01T00:00:00.000Z',
};
const REF: RefRecord = {
  id: 4, name: 'mean', file: 'rasters/references/mean.tif', method: 'static', date: null, bands: ['B04'], sceneIds: [1, 2],
  grid: { width: 4, height: 4, epsg: null, crs: null, geoTransform: null, bounds: null }, createdAt: '2024-01-01T00:00:00.000Z',
};
const PROJECT: ProjectInfo = { dir: '/p', name: 'p', createdAt: '2024-01-01T00:00:00.000Z', schemaVersion: 1 };
function run(id: number): RunRecord {
  return {
    id, name: null, status: 'queued', backend: null, error: null, createdAt: '2024-01-01T00:00:00.000Z', startedAt: null, finishedAt: null,
    request: { targetSceneId: 1, maskId: 2, method: 'dip', mode: 'basic', steps: 10, seeds: [0], stitch: true, tileSize: 256, overlap: 32, backend: 'auto', groundTruth: false },
    tiles: { total: 0, pending: 0, running: 0, done: 0, failed: 0, clear: 0 }, results: [], metrics: null,
  };
}

interface RawAnswer { status: number; headers: Record<string, string>; body: Buffer }

let token = '';
/** fetch with the server's token (as a program sends it), unless the test gives its own `X-Clearsky-Token`. */
function fetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
  return globalThis.fetch(input, { ...init, headers: { 'X-Clearsky-Token': token, ...(init.headers as Record<string, string> | undefined) } });
}

/** Sends `request` (a request line, headers and body, unaltered) over a socket and reads the answer. */
function raw(port: number, request: string | Buffer): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const all = Buffer.concat(chunks);
      const split = all.indexOf('\r\n\r\n');
      const head = all.subarray(0, split).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(head[0].split(' ')[1]), headers, body: all.subarray(split + 4) });
    });
    // Not end(): a half-closed socket makes Node's server drop the request; `Connection: close` ends it.
    socket.write(request);
  });
}

function rawGet(port: number, target: string, host = `127.0.0.1:${port}`): Promise<RawAnswer> {
  return raw(port, `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`);
}

/** A request through node:http with headers fetch will not let us set (Host), carrying the token. */
function nodeRequest(port: number, options: http.RequestOptions, body?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return rawRequest(port, { ...options, headers: { 'X-Clearsky-Token': token, ...options.headers } }, body);
}

/** A request through node:http with exactly the headers given. */
function rawRequest(port: number, options: http.RequestOptions, body?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, ...options }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function until(condition: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

let dir: string;
let project: string;
let staticDir: string;
let tiff: Buffer;
let api: RecordingApi;
let server: RunningServer;
let base: string;
const logged: string[] = [];

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-server-'));
  project = path.join(dir, 'project');
  staticDir = path.join(dir, 'renderer');
  await fs.mkdir(path.join(project, 'rasters'), { recursive: true });
  await fs.mkdir(path.join(project, 'runs', '3'), { recursive: true });
  await fs.mkdir(path.join(staticDir, 'assets'), { recursive: true });
  await fs.copyFile(dataFile('scotland-2020', 'S2L2A_mean_2019_B04B03B02.tif'), path.join(project, 'rasters', 'scene.tif'));
  await fs.copyFile(dataFile('scotland-2020', 'cloudmask.tif'), path.join(project, 'rasters', 'cloudmask.tif'));
  await fs.chmod(path.join(project, 'rasters', 'scene.tif'), 0o644);
  tiff = await fs.readFile(path.join(project, 'rasters', 'scene.tif'));
  await fs.writeFile(path.join(project, 'project.sqlite'), SECRET);
  await fs.writeFile(path.join(project, 'runs', '3', 'outline.geojson'), '{"type":"FeatureCollection","features":[]}');
  await fs.writeFile(path.join(project, 'rasters', '.scene.tif.1-ab.tmp'), SECRET);
  await fs.writeFile(path.join(project, 'rasters', 'empty.tif'), '');
  await fs.symlink('/etc/passwd', path.join(project, 'rasters', 'passwd.tif'));
  await fs.symlink('../project.sqlite', path.join(project, 'rasters', 'catalogue.tif'));
  await fs.symlink('/etc', path.join(project, 'rasters', 'etc'));
  await fs.writeFile(path.join(staticDir, 'index.html'), '<!doctype html><title>Clearsky</title><script type="module" src="/assets/app.js"></script>');
  await fs.writeFile(path.join(staticDir, 'assets', 'app.js'), 'console.log("clearsky");');
  api = new RecordingApi();
  server = await startServer({ api, projectDir: project, port: 0, staticDir, heartbeatMs: 100, log: (line) => logged.push(line) });
  base = server.origin;
  token = server.token;
});
after(async () => {
  await server?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

const post = (command: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(new URL(`api/${command}`, base), { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

test('listens on 127.0.0.1 only, on the free port it was given; its address carries the token', async () => {
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43}$/);
  assert.equal(server.origin, `http://127.0.0.1:${server.port}/`);
  assert.equal(new URL(server.url).searchParams.get('token'), server.token);
  assert.ok(server.port > 0);
  assert.equal(new URL(server.url).port, String(server.port));
  const local = (await rawGet(server.port, '/api/nothing', `localhost:${server.port}`)).status;
  assert.equal(local, 404, 'localhost:<port> is accepted as a Host');
});

describe('the project rasters', () => {
  const url = () => new URL('rasters/rasters/scene.tif', base);

  test('a whole GeoTIFF, byte-exact, with its type, length, validators and no CORS', async () => {
    const response = await fetch(url());
    assert.equal(response.status, 200);
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), tiff);
    assert.equal(response.headers.get('content-type'), 'image/tiff');
    assert.equal(response.headers.get('content-length'), String(tiff.length));
    assert.equal(response.headers.get('accept-ranges'), 'bytes');
    assert.match(response.headers.get('etag')!, /^"[0-9a-f-]+"$/);
    assert.ok(response.headers.get('last-modified'));
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(response.headers.get('access-control-allow-origin'), null);
  });

  test('single ranges answer 206 with the exact bytes and Content-Range', async () => {
    const size = tiff.length;
    const cases: [string, number, number][] = [
      ['bytes=0-7', 0, 7],
      ['bytes=100-1123', 100, 1123],
      [`bytes=${size - 10}-`, size - 10, size - 1],
      ['bytes=-500', size - 500, size - 1],
      [`bytes=1000-${size + 5000}`, 1000, size - 1],
      [`bytes=-${size + 10}`, 0, size - 1],
    ];
    for (const [range, start, end] of cases) {
      const response = await fetch(url(), { headers: { Range: range } });
      assert.equal(response.status, 206, range);
      assert.equal(response.headers.get('content-range'), `bytes ${start}-${end}/${size}`, range);
      assert.equal(response.headers.get('content-length'), String(end - start + 1), range);
      assert.deepEqual(Buffer.from(await response.arrayBuffer()), tiff.subarray(start, end + 1), range);
    }
  });

  test('several ranges answer one 206 spanning them all; unsatisfiable ones 416; bad syntax the whole file', async () => {
    const size = tiff.length;
    const multi = await fetch(url(), { headers: { Range: 'bytes=10-19, 500-599, 30-39' } });
    assert.equal(multi.status, 206);
    assert.equal(multi.headers.get('content-range'), `bytes 10-599/${size}`);
    assert.deepEqual(Buffer.from(await multi.arrayBuffer()), tiff.subarray(10, 600));
    for (const range of [`bytes=${size}-`, `bytes=${size + 1}-${size + 9}`, 'bytes=-0']) {
      const response = await fetch(url(), { headers: { Range: range } });
      assert.equal(response.status, 416, range);
      assert.equal(response.headers.get('content-range'), `bytes */${size}`, range);
      await response.arrayBuffer();
    }
    for (const range of ['bytes=9-3', 'bytes=abc', 'pages=1-2', 'bytes=-']) {
      const response = await fetch(url(), { headers: { Range: range } });
      assert.equal(response.status, 200, range);
      assert.equal((await response.arrayBuffer()).byteLength, size, range);
    }
    const empty = await fetch(new URL('rasters/rasters/empty.tif', base), { headers: { Range: 'bytes=0-' } });
    assert.equal(empty.status, 416);
    await empty.arrayBuffer();
  });

  test('parseRange reads the forms of RFC 9110', () => {
    assert.deepEqual(parseRange(undefined, 100), { kind: 'whole' });
    assert.deepEqual(parseRange('bytes=0-0', 100), { kind: 'part', start: 0, end: 0 });
    assert.deepEqual(parseRange('bytes=-1', 100), { kind: 'part', start: 99, end: 99 });
    assert.deepEqual(parseRange('bytes=200-, 50-60', 100), { kind: 'part', start: 50, end: 60 });
    assert.deepEqual(parseRange('bytes=200-', 100), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=-5', 0), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=1-2-3', 100), { kind: 'whole' });
  });

  test('HEAD gives the headers without the body', async () => {
    const response = await fetch(url(), { method: 'HEAD' });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-length'), String(tiff.length));
    assert.equal((await response.arrayBuffer()).byteLength, 0);
    const ranged = await nodeRequest(server.port, { method: 'HEAD', path: '/rasters/rasters/scene.tif', headers: { Range: 'bytes=0-99' } });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers['content-length'], '100');
    assert.equal(ranged.body, '');
  });

  test('conditional requests: If-None-Match and If-Modified-Since answer 304; a stale If-Range the whole file', async () => {
    const first = await fetch(url(), { method: 'HEAD' });
    const etag = first.headers.get('etag')!;
    const lastModified = first.headers.get('last-modified')!;
    const cached = await fetch(url(), { headers: { 'If-None-Match': etag } });
    assert.equal(cached.status, 304);
    assert.equal(cached.headers.get('etag'), etag);
    assert.equal((await cached.arrayBuffer()).byteLength, 0);
    assert.equal((await fetch(url(), { headers: { 'If-None-Match': `"other", W/${etag}` } })).status, 304);
    assert.equal((await fetch(url(), { headers: { 'If-Modified-Since': lastModified } })).status, 304);
    const changed = await fetch(url(), { headers: { 'If-None-Match': '"other"' } });
    assert.equal(changed.status, 200);
    await changed.arrayBuffer();
    const sameRange = await fetch(url(), { headers: { Range: 'bytes=0-9', 'If-Range': etag } });
    assert.equal(sameRange.status, 206);
    await sameRange.arrayBuffer();
    const staleRange = await fetch(url(), { headers: { Range: 'bytes=0-9', 'If-Range': '"stale"' } });
    assert.equal(staleRange.status, 200);
    assert.equal((await staleRange.arrayBuffer()).byteLength, tiff.length);
  });

  test('run outputs under runs/ are served, GeoJSON as application/geo+json', async () => {
    const response = await fetch(new URL('rasters/runs/3/outline.geojson', base));
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/geo+json');
    assert.deepEqual(await response.json(), { type: 'FeatureCollection', features: [] });
  });

  test('geotiff.js (what OpenLayers uses) reads the raster over HTTP with ranges, identical to the file', async () => {
    const remote = await (await fromUrl(url().href, { allowFullFile: false, headers: { Authorization: `Bearer ${token}` } })).getImage();
    const local = await (await fromArrayBuffer(new Uint8Array(tiff).buffer)).getImage();
    assert.equal(remote.getWidth(), local.getWidth());
    const window = [10, 20, 74, 84];
    const [a, b] = await Promise.all([remote.readRasters({ window }), local.readRasters({ window })]);
    assert.equal(a.length, 3);
    for (let band = 0; band < a.length; band++) assert.deepEqual(Array.from(a[band] as Uint16Array), Array.from(b[band] as Uint16Array));
  });

  test('never serves a path outside rasters/ and runs/: traversal, encodings, backslashes, NUL, symlinks', async () => {
    const attempts = [
      '/rasters/../project.sqlite',
      '/rasters/rasters/../../project.sqlite',
      '/rasters/rasters/../project.sqlite',
      '/rasters/%2e%2e/project.sqlite',
      '/rasters/%2E%2E/project.sqlite',
      '/rasters/rasters/%2e%2e/%2e%2e/project.sqlite',
      '/rasters/rasters/.%2e/project.sqlite',
      '/rasters/%252e%252e/project.sqlite',
      '/rasters/rasters/%252e%252e%252fproject.sqlite',
      '/rasters/%25252e%25252e/project.sqlite',
      '/rasters/..%2fproject.sqlite',
      '/rasters/rasters%2f..%2f..%2fproject.sqlite',
      '/rasters/rasters/..%5c..%5cproject.sqlite',
      '/rasters/rasters/..%255c..%255cproject.sqlite',
      '/rasters/rasters\\..\\..\\project.sqlite',
      '/rasters/rasters/%c0%ae%c0%ae/project.sqlite',
      '/rasters/project.sqlite',
      '/rasters/rasters/scene.tif%00/../../project.sqlite',
      '/rasters/rasters/%00',
      '/rasters/%2fetc%2fpasswd',
      '/rasters//etc/passwd',
      '/rasters/rasters//etc/passwd',
      '/rasters/rasters/passwd.tif',
      '/rasters/rasters/catalogue.tif',
      '/rasters/rasters/etc/passwd',
      '/rasters/rasters/.scene.tif.1-ab.tmp',
      '/rasters/rasters/C:%5cWindows%5cwin.ini',
      '/rasters/rasters',
      '/rasters/runs/3',
      '/rasters/',
      '/../project.sqlite',
      '/%2e%2e/project/project.sqlite',
      '/..%2fproject%2fproject.sqlite',
      '/assets/..%2f..%2fproject%2fproject.sqlite',
      'http://127.0.0.1/rasters/../project.sqlite',
    ];
    for (const target of attempts) {
      const answer = await rawGet(server.port, target);
      assert.ok([400, 404].includes(answer.status), `${target} answered ${answer.status}`);
      const text = answer.body.toString('latin1');
      assert.ok(!text.includes('SQLite') && !text.includes('root:'), `${target} leaked a file`);
    }
    const nul = await raw(server.port, Buffer.concat([Buffer.from('GET /rasters/rasters/scene.tif'), Buffer.from([0]), Buffer.from('/../../project.sqlite HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')]));
    assert.equal(nul.status, 400);
  });

  test('only GET and HEAD', async () => {
    const response = await fetch(url(), { method: 'PUT', body: 'x' });
    assert.equal(response.status, 405);
    assert.equal(response.headers.get('allow'), 'GET, HEAD');
  });
});

describe('the API over HTTP', () => {
  test('a command answers its result as JSON and the API gets the validated arguments', async () => {
    api.calls = [];
    const response = await post('startRun', [{ targetSceneId: 1, maskId: 2, steps: 10, unknownKey: true }]);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.deepEqual(await response.json(), run(7));
    assert.equal(api.calls.length, 1);
    assert.equal(api.calls[0].name, 'startRun');
    const request = api.calls[0].args[0] as Record<string, unknown>;
    assert.equal(request.steps, 10);
    assert.equal(request.mode, 'basic', 'defaults applied');
    assert.ok(!('unknownKey' in request), 'unknown keys dropped');
    const noArgs = await fetch(new URL('api/project', base), { method: 'POST', headers: { 'Content-Type': 'application/json' } });
    assert.deepEqual(await noArgs.json(), PROJECT, 'an empty body is no arguments');
  });

  test('invalid arguments answer 400 naming the argument and the problem, and never reach the API', async () => {
    api.calls = [];
    const cases: [string, unknown, RegExp][] = [
      ['startRun', [{ targetSceneId: 'one', maskId: 2 }], /^startRun: argument 1 \(targetSceneId\): .*expected number/],
      ['startRun', [{ targetSceneId: 1, maskId: 2, seeds: [1, -1] }], /argument 1 \(seeds\[1\]\): .*>=0/],
      ['getRun', [], /^getRun takes 1 argument, got 0$/],
      ['project', [1], /^project takes 0 arguments, got 1$/],
      ['getRun', { runId: 1 }, /the body must be a JSON array/],
      ['cancelRun', [1.5], /argument 1: .*int/i],
      ['importFiles', [{ paths: [] }], /argument 1 \(paths\): .*>=1/],
    ];
    for (const [command, body, message] of cases) {
      const response = await post(command, body);
      assert.equal(response.status, 400, command);
      const { error } = (await response.json()) as { error: string };
      assert.match(error, message);
    }
    const notJson = await post('getRun', '[1,');
    assert.equal(notJson.status, 400);
    assert.match(((await notJson.json()) as { error: string }).error, /^the body is not JSON/);
    assert.equal(api.calls.length, 0);
  });

  test("the API's InputError answers 422 with its message; other errors 500 without the stack", async () => {
    api.fail = new InputError('scene.tif', 'is not a GeoTIFF');
    const input = await post('importFiles', [{ paths: ['scene.tif'] }]);
    assert.equal(input.status, 422);
    assert.deepEqual(await input.json(), { error: 'scene.tif: is not a GeoTIFF' });
    logged.length = 0;
    api.fail = new Error('database is locked');
    const failure = await post('listRuns', []);
    assert.equal(failure.status, 500);
    const { error } = (await failure.json()) as { error: string };
    assert.match(error, /^listRuns failed: database is locked/);
    assert.ok(!error.includes('at '), 'no stack in the answer');
    assert.match(logged.join('\n'), /database is locked\n\s+at /, 'the stack goes to the log');
  });

  test('unknown commands 404 (prototype names too), GET on a command 405, other bodies 415 and 413', async () => {
    for (const name of ['nothing', 'subscribe', '__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      const response = await post(name, []);
      assert.equal(response.status, 404, name);
      assert.match(((await response.json()) as { error: string }).error, /unknown command/);
    }
    const get = await fetch(new URL('api/listScenes', base));
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    await get.arrayBuffer();
    const text = await fetch(new URL('api/listScenes', base), { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '[]' });
    assert.equal(text.status, 415);
    await text.arrayBuffer();
    const big = await post('importFiles', JSON.stringify([{ paths: ['x'.repeat(1024 * 1024)] }]));
    assert.equal(big.status, 413);
    await big.arrayBuffer();
    const chunked = await nodeRequest(server.port, { method: 'POST', path: '/api/importFiles', headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' } },
      JSON.stringify([{ paths: ['y'.repeat(1024 * 1024 + 10)] }]));
    assert.equal(chunked.status, 413);
  });

  test('a Host other than 127.0.0.1:<port> or localhost:<port> is refused (DNS rebinding)', async () => {
    for (const host of ['evil.example', `evil.example:${server.port}`, '127.0.0.1', `127.0.0.1:${server.port + 1}`, `0.0.0.0:${server.port}`]) {
      const answer = await nodeRequest(server.port, { method: 'GET', path: '/rasters/rasters/scene.tif', headers: { Host: host } });
      assert.equal(answer.status, 403, host);
      assert.ok(answer.body.length < 200);
    }
    const noHost = await raw(server.port, 'GET /api/events HTTP/1.0\r\n\r\n');
    assert.equal(noHost.status, 403);
  });

  test('cross-origin and cross-site requests are refused; our own origin is accepted; no CORS headers', async () => {
    api.calls = [];
    const evil = await post('cancelRun', [1], { Origin: 'http://localhost:3000' });
    assert.equal(evil.status, 403);
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
    await evil.arrayBuffer();
    for (const origin of ['null', `http://127.0.0.1:${server.port}.evil.example`, `https://127.0.0.1:${server.port}`]) {
      const response = await post('cancelRun', [1], { Origin: origin });
      assert.equal(response.status, 403, origin);
      await response.arrayBuffer();
    }
    const site = await fetch(new URL('rasters/rasters/scene.tif', base), { headers: { 'Sec-Fetch-Site': 'cross-site' } });
    assert.equal(site.status, 403);
    await site.arrayBuffer();
    assert.equal(api.calls.length, 0);
    const own = await post('cancelRun', [1], { Origin: `http://127.0.0.1:${server.port}`, 'Sec-Fetch-Site': 'same-origin' });
    assert.equal(own.status, 200);
    assert.equal(((await own.json()) as RunRecord).status, 'cancelled');
    const preflight = await fetch(new URL('api/cancelRun', base), { method: 'OPTIONS', headers: { Origin: 'http://localhost:3000' } });
    assert.equal(preflight.status, 403);
    assert.equal(preflight.headers.get('access-control-allow-origin'), null);
    await preflight.arrayBuffer();
  });
});

describe('events', () => {
  /** Opens the stream and collects its raw text until aborted. */
  function open(): { text: () => string; events: { event: string; data: string }[]; abort: () => void; done: Promise<void> } {
    const controller = new AbortController();
    let text = '';
    const events: { event: string; data: string }[] = [];
    const done = (async () => {
      const response = await fetch(new URL('api/events', base), { signal: controller.signal });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
      const [a, b] = response.body!.tee();
      const collect = (async () => {
        const decoder = new TextDecoder();
        for await (const chunk of a) text += decoder.decode(chunk, { stream: true });
      })();
      await Promise.all([readServerSentEvents(b, (event) => events.push(event)), collect]);
    })().catch((error: unknown) => {
      if (!controller.signal.aborted) throw error;
    });
    return { text: () => text, events, abort: () => controller.abort(), done };
  }

  test('clients receive the events emitted after they subscribe, in order, named by type; heartbeats keep them open', async () => {
    const before = api.listeners.size;
    const first = open();
    const second = open();
    await until(() => api.listeners.size === before + 2, 'two subscriptions');
    const sent: ApiEvent[] = [
      { type: 'run', run: run(5) },
      { type: 'progress', runId: 5, tileIndex: 0, step: 1, steps: 10, loss: 0.5, etaSeconds: null, runEtaSeconds: null },
      { type: 'tile', runId: 5, tile: { runId: 5, index: 0, window: { x: 0, y: 0, width: 256, height: 256 }, status: 'done', attempts: 1, loss: 0.1, spread: null, seconds: 2, error: null, resultFile: 'runs/5/tiles/tile-r0-c0.tif', metrics: null } },
    ];
    for (const event of sent) api.emit(event);
    for (const client of [first, second]) {
      await until(() => client.events.length === 3, 'three events');
      assert.deepEqual(client.events.map((e) => e.event), ['run', 'progress', 'tile']);
      assert.deepEqual(client.events.map((e) => JSON.parse(e.data) as ApiEvent), sent);
    }
    await until(() => /: ping\n\n/.test(first.text()), 'a heartbeat');
    first.abort();
    await until(() => api.listeners.size === before + 1, 'the first client to be unsubscribed');
    api.emit(sent[0]);
    await until(() => second.events.length === 4, 'the fourth event on the second client');
    second.abort();
    await until(() => api.listeners.size === before, 'the second client to be unsubscribed');
    await Promise.all([first.done, second.done]);
    const post = await fetch(new URL('api/events', base), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '[]' });
    assert.equal(post.status, 405);
    await post.arrayBuffer();
  });

  test('the event-stream parser handles CRLF split across chunks, multi-line data and comments', async () => {
    const chunks = [': hello\r', '\nevent: run\r\ndata: {"a":', '1}\r', '\ndata: x\r', '\n\r', '\ndata: plain\n\n', 'data: unterminated'];
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
        controller.close();
      },
    });
    const events: { event: string; data: string }[] = [];
    await readServerSentEvents(body, (event) => events.push(event));
    assert.deepEqual(events, [{ event: 'run', data: '{"a":1}\nx' }, { event: 'message', data: 'plain' }]);
  });
});

describe('the renderer', () => {
  test('index.html with the strict CSP and the other security headers; assets; routes fall back to index.html', async () => {
    for (const target of ['', 'index.html', 'runs/3', 'catalogue']) {
      const response = await fetch(new URL(target, base));
      assert.equal(response.status, 200, target);
      assert.equal(response.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.equal(response.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
      assert.match(CONTENT_SECURITY_POLICY, /default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'/);
      assert.match(CONTENT_SECURITY_POLICY, /frame-ancestors 'none'/);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(response.headers.get('referrer-policy'), 'no-referrer');
      assert.equal(response.headers.get('cross-origin-opener-policy'), 'same-origin');
      assert.equal(response.headers.get('access-control-allow-origin'), null);
      assert.match(await response.text(), /<title>Clearsky<\/title>/);
    }
    const script = await fetch(new URL('assets/app.js', base));
    assert.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(await script.text(), 'console.log("clearsky");');
    const missing = await fetch(new URL('assets/missing.js', base));
    assert.equal(missing.status, 404);
    await missing.arrayBuffer();
  });
});

describe('the HTTP client', () => {
  test('every command round-trips through the server to the API and back', async () => {
    const client = createHttpClient(server.url);
    api.calls = [];
    assert.deepEqual(await client.project(), PROJECT);
    assert.deepEqual(await client.listScenes(), []);
    assert.deepEqual(await client.listRefs(), []);
    assert.deepEqual(await client.listMasks(), []);
    assert.deepEqual(await client.importFiles({ paths: ['/data/a.tif'], kind: 'S2' }), [{ path: '/data/a.tif', status: 'failed', error: 'not a raster' }]);
    assert.deepEqual(await client.buildReference({ sceneIds: [1, 2] }), REF);
    assert.deepEqual(await client.startRun({ targetSceneId: 1, maskId: 2 }), run(7));
    assert.deepEqual(await client.listRuns(), [run(1), run(2)]);
    assert.deepEqual(await client.getRun(4), { ...run(4), tileList: [] });
    assert.equal((await client.cancelRun(4)).status, 'cancelled');
    assert.deepEqual(await client.exportResult({ resultId: 3, destination: '/out/x.tif' }), { path: '/out/x.tif' });
    assert.deepEqual(api.calls.map((c) => c.name), ['project', 'listScenes', 'listRefs', 'listMasks', 'importFiles', 'buildReference', 'startRun', 'listRuns', 'getRun', 'cancelRun', 'exportResult']);
    assert.deepEqual(api.calls[4].args, [{ paths: ['/data/a.tif'], kind: 'S2' }]);
    assert.deepEqual(api.calls[8].args, [4]);
    assert.deepEqual(api.calls[10].args, [{ resultId: 3, destination: '/out/x.tif' }]);
  });

  test('errors come back as InputError (400, 422) or HttpApiError (others)', async () => {
    const client = createHttpClient(base.replace(/\/$/, ''), { token });
    await assert.rejects(client.getRun(0), (error: unknown) => error instanceof InputError && /getRun: argument 1: .*>0/.test(error.message));
    api.fail = new InputError('a.tif', 'is not a GeoTIFF');
    await assert.rejects(client.importFiles({ paths: ['a.tif'] }), (error: unknown) => error instanceof InputError && error.message === 'a.tif: is not a GeoTIFF');
    api.fail = new Error('boom');
    await assert.rejects(client.listScenes(), (error: unknown) => error instanceof HttpApiError && error.status === 500 && /boom/.test(error.message));
  });

  test('subscribe follows the event stream; the last unsubscribe closes it', async () => {
    const client = createHttpClient(server.url, { reconnectMs: 50 });
    const before = api.listeners.size;
    const a: ApiEvent[] = [];
    const b: ApiEvent[] = [];
    const offA = client.subscribe((event) => a.push(event));
    const offB = client.subscribe((event) => b.push(event));
    await until(() => api.listeners.size === before + 1, 'one shared stream');
    const events: ApiEvent[] = [
      { type: 'run', run: run(9) },
      { type: 'progress', runId: 9, tileIndex: 2, step: 3, steps: 4, loss: 0.25, etaSeconds: 1.5, runEtaSeconds: null },
    ];
    for (const event of events) api.emit(event);
    await until(() => a.length === 2 && b.length === 2, 'both listeners to receive both events');
    assert.deepEqual(a, events);
    offA();
    api.emit(events[0]);
    await until(() => b.length === 3, 'the remaining listener');
    assert.equal(a.length, 2);
    offB();
    await until(() => api.listeners.size === before, 'the stream to close');
  });
});

describe('the token', () => {
  /** A request through node:http with exactly these headers (no token unless given). */
  function bare(method: string, target: string, headers: Record<string, string> = {}, body?: string) {
    return rawRequest(server.port, { method, path: target, headers }, body);
  }
  const json = { 'Content-Type': 'application/json' };
  /** Every kind of route: commands that write and read files, events, rasters (whole and ranged), the app. */
  const routes: [string, string, Record<string, string>, string?][] = [
    ['POST', '/api/exportResult', json, JSON.stringify([{ resultId: 1, destination: '/tmp/overwritten.tif' }])],
    ['POST', '/api/openProject', json, JSON.stringify([{ dir: '/tmp/anywhere', create: true }])],
    ['POST', '/api/importFiles', json, JSON.stringify([{ paths: ['/etc/passwd'] }])],
    ['POST', '/api/project', json, '[]'],
    ['POST', '/api/nothing', json, '[]'],
    ['GET', '/api/events', {}],
    ['GET', '/rasters/rasters/scene.tif', {}],
    ['GET', '/rasters/rasters/scene.tif', { Range: 'bytes=0-99' }],
    ['HEAD', '/rasters/rasters/scene.tif', {}],
    ['GET', '/', {}],
    ['GET', '/index.html', {}],
    ['GET', '/assets/app.js', {}],
    ['GET', '/runs/3', {}],
  ];
  const wrong = 'A'.repeat(43);

  test('without the token, or with a wrong one, every route answers 401 and nothing reaches the API', async () => {
    api.calls = [];
    const before = api.listeners.size;
    const ways: [string, (target: string) => string, Record<string, string>][] = [
      ['none', (t) => t, {}],
      ['wrong query', (t) => `${t}?token=${wrong}`, {}],
      ['empty query', (t) => `${t}?token=`, {}],
      ['a prefix of it', (t) => `${t}?token=${token.slice(0, 20)}`, {}],
      ['it and more', (t) => `${t}?token=${token}x`, {}],
      ['wrong bearer', (t) => t, { Authorization: `Bearer ${wrong}` }],
      ['basic', (t) => t, { Authorization: `Basic ${Buffer.from(`x:${token}`).toString('base64')}` }],
      ['wrong header', (t) => t, { 'X-Clearsky-Token': wrong }],
      ['wrong cookie', (t) => t, { Cookie: `clearsky_token_${server.port}=${wrong}` }],
      ['the cookie of another port', (t) => t, { Cookie: `clearsky_token_${server.port + 1}=${token}` }],
    ];
    for (const [method, target, headers, body] of routes) {
      for (const [way, address, extra] of ways) {
        const answer = await bare(method, address(target), { ...headers, ...extra }, body);
        assert.equal(answer.status, 401, `${method} ${target} with ${way}`);
        assert.equal(answer.headers['set-cookie'], undefined, `${method} ${target} with ${way}`);
        if (method !== 'HEAD') assert.match(answer.body, /open the address that clearsky serve printed/i, `${method} ${target} with ${way}`);
        assert.ok(!answer.body.includes('Clearsky</title>') && !answer.body.includes('console.log') && !answer.body.includes('II*'), `${method} ${target} leaked content`);
      }
    }
    assert.deepEqual(api.calls, []);
    assert.equal(api.listeners.size, before, 'no event subscription without the token');
  });

  test('the Host and Origin checks still come first', async () => {
    assert.equal((await bare('GET', `/?token=${token}`, { Host: `evil.example:${server.port}` })).status, 403);
    const cross = await bare('POST', '/api/project', { ...json, Origin: 'http://localhost:3000', Authorization: `Bearer ${token}` }, '[]');
    assert.equal(cross.status, 403);
  });

  test('a program sends it in the query, as a Bearer token or as X-Clearsky-Token', async () => {
    api.calls = [];
    for (const [target, headers] of [
      [`/api/project?token=${token}`, json],
      ['/api/project', { ...json, Authorization: `Bearer ${token}` }],
      ['/api/project', { ...json, Authorization: `bearer  ${token} ` }],
      ['/api/project', { ...json, 'X-Clearsky-Token': token }],
    ] as [string, Record<string, string>][]) {
      const answer = await bare('POST', target, headers, '[]');
      assert.equal(answer.status, 200, `${target} ${JSON.stringify(Object.keys(headers))}`);
      assert.deepEqual(JSON.parse(answer.body), PROJECT);
      assert.equal(answer.headers['set-cookie'], undefined, 'the API sets no cookie');
    }
    assert.equal(api.calls.length, 4);
    const ranged = await bare('GET', `/rasters/rasters/scene.tif?token=${token}`, { Range: 'bytes=0-3' });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers['content-range'], `bytes 0-3/${tiff.length}`);
  });

  test('the address it printed: sets an HttpOnly, SameSite=Strict cookie and leads to the same page without the token; the cookie lets in everything', async () => {
    const first = await bare('GET', `/?token=${token}`);
    assert.equal(first.status, 303);
    assert.equal(first.headers.location, '/');
    const setCookie = first.headers['set-cookie'] ?? [];
    assert.equal(setCookie.length, 1);
    const [pair, ...attributes] = setCookie[0].split(';').map((part) => part.trim());
    assert.equal(pair, `clearsky_token_${server.port}=${token}`);
    assert.deepEqual(attributes.map((a) => a.toLowerCase()).sort(), ['httponly', 'path=/', 'samesite=strict']);
    // Another route keeps its other parameters.
    const routed = await bare('GET', `/runs/3?x=1&token=${token}&y=2`);
    assert.equal(routed.status, 303);
    assert.equal(routed.headers.location, '/runs/3?x=1&y=2');

    const cookie = { Cookie: `other=1; ${pair}` };
    const page = await bare('GET', '/', cookie);
    assert.equal(page.status, 200);
    assert.match(page.body, /<title>Clearsky<\/title>/);
    assert.equal((await bare('GET', '/assets/app.js', cookie)).body, 'console.log("clearsky");');
    const command = await bare('POST', '/api/project', { ...cookie, ...json }, '[]');
    assert.equal(command.status, 200);
    const raster = await bare('GET', '/rasters/rasters/scene.tif', { ...cookie, Range: 'bytes=0-3' });
    assert.equal(raster.status, 206);
    // The event stream as a browser's EventSource opens it: a GET with the cookie.
    const before = api.listeners.size;
    const controller = new AbortController();
    const events = await globalThis.fetch(new URL('api/events', base), { headers: cookie, signal: controller.signal });
    assert.equal(events.status, 200);
    await until(() => api.listeners.size === before + 1, 'the subscription');
    controller.abort();
    await until(() => api.listeners.size === before, 'the unsubscription');
  });

  test('a new token at each start; a given token is used as it is; too short a token is refused', async () => {
    const other = await startServer({ api: new RecordingApi(), projectDir: project, log: () => undefined });
    const mine = await startServer({ api: new RecordingApi(), projectDir: project, log: () => undefined, token: 'b'.repeat(32) });
    try {
      assert.notEqual(other.token, server.token);
      assert.equal(Buffer.from(other.token, 'base64url').length, 32);
      assert.equal((await bare('POST', '/api/project', { ...json, Authorization: `Bearer ${other.token}` }, '[]')).status, 401, "another server's token");
      assert.equal(mine.url, `${mine.origin}?token=${'b'.repeat(32)}`);
    } finally {
      await other.close();
      await mine.close();
    }
    await assert.rejects(startServer({ api: new RecordingApi(), projectDir: project, token: 'short' }), /16 or more/);
  });

  test('the token never reaches the log, even when a request that carries it fails', async () => {
    logged.length = 0;
    api.fail = new Error('database is locked');
    assert.equal((await bare('POST', `/api/listRuns?token=${token}`, json, '[]')).status, 500);
    api.fail = new Error('disk full');
    assert.equal((await bare('POST', '/api/listRuns', { ...json, Authorization: `Bearer ${token}` }, '[]')).status, 500);
    assert.match(logged.join('\n'), /database is locked[\s\S]*disk full/);
    assert.ok(!logged.join('\n').includes(token), 'the token is in the log');
  });
});

test('close() ends event streams, unsubscribes them and stops listening', async () => {
  const other = new RecordingApi();
  const running = await startServer({ api: other, projectDir: project, log: () => undefined });
  const controller = new AbortController();
  const response = await fetch(new URL('api/events', running.origin), { signal: controller.signal, headers: { 'X-Clearsky-Token': running.token } });
  await until(() => other.listeners.size === 1, 'a subscription');
  await running.close();
  assert.equal(other.listeners.size, 0);
  await response.body!.cancel().catch(() => undefined);
  await assert.rejects(fetch(new URL('api/project', running.origin), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '[]' }));
  await assert.rejects(startServer({ api: other, projectDir: path.join(dir, 'missing') }), /no such project folder/);
  await assert.rejects(startServer({ api: other, projectDir: project, port: server.port }), /already in use/);
});
