/**
 * What a GeoTIFF is, from its header (band count and descriptions, data type, metadata, file name) and, where
 * the header cannot say, a small sample of its values (a central window of at most ~1 M values):
 *
 * - reference: our own metadata CLEARSKY_REFERENCE_METHOD; or Sentinel-2 bands with "mean", "median",
 *   "composite" or "reference" in the file name or metadata (a multi-temporal composite, not an acquisition);
 * - S2: band descriptions that are Sentinel-2 band names (B01…B12, B8A), or 13 undescribed integer bands (the
 *   standard order); level L1C/L2A from metadata or names (S2L1C_, MSIL2A, TOA/BOA);
 * - S1: band descriptions naming a polarisation (VV, VH, HH, HV, as in Sigma0_VV or VV_dB), or S1 / GRD /
 *   sigma0 in the file name; units dB or linear from descriptions, metadata or name, else from the values
 *   (backscatter in dB is mostly negative, linear sigma0 never is);
 * - SCL: one integer band whose name says SCL (or "scene classification") and whose values are classes 0–11;
 * - probability: one band named CLP / cloudprob / CLDPRB / probability, or a floating-point band with values
 *   in 0–1 that are not only 0 and 1;
 * - mask: our own mask metadata (CLEARSKY_MASK_KIND), or integer bands whose values are only 0 and 1 (one
 *   band, or a stack such as s2cloudless masks, one band per date).
 *
 * Contradicting evidence (S2 and S1 names at once) or none gives 'unsure' with the candidate kinds and the
 * reason; the user then says which (`--kind`).
 */
import path from 'node:path';
import type { ImportRequest } from '../api/contract.ts';
import { DATA_TYPES } from '../raster/tiff/data-types.ts';
import { readBands, type Raster } from '../raster/tiff/geotiff-reader.ts';
import { canonicalS2BandName, S2_BAND_ORDER } from '../raster/sentinel/bands.ts';
import type { RasterInfo } from '../raster/tiff/raster-info.ts';

export type ImportKind = NonNullable<ImportRequest['kind']>;

export type Recognition =
  | { kind: ImportKind; reason: string }
  | { kind: 'unsure'; candidates: ImportKind[]; reason: string };

/** What the sample of values says. */
export interface ValueSample {
  /** Finite values that are not nodata. */
  count: number;
  min: number;
  max: number;
  allIntegers: boolean;
  /** Every value is 0 or 1. */
  onlyZeroOne: boolean;
  /** Share of values below zero. */
  negativeFraction: number;
}

const SAMPLE_VALUES = 1 << 20;

/** A central window of the raster, all bands, at most ~1 M values. */
export async function sampleValues(raster: Raster): Promise<ValueSample> {
  const pixels = Math.max(1, Math.floor(SAMPLE_VALUES / raster.bandCount));
  const side = Math.max(1, Math.floor(Math.sqrt(pixels)));
  const width = Math.min(raster.width, side);
  const height = Math.min(raster.height, Math.max(1, Math.floor(pixels / width)));
  const window = { x: Math.floor((raster.width - width) / 2), y: Math.floor((raster.height - height) / 2), width, height };
  const { data } = await readBands(raster, raster.bandNames.map((_, band) => band), window);
  let count = 0;
  let min = Infinity;
  let max = -Infinity;
  let allIntegers = true;
  let onlyZeroOne = true;
  let negative = 0;
  for (const value of data) {
    if (!Number.isFinite(value) || (raster.nodata !== null && value === raster.nodata)) continue;
    count++;
    if (value < min) min = value;
    if (value > max) max = value;
    if (allIntegers && !Number.isInteger(value)) allIntegers = false;
    if (onlyZeroOne && value !== 0 && value !== 1) onlyZeroOne = false;
    if (value < 0) negative++;
  }
  return { count, min, max, allIntegers, onlyZeroOne, negativeFraction: count ? negative / count : 0 };
}

/** The file's kind, or 'unsure' with candidates. */
export function recognise(info: RasterInfo, sample: ValueSample): Recognition {
  const name = path.basename(info.path).replace(/\.tiff?$/i, '');
  const lower = name.toLowerCase();
  const metadataText = Object.values(info.metadata).join(' ');
  const isInteger = DATA_TYPES[info.dataType].isInteger;
  const described = info.bandNames.filter((d): d is string => d !== null && d.trim() !== '');

  if (info.metadata.CLEARSKY_REFERENCE_METHOD !== undefined) return { kind: 'reference', reason: 'metadata CLEARSKY_REFERENCE_METHOD' };
  if (info.metadata.CLEARSKY_MASK_KIND !== undefined) return { kind: 'mask', reason: 'metadata CLEARSKY_MASK_KIND (a Clearsky mask)' };

  const s2Described = described.filter((d) => canonicalS2BandName(d) !== null).length;
  const s2ByBands = (described.length > 0 && s2Described === described.length && described.length === info.bandCount) ||
    (described.length === 0 && info.bandCount === S2_BAND_ORDER.length && isInteger);
  const s2ByName = /(^|[^a-z0-9])s2[ab]?([^a-z0-9]|l1c|l2a|$)|msil1c|msil2a|sentinel-?2/.test(lower);
  const polarisations = described.filter((d) => /(^|[^a-z])(vv|vh|hh|hv)([^a-z]|$)/i.test(d)).length;
  const s1ByBands = polarisations > 0;
  const s1ByName = /(^|[^a-z0-9])s1[ab]?([^a-z0-9]|$)|grd|sigma0|sentinel-?1/.test(lower);
  const s2 = s2ByBands || (s2ByName && !s1ByBands && !s1ByName && info.bandCount > 1);
  const s1 = s1ByBands || (s1ByName && !s2ByBands);
  if (s2 && s1) {
    return { kind: 'unsure', candidates: ['S2', 'S1'], reason: 'both Sentinel-2 and Sentinel-1 signs (band descriptions, file name)' };
  }
  if (s2) {
    const compositeWords = /(^|[^a-z])(mean|median|composite|reference|mosaic)([^a-z]|$)/i;
    if (compositeWords.test(name) || compositeWords.test(metadataText)) {
      return { kind: 'reference', reason: 'Sentinel-2 bands, and a mean/median/composite/reference by its name or metadata' };
    }
    return { kind: 'S2', reason: s2ByBands ? (described.length ? 'Sentinel-2 band descriptions' : '13 integer bands (standard Sentinel-2 order)') : 'Sentinel-2 file name' };
  }
  if (s1) return { kind: 'S1', reason: s1ByBands ? 'polarisation band descriptions (VV/VH)' : 'Sentinel-1 file name (S1/GRD/sigma0)' };

  const sclByName = /(^|[^a-z])scl([^a-z]|$)|scene.?class/.test(lower) || described.some((d) => /^scl$|scene.?class/i.test(d.trim()));
  const probabilityByName = /(^|[^a-z])clp([^a-z]|$)|cloud.?prob|cldprb|probabilit/.test(lower) || described.some((d) => /cloud.?prob|probabilit|^clp$/i.test(d.trim()));
  const inClassRange = sample.count > 0 && sample.allIntegers && sample.min >= 0 && sample.max <= 11;

  if (info.bandCount === 1) {
    if (sclByName) {
      if (isInteger && (sample.count === 0 || inClassRange)) return { kind: 'scl', reason: 'SCL in the name, integer classes 0–11' };
      return { kind: 'unsure', candidates: ['scl', 'probability', 'mask'], reason: `named SCL but its values (${range(sample)}) are not Scene Classification classes 0–11` };
    }
    if (probabilityByName) return { kind: 'probability', reason: 'cloud probability by its name' };
    if (!isInteger && sample.count > 0 && sample.min >= 0 && sample.max <= 1 && !sample.onlyZeroOne) {
      return { kind: 'probability', reason: 'one floating-point band with values in 0–1' };
    }
  }
  if (isInteger && sample.count > 0 && sample.onlyZeroOne) {
    return { kind: 'mask', reason: `${info.bandCount === 1 ? 'one integer band' : `${info.bandCount} integer bands`} with values only 0 and 1` };
  }
  if (info.bandCount === 1 && isInteger && inClassRange) {
    return { kind: 'unsure', candidates: ['scl', 'mask'], reason: `one integer band with values ${range(sample)}: an SCL band (rename it with SCL) or a mask with several labels?` };
  }
  if (sample.count === 0) {
    return { kind: 'unsure', candidates: ['mask', 'S2', 'S1'], reason: 'no band descriptions or telling name, and the sampled values are all nodata' };
  }
  const candidates: ImportKind[] = isInteger ? ['S2', 'reference', 'mask'] : ['S1', 'S2', 'reference', 'probability'];
  return {
    kind: 'unsure',
    candidates,
    reason: `${info.bandCount} ${info.dataType} band${info.bandCount === 1 ? '' : 's'} (values ${range(sample)}) ` +
      `${described.length ? `described ${described.slice(0, 4).join(', ')}${described.length > 4 ? ', …' : ''}` : 'without descriptions'} and no telling name`,
  };
}

/** Sentinel-2 processing level from metadata, then the file name: 'L1C', 'L2A' or null. */
export function s2Level(info: Pick<RasterInfo, 'path' | 'metadata'>): 'L1C' | 'L2A' | null {
  const texts = [
    info.metadata.PROCESSING_LEVEL ?? info.metadata.PRODUCT_TYPE ?? '',
    Object.values(info.metadata).join(' '),
    path.basename(info.path),
  ];
  for (const text of texts) {
    if (/L2A|(^|[^a-z])BOA([^a-z]|$)/i.test(text)) return 'L2A';
    if (/L1C|(^|[^a-z])TOA([^a-z]|$)/i.test(text)) return 'L1C';
  }
  return null;
}

/** Sentinel-1 backscatter units: said by band descriptions, metadata or name, else told by the values. */
export function s1Units(info: Pick<RasterInfo, 'path' | 'metadata' | 'bandNames'>, sample: ValueSample): 'linear' | 'dB' {
  const said = [...info.bandNames.map((d) => d ?? ''), ...Object.values(info.metadata), path.basename(info.path)].join(' ');
  if (/(^|[^a-z])db([^a-z]|$)|decibel/i.test(said)) return 'dB';
  if (/linear|intensity|power/i.test(said)) return 'linear';
  return sample.negativeFraction > 0.05 ? 'dB' : 'linear';
}

/** Sentinel-1 product level: 'GRD' when the name or metadata says so. */
export function s1Level(info: Pick<RasterInfo, 'path' | 'metadata'>): string | null {
  return /GRD/i.test(`${path.basename(info.path)} ${Object.values(info.metadata).join(' ')}`) ? 'GRD' : null;
}

/** Scene cloud cover (fraction 0–1) from product metadata (CLOUDY_PIXEL_PERCENTAGE, CLOUD_COVERAGE_ASSESSMENT), or null. */
export function metadataCloudCover(info: Pick<RasterInfo, 'metadata'>): number | null {
  for (const key of ['CLOUDY_PIXEL_PERCENTAGE', 'CLOUD_COVERAGE_ASSESSMENT', 'CLOUD_COVER', 'CLOUDCOVER']) {
    const value = Object.entries(info.metadata).find(([k]) => k.toUpperCase() === key)?.[1];
    const number = value === undefined ? NaN : Number(value);
    if (Number.isFinite(number) && number >= 0 && number <= 100) return number / 100;
  }
  return null;
}

/** Band names for the catalogue: Sentinel-2 names canonical (B4 → B04); 13 undescribed bands in the standard order. */
export function catalogueBands(info: Pick<RasterInfo, 'bandCount' | 'bandNames'>, kind: ImportKind): (string | null)[] {
  const described = info.bandNames.some((d) => d !== null && d.trim() !== '');
  if ((kind === 'S2' || kind === 'reference') && !described && info.bandCount === S2_BAND_ORDER.length) return [...S2_BAND_ORDER];
  return info.bandNames.map((d) => (d === null ? null : (kind === 'S2' || kind === 'reference') ? (canonicalS2BandName(d) ?? d) : d));
}

function range(sample: ValueSample): string {
  return sample.count === 0 ? 'none' : `${formatNumber(sample.min)}–${formatNumber(sample.max)}`;
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toPrecision(3);
}
