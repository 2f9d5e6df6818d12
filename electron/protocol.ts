/**
 * The `clearsky:` scheme: the app and the open project's rasters, for the renderer, without a network server.
 *
 * - `clearsky://app/<path>`: the built renderer (renderer/dist), `index.html` for paths without an extension;
 * - `clearsky://app/rasters/<catalogue path>`: a file of the open project by its catalogue path (so
 *   `clearsky://app/rasters/rasters/s2/x.tif`, `clearsky://app/rasters/runs/3/result.tif`), only under its
 *   `rasters/` and `runs/` folders, with Range requests (206/416) as in browser mode.
 *
 * The app and the rasters are one origin, so the renderer's browser-mode code (relative URLs, the
 * Content-Security-Policy's `'self'`) works unchanged. Path checks are browser mode's (native/http/files.ts:
 * `decodeSegments`, `openConfined`, `parseRange`): segments decoded once, no `..`, encoded slashes, double
 * encoding, hidden files, or symlinks out of the folder; a refused path answers like a missing file.
 * Only GET and HEAD; every answer carries the CSP.
 *
 * No Electron import here: `protocol.handle(SCHEME, createProtocolHandler(...))` in main.ts wires it.
 */
import { Readable } from 'node:stream';
import fs from 'node:fs/promises';
import path from 'node:path';
import { RASTERS_FOLDER, RUNS_FOLDER } from '../native/catalogue/layout.ts';
import { decodeSegments, openConfined, parseRange, type OpenFile } from '../native/http/files.ts';
import { CONTENT_TYPES, SECURITY_HEADERS } from '../native/http/headers.ts';

import { APP_HOST, APP_ORIGIN, SCHEME } from './channels.ts';

/** What `protocol.registerSchemesAsPrivileged` needs before `app` is ready (a standard, secure origin with fetch and streaming). */
export const SCHEME_PRIVILEGES = {
  scheme: SCHEME,
  privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true, codeCache: true },
} as const;


export interface ProtocolOptions {
  /** The built renderer (renderer/dist); without it only rasters are served. */
  rendererDir?: string;
  /** The open project's folder, asked at every request (the project can change); null when none is open. */
  projectDir: () => Promise<string | null> | string | null;
}

/** A `protocol.handle` handler: standard Fetch `Request` in, `Response` out. */
export function createProtocolHandler(options: ProtocolOptions): (request: Request) => Promise<Response> {
  let rendererRoot: Promise<string | null> | undefined;
  return async (request) => {
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return text(400, 'Bad URL.\n');
    }
    if (url.protocol !== `${SCHEME}:` || url.host !== APP_HOST) return text(404, 'Not found.\n');
    if (request.method !== 'GET' && request.method !== 'HEAD') return text(405, 'Only GET and HEAD here.\n', { Allow: 'GET, HEAD' });
    // `url.pathname` keeps percent-encoding as sent (WHATWG URL normalises only dot segments, which a
    // request could only have had as literal `..`, which decodeSegments refuses anyway after decoding).
    const rest = rawPath(request.url);
    if (rest === null) return text(400, 'Bad path.\n');
    if (rest.startsWith('rasters/')) return raster(request, rest.slice('rasters/'.length), options);
    rendererRoot ??= options.rendererDir ? fs.realpath(options.rendererDir).catch(() => null) : Promise.resolve(null);
    const root = await rendererRoot;
    if (!root) return text(404, 'Not found (the renderer is not built: npm run build:renderer).\n');
    const segments = rest === '' ? ['index.html'] : decodeSegments(rest);
    if (!segments) return text(400, 'Bad path.\n');
    let file = await openConfined(root, segments);
    if (!file && !segments[segments.length - 1].includes('.')) file = await openConfined(root, ['index.html']);
    if (!file) return text(404, 'Not found.\n');
    return serve(request, file);
  };
}

/** The path after `clearsky://app/` exactly as written (percent-encoding kept), without query or fragment. */
function rawPath(href: string): string | null {
  const prefix = `${APP_ORIGIN}/`;
  if (!href.toLowerCase().startsWith(prefix)) return href.toLowerCase() === APP_ORIGIN ? '' : null;
  const rest = href.slice(prefix.length);
  const end = rest.search(/[?#]/);
  return end < 0 ? rest : rest.slice(0, end);
}

async function raster(request: Request, rest: string, options: ProtocolOptions): Promise<Response> {
  const segments = decodeSegments(rest);
  if (!segments) return text(400, 'Bad raster path.\n');
  if (segments.length < 2 || (segments[0] !== RASTERS_FOLDER && segments[0] !== RUNS_FOLDER)) return text(404, 'Not found.\n');
  const dir = await options.projectDir();
  if (!dir) return text(404, 'No project is open.\n');
  let root: string;
  try {
    root = await fs.realpath(path.join(dir, segments[0]));
  } catch {
    return text(404, 'Not found.\n');
  }
  const file = await openConfined(root, segments.slice(1));
  if (!file) return text(404, 'Not found.\n');
  return serve(request, file);
}

/** The file's answer: whole, or the requested range (206), or 416; the handle is closed when the body ends. */
async function serve(request: Request, { handle, stat, file }: OpenFile): Promise<Response> {
  let handedOver = false;
  try {
    const size = stat.size;
    const headers: Record<string, string> = {
      ...SECURITY_HEADERS,
      'Content-Type': CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
      'Accept-Ranges': 'bytes',
      'Cache-Control': 'no-cache',
      'Last-Modified': stat.mtime.toUTCString(),
    };
    const range = parseRange(request.headers.get('range') ?? undefined, size);
    if (range.kind === 'unsatisfiable') return new Response(null, { status: 416, headers: { ...headers, 'Content-Range': `bytes */${size}`, 'Content-Length': '0' } });
    const start = range.kind === 'part' ? range.start : 0;
    const end = range.kind === 'part' ? range.end : size - 1;
    headers['Content-Length'] = String(Math.max(0, end - start + 1));
    if (range.kind === 'part') headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    const status = range.kind === 'part' ? 206 : 200;
    if (request.method === 'HEAD' || size === 0) return new Response(null, { status, headers });
    const stream = handle.createReadStream({ start, end, autoClose: true });
    handedOver = true;
    return new Response(Readable.toWeb(stream) as ReadableStream<Uint8Array>, { status, headers });
  } finally {
    if (!handedOver) await handle.close().catch(() => undefined);
  }
}

function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { ...SECURITY_HEADERS, ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' } });
}
