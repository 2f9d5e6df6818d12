/**
 * From file values to the sources' scale and back (METHOD.md, "Inputs and preprocessing"). This is the scale of
 * sources, results and metrics; the network itself sees each channel mapped into its sigmoid's range
 * (dip/modes.ts), since ÷2000 alone would cap every value above 2000 DN:
 * - Sentinel-2 digital numbers: clip to [0, 10000], divide by 2000 (so reflectance 1 → 5); back: × 2000,
 *   rounded and clipped to the output data type.
 * - Sentinel-1 sigma0: linear → dB (10·log10), clip VV to [−25, 0] and VH to [−32.5, 0], map each to [0, 2]
 *   by 2·(x − lo)/(−lo).
 * NaN or infinite input values are refused (InputError with the count): a NaN in the target would poison the
 * loss, and in an auxiliary source it would silently become garbage. The exception is the file's declared
 * nodata value (NaN included): nodata pixels become 0, and the caller masks them out (`nodataMask`).
 */
import { InputError } from '../../errors.ts';
import { createImage, type Image } from '../../dip/image.ts';
import { DATA_TYPES, fitToDataType, nodataTest, type RasterDataType } from '../tiff/data-types.ts';
import type { RasterInfo } from '../tiff/raster-info.ts';

export const S2_MAX_DIGITAL_NUMBER = 10000;
export const S2_SCALE = 2000;

/** Lower clip limits in dB; the upper limit is 0 dB for both. */
export const SAR_DB_FLOOR = { vv: -25, vh: -32.5 } as const;

/** Throws an InputError saying how many pixels have a NaN or infinite value (other than `nodata`) in any band. */
export function assertFinite(image: Image, file: string, nodata: number | null = null): void {
  const { data, bands } = image;
  const isNodata = nodataTest(nodata);
  let bad = 0;
  for (let pixel = 0; pixel < data.length; pixel += bands) {
    for (let band = 0; band < bands; band++) {
      const value = data[pixel + band];
      if (!Number.isFinite(value) && !isNodata(value)) {
        bad++;
        break;
      }
    }
  }
  if (bad > 0) {
    const total = image.width * image.height;
    throw new InputError(file, `${bad} of ${total} pixels have NaN or infinite values; fill them (e.g. gdal_fillnodata) or crop them out`);
  }
}

/**
 * Sentinel-2 digital numbers → the network's scale: clip to [0, 10000], ÷ 2000. Values equal to `nodata`
 * (the file's, if any) become 0. Returns a new image.
 */
export function normaliseS2(image: Image, file: string, nodata: number | null = null): Image {
  assertFinite(image, file, nodata);
  const isNodata = nodataTest(nodata);
  const out = createImage(image.width, image.height, image.bands);
  const { data } = image;
  for (let i = 0; i < data.length; i++) {
    const dn = data[i];
    out.data[i] = isNodata(dn) ? 0 : (dn < 0 ? 0 : dn > S2_MAX_DIGITAL_NUMBER ? S2_MAX_DIGITAL_NUMBER : dn) / S2_SCALE;
  }
  return out;
}

/** The network's scale → digital numbers for writing as `dataType`: × 2000, rounded and clipped for integer types. */
export function denormaliseS2(image: Image, dataType: RasterDataType): Image {
  const out = createImage(image.width, image.height, image.bands);
  const integer = DATA_TYPES[dataType].isInteger;
  const { data } = image;
  for (let i = 0; i < data.length; i++) {
    const dn = data[i] * S2_SCALE;
    out.data[i] = integer ? fitToDataType(dn, dataType) : dn;
  }
  return out;
}

export type SarUnits = 'linear' | 'db';

/** Which bands of a Sentinel-1 file hold VV and VH (0-based). */
export interface SarBands {
  vv: number;
  vh: number;
}

/**
 * VV and VH band indexes: those given explicitly, else found by band description ("Sigma0_VV", "VH_dB").
 * Band order in S1 files varies between pipelines, so we never guess it from the position.
 */
export function resolveSarBands(raster: Pick<RasterInfo, 'path' | 'bandCount' | 'bandNames'>, explicit: Partial<SarBands> = {}): SarBands {
  const find = (polarisation: 'vv' | 'vh'): number => {
    const given = explicit[polarisation];
    if (given !== undefined) {
      if (!Number.isInteger(given) || given < 0 || given >= raster.bandCount) {
        throw new InputError(raster.path, `has no band ${given + 1} for ${polarisation.toUpperCase()} (it has ${raster.bandCount})`);
      }
      return given;
    }
    const token = new RegExp(`(^|[^a-z])${polarisation}([^a-z]|$)`, 'i');
    const matches = raster.bandNames.flatMap((name, index) => (name !== null && token.test(name) ? [index] : []));
    if (matches.length !== 1) {
      const names = raster.bandNames.map((name, index) => `${index + 1}=${name ?? '(no description)'}`).join(', ');
      throw new InputError(
        raster.path,
        `cannot tell which band is ${polarisation.toUpperCase()} from the band descriptions (${names}); choose the VV and VH bands explicitly`,
      );
    }
    return matches[0];
  };
  return { vv: find('vv'), vh: find('vh') };
}

/**
 * Linear or dB? The band descriptions decide when they say ("VV_dB", "linear"); otherwise the values do:
 * linear sigma0 is non-negative, dB backscatter of land and sea is almost all negative.
 * `image` holds the SAR bands as read from the file.
 */
export function detectSarUnits(bandNames: readonly (string | null)[], image: Image): SarUnits {
  const described = bandNames.join(' ');
  if (/(^|[^a-z])db([^a-z]|$)/i.test(described)) return 'db';
  if (/linear/i.test(described)) return 'linear';
  let negative = 0;
  let finite = 0;
  for (const value of image.data) {
    if (Number.isFinite(value)) {
      finite++;
      if (value < 0) negative++;
    }
  }
  return negative > finite / 2 ? 'db' : 'linear';
}

/**
 * Sentinel-1 bands [VV, VH] (in that order, as read from the file) → the network's [0, 2] scale.
 * Zero or negative linear values (no signal, over-subtracted noise) have no dB value and map to the floor.
 */
export function normaliseS1(image: Image, file: string, units: SarUnits): Image {
  if (image.bands !== 2) throw new RangeError(`normaliseS1 expects 2 bands [VV, VH], got ${image.bands}`);
  assertFinite(image, file);
  const out = createImage(image.width, image.height, 2);
  const floors = [SAR_DB_FLOOR.vv, SAR_DB_FLOOR.vh];
  const { data } = image;
  for (let i = 0; i < data.length; i++) {
    const floor = floors[i % 2];
    const value = data[i];
    let db = units === 'db' ? value : value > 0 ? 10 * Math.log10(value) : floor;
    db = db < floor ? floor : db > 0 ? 0 : db;
    out.data[i] = (2 * (db - floor)) / -floor;
  }
  return out;
}
