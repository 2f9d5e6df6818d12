/**
 * Pixel windows of a scene and map coordinates (the map's view is in the scene's CRS): a pixel (col, row)
 * corner is at x = gt[0] + col·gt[1], y = gt[3] + row·gt[5] for a north-up geotransform. Pure functions, no
 * OpenLayers, so they are unit-tested on their own.
 */

export type GeoTransform = [number, number, number, number, number, number];

export interface PixelWindow {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Map coordinate of a pixel corner. */
export function pixelToMap(gt: GeoTransform, col: number, row: number): [number, number] {
  return [gt[0] + col * gt[1] + row * gt[2], gt[3] + col * gt[4] + row * gt[5]];
}

/** The (fractional) pixel under a map coordinate (north-up geotransforms: no rotation terms). */
export function mapToPixel(gt: GeoTransform, x: number, y: number): [number, number] {
  return [(x - gt[0]) / gt[1], (y - gt[3]) / gt[5]];
}

/** The closed ring (5 points) of a pixel window's outline in map coordinates. */
export function windowRing(gt: GeoTransform, w: PixelWindow): [number, number][] {
  const a = pixelToMap(gt, w.x, w.y);
  const b = pixelToMap(gt, w.x + w.width, w.y);
  const c = pixelToMap(gt, w.x + w.width, w.y + w.height);
  const d = pixelToMap(gt, w.x, w.y + w.height);
  return [a, b, c, d, a];
}

/** The smallest window holding all of `windows` (the API takes one area per run); null for none. */
export function boundingWindow(windows: PixelWindow[]): PixelWindow | null {
  if (windows.length === 0) return null;
  const x0 = Math.min(...windows.map((w) => w.x));
  const y0 = Math.min(...windows.map((w) => w.y));
  const x1 = Math.max(...windows.map((w) => w.x + w.width));
  const y1 = Math.max(...windows.map((w) => w.y + w.height));
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/** Whether two windows share at least one pixel. */
export function windowsIntersect(a: PixelWindow, b: PixelWindow): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

/** The pixel window covered by a map extent [minX, minY, maxX, maxY] (rounded outwards), clipped to the scene. */
export function extentToWindow(gt: GeoTransform, extent: [number, number, number, number], width: number, height: number): PixelWindow | null {
  const [c0, r0] = mapToPixel(gt, extent[0], extent[3]);
  const [c1, r1] = mapToPixel(gt, extent[2], extent[1]);
  const x0 = Math.max(0, Math.floor(Math.min(c0, c1)));
  const y0 = Math.max(0, Math.floor(Math.min(r0, r1)));
  const x1 = Math.min(width, Math.ceil(Math.max(c0, c1)));
  const y1 = Math.min(height, Math.ceil(Math.max(r0, r1)));
  if (x1 <= x0 || y1 <= y0) return null;
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/**
 * A polygon corner put near or past the scene's edge, moved onto it: each coordinate outside
 * [minX, maxX] × [minY, maxY], or within `tolerance` (map units) inside an edge, becomes that edge. So a mask
 * drawn by hand reaches the scene's border, where a click can never land exactly.
 */
export function snapToEdge(point: [number, number], extent: [number, number, number, number], tolerance: number): [number, number] {
  const snap = (v: number, lo: number, hi: number): number => (v <= lo + tolerance ? lo : v >= hi - tolerance ? hi : v);
  return [snap(point[0], extent[0], extent[2]), snap(point[1], extent[1], extent[3])];
}

/**
 * Whether a ring (closed or not) crosses itself: two edges that are not neighbours share a point. A mask
 * burns such a polygon even–odd, so where it overlaps itself counts as clear: the user is told.
 */
export function selfCrossing(ring: [number, number][]): boolean {
  const pts = ring.length > 1 && ring[0][0] === ring[ring.length - 1][0] && ring[0][1] === ring[ring.length - 1][1] ? ring.slice(0, -1) : ring;
  const n = pts.length;
  if (n < 4) return false;
  const cross = (o: [number, number], a: [number, number], b: [number, number]): number => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const onSegment = (p: [number, number], a: [number, number], b: [number, number]): boolean =>
    Math.min(a[0], b[0]) <= p[0] && p[0] <= Math.max(a[0], b[0]) && Math.min(a[1], b[1]) <= p[1] && p[1] <= Math.max(a[1], b[1]);
  const intersect = (a: [number, number], b: [number, number], c: [number, number], d: [number, number]): boolean => {
    const [d1, d2, d3, d4] = [cross(c, d, a), cross(c, d, b), cross(a, b, c), cross(a, b, d)];
    if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))) return true;
    return (d1 === 0 && onSegment(a, c, d)) || (d2 === 0 && onSegment(b, c, d)) || (d3 === 0 && onSegment(c, a, b)) || (d4 === 0 && onSegment(d, a, b));
  };
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      // Edges i and j are neighbours when they share a corner (j = i + 1, or the last and the first).
      if (j === i + 1 || (i === 0 && j === n - 1)) continue;
      if (intersect(pts[i], pts[(i + 1) % n], pts[j], pts[(j + 1) % n])) return true;
    }
  }
  return false;
}

/** Seconds as "1 h 05 min", "4 min 10 s", "12 s". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** Parses "0, 1,2" into seeds; null when any item is not a non-negative integer. */
export function parseSeeds(text: string): number[] | null {
  // A list as people type one: "0, 1, 2", "0 1 2" or "0;1;2".
  const items = text.split(/[\s,;]+/).filter((item) => item !== '');
  if (items.length === 0) return null;
  const seeds = items.map(Number);
  return seeds.every((seed) => Number.isInteger(seed) && seed >= 0 && seed < 2 ** 31) ? seeds : null;
}

/** One path per line, trimmed, blank lines dropped. */
export function parsePaths(text: string): string[] {
  return text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '');
}

/**
 * The part of a scene a detection preview covers: the whole scene when it has at most `maxPixels`; else the part
 * in view (`inView`, or the scene's middle when nothing of it is in view), cut around its centre to a square of
 * at most `maxPixels` (the back end answers no more).
 */
export function previewWindow(width: number, height: number, inView: PixelWindow | null, maxPixels: number): PixelWindow {
  if (width * height <= maxPixels) return { x: 0, y: 0, width, height };
  const view = inView ?? { x: 0, y: 0, width, height };
  const side = Math.floor(Math.sqrt(maxPixels));
  const w = Math.min(view.width, side, width);
  const h = Math.min(view.height, side, height);
  const clamp = (v: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, v));
  const x = clamp(Math.round(view.x + view.width / 2 - w / 2), 0, width - w);
  const y = clamp(Math.round(view.y + view.height / 2 - h / 2), 0, height - h);
  return { x, y, width: w, height: h };
}
