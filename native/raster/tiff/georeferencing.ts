/**
 * Turns GeoTIFF georeferencing (model tags + GeoKeys) into what the rest of Clearsky uses: GDAL's
 * six-number geotransform and an EPSG-based CRS description. Follows GDAL's reading so that our numbers
 * agree with `gdalinfo`.
 */
import type { Crs, GeoTags, GeoTransform } from './raster-info.ts';

const USER_DEFINED = 32767;
const MODEL_TYPE_GEOGRAPHIC = 2;
const RASTER_PIXEL_IS_POINT = 2;

/** The geotransform, or null for a file without affine georeferencing (no tags, or GCPs only). */
export function geoTransformFromTags(tags: GeoTags, geoKeys: Record<string, unknown> | null): GeoTransform | null {
  let transform: GeoTransform | null = null;
  const m = tags.ModelTransformation;
  const tiepoint = tags.ModelTiepoint;
  const scale = tags.ModelPixelScale;
  if (m && m.length >= 16) {
    transform = [m[3], m[0], m[1], m[7], m[4], m[5]];
  } else if (tiepoint && tiepoint.length === 6 && scale && scale.length >= 2) {
    const [col, row, , x, y] = tiepoint;
    const [sx, sy] = scale;
    transform = [x - col * sx, sx, 0, y + row * sy, 0, -sy];
  }
  if (transform && geoKeys?.GTRasterTypeGeoKey === RASTER_PIXEL_IS_POINT) {
    // Tie points then refer to pixel centres; GDAL's geotransform always describes pixel corners.
    transform[0] -= 0.5 * transform[1] + 0.5 * transform[2];
    transform[3] -= 0.5 * transform[4] + 0.5 * transform[5];
  }
  return transform;
}

export function crsFromGeoKeys(geoKeys: Record<string, unknown> | null): Crs | null {
  if (!geoKeys || Object.keys(geoKeys).length === 0) return null;
  const projected = numberKey(geoKeys, 'ProjectedCSTypeGeoKey');
  const geographic = numberKey(geoKeys, 'GeographicTypeGeoKey');
  const isGeographic = geoKeys.GTModelTypeGeoKey === MODEL_TYPE_GEOGRAPHIC;
  const code = isGeographic ? geographic : projected;
  const epsg = code !== null && code > 0 && code !== USER_DEFINED ? code : null;
  const citation = stringKey(geoKeys, 'GTCitationGeoKey') ?? stringKey(geoKeys, 'GeogCitationGeoKey');
  const description =
    epsg !== null ? `EPSG:${epsg}${citation ? ` (${citation})` : ''}` : citation ?? 'user-defined CRS without a name';
  return { epsg, description, geoKeys };
}

function numberKey(keys: Record<string, unknown>, name: string): number | null {
  const value = keys[name];
  return typeof value === 'number' ? value : null;
}

function stringKey(keys: Record<string, unknown>, name: string): string | null {
  const value = keys[name];
  // GeoAsciiParams values end with '|' (the GeoTIFF separator) when geotiff.js hands them over.
  return typeof value === 'string' && value.trim() !== '' ? value.replace(/\|$/, '').trim() : null;
}
