/**
 * The display stretch of a scene: a 2–98 % cumulative cut per band, as QGIS's default. Computed from the
 * GeoTIFF's overviews, not the full image: the smallest image of the file (overview or full resolution) with
 * at least SAMPLE_PIXELS pixels, read once with Range requests (for a 1536 × 768 COG with 768/384/192 overviews
 * that is the 384 × 192 overview, a few tens of kB). Nodata values and NaN are left out. Overviews average
 * pixels, which trims the tails a little; for a display stretch that is what we want anyway.
 */
import { fromUrl, type GeoTIFFImage } from 'geotiff';

export const SAMPLE_PIXELS = 65_536;

export interface BandStretch {
  min: number;
  max: number;
}

/**
 * The values at the `low` and `high` quantiles of `values`, leaving out `nodata` and NaN (and zeros with
 * `skipZero`: an uncertainty map is 0 wherever nothing was reconstructed); null if none are valid.
 */
export function cumulativeCut(values: ArrayLike<number>, nodata: number | null, low = 0.02, high = 0.98, skipZero = false): BandStretch | null {
  const valid = new Float64Array(values.length);
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (Number.isNaN(value) || value === nodata || (skipZero && value === 0)) continue;
    valid[count++] = value;
  }
  if (count === 0) return null;
  const sorted = valid.subarray(0, count).sort();
  const at = (q: number): number => sorted[Math.min(count - 1, Math.max(0, Math.round(q * (count - 1))))];
  const min = at(low);
  let max = at(high);
  if (max <= min) max = min + 1;
  return { min, max };
}

/** What the map needs to know of a raster before drawing it. */
export interface RasterFacts {
  /** One per requested band. */
  stretch: BandStretch[];
  /** The nodata value given, else the file's (GDAL_NODATA); null when neither says. */
  nodata: number | null;
  /** The EPSG code of the file's CRS from its GeoKeys; null when it has none or a user-defined one. */
  epsg: number | null;
}

/** The EPSG code in a GeoTIFF's GeoKeys (projected first, then geographic); null for none or user-defined. */
export function epsgFromGeoKeys(keys: Record<string, unknown> | null | undefined): number | null {
  for (const key of ['ProjectedCSTypeGeoKey', 'GeographicTypeGeoKey']) {
    const code = keys?.[key];
    if (typeof code === 'number' && Number.isInteger(code) && code > 0 && code !== 32767) return code;
  }
  return null;
}

/** Reads the stretch of the 1-based `bands` of the GeoTIFF at `url`. */
export async function computeStretch(url: string, bands: number[], nodata: number | null, signal?: AbortSignal): Promise<BandStretch[]> {
  return (await readRasterFacts(url, bands, nodata, signal)).stretch;
}

/**
 * Reads the stretch of the 1-based `bands` of the GeoTIFF at `url`, its nodata value (unless given) and its
 * EPSG code, from the header and the smallest useful overview. With `skipZero` zeros are left out of the
 * stretch, whose minimum is then 0 (for uncertainty maps).
 */
export async function readRasterFacts(url: string, bands: number[], nodata: number | null, signal?: AbortSignal, skipZero = false): Promise<RasterFacts> {
  const tiff = await fromUrl(url, { allowFullFile: false }, signal);
  const count = await tiff.getImageCount();
  const images: GeoTIFFImage[] = [];
  for (let i = 0; i < count; i++) images.push(await tiff.getImage(i));
  const full = images[0];
  const fileNodata = nodata ?? full.getGDALNoData();
  const epsg = epsgFromGeoKeys(full.getGeoKeys() as Record<string, unknown> | null);
  const candidates = images
    .filter((image) => image.getSamplesPerPixel() === full.getSamplesPerPixel())
    .sort((a, b) => a.getWidth() * a.getHeight() - b.getWidth() * b.getHeight());
  const image = candidates.find((candidate) => candidate.getWidth() * candidate.getHeight() >= SAMPLE_PIXELS) ?? full;
  const rasters = await image.readRasters({ samples: bands.map((band) => band - 1), interleave: false, signal });
  const fallback: BandStretch = { min: 0, max: 1 };
  const stretch = bands.map((_, i) => {
    const cut = cumulativeCut((rasters as unknown as ArrayLike<number>[])[i], fileNodata, 0.02, 0.98, skipZero);
    if (!cut) return fallback;
    return skipZero ? { min: 0, max: Math.max(cut.max, Number.MIN_VALUE) } : cut;
  });
  return { stretch, nodata: fileNodata, epsg };
}
