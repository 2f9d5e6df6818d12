/**
 * The inputs of a reconstruction from GeoTIFF files: the target's bands, the cloud mask, the mean of the
 * references and the SAR. `openSources` opens and checks every file once (grids, bands) and then reads any
 * window of them, scaled as METHOD.md says, so a whole scene is processed tile by tile in bounded memory.
 */
import { InputError } from '../errors.ts';
import type { Image, Mask } from '../dip/image.ts';
import type { Sources } from '../dip/modes.ts';
import { resolveBands, standardName } from '../raster/sentinel/bands.ts';
import { openRaster, readBands, type Raster } from '../raster/tiff/geotiff-reader.ts';
import { assertSameGrid, gridDifferences } from '../raster/geo/grid.ts';
import { assertHasClearPixels, nodataMask, readMaskBand } from '../raster/sentinel/mask.ts';
import { normaliseS2, type SarUnits } from '../raster/sentinel/preprocess.ts';
import { coversGrid, readBandsOnGrid } from '../raster/geo/resample.ts';
import { readS1, readS2Mean, type BandReader } from '../raster/sentinel/sources.ts';
import type { RasterInfo, Window } from '../raster/tiff/raster-info.ts';

export interface SourceFiles {
  target: string;
  /** Band names (B04, B8A…); default: every band of the target. */
  bands?: string[];
  references?: string[];
  sar?: string;
  /** 1-based VV and VH band numbers of the SAR file; default: found by band description. */
  sarBands?: { vv: number; vh: number };
  /** Linear sigma0 or dB; default: from the band descriptions, else the values' sign. */
  sarUnits?: SarUnits;
  /** Resample references and SAR on another grid onto the target's (bilinear) instead of refusing them. */
  resample?: boolean;
}

export interface TargetDescription {
  info: RasterInfo;
  /** The 0-based band indexes read and their names (for the output's band descriptions). */
  bandIndexes: number[];
  bandNames: (string | null)[];
}

/** One window of every source, plus the target's raw values (digital numbers) for pasting back. */
export interface WindowSources extends Omit<Sources, 'mask'> {
  /** The target's bands as stored (digital numbers), the window's size. */
  raw: Image;
}

export interface OpenSources {
  target: TargetDescription;
  read(window?: Window): Promise<WindowSources>;
  /** Only the target's bands as stored (digital numbers): what a mosaic shows where nothing was reconstructed. */
  readRaw(window?: Window): Promise<Image>;
  close(): Promise<void>;
}

/** Opens every file and checks it against the target (grid, bands) before anything is read. */
export async function openSources(files: SourceFiles): Promise<OpenSources> {
  const opened: Raster[] = [];
  const open = async (path: string): Promise<Raster> => {
    const raster = await openRaster(path);
    opened.push(raster);
    return raster;
  };
  const close = async () => {
    await Promise.all(opened.map((r) => r.close()));
  };
  try {
    const targetRaster = await open(files.target);
    const target = describeTarget(targetRaster, files.bands);
    const onTargetGrid = new Set<Raster>();
    const checkGrid = (auxiliary: Raster): void => {
      if (gridDifferences(target.info, auxiliary).length === 0) {
        onTargetGrid.add(auxiliary);
        return;
      }
      if (!files.resample) {
        try {
          assertSameGrid(target.info, auxiliary);
        } catch (error) {
          throw new InputError(auxiliary.path, `${(error as InputError).problem}; add --resample to resample it onto the target's grid`);
        }
      }
      if (!coversGrid(auxiliary, target.info)) {
        throw new InputError(auxiliary.path, `does not cover the whole of ${target.info.path}, so it cannot be resampled onto its grid`);
      }
    };
    // Straight from the file on the target's grid; otherwise bilinear onto it. Source nodata comes back NaN
    // and is turned back into the source's nodata value, which the mean and the checks already understand.
    const read: BandReader = async (raster, bands, window) => {
      if (onTargetGrid.has(raster)) return readBands(raster, bands, window);
      const image = await readBandsOnGrid(raster, bands, target.info, window, 'bilinear');
      if (raster.nodata !== null) for (let i = 0; i < image.data.length; i++) if (Number.isNaN(image.data[i])) image.data[i] = raster.nodata;
      return image;
    };
    const references: Raster[] = [];
    for (const path of files.references ?? []) {
      const reference = await open(path);
      checkGrid(reference);
      references.push(reference);
    }
    if (references.length > 0 && target.bandNames.some((n) => n === null)) {
      throw new InputError(target.info.path, 'its bands have no names to match the reference bands by; choose them with --bands');
    }
    // Resolve reference bands now, so a reference lacking one fails before any work.
    for (const reference of references) resolveBands(reference, target.bandNames as string[]);
    let sar: Raster | undefined;
    if (files.sar) {
      sar = await open(files.sar);
      checkGrid(sar);
    }
    const sarBands = files.sarBands && { vv: files.sarBands.vv - 1, vh: files.sarBands.vh - 1 };
    return {
      target,
      close,
      readRaw: (window) => readBands(targetRaster, target.bandIndexes, window),
      async read(window) {
        const raw = await readBands(targetRaster, target.bandIndexes, window);
        return {
          raw,
          s2: normaliseS2(raw, targetRaster.path, targetRaster.nodata),
          // Nodata in every band (outside the swath): neither cloud to fill nor clear pixels to fit.
          invalid: nodataMask(raw, targetRaster.nodata) ?? undefined,
          reference: references.length ? await readS2Mean(references, target.bandNames as string[], window, read) : undefined,
          sar: sar ? await readS1(sar, { bands: sarBands, units: files.sarUnits, read }, window) : undefined,
        };
      },
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The whole of every source at once (small scenes: evaluation, tests). */
export async function loadSources(files: SourceFiles): Promise<WindowSources & { target: TargetDescription }> {
  const sources = await openSources(files);
  try {
    return { ...(await sources.read()), target: sources.target };
  } finally {
    await sources.close();
  }
}

export interface OpenMask {
  path: string;
  /** 1-based. */
  band: number;
  read(window?: Window): Promise<Mask>;
  close(): Promise<void>;
}

/** Opens a cloud mask band (1-based) and checks it is on the target's grid. */
export async function openMask(path: string, band: number, like: RasterInfo): Promise<OpenMask> {
  const raster = await openRaster(path);
  try {
    try {
      assertSameGrid(like, raster);
    } catch (error) {
      throw new InputError(path, `${(error as InputError).problem}; make one on its grid with \`clearsky mask --from ${path} --like ${like.path} --out MASK.tif\``);
    }
    if (!Number.isInteger(band) || band < 1 || band > raster.bandCount) throw new InputError(path, `has no band ${band} (it has ${raster.bandCount})`);
  } catch (error) {
    await raster.close();
    throw error;
  }
  return { path, band, read: (window) => readMaskBand(raster, band - 1, window), close: () => raster.close() };
}

/** Reads a whole cloud mask band (1-based) on the target's grid; refuses one with no clear pixel. */
export async function loadMask(path: string, band: number, like: RasterInfo): Promise<Mask> {
  const mask = await openMask(path, band, like);
  try {
    const data = await mask.read();
    assertHasClearPixels(data, `${path} band ${band}`);
    return data;
  } finally {
    await mask.close();
  }
}

function describeTarget(raster: Raster, bands: string[] | undefined): TargetDescription {
  const bandIndexes = bands ? resolveBands(raster, bands) : raster.bandNames.map((_, i) => i);
  return {
    info: { ...raster },
    bandIndexes,
    bandNames: bandIndexes.map((index, i) => raster.bandNames[index] ?? bands?.[i] ?? standardName(raster, index)),
  };
}
