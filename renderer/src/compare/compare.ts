/**
 * The Compare view's pure parts (no OpenLayers, so they are unit-tested on their own): a run's panel title,
 * its scores line, the tiles to pick from, a pixel window's map extent and how many columns the panels take.
 */
import type { RunMetrics, RunRecord, TilePreview, TileRecord } from '../../../native/api/contract.ts';
import { windowRing, type GeoTransform, type PixelWindow } from '../tools/geometry.ts';

/** The panel's title: "#12 mt · 4000 steps · 3 seeds", or "#13 idw-fill (baseline)". */
export function runTitle(run: Pick<RunRecord, 'id' | 'request'>): string {
  const { method, mode, steps, seeds } = run.request;
  if (method !== 'dip') return `#${run.id} ${method} (baseline)`;
  return `#${run.id} ${mode} · ${steps} step${steps === 1 ? '' : 's'} · ${seeds.length} seed${seeds.length === 1 ? '' : 's'}`;
}

/** A score with a fixed number of decimals, '–' when undefined. */
function score(value: number | null, digits: number): string {
  return value === null || !Number.isFinite(value) ? '–' : value.toFixed(digits);
}

/** "SSIM 0.912 · RMSE 0.031 · PSNR 30.4 dB under the mask"; null when there are no scores. */
export function metricsLine(metrics: RunMetrics | null | undefined): string | null {
  if (!metrics) return null;
  const m = metrics.masked;
  return `SSIM ${score(m.ssim, 3)} · RMSE ${score(m.rmse, 3)} · PSNR ${m.psnr === null ? '–' : `${score(m.psnr, 1)} dB`} under the mask`;
}

/** The map extent [minX, minY, maxX, maxY] of a pixel window of the scene. */
export function windowExtent(gt: GeoTransform, w: PixelWindow): [number, number, number, number] {
  const ring = windowRing(gt, w);
  const xs = ring.map((p) => p[0]);
  const ys = ring.map((p) => p[1]);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

/** One choice of the tile picker: a window of the scene that at least one compared run reconstructed. */
export interface TileChoice {
  /** "x,y,width,height" of the window. */
  key: string;
  window: PixelWindow;
  label: string;
  /** The runs that reconstructed this window (a tile of their grid), by id. */
  runIds: number[];
  /** The tile's index in each of those runs. */
  indexByRun: Record<number, number>;
}

/** A run's tiles (as getRun lists them, in the run's area) with the offset of that area, and the survey's tiles. */
export interface RunTiles {
  run: Pick<RunRecord, 'id' | 'request'>;
  tiles: Pick<TileRecord, 'index' | 'window' | 'status'>[];
  /** previewTiles of the run's plan (windows in the scene's pixels): the cloud fraction per tile index. */
  preview?: Pick<TilePreview, 'index' | 'cloudFraction'>[];
}

/**
 * The reconstructed tiles of the runs, one choice per distinct window (in the scene's pixels: the runs' tile
 * windows are in their area's), in reading order: "Tile 5 · 23 % cloud"; a tile not every run has says whose
 * it is ("· #12, #14").
 */
export function tileChoices(runs: RunTiles[]): TileChoice[] {
  const byKey = new Map<string, TileChoice & { cloud: number | null; index: number }>();
  for (const { run, tiles, preview } of runs) {
    const offset = run.request.area ?? { x: 0, y: 0 };
    for (const tile of tiles) {
      if (tile.status !== 'done') continue;
      const window = { ...tile.window, x: tile.window.x + offset.x, y: tile.window.y + offset.y };
      const key = `${window.x},${window.y},${window.width},${window.height}`;
      let choice = byKey.get(key);
      if (!choice) {
        choice = { key, window, label: '', runIds: [], indexByRun: {}, cloud: null, index: tile.index };
        byKey.set(key, choice);
      }
      if (!choice.runIds.includes(run.id)) choice.runIds.push(run.id);
      choice.indexByRun[run.id] = tile.index;
      const cloud = preview?.find((p) => p.index === tile.index)?.cloudFraction;
      if (choice.cloud === null && cloud !== undefined) choice.cloud = cloud;
    }
  }
  const all = runs.filter((r) => r.tiles.some((t) => t.status === 'done')).length;
  return [...byKey.values()]
    .sort((a, b) => a.window.y - b.window.y || a.window.x - b.window.x || a.window.width - b.window.width)
    .map(({ cloud, index, ...choice }) => {
      const parts = [`Tile ${index}`];
      if (cloud !== null) parts.push(`${Math.round(cloud * 100)} % cloud`);
      if (choice.runIds.length < all) parts.push(choice.runIds.map((id) => `#${id}`).join(', '));
      return { ...choice, label: parts.join(' · ') };
    });
}

/**
 * How many columns `count` panels take in a `width` × `height` area (2 or 3; 1 for one panel): the one that
 * gives each panel's map (below its `header`) the largest square, as the maps show the same square-ish place.
 */
export function gridColumns(count: number, width: number, height: number, gap = 6, header = 40): number {
  if (count <= 1) return 1;
  let best = 2;
  let bestSide = -1;
  for (let columns = 2; columns <= Math.min(3, count); columns++) {
    const rows = Math.ceil(count / columns);
    const side = Math.min((width - gap * (columns - 1)) / columns, (height - gap * (rows - 1)) / rows - header);
    // A tie keeps fewer empty cells.
    if (side > bestSide + 0.5) {
      best = columns;
      bestSide = side;
    }
  }
  return best;
}
