/**
 * Who may ask: the server's token (from the query, `Authorization: Bearer`, `X-Clearsky-Token` or the
 * per-port cookie), compared in constant time, and the browser's own mark of cross-site requests.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { header } from './reply.ts';

/**
 * Whether a candidate is `token`: compared as SHA-256 digests, in constant time (equal lengths whatever was
 * sent, and nothing to time).
 */
export function tokenCheck(token: string): (candidate: string | undefined) => boolean {
  const tokenDigest = digest(token);
  return (candidate) => candidate !== undefined && timingSafeEqual(digest(candidate), tokenDigest);
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearer(req: IncomingMessage): string | undefined {
  const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(header(req, 'authorization') ?? '');
  return match?.[1];
}

/** The value of the cookie `name` (the first, if the browser sent several). */
export function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const pair of (req.headers.cookie ?? '').split(';')) {
    const equals = pair.indexOf('=');
    if (equals > 0 && pair.slice(0, equals).trim() === name) return pair.slice(equals + 1).trim();
  }
  return undefined;
}

/** Browsers mark requests from other sites; the API and the rasters are for this origin only. */
export function isCrossSite(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  return site !== undefined && site !== 'same-origin' && site !== 'none';
}
