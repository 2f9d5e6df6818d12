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

/** The values at the `low` and `high` quantiles of `values`, leaving out `nodata` and NaN; null if none are valid. */
export function cumulativeCut(values: ArrayLike<number>, nodata: number | null, low = 0.02, high = 0.98): BandStretch | null {
  const valid = new Float64Array(values.length);
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (Number.isNaN(value) || value === nodata) continue;
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

/** Reads the stretch of the 1-based `bands` of the GeoTIFF at `url`. */
export async function computeStretch(url: string, bands: number[], nodata: number | null, signal?: AbortSignal): Promise<BandStretch[]> {
  const tiff = await fromUrl(url, { allowFullFile: false }, signal);
  const count = await tiff.getImageCount();
  const images: GeoTIFFImage[] = [];
  for (let i = 0; i < count; i++) images.push(await tiff.getImage(i));
  const full = images[0];
  const candidates = images
    .filter((image) => image.getSamplesPerPixel() === full.getSamplesPerPixel())
    .sort((a, b) => a.getWidth() * a.getHeight() - b.getWidth() * b.getHeight());
  const image = candidates.find((candidate) => candidate.getWidth() * candidate.getHeight() >= SAMPLE_PIXELS) ?? full;
  const rasters = await image.readRasters({ samples: bands.map((band) => band - 1), interleave: false, signal });
  const fallback: BandStretch = { min: 0, max: 1 };
  return bands.map((_, i) => cumulativeCut((rasters as unknown as ArrayLike<number>[])[i], nodata) ?? fallback);
}
