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
 *
 * This module routes and answers the API; the parts live beside it: auth.ts (token, cookie, cross-site),
 * events.ts (the event stream), files.ts (path checks, Range, conditional requests), headers.ts (CSP,
 * security headers, content types) and reply.ts (bodies and replies).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import type { ClearskyApi } from '../api/contract.ts';
import { describe, dispatch, isCommand, type Outcome } from '../api/dispatch.ts';
import { RASTERS_FOLDER, RUNS_FOLDER } from '../catalogue/layout.ts';
import { InputError } from '../errors.ts';
import { bearer, cookie, isCrossSite, tokenCheck } from './auth.ts';
import { OUTCOME_HEADER } from './client.ts';
import { createEventStreams, DEFAULT_HEARTBEAT_MS } from './events.ts';
import { decodeSegments, openConfined, serveFile } from './files.ts';
import { SECURITY_HEADERS } from './headers.ts';
import { header, readBody, sendJson, sendText, truncate } from './reply.ts';

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
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
  const isToken = tokenCheck(token);
  const fixedDir = typeof options.projectDir === 'string' ? await realFolder(options.projectDir, 'project folder') : undefined;
  const currentDir = async (): Promise<string | null> => {
    if (fixedDir !== undefined) return fixedDir;
    const dir = (options.projectDir as () => string | null)();
    return dir === null ? null : fs.realpath(dir).catch(() => null);
  };
  const staticDir = options.staticDir === undefined ? undefined : await realFolder(options.staticDir, 'renderer folder');

  let port = 0;
  let cookieName = '';
  // Its heartbeat starts now and stops at close, or below if the server cannot listen.
  const streams = createEventStreams(api, heartbeatMs, log);

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
    if (pathname === '/api/events') return streams.serve(req, res, method);
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

  await new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException): void => {
      streams.close();
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
        streams.close();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
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
