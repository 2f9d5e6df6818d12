/**
 * Browser mode: the Clearsky API over HTTP on 127.0.0.1, its events as server-sent events, the project's
 * rasters with HTTP Range requests (for OpenLayers' GeoTIFF source), and the built renderer.
 *
 * Routes:
 * - `POST /api/<command>`: the body is the JSON array of the command's arguments (an empty body is `[]`),
 *   checked against `COMMANDS`; the answer is the command's result as JSON. Errors answer `{ error }`:
 *   404 unknown command, 405 not POST, 415 not `application/json`, 413 body over the limit, 400 body not
 *   JSON or arguments invalid (the message names the argument and the problem), 422 an `InputError` from the
 *   API (the user's input is wrong), 500 anything else (the stack goes to the log, never to the client).
 * - `GET /api/events`: server-sent events, one per `ApiEvent`: `event: <type>` and `data: <json>`, and a
 *   comment line every `heartbeatMs` so that idle connections stay open.
 * - `GET|HEAD /rasters/<catalogue path>`: a file of the project by its catalogue path (relative to the
 *   project, so `/rasters/rasters/scene.tif` or `/rasters/runs/3/mosaic.tif`); only files under `rasters/`
 *   and `runs/`. Single ranges answer 206; several ranges in one request answer one 206 spanning all of
 *   them (RFC 9110 lets a server coalesce; a client reads the span from Content-Range), never multipart.
 * - anything else: the renderer from `staticDir`, with `index.html` for paths without a file extension (the
 *   app's own routes).
 *
 * Security: every request must carry the server's token, a random secret made at each start (32 bytes):
 * `?token=` in the URL, `Authorization: Bearer <token>` or `X-Clearsky-Token: <token>` (programs), or the
 * cookie that the first page load with `?token=` sets (HttpOnly, SameSite=Strict), so the app's own requests
 * (fetch, the event stream, OpenLayers' range reads of rasters) carry it without code. That page load is
 * redirected to the same address without the token, so it leaves the address bar and the history. Without
 * the token (compared in constant time) everything answers 401: the app, the API, the events, the rasters.
 * Browsers are kept out by the checks below as well; the token keeps out other local programs and users.
 * The token is never logged (only `clearsky serve`'s start line shows the address with it).
 * The socket is bound to 127.0.0.1 only; requests whose Host is not `127.0.0.1:<port>` or
 * `localhost:<port>` are refused (DNS rebinding), as are requests whose Origin is another origin and API or
 * raster requests that browsers mark as cross-site (CSRF and reads from other local pages). No CORS headers
 * are ever sent. Paths are decoded once, segment by segment; any segment that decodes to something with a
 * slash, backslash, `%` (double encoding), `:`, a control character, or that is empty, `.`/`..` or starts
 * with a dot (hidden and temporary files) is refused with 400; a file whose real path (symlinks resolved)
 * leaves its allowed folder answers 404, like a missing one.
 */
import { OUTCOME_HEADER } from './client.ts';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { constants as fsConstants, type Stats } from 'node:fs';
import fs from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ApiEvent, ClearskyApi } from '../api/contract.ts';
import { isInside, RASTERS_FOLDER, RUNS_FOLDER } from '../catalogue/project.ts';
import { describe, dispatch, isCommand, type Outcome } from '../api/dispatch.ts';
import { InputError } from '../errors.ts';

/**
 * The renderer's Content Security Policy (also for Electron's protocol handler). Scripts only from the app
 * itself (no inline scripts, no eval); `style-src 'unsafe-inline'` because OpenLayers and Svelte's
 * transitions add style elements and attributes (styles cannot run code); `img-src data: blob:` for
 * OpenLayers' canvas snapshots and icons; `worker-src blob:` for geotiff.js' and OpenLayers' decoder workers,
 * which are built from blobs; `connect-src 'self'` covers the API, the event stream and the rasters. Nothing
 * may frame the app, submit forms elsewhere, load plugins or change the base URL.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers on every answer (the Electron shell's protocol handler sends the same). */
export const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export const CONTENT_TYPES: Record<string, string> = {
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.geojson': 'application/geo+json',
  '.json': 'application/json; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
  '.log': 'text/plain; charset=utf-8',
};

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
export const DEFAULT_HEARTBEAT_MS = 15_000;
/** An event-stream client that has this much unsent data is too slow to follow: it is disconnected. */
const MAX_EVENT_BACKLOG_BYTES = 8 * 1024 * 1024;
/**
 * The HTTP status of each kind of failed command (native/api/dispatch.ts tells them apart). A cancel is the user's
 * own choice, not a failure: it answers 200 with the `Clearsky-Outcome: cancelled` header and `{error}`, because
 * browsers log every 4xx and 5xx answer of a fetch on the page's console as an error.
 */
const STATUS: Record<Exclude<Outcome, { ok: true }>['kind'], number> = { unknown: 404, arguments: 400, input: 422, cancelled: 200, internal: 500 };


export interface ServerOptions {
  /** The service (or anything implementing the API). */
  api: ClearskyApi;
  /**
   * The project folder; rasters are served from its `rasters/` and `runs/` folders. A function is asked on
   * every raster request, so the folder can change (the workspace's open project; null: none open, 404).
   */
  projectDir: string | (() => string | null);
  /** The port on 127.0.0.1; 0 (the default) takes any free port. */
  port?: number;
  /** The built renderer, served at `/`; without it only the API and the rasters are served. */
  staticDir?: string;
  /** Request body limit for commands, in bytes (default 1 MiB). */
  maxBodyBytes?: number;
  /** Interval of the event stream's keep-alive comments (default 15 s). */
  heartbeatMs?: number;
  /** Where unexpected errors (with their stacks) are logged; default stderr. */
  log?: (message: string) => void;
  /** The secret every request must carry (default: 32 random bytes, new at each start). */
  token?: string;
}

export interface RunningServer {
  /** The address to open: `http://127.0.0.1:<port>/?token=<token>` (a secret: show it only to the user). */
  url: string;
  /** `http://127.0.0.1:<port>/`, without the token. */
  origin: string;
  port: number;
  /** The secret every request must carry. */
  token: string;
  /** Stops listening, ends event streams (unsubscribing them) and closes open connections. */
  close(): Promise<void>;
}

type Method = 'GET' | 'HEAD' | 'POST' | string;

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { api } = options;
  const requestedPort = options.port ?? 0;
  if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65_535) {
    throw new InputError(undefined, `port ${requestedPort} is not a port number (0 to 65535; 0 takes any free port)`);
  }
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const log = options.log ?? ((message: string) => console.error(message));
  const token = options.token ?? randomBytes(32).toString('base64url');
  if (token.length < 16 || !/^[A-Za-z0-9_-]+$/.test(token)) throw new Error('the server token must be 16 or more URL-safe characters');
  const tokenDigest = digest(token);
  /** Compared as SHA-256 digests, in constant time: equal lengths whatever was sent, and nothing to time. */
  const isToken = (candidate: string | undefined): boolean => candidate !== undefined && timingSafeEqual(digest(candidate), tokenDigest);
  const fixedDir = typeof options.projectDir === 'string' ? await realFolder(options.projectDir, 'project folder') : undefined;
  const currentDir = async (): Promise<string | null> => {
    if (fixedDir !== undefined) return fixedDir;
    const dir = (options.projectDir as () => string | null)();
    return dir === null ? null : fs.realpath(dir).catch(() => null);
  };
  const staticDir = options.staticDir === undefined ? undefined : await realFolder(options.staticDir, 'renderer folder');

  let port = 0;
  let cookieName = '';
  const streams = new Set<EventStream>();

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // The path only: the query may hold the token.
      log(`clearsky serve: ${req.method} ${truncate((req.url ?? '').split('?')[0], 200)}: ${describe(error)}`);
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error (see the server log)' });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    const host = (req.headers.host ?? '').toLowerCase();
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
      sendText(res, 403, 'Refused: this Clearsky server answers only to http://127.0.0.1 and http://localhost on its own port.\n');
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${host}`) {
      sendJson(res, 403, { error: 'cross-origin requests are refused' });
      return;
    }
    const url = req.url ?? '';
    const query = url.indexOf('?');
    const pathname = query < 0 ? url : url.slice(0, query);
    if (!pathname.startsWith('/')) {
      sendText(res, 400, 'Bad request path.\n');
      return;
    }
    const method: Method = req.method ?? '';
    const isApi = pathname === '/api' || pathname.startsWith('/api/');
    const isRaster = pathname.startsWith('/rasters/');
    if ((isApi || isRaster) && isCrossSite(req)) {
      sendJson(res, 403, { error: 'cross-site requests are refused' });
      return;
    }
    const params = new URLSearchParams(query < 0 ? '' : url.slice(query + 1));
    const fromQuery = params.get('token') ?? undefined;
    if (!isToken(fromQuery) && !isToken(bearer(req)) && !isToken(header(req, 'x-clearsky-token')) && !isToken(cookie(req, cookieName))) {
      const message = `Clearsky: this address needs the token. Open the address that clearsky serve printed (it ends in ?token=…).`;
      if (isApi || isRaster) sendJson(res, 401, { error: message }, { 'WWW-Authenticate': 'Bearer realm="clearsky"' });
      else sendText(res, 401, `${message}\n`, { 'WWW-Authenticate': 'Bearer realm="clearsky"' });
      return;
    }
    if (fromQuery !== undefined && !isApi && !isRaster && (method === 'GET' || method === 'HEAD')) {
      // The page's own address: the cookie carries the token from now on, and the address loses it.
      params.delete('token');
      const rest = params.toString();
      res.writeHead(303, {
        'Set-Cookie': `${cookieName}=${token}; HttpOnly; SameSite=Strict; Path=/`,
        Location: `${pathname}${rest === '' ? '' : `?${rest}`}`,
        'Cache-Control': 'no-store',
        'Content-Length': 0,
      });
      res.end();
      return;
    }
    if (pathname === '/api/events') return events(req, res, method);
    if (isApi) return command(req, res, method, pathname.slice('/api/'.length));
    if (isRaster) return raster(req, res, method, pathname.slice('/rasters/'.length));
    return renderer(req, res, method, pathname.slice(1));
  }

  async function command(req: IncomingMessage, res: ServerResponse, method: Method, name: string): Promise<void> {
    if (!isCommand(name)) {
      sendJson(res, 404, { error: `unknown command "${truncate(name, 100)}"` });
      return;
    }
    if (method !== 'POST') {
      sendJson(res, 405, { error: `${name} is a command: POST its arguments as a JSON array` }, { Allow: 'POST' });
      return;
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/json') {
      sendJson(res, 415, { error: 'the body must be JSON (Content-Type: application/json)' });
      return;
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    const body = declared > maxBodyBytes ? 'too-large' : await readBody(req, maxBodyBytes);
    if (body === 'too-large') {
      sendJson(res, 413, { error: `the body is over ${maxBodyBytes} bytes` }, { Connection: 'close' });
      req.resume();
      return;
    }
    let input: unknown;
    const text = body.toString('utf8');
    if (text.trim() === '') input = [];
    else {
      try {
        input = JSON.parse(text);
      } catch (error) {
        sendJson(res, 400, { error: `the body is not JSON (${(error as Error).message})` });
        return;
      }
    }
    const outcome = await dispatch(api, name, input, log, 'clearsky serve');
    if (outcome.ok) sendJson(res, 200, outcome.value);
    else sendJson(res, STATUS[outcome.kind], { error: outcome.error }, outcome.kind === 'cancelled' ? { [OUTCOME_HEADER]: 'cancelled' } : {});
  }

  function events(req: IncomingMessage, res: ServerResponse, method: Method): void {
    if (method !== 'GET') {
      sendJson(res, 405, { error: 'the event stream answers GET' }, { Allow: 'GET' });
      return;
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    req.socket.setNoDelay(true);
    req.socket.setTimeout(0);
    res.write(': clearsky events\n\n');
    const stream: EventStream = { res, unsubscribe: () => undefined };
    streams.add(stream);
    let closed = false;
    const end = (): void => {
      if (closed) return;
      closed = true;
      streams.delete(stream);
      stream.unsubscribe();
      if (!res.writableEnded) res.end();
    };
    stream.end = end;
    res.on('close', end);
    try {
      stream.unsubscribe = api.subscribe((event: ApiEvent) => {
        if (closed) return;
        if (res.writableLength > MAX_EVENT_BACKLOG_BYTES) {
          log('clearsky serve: an event-stream client fell too far behind and was disconnected');
          end();
          res.destroy();
          return;
        }
        res.write(`event: ${String(event.type).replace(/[\r\n]/g, '')}\ndata: ${JSON.stringify(event)}\n\n`);
      });
    } catch (error) {
      log(`clearsky serve: subscribing to events failed: ${describe(error)}`);
      end();
      return;
    }
    if (closed) stream.unsubscribe();
  }

  async function raster(req: IncomingMessage, res: ServerResponse, method: Method, rest: string): Promise<void> {
    if (method !== 'GET' && method !== 'HEAD') {
      sendText(res, 405, 'Rasters answer GET and HEAD.\n', { Allow: 'GET, HEAD' });
      return;
    }
    const segments = decodeSegments(rest);
    if (!segments) {
      sendText(res, 400, 'Bad raster path.\n');
      return;
    }
    if (segments.length < 2 || (segments[0] !== RASTERS_FOLDER && segments[0] !== RUNS_FOLDER)) {
      sendText(res, 404, 'Not found.\n');
      return;
    }
    const projectDir = await currentDir();
    if (projectDir === null) {
      sendText(res, 404, 'Not found (no project is open).\n');
      return;
    }
    const file = await openConfined(path.join(projectDir, segments[0]), segments.slice(1));
    if (!file) {
      sendText(res, 404, 'Not found.\n');
      return;
    }
    await serveFile(req, res, method, file);
  }

  async function renderer(req: IncomingMessage, res: ServerResponse, method: Method, rest: string): Promise<void> {
    if (!staticDir) {
      sendText(res, 404, 'Not found (this server was started without the renderer).\n');
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') {
      sendText(res, 405, 'Only GET and HEAD here.\n', { Allow: 'GET, HEAD' });
      return;
    }
    const segments = rest === '' ? ['index.html'] : decodeSegments(rest);
    if (!segments) {
      sendText(res, 400, 'Bad path.\n');
      return;
    }
    let file = await openConfined(staticDir, segments);
    if (!file && !segments[segments.length - 1].includes('.')) file = await openConfined(staticDir, ['index.html']);
    if (!file) {
      sendText(res, 404, 'Not found.\n');
      return;
    }
    await serveFile(req, res, method, file);
  }

  const heartbeat = setInterval(() => {
    for (const stream of streams) stream.res.write(': ping\n\n');
  }, heartbeatMs);
  heartbeat.unref();

  await new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException): void => {
      clearInterval(heartbeat);
      if (error.code === 'EADDRINUSE') {
        reject(new InputError(undefined, `port ${requestedPort} on 127.0.0.1 is already in use: choose another with --port, or --port 0 for any free port`));
      } else if (error.code === 'EACCES') {
        reject(new InputError(undefined, `port ${requestedPort} needs administrator rights: choose a port above 1023`));
      } else reject(error);
    };
    server.once('error', failed);
    server.listen({ port: requestedPort, host: '127.0.0.1', exclusive: true }, () => {
      server.off('error', failed);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the server has no TCP address');
  port = address.port;
  // Cookies are shared by every port of a host: one name per port, so two servers do not overwrite each other's.
  cookieName = `clearsky_token_${port}`;
  server.on('error', (error) => log(`clearsky serve: ${describe(error)}`));

  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    origin: `http://127.0.0.1:${port}/`,
    port,
    token,
    close: () => {
      closing ??= new Promise<void>((resolve, reject) => {
        clearInterval(heartbeat);
        for (const stream of [...streams]) stream.end?.();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

interface EventStream {
  res: ServerResponse;
  unsubscribe: () => void;
  end?: () => void;
}

export interface OpenFile {
  handle: fs.FileHandle;
  stat: Stats;
  file: string;
}

/** The real path of a folder that must exist (for the roots the server serves from). */
async function realFolder(folder: string, what: string): Promise<string> {
  let real: string;
  try {
    real = await fs.realpath(folder);
  } catch {
    throw new InputError(folder, `no such ${what}`);
  }
  if (!(await fs.stat(real)).isDirectory()) throw new InputError(folder, `the ${what} is not a folder`);
  return real;
}

/**
 * The decoded segments of a URL path (without its leading slash), or null when any segment could point
 * elsewhere than the plain name it seems: each segment is decoded once and must then be a plain file name.
 */
export function decodeSegments(raw: string): string[] | null {
  if (raw.includes('\\')) return null;
  const segments: string[] = [];
  for (const part of raw.split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(part);
    } catch {
      return null;
    }
    if (segment === '' || segment.startsWith('.')) return null;
    for (let i = 0; i < segment.length; i++) {
      const code = segment.charCodeAt(i);
      if (code < 0x20 || code === 0x7f) return null;
    }
    if (/[/\\%:]/.test(segment)) return null;
    segments.push(segment);
  }
  return segments;
}

/**
 * Opens `segments` under `root` when it is a regular file whose real path (all symlinks resolved) is still
 * inside `root`; null otherwise (missing, a folder, or leaving the root), so that nothing tells the two apart.
 */
export async function openConfined(root: string, segments: string[]): Promise<OpenFile | null> {
  const candidate = path.join(root, ...segments);
  if (!isInside(root, candidate) || candidate === root) return null;
  let real: string;
  try {
    real = await fs.realpath(candidate);
  } catch {
    return null;
  }
  if (real === root || !isInside(root, real)) return null;
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(real, fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0));
  } catch {
    return null;
  }
  try {
    const stat = await handle.stat();
    if (stat.isFile()) return { handle, stat, file: real };
  } catch {
    // treated as missing below
  }
  await handle.close().catch(() => undefined);
  return null;
}

type RangeAnswer = { kind: 'whole' } | { kind: 'unsatisfiable' } | { kind: 'part'; start: number; end: number };

/**
 * What a Range header asks of a file of `size` bytes (RFC 9110 §14): `bytes=a-b`, `a-` and `-n`; several
 * ranges are coalesced into the one span that covers them all. A header with another unit or bad syntax is
 * ignored (the whole file); ranges that all start past the end are unsatisfiable.
 */
export function parseRange(header: string | undefined, size: number): RangeAnswer {
  if (header === undefined) return { kind: 'whole' };
  const match = /^\s*bytes\s*=(.*)$/i.exec(header);
  if (!match) return { kind: 'whole' };
  let start = Infinity;
  let end = -1;
  let parts = 0;
  for (const raw of match[1].split(',')) {
    const spec = raw.trim();
    if (spec === '') continue;
    const bounds = /^(\d*)-(\d*)$/.exec(spec);
    if (!bounds || (bounds[1] === '' && bounds[2] === '')) return { kind: 'whole' };
    parts++;
    let first: number;
    let last: number;
    if (bounds[1] === '') {
      const suffix = Number(bounds[2]);
      if (suffix === 0 || size === 0) continue;
      first = Math.max(0, size - suffix);
      last = size - 1;
    } else {
      first = Number(bounds[1]);
      if (bounds[2] !== '' && Number(bounds[2]) < first) return { kind: 'whole' };
      if (first >= size) continue;
      last = bounds[2] === '' ? size - 1 : Math.min(Number(bounds[2]), size - 1);
    }
    start = Math.min(start, first);
    end = Math.max(end, last);
  }
  if (parts === 0) return { kind: 'whole' };
  if (end < 0) return { kind: 'unsatisfiable' };
  return { kind: 'part', start, end };
}

async function serveFile(req: IncomingMessage, res: ServerResponse, method: Method, { handle, stat, file }: OpenFile): Promise<void> {
  let streaming = false;
  try {
    const size = stat.size;
    const etag = `"${stat.ino.toString(16)}-${size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
    const lastModified = stat.mtime.toUTCString();
    res.setHeader('ETag', etag);
    res.setHeader('Last-Modified', lastModified);
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Accept-Ranges', 'bytes');
    if (notModified(req, etag, stat.mtimeMs)) {
      res.writeHead(304);
      res.end();
      return;
    }
    res.setHeader('Content-Type', CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream');
    let range = parseRange(req.headers.range, size);
    if (range.kind !== 'whole' && !rangeStillApplies(header(req, 'if-range'), etag, lastModified)) range = { kind: 'whole' };
    if (range.kind === 'unsatisfiable') {
      res.writeHead(416, { 'Content-Range': `bytes */${size}`, 'Content-Length': 0 });
      res.end();
      return;
    }
    const start = range.kind === 'part' ? range.start : 0;
    const end = range.kind === 'part' ? range.end : size - 1;
    const headers: Record<string, string | number> = { 'Content-Length': end - start + 1 };
    if (range.kind === 'part') headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    res.writeHead(range.kind === 'part' ? 206 : 200, headers);
    if (method === 'HEAD' || size === 0) {
      res.end();
      return;
    }
    streaming = true;
    await pipeline(handle.createReadStream({ start, end, autoClose: false }), res).catch(() => {
      // The client went away (or the file could not be read after the headers went out): nothing to answer.
      res.destroy();
    });
  } finally {
    await handle.close().catch(() => undefined);
    if (!streaming && !res.writableEnded) res.end();
  }
}

/** A request header that must appear at most once (a repeated one is read as its first value). */
function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function notModified(req: IncomingMessage, etag: string, mtimeMs: number): boolean {
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    return ifNoneMatch.split(',').some((tag) => {
      const trimmed = tag.trim();
      return trimmed === '*' || trimmed === etag || trimmed === `W/${etag}`;
    });
  }
  const since = req.headers['if-modified-since'];
  if (since === undefined) return false;
  const date = Date.parse(since);
  return Number.isFinite(date) && Math.floor(mtimeMs / 1000) * 1000 <= date;
}

/** If-Range: the range applies only to the representation the client already has (strong match). */
function rangeStillApplies(ifRange: string | undefined, etag: string, lastModified: string): boolean {
  if (ifRange === undefined) return true;
  const value = ifRange.trim();
  return value.startsWith('"') || value.startsWith('W/') ? value === etag : value === lastModified;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** The token of an `Authorization: Bearer <token>` header. */
function bearer(req: IncomingMessage): string | undefined {
  const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(header(req, 'authorization') ?? '');
  return match?.[1];
}

/** The value of the cookie `name` (the first, if the browser sent several). */
function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const pair of (req.headers.cookie ?? '').split(';')) {
    const equals = pair.indexOf('=');
    if (equals > 0 && pair.slice(0, equals).trim() === name) return pair.slice(equals + 1).trim();
  }
  return undefined;
}

/** Browsers mark requests from other sites; the API and the rasters are for this origin only. */
function isCrossSite(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  return site !== undefined && site !== 'same-origin' && site !== 'none';
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        resolve('too-large');
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks));
    });
    req.on('error', (error) => {
      if (done) return;
      done = true;
      reject(error);
    });
  });
}

function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}

function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(text);
}

function truncate(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length)}…` : text;
}
