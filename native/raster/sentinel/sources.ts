/**
 * Reading the sources of a reconstruction straight into the network's scale: the Sentinel-2 target (or a
 * reference) by band names, the mean of several references, and Sentinel-1 VV/VH. Grids are the caller's to
 * check first (grid.ts), once per file rather than once per window.
 */
import type { Image } from '../../dip/image.ts';
import { InputError } from '../../errors.ts';
import { resolveBands } from './bands.ts';
import { readBands, type Raster } from '../tiff/geotiff-reader.ts';
import {
  assertFinite,
  detectSarUnits,
  normaliseS1,
  normaliseS2,
  resolveSarBands,
  type SarBands,
  type SarUnits,
} from './preprocess.ts';
import type { Window } from '../tiff/raster-info.ts';
import { MeanAccumulator } from './reference.ts';

/** How bands of a window are read: straight from the file, or resampled onto another grid (resample.ts). */
export type BandReader = (raster: Raster, bandIndexes: readonly number[], window?: Window) => Promise<Image>;

/** Sentinel-2 bands by name (e.g. ["B04", "B03", "B02"]), clipped and ÷ 2000. */
export async function readS2(raster: Raster, bandNames: readonly string[], window?: Window): Promise<Image> {
  const raw = await readBands(raster, resolveBands(raster, bandNames), window);
  return normaliseS2(raw, raster.path, raster.nodata);
}

/**
 * The per-pixel mean of several Sentinel-2 scenes (a static multi-temporal reference), in digital numbers
 * first and then clipped and ÷ 2000 like the target. Each scene's nodata values are left out of the mean;
 * where no scene has a value the result is 0.
 */
export async function readS2Mean(rasters: readonly Raster[], bandNames: readonly string[], window?: Window, read: BandReader = readBands): Promise<Image> {
  if (rasters.length === 0) throw new RangeError('readS2Mean: no reference scenes');
  let mean: MeanAccumulator | undefined;
  let shape: Image | undefined;
  for (const raster of rasters) {
    const raw = await read(raster, resolveBands(raster, bandNames), window);
    assertFinite(raw, raster.path, raster.nodata);
    shape ??= raw;
    mean ??= new MeanAccumulator(raw.width * raw.height, raw.bands);
    if (raw.data.length !== shape.data.length) {
      throw new InputError(raster.path, `has a different size (${raw.width}×${raw.height}) from ${rasters[0].path}`);
    }
    mean.add(raw.data, raster.nodata);
  }
  const image: Image = { width: shape!.width, height: shape!.height, bands: shape!.bands, data: mean!.mean(0) };
  return normaliseS2(image, rasters[0].path);
}

export interface ReadS1Options {
  /** 0-based VV/VH band indexes; by default found from the band descriptions. */
  bands?: Partial<SarBands>;
  /** Default 'auto': band descriptions ("VV_dB"), else the values' sign. */
  units?: SarUnits | 'auto';
  /** Default: straight from the file. */
  read?: BandReader;
}

/** Sentinel-1 as two bands [VV, VH] on the network's [0, 2] scale. */
export async function readS1(raster: Raster, options: ReadS1Options = {}, window?: Window): Promise<Image> {
  const bands = resolveSarBands(raster, options.bands);
  const raw = await (options.read ?? readBands)(raster, [bands.vv, bands.vh], window);
  const explicit = options.units !== undefined && options.units !== 'auto';
  const units = explicit ? (options.units as SarUnits) : detectSarUnits([raster.bandNames[bands.vv], raster.bandNames[bands.vh]], raw);
  if (explicit) assertPlausibleSarUnits(raw, raster.path, units);
  return normaliseS1(raw, raster.path, units);
}

/**
 * Units given by the user must fit the values, or every pixel would be clipped to one end of the scale:
 * linear sigma0 is mostly in [0, 1] and never mostly negative; dB is mostly negative and almost never in [0, 1].
 */
function assertPlausibleSarUnits(raw: Image, file: string, units: SarUnits): void {
  let finite = 0;
  let negative = 0;
  let unitInterval = 0;
  for (const value of raw.data) {
    if (!Number.isFinite(value)) continue;
    finite++;
    if (value < 0) negative++;
    else if (value <= 1) unitInterval++;
  }
  if (units === 'linear' && negative > finite / 2) {
    throw new InputError(file, `--sar-units linear, but ${Math.round((100 * negative) / finite)} % of the values are negative, as in dB`);
  }
  if (units === 'db' && unitInterval > 0.9 * finite) {
    throw new InputError(file, `--sar-units db, but ${Math.round((100 * unitInterval) / finite)} % of the values lie in [0, 1], as linear sigma0 does`);
  }
}
