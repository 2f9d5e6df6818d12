/**
 * The headers every answer of the app carries, in browser mode (server.ts) and in the Electron shell's
 * `clearsky:` protocol (electron/protocol.ts): the Content Security Policy, the other security headers, and
 * the content type of each file extension served.
 */
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
