/**
 * A cloud mask's outline (the GeoJSON the catalogue writes beside each mask, in the scene's CRS, with the
 * legacy `crs` member naming it) as cyan polygons: a vector layer above every raster and below the tools'
 * layers (zIndex ≥ 100), never clipped by the swipe.
 */
import GeoJSON from 'ol/format/GeoJSON.js';
import type Feature from 'ol/Feature.js';
import VectorLayer from 'ol/layer/Vector.js';
import type Projection from 'ol/proj/Projection.js';
import VectorSource from 'ol/source/Vector.js';
import Stroke from 'ol/style/Stroke.js';
import Style from 'ol/style/Style.js';
import { rasterUrl } from '../transport.ts';
import { registerEpsg } from './projection.ts';

export const OUTLINE_Z_INDEX = 90;
export const OUTLINE_COLOUR = '#00ffff';

/** The EPSG code in a GeoJSON's legacy `crs` member (`urn:ogc:def:crs:EPSG::32633`, `EPSG:32633`); null if none. */
export function epsgFromGeoJsonCrs(json: unknown): number | null {
  const name = (json as { crs?: { properties?: { name?: unknown } } } | null)?.crs?.properties?.name;
  if (typeof name !== 'string') return null;
  const match = /EPSG:(?:[\d.]*:)?(\d+)$/i.exec(name);
  return match ? Number(match[1]) : null;
}

/** The empty outline layer (cyan, unfilled); its source is set by loadOutline's features. */
export function createOutlineLayer(): VectorLayer<VectorSource<Feature>> {
  return new VectorLayer({
    source: new VectorSource<Feature>(),
    zIndex: OUTLINE_Z_INDEX,
    style: [
      new Style({ stroke: new Stroke({ color: 'rgba(0, 0, 0, 0.55)', width: 3.5 }) }),
      new Style({ stroke: new Stroke({ color: OUTLINE_COLOUR, width: 1.5 }) }),
    ],
    properties: { name: 'cloud outline' },
  });
}

/** Reads the outline at catalogue path `file` into features in `projection` (the view's). */
export async function loadOutline(file: string, projection: Projection, signal?: AbortSignal): Promise<Feature[]> {
  const response = await fetch(rasterUrl(file), { signal });
  if (!response.ok) throw new Error(`the cloud outline ${file} could not be read (HTTP ${response.status})`);
  let json: unknown;
  try {
    json = await response.json();
  } catch {
    throw new Error(`the cloud outline ${file} is not GeoJSON`);
  }
  const epsg = epsgFromGeoJsonCrs(json);
  const dataProjection = (epsg !== null ? registerEpsg(epsg) : null) ?? projection;
  return new GeoJSON().readFeatures(json, { dataProjection, featureProjection: projection });
}
