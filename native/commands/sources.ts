/**
 * Loads the inputs of a reconstruction from GeoTIFF files: the target's bands, the cloud mask, the mean of
 * the references and the SAR, all checked onto the target's grid and scaled as METHOD.md says.
 */
import { InputError } from '../errors.ts';
import type { Image, Mask } from '../dip/image.ts';
import type { Sources } from '../dip/modes.ts';
import { resolveBands, S2_BAND_ORDER } from '../raster/bands.ts';
import { openRaster, readBands, withRaster, type Raster } from '../raster/geotiff-reader.ts';
import { assertSameGrid } from '../raster/grid.ts';
import { assertHasClearPixels, nodataMask, readMaskBand } from '../raster/mask.ts';
import { normaliseS2 } from '../raster/preprocess.ts';
import { readS1, readS2Mean } from '../raster/sources.ts';
import type { RasterInfo } from '../raster/raster-info.ts';

export interface SourceFiles {
  target: string;
  /** Band names (B04, B8A…); default: every band of the target. */
  bands?: string[];
  references?: string[];
  sar?: string;
  /** 1-based VV and VH band numbers of the SAR file; default: found by band description. */
  sarBands?: { vv: number; vh: number };
}

export interface LoadedTarget {
  info: RasterInfo;
  /** The 0-based band indexes read and their names (for the output's band descriptions). */
  bandIndexes: number[];
  bandNames: (string | null)[];
  s2: Image;
  /** Pixels that are nodata in every band: outside the scene, neither cloud nor clear. */
  nodata: Mask | undefined;
}

export type LoadedSources = Omit<Sources, 'mask'> & { target: LoadedTarget };

export async function loadSources(files: SourceFiles): Promise<LoadedSources> {
  const target = await withRaster(files.target, (raster) => loadTarget(raster, files.bands));
  const reference = files.references?.length ? await loadReferenceMean(files.references, target) : undefined;
  const sar = files.sar ? await loadSar(files.sar, target.info, files.sarBands) : undefined;
  return { target, s2: target.s2, reference, sar, invalid: target.nodata };
}

/** Reads a cloud mask band (1-based) on the target's grid; refuses one with no clear pixel. */
export async function loadMask(path: string, band: number, like: RasterInfo): Promise<Mask> {
  return withRaster(path, async (raster) => {
    assertSameGrid(like, raster);
    if (!Number.isInteger(band) || band < 1 || band > raster.bandCount) throw new InputError(path, `has no band ${band} (it has ${raster.bandCount})`);
    const mask = await readMaskBand(raster, band - 1);
    assertHasClearPixels(mask, `${path} band ${band}`);
    return mask;
  });
}

async function loadTarget(raster: Raster, bands: string[] | undefined): Promise<LoadedTarget> {
  const bandIndexes = bands ? resolveBands(raster, bands) : raster.bandNames.map((_, i) => i);
  const raw = await readBands(raster, bandIndexes);
  return {
    info: { ...raster },
    bandIndexes,
    bandNames: bandIndexes.map((index, i) => raster.bandNames[index] ?? bands?.[i] ?? standardName(raster, index)),
    s2: normaliseS2(raw, raster.path, raster.nodata),
    nodata: nodataMask(raw, raster.nodata) ?? undefined,
  };
}

/** A 13-band file without band descriptions is in the standard Sentinel-2 order. */
function standardName(raster: Raster, index: number): string | null {
  return raster.bandCount === S2_BAND_ORDER.length ? S2_BAND_ORDER[index] : null;
}

/** The per-pixel mean of the references, each read with the target's bands, matched by name. */
async function loadReferenceMean(paths: string[], target: LoadedTarget): Promise<Image> {
  const names = target.bandNames;
  if (names.some((n) => n === null)) {
    throw new InputError(target.info.path, 'its bands have no names to match the reference bands by; choose them with --bands');
  }
  const rasters: Raster[] = [];
  try {
    for (const path of paths) {
      rasters.push(await openRaster(path));
      assertSameGrid(target.info, rasters.at(-1)!);
    }
    return await readS2Mean(rasters, names as string[]);
  } finally {
    await Promise.all(rasters.map((r) => r.close()));
  }
}

async function loadSar(path: string, like: RasterInfo, explicit: { vv: number; vh: number } | undefined): Promise<Image> {
  return withRaster(path, async (raster) => {
    assertSameGrid(like, raster);
    return readS1(raster, { bands: explicit && { vv: explicit.vv - 1, vh: explicit.vh - 1 } });
  });
}
