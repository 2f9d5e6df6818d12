/**
 * Cloud mask → polygons in the scene's CRS (GeoJSON), simplified: the cyan outlines the map draws over the
 * scene, and a vector file QGIS or ogr can open.
 *
 * d3-contour traces the 0.5 iso-line of the mask by marching squares, with holes. Its coordinates are pixel
 * corners: value i + j·width sits at (i + 0.5, j + 0.5), so pixel (i, j) spans [i, i+1] × [j, j+1]. With 0/1
 * values the line runs through the midpoints of the pixel edges between cloud and clear centres: along the
 * pixel edges, with each corner cut diagonally (a lone cloud pixel is a diamond of half its area, a large
 * cloud loses about half a pixel per convex corner and gains it back at concave ones). Pixels outside the
 * grid count as clear, so clouds touching the edge are closed along it.
 *
 * Rings are simplified in pixel units (Douglas–Peucker, simplify-js, `tolerance` default 1 pixel), kept
 * closed. A ring that collapses (fewer than 4 positions, or no area: any cloud or hole less than about two
 * pixels across) is handled by kind: a hole is dropped (a sub-pixel gap in a cloud is noise), an outer ring
 * keeps its unsimplified shape (a few vertices), so every cloud, however small, has an outline. Then pixel corners → CRS coordinates by the geotransform, outer rings counter-clockwise and
 * holes clockwise (RFC 7946). Simplification can in rare cases make a ring touch itself; renderers and QGIS
 * draw such rings fine.
 *
 * The FeatureCollection carries the legacy named `crs` member (`urn:ogc:def:crs:EPSG::32633`) that GDAL/OGR
 * and QGIS still honour, because RFC 7946 GeoJSON would otherwise be read as WGS 84 longitude/latitude.
 */
import { contours } from 'd3-contour';
import simplify from 'simplify-js';
import type { Mask } from '../../dip/image.ts';
import type { GridInfo } from './grid.ts';
import type { GeoTransform } from '../tiff/raster-info.ts';

export interface OutlineOptions {
  /** Simplification tolerance in pixels; 0 keeps every vertex. Default 1. */
  tolerance?: number;
}

type Position = [number, number];
type Ring = Position[];

export interface OutlineFeatureCollection {
  type: 'FeatureCollection';
  crs?: { type: 'name'; properties: { name: string } };
  features: {
    type: 'Feature';
    properties: { cloud_fraction: number; pixels: number };
    geometry: { type: 'MultiPolygon'; coordinates: Ring[][] };
  }[];
}

/** The cloud outline of `mask` on `grid` (coordinates in the grid's CRS; pixel coordinates without georeferencing). */
export function maskOutline(mask: Mask, grid: Pick<GridInfo, 'width' | 'height' | 'crs' | 'geoTransform'>, options: OutlineOptions = {}): OutlineFeatureCollection {
  const { width, height } = mask;
  if (grid.width !== width || grid.height !== height) {
    throw new RangeError(`maskOutline: mask is ${width}×${height} but the grid ${grid.width}×${grid.height}`);
  }
  const tolerance = options.tolerance ?? 1;
  if (!(tolerance >= 0)) throw new RangeError(`maskOutline: tolerance ${tolerance} is not ≥ 0`);
  const collection: OutlineFeatureCollection = { type: 'FeatureCollection', features: [] };
  if (grid.crs?.epsg) collection.crs = { type: 'name', properties: { name: `urn:ogc:def:crs:EPSG::${grid.crs.epsg}` } };

  let pixels = 0;
  for (const value of mask.data) if (value) pixels++;
  if (pixels === 0) return collection;

  const [contour] = contours().size([width, height]).thresholds([0.5])(mask.data as unknown as number[]);
  const transform: GeoTransform = grid.geoTransform ?? [0, 1, 0, 0, 0, 1];
  const polygons: Ring[][] = [];
  for (const polygon of contour.coordinates as Ring[][]) {
    const [outer, ...holes] = polygon.map((ring, i) => simplifyRing(ring, tolerance) ?? (i === 0 ? simplifyRing(ring, 0) : null));
    if (outer === null) continue; // only when d3 returned a degenerate ring itself
    const rings = [outer, ...holes.filter((hole): hole is Ring => hole !== null)].map((ring) => ring.map(([x, y]): Position => [
      transform[0] + x * transform[1] + y * transform[2],
      transform[3] + x * transform[4] + y * transform[5],
    ]));
    polygons.push(rings.map((ring, i) => orient(ring, i === 0)));
  }
  if (polygons.length === 0) return collection;
  collection.features.push({
    type: 'Feature',
    properties: { cloud_fraction: pixels / (width * height), pixels },
    geometry: { type: 'MultiPolygon', coordinates: polygons },
  });
  return collection;
}

/** A closed ring simplified and still closed, or null when it collapses below a triangle. */
function simplifyRing(ring: Ring, tolerance: number): Ring | null {
  let simplified = ring;
  if (tolerance > 0) {
    // highQuality: Douglas–Peucker only, without the radial pre-pass that could drop the closing point.
    simplified = simplify(ring.map(([x, y]) => ({ x, y })), tolerance, true).map((p): Position => [p.x, p.y]);
    const [first] = simplified;
    const last = simplified[simplified.length - 1];
    if (first[0] !== last[0] || first[1] !== last[1]) simplified.push([first[0], first[1]]);
  }
  if (simplified.length < 4 || signedArea(simplified) === 0) return null;
  return simplified;
}

function signedArea(ring: Ring): number {
  let sum = 0;
  for (let i = 0; i < ring.length - 1; i++) sum += ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1];
  return sum / 2;
}

/** Outer rings counter-clockwise, holes clockwise (in x-east, y-north coordinates). */
function orient(ring: Ring, outer: boolean): Ring {
  const counterClockwise = signedArea(ring) > 0;
  return counterClockwise === outer ? ring : ring.slice().reverse();
}
