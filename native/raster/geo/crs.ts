/**
 * Coordinate reference systems Clearsky can transform between, bundled offline as proj4 strings (no network,
 * no EPSG database): the CRSs Sentinel-2 and Sentinel-1 products and web maps come in.
 * - EPSG:4326 WGS 84 (longitude, latitude in degrees: the axis order GeoTIFF and GDAL's geotransform use)
 * - EPSG:3857 WGS 84 / Pseudo-Mercator
 * - EPSG:32601–32660 and 32701–32760 WGS 84 / UTM zones 1–60 north and south (every Sentinel-2 tile)
 * - EPSG:25828–25838 ETRS89 / UTM zones 28–38N
 * - EPSG:3035 ETRS89-LAEA Europe; EPSG:4258 ETRS89 geographic
 * ETRS89 is treated as WGS 84 (towgs84 zero), as PROJ does without a grid: the two differ by well under a
 * metre today, a tenth of a Sentinel-2 pixel.
 */
import proj4 from 'proj4';
import { InputError } from '../../errors.ts';
import type { Crs } from '../tiff/raster-info.ts';

const ETRS89 = '+ellps=GRS80 +towgs84=0,0,0,0,0,0,0';

/** The proj4 definition of an EPSG code, or null when it is not one we bundle. */
export function proj4Definition(epsg: number): string | null {
  if (epsg === 4326) return '+proj=longlat +datum=WGS84 +no_defs';
  if (epsg === 4258) return `+proj=longlat ${ETRS89} +no_defs`;
  if (epsg === 3857) {
    return '+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +units=m +nadgrids=@null +wktext +no_defs';
  }
  if (epsg === 3035) return `+proj=laea +lat_0=52 +lon_0=10 +x_0=4321000 +y_0=3210000 ${ETRS89} +units=m +no_defs`;
  if (epsg >= 32601 && epsg <= 32660) return `+proj=utm +zone=${epsg - 32600} +datum=WGS84 +units=m +no_defs`;
  if (epsg >= 32701 && epsg <= 32760) return `+proj=utm +zone=${epsg - 32700} +south +datum=WGS84 +units=m +no_defs`;
  if (epsg >= 25828 && epsg <= 25838) return `+proj=utm +zone=${epsg - 25800} ${ETRS89} +units=m +no_defs`;
  return null;
}

const SUPPORTED = 'EPSG:4326, 4258, 3857, 3035, WGS 84 / UTM 32601–32660 and 32701–32760, ETRS89 / UTM 25828–25838';

/** The proj4 definition of a raster's CRS; an InputError naming `file` (and the EPSG code) when we cannot transform it. */
export function crsDefinition(crs: Crs | null, file: string): string {
  if (crs === null) throw new InputError(file, 'has no coordinate reference system, so it cannot be reprojected');
  if (crs.epsg === null) {
    throw new InputError(file, `its CRS (${crs.description}) has no EPSG code; reproject it to one of ${SUPPORTED} (e.g. with gdalwarp -t_srs)`);
  }
  const definition = proj4Definition(crs.epsg);
  if (definition === null) {
    throw new InputError(file, `its CRS EPSG:${crs.epsg} is not one Clearsky can reproject (${SUPPORTED}); reproject it with gdalwarp -t_srs`);
  }
  return definition;
}

/** A function mapping (x, y) coordinates in one CRS to another, in place on interleaved pairs. */
export type CoordinateTransform = (xy: Float64Array) => void;

/** Transforms interleaved [x0, y0, x1, y1, …] from `from`'s CRS to `to`'s (InputError naming the file whose CRS is unknown). */
export function coordinateTransform(from: { crs: Crs | null; path: string }, to: { crs: Crs | null; path: string }): CoordinateTransform {
  const converter = proj4(crsDefinition(from.crs, from.path), crsDefinition(to.crs, to.path));
  return (xy) => {
    for (let i = 0; i < xy.length; i += 2) {
      const [x, y] = converter.forward([xy[i], xy[i + 1]]);
      xy[i] = x;
      xy[i + 1] = y;
    }
  };
}

/**
 * Do two CRSs describe the same coordinates? Equal EPSG codes, or for user-defined CRSs the same defining
 * GeoKeys (names and citations aside), as grid.ts compares them.
 */
export function sameCrs(a: Crs | null, b: Crs | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.epsg !== null && b.epsg !== null) return a.epsg === b.epsg;
  return JSON.stringify(definingKeys(a)) === JSON.stringify(definingKeys(b));
}

function definingKeys(crs: Crs): [string, unknown][] {
  return Object.entries(crs.geoKeys)
    .filter(([name]) => !/Citation/.test(name))
    .map(([name, value]): [string, unknown] => [name, ArrayBuffer.isView(value) ? Array.from(value as unknown as ArrayLike<number>) : value])
    .sort(([x], [y]) => x.localeCompare(y));
}
