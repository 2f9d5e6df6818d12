/**
 * Cloud and cloud-shadow detection from a Sentinel-2 scene's own bands, for users who have no SCL layer and no
 * cloud probability (those, imported through cloud-masks.ts, stay the better source: Sen2Cor and s2cloudless
 * see more than these rules). Pure functions over band arrays, and a reader that streams a scene window by
 * window (`openCloudDetector`), so a full 10980² tile never sits in memory.
 *
 * Cloud — the cloud score of Schmitt et al. 2019 (*Aggregating cloud-free Sentinel-2 images with Google Earth
 * Engine*, ISPRS Annals IV-2/W7), the rule SEN12MS-CR's masks were made with: "cloud until proven otherwise",
 * the minimum of linear ramps (reflectance):
 *   B02 over [0.1, 0.5]; B01 over [0.1, 0.3]; B01 + B10 over [0.15, 0.2]; B02 + B03 + B04 over [0.2, 0.8];
 *   and not snow: NDSI = (B03 − B11)/(B03 + B11) over [0.8, 0.6];
 * then a 5 × 5 grey closing and a 7 × 7 mean; cloud where the score ≥ `threshold` (SEN12MS-CR: 0.2), grown
 * up to 6 px into the haze around it where the score is at least half the threshold (hysteresis).
 * Without B01 (some L2A files) its two ramps are left out; without B10 (every L2A product) the B01 + B10
 * ramp becomes B01 alone over [0.15, 0.2].
 * Cirrus — on L1C, B10 (1375 nm, seen only above most water vapour) is cirrus where it passes two published
 * tests: above `cirrus`, Sen2Cor's thin-cirrus lower bound 0.012 (its ATBD, cirrus test), and at least 0.01
 * above the scene's clear background, Fmask 4's test on its normalised cirrus band (Qiu, Zhu & He 2019,
 * *Fmask 4.0*, RSE 231; normalize_cirrus without a DEM: B10 less its 2nd percentile over the clear pixels,
 * here those scoring below the default threshold; none clear, no background). A veil of thin cirrus over the
 * whole scene raises that background (SEN12MS-CR's cloud-free Colombia image: B10 0.035–0.058 on every pixel,
 * 20× clear ground, the fields plainly seen); Sen2Cor's bound alone then calls every pixel cloud, while only
 * the cirrus that stands out from the veil is masked.
 *
 * Shadow — the dark test of the same code (Schmitt et al.; SEN12MS-CR's `get_shadow_mask`): CSI =
 * (B08 + B11)/2 below min + 3/4 (mean − min) and B02 below min + 5/6 (mean − min), here over the scene's clear
 * pixels (a mostly cloudy scene would otherwise call everything dark; clear at the default threshold, so that
 * one survey of a scene serves every threshold) with the 1st percentile for the minimum (one dead pixel must
 * not set it), median-filtered 5 × 5, water left out by Fmask's water test; then, as Fmask does (Zhu &
 * Woodcock 2012), kept only where a cloud (at least 9 px across) cast it. The scene's survey finds the offset
 * at which the clouds, shifted away from the sun, land on dark ground most often, among the shadow lengths of
 * clouds 200 m to `maxCloudHeight` high (h · tan(sun zenith) / pixel size); the clouds are then swept over
 * that offset ÷ 1.3 to × 1.3. The sun comes from the file's metadata when it has angles
 * (MEAN_SUN_AZIMUTH_ANGLE …), else from its acquisition time and place (NOAA's solar position equations);
 * with neither, the direction is searched too, among 16, over offsets up to `searchDistance` pixels. Where no
 * offset lands on dark ground clearly more often than chance, no shadow is marked.
 *
 * Reflectance is DN / 10000, after adding the file's offset: products of processing baseline 04.00 and later
 * (from January 2022) add 1000 to every DN (BOA_ADD_OFFSET / RADIO_ADD_OFFSET = −1000), which the detector
 * reads from the metadata when present, or takes from `offset`.
 */
import { createMask, type Mask } from '../../dip/image.ts';
import { dilateMask } from '../../dip/mask-ops.ts';
import { InputError, throwIfCancelled } from '../../errors.ts';
import { resolveBands } from './bands.ts';
import { coordinateTransform } from '../geo/crs.ts';
import { openRaster, readBands, type Raster } from '../tiff/geotiff-reader.ts';
import type { MaskGrid } from './cloud-masks.ts';
import type { RasterInfo, Window } from '../tiff/raster-info.ts';

export interface DetectOptions {
  /** Cloud where the smoothed cloud score is at least this (0–1); default DEFAULT_DETECT.threshold. */
  threshold?: number;
  /** Grow cloud and shadow by this many pixels (a (2N+1)² square); default 0. */
  dilate?: number;
  /** Detect cloud shadows; default true. */
  shadows?: boolean;
  /** B10 reflectance above which a pixel is cirrus (L1C only; it must also stand 0.01 above the scene's clear background); null: no cirrus test. Default 0.012. */
  cirrus?: number | null;
  /** DN added before dividing by 10000 (−1000 for baseline ≥ 04.00); default: from the file's metadata, else 0. */
  offset?: number;
  /** The sun, in degrees (azimuth clockwise from north; zenith from vertical); default: from the file. */
  sun?: SunAngles;
  /** Highest cloud whose shadow is looked for, metres; default 3000. */
  maxCloudHeight?: number;
  /** Without sun angles: longest shadow offset searched, pixels; default 40. */
  searchDistance?: number;
  /**
   * What an earlier detector found surveying this scene (its `info`; any threshold and dilation, the same shadows):
   * skips the survey's passes over the whole scene, for a preview read window after window.
   */
  survey?: Pick<DetectionInfo, 'thresholds' | 'cast' | 'sun' | 'sunSource' | 'cirrusBaseline'>;
  /** Checked before each window is read (the survey's and the mask's): aborted, reading stops with a CancelledError. */
  signal?: AbortSignal;
}

export const DEFAULT_DETECT = { threshold: 0.2, cirrus: 0.012, maxCloudHeight: 3000, searchDistance: 40, minCloudHeight: 200 } as const;

export interface SunAngles {
  azimuth: number;
  zenith: number;
}

/** The bands the detector reads, reflectance (0–1) per pixel; B01 and B10 may be missing. */
export interface DetectBands {
  width: number;
  height: number;
  b01: Float32Array | null;
  b02: Float32Array;
  b03: Float32Array;
  b04: Float32Array;
  b08: Float32Array;
  b10: Float32Array | null;
  b11: Float32Array;
  /** 1 where the pixel holds no data (nodata or NaN in any band read). */
  nodata: Uint8Array;
}

export const REQUIRED_BANDS = ['B02', 'B03', 'B04', 'B08', 'B11'] as const;
const OPTIONAL_BANDS = ['B01', 'B10'] as const;

const ramp = (value: number, low: number, high: number): number => (value - low) / (high - low);

/** Schmitt et al.'s per-pixel cloud score (before the closing and the mean), clipped to [0, 1]; nodata → 0. */
export function cloudScore(bands: DetectBands): Float32Array {
  const { b01, b02, b03, b04, b10, b11, nodata } = bands;
  const score = new Float32Array(b02.length);
  for (let i = 0; i < score.length; i++) {
    if (nodata[i]) continue;
    let s = Math.min(1, ramp(b02[i], 0.1, 0.5));
    if (b01) {
      s = Math.min(s, ramp(b01[i], 0.1, 0.3));
      s = Math.min(s, ramp(b01[i] + (b10 ? b10[i] : 0), 0.15, 0.2));
    }
    s = Math.min(s, ramp(b02[i] + b03[i] + b04[i], 0.2, 0.8));
    const sum = b03[i] + b11[i];
    const ndsi = (b03[i] - b11[i]) / (sum === 0 ? 0.001 : sum);
    s = Math.min(s, ramp(ndsi, 0.8, 0.6));
    score[i] = Math.max(0, s);
  }
  return score;
}

/** The score's 5 × 5 grey closing then 7 × 7 mean (neighbourhoods cut at the array's edges). */
export function smoothScore(score: Float32Array, width: number, height: number): Float32Array {
  const closed = slidingFilter(slidingFilter(score, width, height, 2, 'max'), width, height, 2, 'min');
  return slidingFilter(closed, width, height, 3, 'mean');
}

/** A separable (2r+1)² max, min or mean, the neighbourhood cut at the edges. */
function slidingFilter(input: Float32Array, width: number, height: number, r: number, kind: 'max' | 'min' | 'mean'): Float32Array {
  // One specialised loop per kind: this runs over every pixel of a scene several times.
  const pass = (src: Float32Array, dst: Float32Array, lines: number, length: number, stride: number, step: number) => {
    for (let line = 0; line < lines; line++) {
      const start = line * stride;
      if (kind === 'mean') {
        let sum = 0;
        for (let j = 0; j < Math.min(r, length); j++) sum += src[start + j * step];
        for (let i = 0; i < length; i++) {
          if (i + r < length) sum += src[start + (i + r) * step];
          if (i - r - 1 >= 0) sum -= src[start + (i - r - 1) * step];
          dst[start + i * step] = sum / (Math.min(length - 1, i + r) - Math.max(0, i - r) + 1);
        }
      } else if (kind === 'max') {
        for (let i = 0; i < length; i++) {
          let acc = -Infinity;
          for (let j = Math.max(0, i - r), to = Math.min(length - 1, i + r); j <= to; j++) {
            const v = src[start + j * step];
            if (v > acc) acc = v;
          }
          dst[start + i * step] = acc;
        }
      } else {
        for (let i = 0; i < length; i++) {
          let acc = Infinity;
          for (let j = Math.max(0, i - r), to = Math.min(length - 1, i + r); j <= to; j++) {
            const v = src[start + j * step];
            if (v < acc) acc = v;
          }
          dst[start + i * step] = acc;
        }
      }
    }
  };
  const rows = new Float32Array(input.length);
  pass(input, rows, height, width, width, 1);
  const out = new Float32Array(input.length);
  pass(rows, out, width, height, 1, width);
  return out;
}

/** Thresholds of the dark (shadow) test: from the clear pixels of the scene (`surveyScene`). */
export interface DarkThresholds {
  /** (B08 + B11)/2 below this. */
  csi: number;
  /** B02 below this. */
  blue: number;
}

/** Schmitt et al.'s dark test (CSI and blue below the scene's thresholds), median-filtered 5 × 5; nodata and cloud are never dark. */
export function darkPixels(bands: DetectBands, thresholds: DarkThresholds, cloud: Uint8Array): Uint8Array {
  const { b02, b08, b11, nodata, width, height } = bands;
  const dark = new Uint8Array(b02.length);
  const { b04 } = bands;
  for (let i = 0; i < dark.length; i++) {
    // Water is dark too: Fmask's water test (NDVI < 0.01 and NIR < 0.11, or NDVI < 0.1 and NIR < 0.05) keeps it out.
    const ndvi = (b08[i] - b04[i]) / (b08[i] + b04[i] || 0.001);
    const water = (ndvi < 0.01 && b08[i] < 0.11) || (ndvi < 0.1 && b08[i] < 0.05);
    dark[i] = !nodata[i] && !cloud[i] && !water && (b08[i] + b11[i]) / 2 < thresholds.csi && b02[i] < thresholds.blue ? 1 : 0;
  }
  // A binary 5 × 5 median is a majority vote: dark where at least 13 of the 25 are.
  const counts = slidingFilter(Float32Array.from(dark), width, height, 2, 'mean');
  const out = new Uint8Array(dark.length);
  for (let i = 0; i < out.length; i++) out[i] = counts[i] > 0.5 && !cloud[i] && !nodata[i] ? 1 : 0;
  return out;
}

/**
 * The cloud mask swept along (dx, dy) pixels per step over offsets from `near` to `far` steps: 1 where some cloud
 * pixel lies at p − k·(dx, dy) for k in [near, far]. O(pixels · log(far − near)) by doubling the swept length.
 */
export function sweep(mask: Uint8Array, width: number, height: number, dx: number, dy: number, near: number, far: number): Uint8Array {
  const swept = shift(mask, width, height, Math.round(near * dx), Math.round(near * dy));
  let length = 1; // swept covers offsets near … near + length − 1
  const span = Math.max(1, Math.round(far - near) + 1);
  while (length < span) {
    const add = Math.min(length, span - length);
    const moved = shift(swept, width, height, Math.round(add * dx), Math.round(add * dy));
    for (let i = 0; i < swept.length; i++) swept[i] |= moved[i];
    length += add;
  }
  return swept;
}

function shift(mask: Uint8Array, width: number, height: number, ox: number, oy: number): Uint8Array {
  const out = new Uint8Array(mask.length);
  for (let y = Math.max(0, oy); y < Math.min(height, height + oy); y++) {
    const from = (y - oy) * width;
    const to = y * width;
    for (let x = Math.max(0, ox); x < Math.min(width, width + ox); x++) out[to + x] = mask[from + x - ox];
  }
  return out;
}

/** The pixel step (x right, y down) from a cloud towards its shadow: away from the sun. */
export function shadowStep(azimuthDegrees: number): { dx: number; dy: number } {
  const a = (azimuthDegrees * Math.PI) / 180;
  // The sun at azimuth a (clockwise from north) casts shadows towards a + 180°: east = −sin a, north = −cos a.
  return { dx: -Math.sin(a), dy: Math.cos(a) };
}

/**
 * The sun's azimuth and zenith (degrees) at a time and place, by NOAA's solar position equations (the
 * spreadsheet's, after Meeus; well under a degree off, plenty for a shadow's direction).
 */
export function sunPosition(when: Date, longitude: number, latitude: number): SunAngles {
  const rad = Math.PI / 180;
  const julianDay = when.getTime() / 86_400_000 + 2440587.5;
  const t = (julianDay - 2451545) / 36525;
  const meanLongitude = (280.46646 + t * (36000.76983 + t * 0.0003032)) % 360;
  const meanAnomaly = 357.52911 + t * (35999.05029 - 0.0001537 * t);
  const eccentricity = 0.016708634 - t * (0.000042037 + 0.0000001267 * t);
  const centre =
    Math.sin(meanAnomaly * rad) * (1.914602 - t * (0.004817 + 0.000014 * t)) +
    Math.sin(2 * meanAnomaly * rad) * (0.019993 - 0.000101 * t) +
    Math.sin(3 * meanAnomaly * rad) * 0.000289;
  const trueLongitude = meanLongitude + centre;
  const omega = 125.04 - 1934.136 * t;
  const apparentLongitude = trueLongitude - 0.00569 - 0.00478 * Math.sin(omega * rad);
  const meanObliquity = 23 + (26 + (21.448 - t * (46.815 + t * (0.00059 - t * 0.001813))) / 60) / 60;
  const obliquity = meanObliquity + 0.00256 * Math.cos(omega * rad);
  const declination = Math.asin(Math.sin(obliquity * rad) * Math.sin(apparentLongitude * rad)) / rad;
  const y = Math.tan((obliquity / 2) * rad) ** 2;
  const equationOfTime =
    (4 / rad) *
    (y * Math.sin(2 * meanLongitude * rad) -
      2 * eccentricity * Math.sin(meanAnomaly * rad) +
      4 * eccentricity * y * Math.sin(meanAnomaly * rad) * Math.cos(2 * meanLongitude * rad) -
      0.5 * y * y * Math.sin(4 * meanLongitude * rad) -
      1.25 * eccentricity * eccentricity * Math.sin(2 * meanAnomaly * rad));
  const minutes = when.getUTCHours() * 60 + when.getUTCMinutes() + when.getUTCSeconds() / 60;
  const trueSolarTime = (((minutes + equationOfTime + 4 * longitude) % 1440) + 1440) % 1440;
  const hourAngle = trueSolarTime / 4 < 0 ? trueSolarTime / 4 + 180 : trueSolarTime / 4 - 180;
  const cosZenith =
    Math.sin(latitude * rad) * Math.sin(declination * rad) + Math.cos(latitude * rad) * Math.cos(declination * rad) * Math.cos(hourAngle * rad);
  const zenith = Math.acos(Math.max(-1, Math.min(1, cosZenith))) / rad;
  const denominator = Math.cos(latitude * rad) * Math.sin(zenith * rad);
  let azimuth: number;
  if (Math.abs(denominator) < 1e-9) azimuth = latitude > 0 ? 180 : 0;
  else {
    const cosAzimuth = (Math.sin(latitude * rad) * Math.cos(zenith * rad) - Math.sin(declination * rad)) / denominator;
    const angle = Math.acos(Math.max(-1, Math.min(1, cosAzimuth))) / rad;
    azimuth = hourAngle > 0 ? (angle + 180) % 360 : (540 - angle) % 360;
  }
  return { azimuth, zenith };
}

/** DN offset of baseline ≥ 04.00 products, from the metadata GDAL's SENTINEL2 driver and ESA's XML carry; null if it says nothing. */
export function metadataOffset(metadata: Record<string, string>): number | null {
  for (const [name, value] of Object.entries(metadata)) {
    if (/^(BOA|RADIO)_ADD_OFFSET/i.test(name) && Number.isFinite(Number(value))) return Number(value);
  }
  const baseline = metadata.PROCESSING_BASELINE ?? metadata.PROCESSINGBASELINE;
  if (baseline !== undefined && Number.isFinite(Number(baseline))) return Number(baseline) >= 4 ? -1000 : 0;
  return null;
}

const SUN_AZIMUTH_KEYS = ['MEAN_SUN_AZIMUTH_ANGLE', 'SUN_AZIMUTH', 'SOLAR_AZIMUTH', 'MEAN_SOLAR_AZIMUTH_ANGLE', 'SUN_AZIMUTH_ANGLE'];
const SUN_ZENITH_KEYS = ['MEAN_SUN_ZENITH_ANGLE', 'SUN_ZENITH', 'SOLAR_ZENITH', 'MEAN_SOLAR_ZENITH_ANGLE', 'SUN_ZENITH_ANGLE'];
const SUN_ELEVATION_KEYS = ['SUN_ELEVATION', 'SOLAR_ELEVATION', 'MEAN_SUN_ELEVATION_ANGLE', 'SUN_ELEVATION_ANGLE'];
const TIME_KEYS = ['ACQUISITION_DATE', 'DATATAKE_1_DATATAKE_SENSING_START', 'PRODUCT_START_TIME', 'SENSING_TIME', 'TIFFTAG_DATETIME'];

/** Where the sun angles came from, for the provenance and the summary. */
export type SunSource = 'given' | 'metadata' | 'acquisition time' | 'searched';

/** The sun over a raster: its angle metadata, else its acquisition time at its centre; null when neither is there. */
export function sceneSun(info: Pick<RasterInfo, 'path' | 'metadata' | 'crs' | 'geoTransform' | 'width' | 'height'>): { sun: SunAngles; source: SunSource } | null {
  const find = (keys: string[]) => {
    for (const key of keys) {
      const value = Number(info.metadata[key]);
      if (info.metadata[key] !== undefined && Number.isFinite(value)) return value;
    }
    return null;
  };
  const azimuth = find(SUN_AZIMUTH_KEYS);
  const zenith = find(SUN_ZENITH_KEYS) ?? (find(SUN_ELEVATION_KEYS) !== null ? 90 - find(SUN_ELEVATION_KEYS)! : null);
  if (azimuth !== null && zenith !== null) return { sun: { azimuth, zenith }, source: 'metadata' };
  const text = TIME_KEYS.map((key) => info.metadata[key]).find((value) => value !== undefined);
  // A time of day is needed (a date alone leaves the azimuth anywhere); GDAL's TIFFTAG_DATETIME uses colons in the date.
  const match = text ? /^(\d{4})[-:](\d{2})[-:](\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?/.exec(text.trim()) : null;
  if (!match || !info.geoTransform || !info.crs) return null;
  const when = new Date(Date.UTC(+match[1], +match[2] - 1, +match[3], +match[4], +match[5], Math.floor(Number(match[6] ?? 0))));
  const t = info.geoTransform;
  const centre = new Float64Array([t[0] + (info.width / 2) * t[1] + (info.height / 2) * t[2], t[3] + (info.width / 2) * t[4] + (info.height / 2) * t[5]]);
  try {
    coordinateTransform(info, { crs: { epsg: 4326, description: 'EPSG:4326', geoKeys: {} }, path: 'WGS 84' })(centre);
  } catch (error) {
    if (error instanceof InputError) return null; // a CRS we cannot transform: search instead
    throw error;
  }
  const sun = sunPosition(when, centre[0], centre[1]);
  return sun.zenith < 89 ? { sun, source: 'acquisition time' } : null;
}

/** Which band of the file each detector band is (0-based), and the missing optional ones (null). */
interface BandIndexes {
  b01: number | null;
  b02: number;
  b03: number;
  b04: number;
  b08: number;
  b10: number | null;
  b11: number;
}

function bandIndexes(raster: RasterInfo): BandIndexes {
  let required: number[];
  try {
    required = resolveBands(raster, [...REQUIRED_BANDS]);
  } catch (error) {
    // resolveBands names the file and the first band it lacks, and lists what the file has.
    if (error instanceof InputError) throw new InputError(raster.path, `cloud detection needs bands ${REQUIRED_BANDS.join(', ')}, and the file ${error.problem.replace(/^has/, 'has')}`);
    throw error;
  }
  const [b02, b03, b04, b08, b11] = required;
  const optional = OPTIONAL_BANDS.map((name) => {
    try {
      return resolveBands(raster, [name])[0];
    } catch (error) {
      if (error instanceof InputError) return null;
      throw error;
    }
  });
  return { b01: optional[0], b02, b03, b04, b08, b10: optional[1], b11 };
}

async function readDetectBands(raster: Raster, indexes: BandIndexes, window: Window, offset: number): Promise<DetectBands> {
  const order = [indexes.b02, indexes.b03, indexes.b04, indexes.b08, indexes.b11];
  if (indexes.b01 !== null) order.push(indexes.b01);
  if (indexes.b10 !== null) order.push(indexes.b10);
  const image = await readBands(raster, order, window);
  const n = window.width * window.height;
  const k = order.length;
  const bands = order.map(() => new Float32Array(n));
  const nodata = new Uint8Array(n);
  const noValue = raster.nodata;
  for (let p = 0; p < n; p++) {
    for (let b = 0; b < k; b++) {
      const value = image.data[p * k + b];
      if (Number.isNaN(value) || value === noValue) nodata[p] = 1;
      bands[b][p] = (value + offset) / 10000;
    }
  }
  let next = 5;
  return {
    width: window.width,
    height: window.height,
    b02: bands[0],
    b03: bands[1],
    b04: bands[2],
    b08: bands[3],
    b11: bands[4],
    b01: indexes.b01 !== null ? bands[next++] : null,
    b10: indexes.b10 !== null ? bands[next++] : null,
    nodata,
  };
}

/** Cloud (score ≥ threshold, or cirrus) of a window's bands: the pure core of the detector. */
export function detectCloud(bands: DetectBands, threshold: number, cirrus: number | null): Uint8Array {
  const smooth = smoothScore(cloudScore(bands), bands.width, bands.height);
  const cloud = new Uint8Array(smooth.length);
  const { b10, nodata } = bands;
  for (let i = 0; i < cloud.length; i++) {
    if (nodata[i]) continue;
    cloud[i] = smooth[i] >= threshold || (b10 !== null && cirrus !== null && b10[i] > cirrus) ? 1 : 0;
  }
  // Haze at cloud edges scores below the threshold: grow each cloud into neighbours scoring at least half of
  // it, pixel by pixel (hysteresis, as Canny's edge detector keeps weak edges that touch strong ones), up to
  // HAZE_STEPS pixels, so bright ground far from any cloud stays clear and each window stays exact.
  const low = threshold * HAZE_RATIO;
  let grown: Mask = { width: bands.width, height: bands.height, data: cloud };
  for (let k = 0; k < HAZE_STEPS; k++) {
    const next = dilateMask(grown, 1);
    for (let i = 0; i < next.data.length; i++) next.data[i] = next.data[i] && (cloud[i] || (smooth[i] >= low && !nodata[i])) ? 1 : 0;
    grown = next;
  }
  return grown.data;
}

/** How far above the scene's clear background B10 must be to be cirrus (Fmask 4's normalised-cirrus test). */
const CIRRUS_OVER_BACKGROUND = 0.01;
/** How far (pixels) and into how faint a score (share of the threshold) clouds grow into their haze. */
const HAZE_STEPS = 6;
const HAZE_RATIO = 0.5;
/** Clouds narrower than 2r + 1 pixels (buildings, a quarry at 10 m) are not taken to cast a shadow worth finding. */
const CASTER_RADIUS = 4;

/** Shadow pixels of a window: dark, not cloud, and reached by sweeping the cloud away from the sun. */
export function detectShadow(bands: DetectBands, cloud: Uint8Array, thresholds: DarkThresholds, cast: ShadowCast): Uint8Array {
  const dark = darkPixels(bands, thresholds, cloud);
  const casters = openMask({ width: bands.width, height: bands.height, data: cloud }, CASTER_RADIUS).data;
  const swept = sweep(casters, bands.width, bands.height, cast.dx, cast.dy, cast.near, cast.far);
  for (let i = 0; i < dark.length; i++) dark[i] &= swept[i];
  // An opening of radius 1 drops the 1–2 px slivers that thin cloud lines sweep across dark fields.
  return openMask({ width: bands.width, height: bands.height, data: dark }, 1).data;
}

/** Erosion then dilation by `radius` (squares): removes features thinner than 2·radius + 1. */
export function openMask(mask: Mask, radius: number): Mask {
  const eroded = dilateMask({ ...mask, data: mask.data.map((v) => 1 - v) }, radius);
  return dilateMask({ ...mask, data: eroded.data.map((v) => 1 - v) }, radius);
}

/** Where shadows fall from clouds: a pixel step and the range of offsets in steps. */
export interface ShadowCast {
  dx: number;
  dy: number;
  near: number;
  far: number;
}

export interface DetectionInfo {
  sun: SunAngles | null;
  sunSource: SunSource | null;
  cast: ShadowCast | null;
  offset: number;
  thresholds: DarkThresholds | null;
  cirrus: boolean;
  /** B10 of the scene's clear background (2nd percentile), subtracted before the cirrus test; null without one. */
  cirrusBaseline: number | null;
  bands: string[];
}

/** A detector over one scene: the mask of any window (cloud ∪ shadow, dilated), like cloud-masks.ts's readers. */
export interface CloudDetector {
  grid: MaskGrid;
  resampled: false;
  info: DetectionInfo;
  /** Provenance items (CLEARSKY_MASK_*) saying how the mask was made. */
  description: Record<string, string>;
  read(window: Window): Promise<Mask>;
  close(): Promise<void>;
}

/** Windows of `size` covering a width × height grid, row by row. */
function windows(width: number, height: number, size: number): Window[] {
  const out: Window[] = [];
  for (let y = 0; y < height; y += size) for (let x = 0; x < width; x += size) out.push({ x, y, width: Math.min(size, width - x), height: Math.min(size, height - y) });
  return out;
}

function grow(window: Window, halo: number, width: number, height: number): Window {
  const x = Math.max(0, window.x - halo);
  const y = Math.max(0, window.y - halo);
  return { x, y, width: Math.min(width, window.x + window.width + halo) - x, height: Math.min(height, window.y + window.height + halo) - y };
}

function crop(data: Uint8Array, from: Window, to: Window): Uint8Array {
  const out = new Uint8Array(to.width * to.height);
  for (let row = 0; row < to.height; row++) {
    const start = (to.y - from.y + row) * from.width + (to.x - from.x);
    out.set(data.subarray(start, start + to.width), row * to.width);
  }
  return out;
}

const SURVEY_WINDOW = 1024;
/** Side of the blocks the detector computes and keeps (1 byte a pixel), each read once with its halo. */
const DETECT_BLOCK = 1024;
/** The longest shadow offset looked for, pixels (5 km at 10 m): bounds the halo, and so the memory, under a low sun. */
const MAX_SHADOW_OFFSET = 500;

/**
 * Computed blocks by position, at most two rows of blocks: a reader going row by row (the writer, a preview
 * window) never computes a block twice.
 */
class BlockCache {
  private readonly kept = new Map<string, Promise<{ window: Window; data: Uint8Array }>>();
  private readonly limit: number;

  constructor(
    private readonly width: number,
    private readonly height: number,
    private readonly compute: (block: Window) => Promise<Uint8Array>,
  ) {
    this.limit = 2 * Math.ceil(width / DETECT_BLOCK) + 2;
  }

  get(bx: number, by: number): Promise<{ window: Window; data: Uint8Array }> {
    const key = `${bx},${by}`;
    let block = this.kept.get(key);
    if (!block) {
      const window = { x: bx * DETECT_BLOCK, y: by * DETECT_BLOCK, width: Math.min(DETECT_BLOCK, this.width - bx * DETECT_BLOCK), height: Math.min(DETECT_BLOCK, this.height - by * DETECT_BLOCK) };
      block = this.compute(window).then((data) => ({ window, data }));
      // A failed block is not kept: the next read tries again (and fails again, with its own error).
      block.catch(() => this.kept.delete(key));
      this.kept.set(key, block);
      while (this.kept.size > this.limit) this.kept.delete(this.kept.keys().next().value!);
    }
    return block;
  }
}

/**
 * Pixels each side a window reads beyond itself, besides the shadow offset, so that every window's mask is
 * exactly the whole scene's: the closing and mean (5), the haze growth (6), the casters' opening (8), the
 * dark pixels' median (2) and the shadows' opening (2), with a margin.
 */
const FILTER_HALO = 26;

/**
 * Opens a scene for detection: checks its bands, then surveys it once (the dark thresholds from its clear
 * pixels; without sun angles, the shadow direction), window by window.
 */
export async function openCloudDetector(path: string, options: DetectOptions = {}): Promise<CloudDetector> {
  const threshold = options.threshold ?? DEFAULT_DETECT.threshold;
  if (!(threshold > 0 && threshold < 1)) throw new InputError(undefined, `the detection threshold must be between 0 and 1 (exclusive), not ${threshold}`);
  const dilate = options.dilate ?? 0;
  if (!Number.isInteger(dilate) || dilate < 0) throw new InputError(undefined, `dilation must be a whole number of pixels ≥ 0, not ${dilate}`);
  const cirrus = options.cirrus === undefined ? DEFAULT_DETECT.cirrus : options.cirrus;
  const maxHeight = options.maxCloudHeight ?? DEFAULT_DETECT.maxCloudHeight;
  const searchDistance = options.searchDistance ?? DEFAULT_DETECT.searchDistance;
  const shadows = options.shadows ?? true;
  if (options.sun && !(Number.isFinite(options.sun.azimuth) && options.sun.zenith >= 0 && options.sun.zenith < 90)) {
    throw new InputError(undefined, `the sun's zenith must be between 0° and 90° and its azimuth a number of degrees, not zenith ${options.sun.zenith}, azimuth ${options.sun.azimuth}`);
  }
  const raster = await openRaster(path);
  try {
    const indexes = bandIndexes(raster);
    const offset = options.offset ?? metadataOffset(raster.metadata) ?? 0;
    const useCirrus = indexes.b10 !== null && cirrus !== null;
    const { width, height } = raster;
    const read = (window: Window) => {
      throwIfCancelled(options.signal);
      return readDetectBands(raster, indexes, window, offset);
    };

    let thresholds: DarkThresholds | null = null;
    let cast: ShadowCast | null = null;
    let sun: SunAngles | null = null;
    let sunSource: SunSource | null = null;
    let cirrusBaseline: number | null = null;
    if (options.survey) {
      ({ thresholds, cast, sun, sunSource, cirrusBaseline } = options.survey);
      if (!shadows) thresholds = cast = sun = sunSource = null;
      if (!useCirrus) cirrusBaseline = null;
    } else if (shadows || useCirrus) {
      // The survey uses the default threshold's clouds whatever the threshold asked for: the ground's darkness,
      // its cirrus background and the clouds' shadow offset are the scene's, and one survey serves every
      // threshold a user tries.
      const survey = await surveyScene(read, width, height, DEFAULT_DETECT.threshold);
      if (useCirrus) cirrusBaseline = survey.cirrusBaseline;
      if (shadows) thresholds = survey.thresholds;
    }
    // The B10 above which a pixel is cirrus: Sen2Cor's bound, raised over a scene-wide veil (Fmask 4).
    const cirrusLimit = useCirrus ? Math.max(cirrus, (cirrusBaseline ?? 0) + CIRRUS_OVER_BACKGROUND) : null;
    if (shadows && !options.survey) {
      const known = options.sun ? { sun: options.sun, source: 'given' as const } : sceneSun(raster);
      const pixel = raster.geoTransform ? Math.hypot(raster.geoTransform[1], raster.geoTransform[4]) : 10;
      const detect = (bands: DetectBands) => detectCloud(bands, DEFAULT_DETECT.threshold, cirrusLimit);
      if (known) {
        ({ sun, source: sunSource } = known);
        const tan = Math.tan((Math.min(sun.zenith, 85) * Math.PI) / 180);
        const near = (DEFAULT_DETECT.minCloudHeight * tan) / pixel;
        const far = Math.min(MAX_SHADOW_OFFSET, Math.max(near + 1, (maxHeight * tan) / pixel));
        cast = await matchShadowOffset(read, width, height, detect, thresholds!, [shadowStep(sun.azimuth)], near, far);
      } else {
        sunSource = 'searched';
        const directions = Array.from({ length: 16 }, (_, k) => shadowStep(k * 22.5));
        cast = await matchShadowOffset(read, width, height, detect, thresholds!, directions, 1, Math.min(MAX_SHADOW_OFFSET, searchDistance));
      }
    }
    const halo = FILTER_HALO + (cast ? Math.ceil(cast.far) + 1 : 0);
    const bandNames = ['B02', 'B03', 'B04', 'B08', 'B11', ...(indexes.b01 !== null ? ['B01'] : []), ...(indexes.b10 !== null ? ['B10'] : [])];
    const info: DetectionInfo = { sun, sunSource, cast, offset, thresholds, cirrus: useCirrus, cirrusBaseline, bands: bandNames };
    const description: Record<string, string> = {
      CLEARSKY_MASK_SOURCE: path,
      CLEARSKY_MASK_KIND: 'detected',
      CLEARSKY_MASK_RULE:
        `cloud = Schmitt et al. 2019 cloud score (5×5 closing, 7×7 mean) ≥ ${threshold}` +
        (useCirrus ? ` or B10 > ${cirrus} and B10 − ${(cirrusBaseline ?? 0).toFixed(4)} (the clear pixels' 2nd percentile) > ${CIRRUS_OVER_BACKGROUND}` : '') +
        `, grown up to ${HAZE_STEPS} px into haze scoring ≥ ${threshold * HAZE_RATIO}` +
        (shadows ? `; shadow = dark (CSI and B02 below the clear pixels' thresholds, 5×5 median, not water) where clouds ${2 * CASTER_RADIUS + 1} px across or more cast it away from the sun` : '; no shadows'),
      CLEARSKY_MASK_THRESHOLD: String(threshold),
      CLEARSKY_MASK_BANDS: bandNames.join(','),
      CLEARSKY_MASK_DN_OFFSET: String(offset),
      CLEARSKY_MASK_DILATION: String(dilate),
      CLEARSKY_MASK_GRID: path,
      CLEARSKY_MASK_RESAMPLING: 'none',
    };
    if (shadows) {
      const where = sun ? `sun azimuth ${sun.azimuth.toFixed(1)}°, zenith ${sun.zenith.toFixed(1)}° (${sunSource})` : 'sun direction searched';
      description.CLEARSKY_MASK_SHADOWS = cast
        ? `${where}; shadows matched ${cast.near.toFixed(0)}–${cast.far.toFixed(0)} px from their clouds, towards (${cast.dx.toFixed(2)}, ${cast.dy.toFixed(2)})`
        : `${where}; no shadow found (no offset of the clouds lands on dark ground more often than chance)`;
    }
    /** The mask of one block of the grid (cloud ∪ shadow, dilated), from the block and its halo. */
    const computeBlock = async (block: Window): Promise<Uint8Array> => {
      const outer = grow(block, halo + dilate, width, height);
      const bands = await read(outer);
      const cloud = detectCloud(bands, threshold, cirrusLimit);
      const mask = createMask(outer.width, outer.height);
      mask.data.set(cloud);
      if (thresholds && cast) {
        const shadow = detectShadow(bands, cloud, thresholds, cast);
        for (let i = 0; i < shadow.length; i++) mask.data[i] |= shadow[i];
      }
      const grown = dilate > 0 ? dilateMask(mask, dilate) : mask;
      return crop(grown.data, outer, block);
    };
    const blocks = new BlockCache(width, height, computeBlock);
    return {
      grid: raster,
      resampled: false,
      info,
      description,
      async read(window) {
        // Whole blocks are computed (each with its halo, read once) and kept for the windows after: the
        // writer asks for 256² windows row by row, and a shadow halo of a few hundred pixels around each
        // would read the scene many times over.
        const out = createMask(window.width, window.height);
        const first = { bx: Math.floor(window.x / DETECT_BLOCK), by: Math.floor(window.y / DETECT_BLOCK) };
        const last = { bx: Math.floor((window.x + window.width - 1) / DETECT_BLOCK), by: Math.floor((window.y + window.height - 1) / DETECT_BLOCK) };
        for (let by = first.by; by <= last.by; by++) {
          for (let bx = first.bx; bx <= last.bx; bx++) {
            const block = await blocks.get(bx, by);
            const x0 = Math.max(window.x, block.window.x);
            const x1 = Math.min(window.x + window.width, block.window.x + block.window.width);
            for (let y = Math.max(window.y, block.window.y); y < Math.min(window.y + window.height, block.window.y + block.window.height); y++) {
              const from = (y - block.window.y) * block.window.width + (x0 - block.window.x);
              out.data.set(block.data.subarray(from, from + x1 - x0), (y - window.y) * window.width + (x0 - window.x));
            }
          }
        }
        return out;
      },
      close: () => raster.close(),
    };
  } catch (error) {
    await raster.close();
    throw error;
  }
}

type ReadWindow = (window: Window) => Promise<DetectBands>;

/**
 * What the scene's clear pixels (raw score below the threshold, with data) say: the dark thresholds (1st
 * percentile and mean of CSI and B02) and the cirrus background (2nd percentile of B10, Fmask 4's; 0 without
 * B10 or without a clear pixel).
 */
async function surveyScene(read: ReadWindow, width: number, height: number, threshold: number): Promise<{ thresholds: DarkThresholds; cirrusBaseline: number }> {
  const bins = 2000; // 0.0005 reflectance each, 0–1
  const cirrusBins = 2000; // 0.0001 each, 0–0.2: the background is a few thousandths, cirrus 0.01 over it
  const csiHistogram = new Float64Array(bins);
  const blueHistogram = new Float64Array(bins);
  const cirrusHistogram = new Float64Array(cirrusBins);
  let csiSum = 0;
  let blueSum = 0;
  let count = 0;
  const bin = (value: number, n = bins, scale = n) => Math.max(0, Math.min(n - 1, Math.floor(value * scale)));
  for (const window of windows(width, height, SURVEY_WINDOW)) {
    const bands = await read(window);
    const score = cloudScore(bands);
    for (let i = 0; i < score.length; i++) {
      if (bands.nodata[i] || score[i] >= threshold) continue;
      const csi = (bands.b08[i] + bands.b11[i]) / 2;
      csiHistogram[bin(csi)]++;
      blueHistogram[bin(bands.b02[i])]++;
      if (bands.b10) cirrusHistogram[bin(bands.b10[i], cirrusBins, cirrusBins / 0.2)]++;
      csiSum += csi;
      blueSum += bands.b02[i];
      count++;
    }
  }
  // All cloud (or no data): nothing can be shadow, and there is no clear background to take off B10.
  if (count === 0) return { thresholds: { csi: -Infinity, blue: -Infinity }, cirrusBaseline: 0 };
  const percentile = (histogram: Float64Array, q: number, width: number) => {
    let seen = 0;
    for (let b = 0; b < histogram.length; b++) {
      seen += histogram[b];
      if (seen >= q * count) return (b + 0.5) * width;
    }
    return histogram.length * width;
  };
  const csiLow = percentile(csiHistogram, 0.01, 1 / bins);
  const blueLow = percentile(blueHistogram, 0.01, 1 / bins);
  return {
    thresholds: { csi: csiLow + 0.75 * (csiSum / count - csiLow), blue: blueLow + (5 / 6) * (blueSum / count - blueLow) },
    cirrusBaseline: cirrusHistogram.some((n) => n > 0) ? percentile(cirrusHistogram, 0.02, 0.2 / cirrusBins) : 0,
  };
}

/**
 * The shadow offset of the scene's clouds, as Fmask matches a cloud to its shadow (Zhu & Woodcock 2012) but for
 * the whole scene at once: the cloud shifted by each candidate offset (along the sun's direction over the
 * lengths its clouds' heights allow; without sun angles, also over 16 directions) lands on dark ground most
 * often at the true one. Cloud pixels are sampled on a grid (at most ~250 000 of them). Null when no offset
 * lands on dark ground clearly more often than a random pixel is dark (no shadow in the scene, or outside it).
 */
async function matchShadowOffset(
  read: ReadWindow,
  width: number,
  height: number,
  detect: (bands: DetectBands) => Uint8Array,
  thresholds: DarkThresholds,
  directions: { dx: number; dy: number }[],
  near: number,
  far: number,
): Promise<ShadowCast | null> {
  const distances: number[] = [];
  for (let d = Math.max(1, near); d <= far; d = Math.max(d + 1, d * 1.1)) distances.push(d);
  const candidates = directions.flatMap((direction) => distances.map((d) => ({ ...direction, d, ox: Math.round(d * direction.dx), oy: Math.round(d * direction.dy) })));
  const hits = new Float64Array(candidates.length);
  const reached = new Float64Array(candidates.length);
  let darkCount = 0;
  let groundCount = 0;
  const stride = Math.max(1, Math.floor(Math.sqrt((width * height) / 250_000)));
  for (const core of windows(width, height, SURVEY_WINDOW)) {
    const outer = grow(core, Math.ceil(far) + FILTER_HALO, width, height);
    const bands = await read(outer);
    const cloud = detect(bands);
    const dark = darkPixels(bands, thresholds, cloud);
    for (let y = core.y - outer.y; y < core.y - outer.y + core.height; y += stride) {
      for (let x = core.x - outer.x; x < core.x - outer.x + core.width; x += stride) {
        const p = y * outer.width + x;
        if (bands.nodata[p]) continue;
        if (!cloud[p]) {
          groundCount++;
          darkCount += dark[p];
          continue;
        }
        candidates.forEach(({ ox, oy }, k) => {
          const qx = x + ox;
          const qy = y + oy;
          if (qx < 0 || qy < 0 || qx >= outer.width || qy >= outer.height) return;
          const q = qy * outer.width + qx;
          if (cloud[q] || bands.nodata[q]) return;
          reached[k]++;
          hits[k] += dark[q];
        });
      }
    }
  }
  let best = -1;
  let bestShare = 0;
  candidates.forEach((_, k) => {
    const share = reached[k] >= 30 ? hits[k] / reached[k] : 0;
    if (share > bestShare) {
      best = k;
      bestShare = share;
    }
  });
  const base = darkCount / Math.max(1, groundCount);
  if (best < 0 || bestShare < Math.max(SHADOW_MATCH.minShare, SHADOW_MATCH.overBase * base)) return null;
  const { dx, dy, d } = candidates[best];
  return { dx, dy, near: Math.max(1, d / SHADOW_MATCH.spread - 2), far: d * SHADOW_MATCH.spread + 2 };
}

/** How convincing a shadow match must be, and how far around the matched offset shadows are looked for. */
const SHADOW_MATCH = { minShare: 0.2, overBase: 2, spread: 1.3 };
