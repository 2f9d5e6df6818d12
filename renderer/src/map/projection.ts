/**
 * The scenes' coordinate reference systems, registered with OpenLayers from the definitions bundled in
 * native/raster/geo/crs.ts (proj4 strings for WGS 84, UTM, ETRS89, LAEA…): no EPSG look-up, no network request.
 */
import { register } from 'ol/proj/proj4.js';
import { get as getProjection, type ProjectionLike } from 'ol/proj.js';
import type Projection from 'ol/proj/Projection.js';
import proj4 from 'proj4';
import { proj4Definition } from '../../../native/raster/geo/crs.ts';

/** Makes `EPSG:<epsg>` known to OpenLayers; returns its projection, or null when we bundle no definition. */
export function registerEpsg(epsg: number): Projection | null {
  const code = `EPSG:${epsg}`;
  if (!proj4.defs(code)) {
    const definition = proj4Definition(epsg);
    if (definition === null) return null;
    proj4.defs(code, definition);
    register(proj4);
  }
  return getProjection(code as ProjectionLike);
}
