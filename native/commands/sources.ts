/**
 * Loads the inputs of a reconstruction from GeoTIFF files: the target's bands, the cloud mask, the mean of
 * the references and the SAR, all checked onto the target's grid and scaled as METHOD.md says.
 */
import { InputError } from '../errors.ts';
import { createImage, createMask, type Image, type Mask } from '../dip/image.ts';
import type { Sources } from '../dip/modes.ts';
import { resolveBands } from '../raster/bands.ts';
import { openRaster, readBands, withRaster, type Raster } from '../raster/geotiff-reader.ts';
import { assertSameGrid } from '../raster/grid.ts';
import { assertHasClearPixels, readMaskBand } from '../raster/mask.ts';
import { detectSarUnits, normaliseS1, normaliseS2, resolveSarBands } from '../raster/preprocess.ts';
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
    bandNames: bandIndexes.map((i) => raster.bandNames[i] ?? bands?.[bandIndexes.indexOf(i)] ?? null),
    s2: normaliseS2(raw, raster.path),
    nodata: raster.nodata === null ? undefined : nodataMask(raw, raster.nodata),
  };
}

/** The per-pixel mean of the references, each read with the target's bands (by name where it has names). */
async function loadReferenceMean(paths: string[], target: LoadedTarget): Promise<Image> {
  const { s2 } = target;
  const sum = createImage(s2.width, s2.height, s2.bands);
  for (const path of paths) {
    const image = await withRaster(path, async (raster) => {
      assertSameGrid(target.info, raster);
      const names = target.bandNames.every((n) => n !== null) ? (target.bandNames as string[]) : undefined;
      let indexes: number[];
      if (names) indexes = resolveBands(raster, names);
      else if (raster.bandCount === target.info.bandCount) indexes = target.bandIndexes;
      else throw new InputError(path, `has ${raster.bandCount} bands and the target ${target.info.bandCount}, and neither names its bands`);
      return normaliseS2(await readBands(raster, indexes), path);
    });
    for (let i = 0; i < sum.data.length; i++) sum.data[i] += image.data[i];
  }
  for (let i = 0; i < sum.data.length; i++) sum.data[i] /= paths.length;
  return sum;
}

async function loadSar(path: string, like: RasterInfo, explicit: { vv: number; vh: number } | undefined): Promise<Image> {
  const raster = await openRaster(path);
  try {
    assertSameGrid(like, raster);
    const { vv, vh } = resolveSarBands(raster, explicit && { vv: explicit.vv - 1, vh: explicit.vh - 1 });
    const raw = await readBands(raster, [vv, vh]);
    return normaliseS1(raw, path, detectSarUnits([raster.bandNames[vv], raster.bandNames[vh]], raw));
  } finally {
    await raster.close();
  }
}

function nodataMask(raw: Image, nodata: number): Mask | undefined {
  const mask = createMask(raw.width, raw.height);
  let any = false;
  const isNodata = Number.isNaN(nodata) ? (v: number) => Number.isNaN(v) : (v: number) => v === nodata;
  for (let p = 0; p < mask.data.length; p++) {
    let all = true;
    for (let b = 0; b < raw.bands && all; b++) all = isNodata(raw.data[p * raw.bands + b]);
    if (all) {
      mask.data[p] = 1;
      any = true;
    }
  }
  return any ? mask : undefined;
}
