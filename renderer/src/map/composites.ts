/**
 * Band composites and stretches of the map's layers, as pure functions (no OpenLayers, no DOM): which bands a
 * composite shows (by name; unnamed bands of a 13-band raster by the standard S2 order), why one is not
 * available, and the stretch of each shown band at a cumulative cut (the scene's for overlays in its numbers).
 */
import type { RasterOverlay } from './overlays.ts';
import { stretchOf, type BandStretch, type RasterSample } from './stretch.ts';

export const TRUE_COLOUR = ['B04', 'B03', 'B02'] as const;
/** Sentinel-2 L1C's 13 bands in their standard order (unnamed bands of a 13-band raster are taken as these). */
export const S2_BANDS = ['B01', 'B02', 'B03', 'B04', 'B05', 'B06', 'B07', 'B08', 'B8A', 'B09', 'B10', 'B11', 'B12'] as const;

export type CompositeId = 'true' | 'false' | 'swir' | 'single' | 'vv' | 'vh' | 'sar-ratio';
export const COMPOSITES: { id: CompositeId; label: string; bands: readonly string[] | null }[] = [
  { id: 'true', label: 'True colour (B04/B03/B02)', bands: TRUE_COLOUR },
  { id: 'false', label: 'False colour (B08/B04/B03)', bands: ['B08', 'B04', 'B03'] },
  { id: 'swir', label: 'SWIR (B12/B08/B04)', bands: ['B12', 'B08', 'B04'] },
  // Sentinel-1: each polarisation in dB, and the usual colour composite R = VV, G = VH, B = VV/VH (dB: VV − VH).
  { id: 'vv', label: 'VV (dB, grey)', bands: ['VV'] },
  { id: 'vh', label: 'VH (dB, grey)', bands: ['VH'] },
  { id: 'sar-ratio', label: 'VV / VH / ratio (dB)', bands: ['VV', 'VH'] },
  { id: 'single', label: 'Single band (grey)', bands: null },
];

const SAR_COMPOSITES: readonly CompositeId[] = ['vv', 'vh', 'sar-ratio'];
const OPTICAL_COMPOSITES: readonly CompositeId[] = ['true', 'false', 'swir'];

/** Whether a composite shows Sentinel-1 polarisations (drawn in dB). */
export function isSarComposite(id: CompositeId): boolean {
  return SAR_COMPOSITES.includes(id);
}

/** Whether a raster is SAR to the map: it has a VV or a VH band (by description). */
export function isSarRaster(bandNames: (string | null)[]): boolean {
  return effectiveBandNames(bandNames).some((name) => name === 'VV' || name === 'VH');
}

/**
 * The composites a raster is offered: for SAR its polarisations (optical composites do not apply and are not
 * listed), for optical rasters the optical ones (a missing band disables one, saying which); single band always.
 */
export function compositesOffered(bandNames: (string | null)[]): typeof COMPOSITES {
  const sar = isSarRaster(bandNames);
  return COMPOSITES.filter((c) => (sar ? !OPTICAL_COMPOSITES.includes(c.id) : !SAR_COMPOSITES.includes(c.id)));
}

/** What a raster shows first: the VV/VH/ratio composite for SAR with both polarisations, true colour otherwise. */
export function defaultComposite(bandNames: (string | null)[]): CompositeId {
  if (!isSarRaster(bandNames)) return 'true';
  return compositeBands(bandNames, { id: 'sar-ratio' }) ? 'sar-ratio' : effectiveBandNames(bandNames).includes('VV') ? 'vv' : 'vh';
}

/**
 * The map draws linear sigma0 in dB, but style expressions have no log: ln x is taken as Box-Cox's
 * (x^λ − 1)/λ, within 5 % of it over sigma0's range (1e-4…1) at this λ. The stretch uses the same formula, so
 * its cut points land where the map's values are.
 */
export const SAR_BOX_COX = 0.01;

/** A SAR value in dB as the map draws it: as stored when in dB, else 10/ln 10 · (x^λ − 1)/λ (null for none or ≤ 0). */
export function sarDb(value: number, units: 'linear' | 'dB' | null): number | null {
  if (units === 'dB') return Number.isFinite(value) ? value : null;
  return value > 0 && Number.isFinite(value) ? ((10 / Math.LN10) * (value ** SAR_BOX_COX - 1)) / SAR_BOX_COX : null;
}

/**
 * The stretch of a SAR composite's channels in dB at a cut, from the sample's pixels (raw, one array per read
 * band: VV then VH for the ratio): VV and VH each, and the ratio channel from each pixel's VV − VH.
 */
export function sarStretch(composite: CompositeId, raw: ArrayLike<number>[], units: 'linear' | 'dB' | null, nodata: number | null, cut: { low: number; high: number }): BandStretch[] {
  return sarChannels(composite, raw, units, nodata).map((values) => stretchOf(Float64Array.from(values.filter((v) => !Number.isNaN(v))).sort(), cut.low, cut.high));
}

/** The channels a SAR composite shows, in dB as the map draws them (NaN where there is none): VV or VH, or VV, VH and VV − VH. */
export function sarChannels(composite: CompositeId, raw: ArrayLike<number>[], units: 'linear' | 'dB' | null, nodata: number | null): Float64Array[] {
  const db = (values: ArrayLike<number>) => Float64Array.from(values, (v) => (v === nodata ? NaN : (sarDb(v, units) ?? NaN)));
  const channels = (composite === 'sar-ratio' ? raw.slice(0, 2) : raw.slice(0, 1)).map(db);
  if (composite === 'sar-ratio' && channels.length === 2) channels.push(channels[0].map((vv, i) => vv - channels[1][i]));
  return channels;
}

/** What a layer shows: a composite, and for 'single' the 1-based band. */
export interface Composite {
  id: CompositeId;
  band?: number;
}

/** The band names a raster's bands go by: their own, else (13 bands) the standard S2 order; null when unknown. */
export function effectiveBandNames(bandNames: (string | null)[]): (string | null)[] {
  return bandNames.map((name, i) => {
    const upper = name?.toUpperCase();
    // Sentinel-1 descriptions vary ('VV', 'VV_dB', 'Sigma0_VV'): the polarisation is what counts.
    if (upper && /(^|[^A-Z])VV([^A-Z]|$)/.test(upper)) return 'VV';
    if (upper && /(^|[^A-Z])VH([^A-Z]|$)/.test(upper)) return 'VH';
    return upper ?? (bandNames.length === S2_BANDS.length ? S2_BANDS[i] : null);
  });
}

/** The 1-based bands of `composite` in a raster with these band names; null when it lacks one of them. */
export function compositeBands(bandNames: (string | null)[], composite: Composite): number[] | null {
  if (composite.id === 'single') {
    const band = composite.band ?? 1;
    return band >= 1 && band <= Math.max(1, bandNames.length) ? [band] : null;
  }
  const wanted = COMPOSITES.find((c) => c.id === composite.id)?.bands ?? TRUE_COLOUR;
  const names = effectiveBandNames(bandNames);

  const found = wanted.map((name) => names.indexOf(name) + 1);
  return found.every((band) => band > 0) ? found : null;
}

/** Why `composite` cannot be shown for these bands (the missing band names), or null when it can. */
export function compositeMissing(bandNames: (string | null)[], composite: Composite): string | null {
  if (compositeBands(bandNames, composite)) return null;
  const names = effectiveBandNames(bandNames);
  const wanted = COMPOSITES.find((c) => c.id === composite.id)?.bands ?? [];
  const missing = wanted.filter((name) => !names.includes(name));
  return missing.length ? `this raster has no ${missing.join(', ')}` : 'not available for this raster';
}

/** The 1-based band numbers of red, green and blue: B04/B03/B02 when the scene has them, else its first bands. */
export function trueColourBands(bandNames: (string | null)[]): number[] {
  const found = compositeBands(bandNames, { id: 'true' });
  if (found) return found;
  if (bandNames.length >= 3) return [1, 2, 3];
  return [1, 1, 1];
}

/** The bands a layer reads for `composite` (true colour's fallback when the raster lacks its bands). */
export function layerBands(bandNames: (string | null)[], composite: Composite): number[] {
  return compositeBands(bandNames, composite) ?? trueColourBands(bandNames);
}

/** What layerStretch needs to know of a layer. */
export interface StretchSpec {
  bandNames: (string | null)[];
  kind: RasterOverlay['kind'];
  /** The cumulative cut in percent (2–98 by default). */
  cut?: { low: number; high: number };
  /** Stretches to use for bands of these names (upper case) instead of the layer's own sample's. */
  stretchByName?: Map<string, BandStretch>;
  /** The composite shown: a SAR one is stretched in dB (and its ratio channel from each pixel's VV − VH). */
  composite?: Composite;
  /** SAR units of the raster (the catalogue's); linear sigma0 when unknown. */
  units?: 'linear' | 'dB' | null;
}

/** The stretch of each band of a scene at a cut, by band name (upper case); unnamed bands are left out. */
export function stretchByBandName(bandNames: (string | null)[], sample: RasterSample, cut: { low: number; high: number }): Map<string, BandStretch> {
  const byName = new Map<string, BandStretch>();
  effectiveBandNames(bandNames).forEach((name, i) => {
    if (name && sample.sorted[i]) byName.set(name, stretchOf(sample.sorted[i], cut.low, cut.high));
  });
  return byName;
}

/** The stretch of each shown band of a layer: the given one by name when there is one, else its own sample's cut. */
export function layerStretch(spec: StretchSpec, bands: number[], sample: RasterSample): BandStretch[] {
  const cut = spec.cut ?? { low: 2, high: 98 };
  if (spec.kind !== 'uncertainty' && spec.composite && isSarComposite(spec.composite.id) && compositeBands(spec.bandNames, spec.composite)) {
    return sarStretch(spec.composite.id, bands.map((band) => sample.raw[band - 1] ?? []), spec.units ?? null, sample.nodata, cut);
  }
  if (spec.kind === 'uncertainty') {
    // One scale for the bands (0 to the largest band's high point), so their mean means something.
    const max = Math.max(...bands.map((band) => stretchOf(sample.sorted[band - 1], cut.low, cut.high, true).max));
    return bands.map(() => ({ min: 0, max }));
  }
  const names = effectiveBandNames(spec.bandNames);
  return bands.map((band) => spec.stretchByName?.get(names[band - 1] ?? '') ?? stretchOf(sample.sorted[band - 1], cut.low, cut.high));
}
