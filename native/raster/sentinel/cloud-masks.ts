/**
 * Cloud masks (1 = cloud or shadow, 0 = clear) from the products users have:
 * - a binary GeoTIFF: any non-zero value is cloud;
 * - a Sentinel-2 Scene Classification layer (SCL, Sen2Cor L2A): the chosen classes are cloud, by default
 *   3 cloud shadow, 8 and 9 cloud medium/high probability, 10 thin cirrus. Class 0 (no data) is never cloud;
 *   a value outside 0–11 means the file is not an SCL band, and is an error;
 * - a cloud-probability raster (s2cloudless, Sentinel Hub CLP, Sen2Cor MSK_CLDPRB) and a threshold in (0, 1):
 *   cloud where probability > threshold (s2cloudless's rule).
 *
 * Probability scale, chosen so that it cannot silently be wrong: floating-point rasters hold probabilities
 * 0–1; integer rasters come in 0–255 (Sentinel Hub CLP) and 0–100 (Sen2Cor MSK_CLDPRB) with nothing in the
 * file to tell them apart, so for them the user must say which (`scale`: the value meaning 100 %). A value
 * outside 0–scale is an error, so a wrong scale of 1 or 100 for a 0–255 raster is caught, not obeyed.
 *
 * Pixels that are nodata (or NaN) in the source are not cloud. Optionally the cloud grows by N pixels
 * (a (2N+1)² square, `dilateMask`).
 *
 * The mask is made on the grid of a `like` raster (the target scene) when given; a source on another grid is
 * resampled onto it with nearest neighbour (an SCL at 20 m onto a 10 m scene), on the raw values, before
 * they are classified. The source must cover the whole of that grid.
 *
 * Masks are made window by window (`CloudMaskReader.read`): a window reads its source pixels plus a halo of
 * N pixels for the dilation, so a 10980² scene streams through the writer without ever being in memory.
 */
import { createMask, cropMask, type Mask } from '../../dip/image.ts';
import { dilateMask } from '../../dip/mask-ops.ts';
import { InputError } from '../../errors.ts';
import { openRaster, readBands, type Raster } from '../tiff/geotiff-reader.ts';
import { writeGeoTiffFromBlocks, type BlockSource, type WriteGeoTiffOptions } from '../tiff/geotiff-writer.ts';
import { gridDifferences, type GridInfo } from '../geo/grid.ts';
import { DATA_TYPES } from '../tiff/data-types.ts';
import type { RasterInfo, Window } from '../tiff/raster-info.ts';
import { coversGrid, gridMapper, readBandsOnGrid } from '../geo/resample.ts';

export type CloudMaskKind = 'binary' | 'scl' | 'probability';

/** Sen2Cor SCL classes counted as cloud by default: 3 cloud shadow, 8 cloud medium, 9 cloud high, 10 thin cirrus. */
export const DEFAULT_SCL_CLASSES: readonly number[] = [3, 8, 9, 10];
export const SCL_CLASS_NAMES: readonly string[] = [
  'no data', 'saturated or defective', 'dark area', 'cloud shadow', 'vegetation', 'not vegetated', 'water',
  'unclassified', 'cloud medium probability', 'cloud high probability', 'thin cirrus', 'snow or ice',
];

export interface CloudMaskSource {
  kind: CloudMaskKind;
  path: string;
  /** 1-based band; required when the file has more than one band. */
  band?: number;
  /** SCL classes that are cloud; default DEFAULT_SCL_CLASSES. */
  classes?: readonly number[];
  /** Probability above which a pixel is cloud, in (0, 1). */
  threshold?: number;
  /** The value meaning 100 % probability; default 1 for floating-point rasters, required for integer ones. */
  scale?: number;
}

export interface CloudMaskOptions {
  /** Make the mask on this raster's grid (resampling the source with nearest neighbour when it differs). */
  like?: RasterInfo | null;
  /** Grow the cloud by this many pixels; default 0. */
  dilate?: number;
}

/** The grid a mask is made on, with the georeferencing tags the writer copies. */
export type MaskGrid = GridInfo & Pick<RasterInfo, 'geoTags'>;

/** Anything that makes a mask window by window on a grid: a mask source (below) or the detector (cloud-detect.ts). */
export interface MaskWindowReader {
  grid: MaskGrid;
  /** Whether the source is resampled onto `grid` (it is on another grid). */
  resampled: boolean;
  /** How values become cloud, as provenance items (CLEARSKY_MASK_*). */
  description: Record<string, string>;
  /** The (dilated) mask of a window of `grid`. */
  read(window: Window): Promise<Mask>;
  close(): Promise<void>;
}

export interface CloudMaskReader extends MaskWindowReader {
  /** The open source raster (closed by `close`). */
  source: Raster;
  /** 0-based band of the source. */
  band: number;
  grid: MaskGrid;
  /** Whether the source is resampled onto `grid` (it is on another grid). */
  resampled: boolean;
  /** How values become cloud, as provenance items (CLEARSKY_MASK_*). */
  description: Record<string, string>;
  /** The (dilated) mask of a window of `grid`. */
  read(window: Window): Promise<Mask>;
  close(): Promise<void>;
}

/** Opens the source of a mask and checks everything that can be checked before reading pixels. */
export async function openCloudMask(spec: CloudMaskSource, options: CloudMaskOptions = {}): Promise<CloudMaskReader> {
  const dilate = options.dilate ?? 0;
  if (!Number.isInteger(dilate) || dilate < 0) throw new InputError(undefined, `dilation must be a whole number of pixels ≥ 0, not ${dilate}`);
  const raster = await openRaster(spec.path);
  try {
    const band = chooseBand(raster, spec.band);
    const classify = classifier(raster, spec);
    const like = options.like ?? null;
    const grid: MaskGrid = like ?? raster;
    const resampled = like !== null && gridDifferences(like, raster).length > 0;
    if (resampled) assertResamplable(raster, like);
    const description: Record<string, string> = {
      CLEARSKY_MASK_SOURCE: spec.path,
      CLEARSKY_MASK_KIND: spec.kind,
      CLEARSKY_MASK_BAND: String(band + 1),
      ...classify.description,
      CLEARSKY_MASK_DILATION: String(dilate),
      CLEARSKY_MASK_GRID: like ? like.path : spec.path,
      CLEARSKY_MASK_RESAMPLING: resampled ? `nearest, from the grid of ${spec.path}` : 'none',
    };

    const readValues = async (window: Window): Promise<Float32Array> => {
      if (resampled) return (await readBandsOnGrid(raster, [band], grid, window, 'nearest')).data;
      return (await readBands(raster, [band], window)).data;
    };
    const classifyWindow = async (window: Window): Promise<Mask> => {
      const values = await readValues(window);
      const mask = createMask(window.width, window.height);
      classify.apply(values, mask.data, raster.nodata);
      return mask;
    };
    return {
      source: raster,
      band,
      grid,
      resampled,
      description,
      read: async (window) => {
        if (dilate === 0) return classifyWindow(window);
        const halo = haloWindow(window, dilate, grid);
        const dilated = dilateMask(await classifyWindow(halo), dilate);
        return cropMask(dilated, { ...window, x: window.x - halo.x, y: window.y - halo.y });
      },
      close: () => raster.close(),
    };
  } catch (error) {
    await raster.close();
    throw error;
  }
}

/** A whole mask in memory (width × height bytes). */
export async function readCloudMask(spec: CloudMaskSource, options: CloudMaskOptions = {}): Promise<Mask> {
  const reader = await openCloudMask(spec, options);
  try {
    return await reader.read({ x: 0, y: 0, width: reader.grid.width, height: reader.grid.height });
  } finally {
    await reader.close();
  }
}

export interface WrittenCloudMask {
  grid: MaskGrid;
  resampled: boolean;
  cloudPixels: number;
  pixels: number;
  cloudFraction: number;
  /** The mask itself, when asked for with `keepMask` (e.g. to draw its outline). */
  mask?: Mask;
  /** How it was made (the reader's provenance items, CLEARSKY_MASK_*). */
  description: Record<string, string>;
}

/**
 * Writes the mask as a UInt8 GeoTIFF (1 = cloud, 0 = clear; band description "cloud mask"; nearest-neighbour
 * overviews), streamed window by window. `metadata` is added to the mask's own provenance items.
 */
export async function writeCloudMask(
  out: string,
  spec: CloudMaskSource,
  options: CloudMaskOptions & { metadata?: Record<string, string>; keepMask?: boolean } = {},
): Promise<WrittenCloudMask> {
  return writeMaskFrom(out, await openCloudMask(spec, options), options);
}

/** Writes what `reader` makes as a mask GeoTIFF (as `writeCloudMask`), and closes the reader. */
export async function writeMaskFrom(
  out: string,
  reader: MaskWindowReader,
  options: { metadata?: Record<string, string>; keepMask?: boolean } & Pick<WriteGeoTiffOptions, 'signal' | 'onProgress'> = {},
): Promise<WrittenCloudMask> {
  try {
    const { grid } = reader;
    const whole = options.keepMask ? createMask(grid.width, grid.height) : undefined;
    let cloudPixels = 0;
    const blocks: BlockSource = {
      width: grid.width,
      height: grid.height,
      bands: 1,
      // The writer reads each window exactly once, so counting here counts every pixel once.
      read: async (window) => {
        const mask = await reader.read(window);
        const values = new Float32Array(mask.data.length);
        for (let i = 0; i < values.length; i++) {
          values[i] = mask.data[i];
          cloudPixels += mask.data[i];
        }
        if (whole) {
          for (let row = 0; row < window.height; row++) {
            whole.data.set(mask.data.subarray(row * window.width, (row + 1) * window.width), (window.y + row) * grid.width + window.x);
          }
        }
        return values;
      },
    };
    const writeOptions: WriteGeoTiffOptions = {
      dataType: 'uint8',
      like: grid.geoTransform ? grid : null,
      bandNames: ['cloud mask'],
      metadata: { ...reader.description, ...options.metadata },
      overviews: 'nearest',
      signal: options.signal,
      onProgress: options.onProgress,
    };
    await writeGeoTiffFromBlocks(out, blocks, writeOptions);
    const pixels = grid.width * grid.height;
    return { grid, resampled: reader.resampled, cloudPixels, pixels, cloudFraction: cloudPixels / pixels, mask: whole, description: reader.description };
  } finally {
    await reader.close();
  }
}

function chooseBand(raster: Raster, band: number | undefined): number {
  if (band === undefined) {
    if (raster.bandCount > 1) {
      const names = raster.bandNames.slice(0, 4).map((name, i) => `${i + 1}=${name ?? '(no description)'}`).join(', ');
      throw new InputError(raster.path, `has ${raster.bandCount} bands (${names}${raster.bandCount > 4 ? ', …' : ''}); choose one with --band`);
    }
    return 0;
  }
  if (!Number.isInteger(band) || band < 1 || band > raster.bandCount) {
    throw new InputError(raster.path, `has no band ${band} (it has ${raster.bandCount}; bands are numbered from 1)`);
  }
  return band - 1;
}

interface Classifier {
  description: Record<string, string>;
  /** values (NaN = no value) → 0/1 into `out`; values equal to `nodata` are no value too. */
  apply(values: Float32Array, out: Uint8Array, nodata: number | null): void;
}

function classifier(raster: Raster, spec: CloudMaskSource): Classifier {
  const file = raster.path;
  const noValue = (nodata: number | null) => (value: number) => Number.isNaN(value) || value === nodata;
  if (spec.kind === 'binary') {
    return {
      description: { CLEARSKY_MASK_RULE: 'cloud = any non-zero value; nodata = clear' },
      apply(values, out, nodata) {
        const none = noValue(nodata);
        for (let i = 0; i < values.length; i++) out[i] = !none(values[i]) && values[i] !== 0 ? 1 : 0;
      },
    };
  }
  if (spec.kind === 'scl') {
    const classes = spec.classes ?? DEFAULT_SCL_CLASSES;
    if (classes.length === 0) throw new InputError(file, 'no SCL classes given to count as cloud');
    for (const c of classes) {
      if (!Number.isInteger(c) || c < 1 || c > 11) {
        throw new InputError(file, `SCL class ${c} does not exist${c === 0 ? ' as cloud (0 is no data)' : ''}; classes are 1–11 (3 shadow, 8, 9 cloud, 10 cirrus)`);
      }
    }
    const isCloud = new Uint8Array(12);
    for (const c of classes) isCloud[c] = 1;
    return {
      description: {
        CLEARSKY_MASK_CLASSES: [...classes].sort((a, b) => a - b).join(','),
        CLEARSKY_MASK_RULE: `cloud = SCL class ${[...classes].sort((a, b) => a - b).map((c) => `${c} (${SCL_CLASS_NAMES[c]})`).join(', ')}; class 0 and nodata = clear`,
      },
      apply(values, out, nodata) {
        const none = noValue(nodata);
        for (let i = 0; i < values.length; i++) {
          const value = values[i];
          if (none(value)) {
            out[i] = 0;
            continue;
          }
          if (!(Number.isInteger(value) && value >= 0 && value <= 11)) {
            throw new InputError(file, `holds the value ${value}, which is not a Scene Classification class (0–11); is it an SCL band?`);
          }
          out[i] = isCloud[value];
        }
      },
    };
  }
  const threshold = spec.threshold;
  if (threshold === undefined || !(threshold > 0 && threshold < 1)) {
    throw new InputError(file, `the cloud-probability threshold must be between 0 and 1 (exclusive), not ${threshold ?? 'missing'}`);
  }
  const scale = probabilityScale(raster, spec.scale);
  return {
    description: {
      CLEARSKY_MASK_THRESHOLD: String(threshold),
      CLEARSKY_MASK_SCALE: String(scale),
      CLEARSKY_MASK_RULE: `cloud = value / ${scale} > ${threshold}; nodata = clear`,
    },
    apply(values, out, nodata) {
      const none = noValue(nodata);
      for (let i = 0; i < values.length; i++) {
        const value = values[i];
        if (none(value)) {
          out[i] = 0;
          continue;
        }
        if (!(value >= 0 && value <= scale)) {
          throw new InputError(
            file,
            `holds the value ${value}, outside the probability scale 0–${scale}` +
              (DATA_TYPES[raster.dataType].isInteger ? '; check --scale' : '; for percentages give --scale 100'),
          );
        }
        out[i] = value / scale > threshold ? 1 : 0;
      }
    },
  };
}

function probabilityScale(raster: Raster, scale: number | undefined): number {
  if (scale !== undefined) {
    if (!(Number.isFinite(scale) && scale > 0)) throw new InputError(raster.path, `the probability scale must be a positive number, not ${scale}`);
    return scale;
  }
  if (!DATA_TYPES[raster.dataType].isInteger) return 1;
  throw new InputError(
    raster.path,
    `is an integer (${DATA_TYPES[raster.dataType].gdalName}) probability raster: say which value means 100 % with --scale ` +
      '(255 for Sentinel Hub CLP, 100 for Sen2Cor MSK_CLDPRB)',
  );
}

/** A source on another grid must be georeferenced in CRSs we can transform between, and cover the whole grid. */
function assertResamplable(raster: Raster, like: RasterInfo): void {
  const differences = gridDifferences(like, raster).join('; ');
  try {
    gridMapper(raster, like);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    throw new InputError(raster.path, `is not on the grid of ${like.path} (${differences}) and cannot be resampled onto it: ${error.message}`);
  }
  if (!coversGrid(raster, like)) {
    throw new InputError(raster.path, `does not cover the whole grid of ${like.path} (${differences}); a mask must cover the whole target`);
  }
}

function haloWindow(window: Window, halo: number, grid: GridInfo): Window {
  const x = Math.max(0, window.x - halo);
  const y = Math.max(0, window.y - halo);
  const right = Math.min(grid.width, window.x + window.width + halo);
  const bottom = Math.min(grid.height, window.y + window.height + halo);
  return { x, y, width: right - x, height: bottom - y };
}

