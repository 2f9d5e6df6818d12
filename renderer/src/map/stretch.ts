/**
 * The display stretch of a scene: a 2–98 % cumulative cut per band, as QGIS's default. Computed from the
 * GeoTIFF's overviews, not the full image: the smallest image of the file (overview or full resolution) with
 * at least SAMPLE_PIXELS pixels, read once with Range requests (for a 1536 × 768 COG with 768/384/192 overviews
 * that is the 192 × 96 overview: one tile). The sorted sample is kept, so other cuts (the map's low/high
 * percent inputs) need no new read. Nodata values and NaN are left out. Overviews average
 * pixels, which trims the tails a little; for a display stretch that is what we want anyway.
 */
import { fromUrl, type GeoTIFFImage } from 'geotiff';

/** The stretch is read from the smallest image of the file with at least this many pixels. */
export const SAMPLE_PIXELS = 16_384;

export interface BandStretch {
  min: number;
  max: number;
}

/** The valid values of `values`, sorted: without `nodata` and NaN (and zeros with `skipZero`). */
export function validSorted(values: ArrayLike<number>, nodata: number | null, skipZero = false): Float64Array {
  const valid = new Float64Array(values.length);
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (Number.isNaN(value) || value === nodata || (skipZero && value === 0)) continue;
    valid[count++] = value;
  }
  return valid.subarray(0, count).sort();
}

/** The values at the `low` and `high` quantiles (0–1) of sorted values; null if there are none. */
export function cutSorted(sorted: ArrayLike<number>, low = 0.02, high = 0.98): BandStretch | null {
  const count = sorted.length;
  if (count === 0) return null;
  const at = (q: number): number => sorted[Math.min(count - 1, Math.max(0, Math.round(q * (count - 1))))];
  const min = at(Math.min(low, high));
  let max = at(Math.max(low, high));
  if (max <= min) max = min + 1;
  return { min, max };
}

/**
 * The values at the `low` and `high` quantiles of `values`, leaving out `nodata` and NaN (and zeros with
 * `skipZero`: an uncertainty map is 0 wherever nothing was reconstructed); null if none are valid.
 */
export function cumulativeCut(values: ArrayLike<number>, nodata: number | null, low = 0.02, high = 0.98, skipZero = false): BandStretch | null {
  return cutSorted(validSorted(values, nodata, skipZero), low, high);
}

/** The stretch of one band from its sorted sample at a `low`–`high` percent cut (uncertainty: 0 to the high point). */
export function stretchOf(sorted: ArrayLike<number> | undefined, low: number, high: number, fromZero = false): BandStretch {
  const cut = sorted ? cutSorted(sorted, low / 100, high / 100) : null;
  if (!cut) return { min: 0, max: 1 };
  return fromZero ? { min: 0, max: Math.max(cut.max, Number.MIN_VALUE) } : cut;
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

/** A raster's sample for stretches: the sorted valid values of each requested band, read once. */
export interface RasterSample {
  /** One per requested band, sorted, nodata/NaN (and zeros with skipZero) left out. */
  sorted: Float64Array[];
  /** The sampled image itself, one array per requested band, row by row (a first, coarse picture). */
  raw: ArrayLike<number>[];
  width: number;
  height: number;
  /** The full image's bounding box in its CRS [minX, minY, maxX, maxY]. */
  bbox: number[];
  nodata: number | null;
  epsg: number | null;
}

/**
 * Reads the sorted values of the 1-based `bands` of the GeoTIFF at `url` from the smallest image with at least
 * SAMPLE_PIXELS pixels, its nodata value (unless given) and its EPSG code. Only the header and that image's
 * tiles are fetched (for the T33UUU COG: the 192 × 96 overview, one tile).
 */
export async function readRasterSample(url: string, bands: number[], nodata: number | null, signal?: AbortSignal, skipZero = false): Promise<RasterSample> {
  const tiff = await fromUrl(url, { allowFullFile: false }, signal);
  const count = await tiff.getImageCount();
  const images = await Promise.all(Array.from({ length: count }, (_, i) => tiff.getImage(i)));
  const full = images[0];
  const fileNodata = nodata ?? full.getGDALNoData();
  const epsg = epsgFromGeoKeys(full.getGeoKeys() as Record<string, unknown> | null);
  const candidates = images
    .filter((image: GeoTIFFImage) => image.getSamplesPerPixel() === full.getSamplesPerPixel())
    .sort((a, b) => a.getWidth() * a.getHeight() - b.getWidth() * b.getHeight());
  const image = candidates.find((candidate) => candidate.getWidth() * candidate.getHeight() >= SAMPLE_PIXELS) ?? full;
  const rasters = await image.readRasters({ samples: bands.map((band) => band - 1), interleave: false, signal });
  const raw = rasters as unknown as ArrayLike<number>[];
  const sorted = bands.map((_, i) => validSorted(raw[i], fileNodata, skipZero));
  return { sorted, raw, width: image.getWidth(), height: image.getHeight(), bbox: full.getBoundingBox(), nodata: fileNodata, epsg };
}

/**
 * Reads the 2–98 % stretch of the 1-based `bands` of the GeoTIFF at `url`, its nodata value (unless given) and
 * its EPSG code (readRasterSample). With `skipZero` zeros are left out of the stretch, whose minimum is then 0
 * (for uncertainty maps).
 */
export async function readRasterFacts(url: string, bands: number[], nodata: number | null, signal?: AbortSignal, skipZero = false): Promise<RasterFacts> {
  const sample = await readRasterSample(url, bands, nodata, signal, skipZero);
  return { stretch: sample.sorted.map((sorted) => stretchOf(sorted, 2, 98, skipZero)), nodata: sample.nodata, epsg: sample.epsg };
}
