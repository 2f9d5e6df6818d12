/**
 * What the repositories (scenes.ts, refs.ts, masks.ts) share: the Grid of a raster as the catalogue stores it
 * (JSON, with bounds), JSON columns read back, timestamps, and the check that a catalogued raster is still on
 * disk before it is used.
 */
import { existsSync } from 'node:fs';
import type { Grid } from '../api/contract.ts';
import { InputError } from '../errors.ts';
import type { RasterInfo } from '../raster/tiff/raster-info.ts';
import type { Project } from './project.ts';

/** The grid of a raster: size, CRS and geotransform, and its bounds [minX, minY, maxX, maxY] from the four corners. */
export function gridOf(info: Pick<RasterInfo, 'width' | 'height' | 'crs' | 'geoTransform'>): Grid {
  const t = info.geoTransform;
  let bounds: Grid['bounds'] = null;
  if (t) {
    const xs: number[] = [];
    const ys: number[] = [];
    for (const [col, row] of [[0, 0], [info.width, 0], [0, info.height], [info.width, info.height]]) {
      xs.push(t[0] + col * t[1] + row * t[2]);
      ys.push(t[3] + col * t[4] + row * t[5]);
    }
    bounds = [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
  }
  return {
    width: info.width,
    height: info.height,
    epsg: info.crs?.epsg ?? null,
    crs: info.crs?.description ?? null,
    geoTransform: t ? [...t] : null,
    bounds,
  };
}

/** Two grids are the same when size, CRS and geotransform agree (to a millionth of a pixel). */
export function sameGrid(a: Grid, b: Grid): boolean {
  if (a.width !== b.width || a.height !== b.height || a.epsg !== b.epsg || a.crs !== b.crs) return false;
  if (a.geoTransform === null || b.geoTransform === null) return a.geoTransform === b.geoTransform;
  const pixel = Math.max(Math.abs(a.geoTransform[1]), Math.abs(a.geoTransform[5]), 1e-12);
  return a.geoTransform.every((value, i) => Math.abs(value - b.geoTransform![i]) <= pixel * 1e-6);
}

/** `cloudCoverSource` → `cloud_cover_source`: a record's field name as the catalogue's column. */
type SnakeCase<S extends string> = S extends `${infer Head}${infer Tail}`
  ? `${Head extends Lowercase<Head> ? Head : `_${Lowercase<Head>}`}${SnakeCase<Tail>}`
  : S;

/**
 * A catalogue row of a record (api/contract.ts): the record's fields under their column names, those stored as
 * JSON as text. Derived, so that a field added to the record cannot be forgotten in the row.
 */
export type CatalogueRow<R, JsonFields extends keyof R = never> = {
  [K in keyof R as SnakeCase<K & string>]-?: K extends JsonFields ? string : Exclude<R[K], undefined>;
};

export function parseJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`the catalogue holds invalid JSON in ${what}: ${text.slice(0, 80)}`);
  }
}

export function now(): string {
  return new Date().toISOString();
}

/**
 * A catalogued raster (or outline) about to be used must still be there: one that was moved or deleted outside
 * Clearsky is an InputError naming it. Returns the absolute path.
 */
export function assertFilePresent(project: Project, relative: string): string {
  const absolute = project.resolve(relative);
  if (!existsSync(absolute)) {
    throw new InputError(absolute, 'missing raster file of the project (was it moved or deleted outside Clearsky?)');
  }
  return absolute;
}

/** "no such scene 7" for a lookup that found nothing. */
export function notFound(what: string, id: number): InputError {
  return new InputError(undefined, `there is no ${what} ${id} in this project`);
}

/** The ids of the runs whose `columns` (any of them) hold `id`, for refusing to delete what they use. */
export function runsUsing(project: Project, columns: readonly string[], id: number): number[] {
  const where = columns.map((column) => `${column} = ?`).join(' OR ');
  const rows = project.db.prepare(`SELECT id FROM runs WHERE ${where} ORDER BY id`).all(...columns.map(() => id)) as { id: number }[];
  return rows.map((row) => row.id);
}

export function describeRuns(ids: number[]): string {
  return `${ids.length === 1 ? 'run' : 'runs'} ${ids.join(', ')}`;
}
