/**
 * Files from a folder over HTTP, for browser mode (server.ts) and the Electron shell (electron/protocol.ts):
 * URL paths decoded once, segment by segment (`decodeSegments`: no encoded slashes, double encoding, `..`,
 * hidden files or control characters), opened only when their real path stays inside the folder
 * (`openConfined`), and served with Range (`parseRange`: one 206 spanning several ranges, never multipart),
 * ETag / If-None-Match / If-Modified-Since (304) and If-Range (`serveFile`).
 */
import { constants as fsConstants, type Stats } from 'node:fs';
import fs from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { isInside } from '../catalogue/layout.ts';
import { CONTENT_TYPES } from './headers.ts';
import { header } from './reply.ts';

export interface OpenFile {
  handle: fs.FileHandle;
  stat: Stats;
  file: string;
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

export async function serveFile(req: IncomingMessage, res: ServerResponse, method: string, { handle, stat, file }: OpenFile): Promise<void> {
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
