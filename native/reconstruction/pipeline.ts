/**
 * The reconstruction of a scene, in the pieces that both the command line (one process, tile after tile) and
 * the job system (tiles spread over worker processes, resumable) put together:
 *
 *   openRunInputs → surveyTiles (which tiles have cloud) → reconstructTile (each, anywhere) → writeRunOutputs
 *
 * Everything works in the coordinates of the run's area (a window of the target, by default all of it), so a
 * run on the part of a scene the user picked on the map is the same code as a run on the whole scene.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ReconstructionMethod } from '../api/contract.ts';
import { inverseDistanceFill, referenceSubstitution, seamlessReferenceSubstitution } from '../dip/baselines.ts';
import { createImage, cropMask, hideMasked, type Image, type Mask } from '../dip/image.ts';
import { inpaint, type InpaintOptions, type SeedRun } from '../dip/inpaint.ts';
import type { Mode } from '../dip/modes.ts';
import type { NetworkWeights } from '../dip/network.ts';
import { DEFAULT_STEPS, type FitProgress } from '../dip/optimise.ts';
import { InputError } from '../errors.ts';
import { provenance } from './provenance.ts';
import { openMask, openSources, type OpenMask, type OpenSources, type SourceFiles, type TargetDescription, type WindowSources } from './source-files.ts';
import { writeGeoTiffFromBlocks, type BlockSource } from '../raster/tiff/geotiff-writer.ts';
import { nodataMask } from '../raster/sentinel/mask.ts';
import { mosaicSource, type TileResults } from '../raster/tiles/mosaic.ts';
import { S2_SCALE } from '../raster/sentinel/preprocess.ts';
import type { Window } from '../raster/tiff/raster-info.ts';
import { intersect, planTiles, type Tile, type TilePlan } from '../raster/tiles/tiling.ts';

export const BASELINE_DESCRIPTIONS: Record<Exclude<ReconstructionMethod, 'dip'>, string> = {
  'reference-fit': 'reference substitution with a per-band gain and offset fitted on a clear ring around the clouds (baseline)',
  'reference-seamless': 'reference substitution with a per-band gain and offset, cloned seamlessly into the clear pixels at the cloud edge (baseline)',
  'idw-fill': 'inverse-distance fill from the cloud edge, as gdal_fillnodata (baseline)',
};

export interface RunInputFiles extends SourceFiles {
  mask: string;
  /** 1-based. */
  maskBand: number;
  /** The window of the target to reconstruct; default all of it. */
  area?: Window;
}

/** How each cloudy tile is reconstructed. */
export interface ReconstructionSettings {
  method: ReconstructionMethod;
  mode?: Mode;
  steps?: number;
  seeds: number[];
  stitch: boolean;
  /** The target is ground truth under the mask: the method must not see those pixels (ground-truth.ts). */
  groundTruth?: boolean;
  /** Start each tile's network from a finished neighbour's weights (warm-start.ts); off by default. */
  warmStart?: boolean;
  engine?: Omit<InpaintOptions, 'seeds' | 'stitch' | 'steps' | 'onProgress' | 'signal'>;
}

/** The run's sources and mask, opened and checked, read in area coordinates. */
export interface RunInputs {
  files: RunInputFiles;
  target: TargetDescription;
  area: Window;
  sources: Pick<OpenSources, 'read' | 'readRaw'>;
  mask: Pick<OpenMask, 'read' | 'path' | 'band'>;
  close(): Promise<void>;
}

export async function openRunInputs(files: RunInputFiles): Promise<RunInputs> {
  const sources = await openSources(files);
  let mask: OpenMask | undefined;
  try {
    mask = await openMask(files.mask, files.maskBand, sources.target.info);
    const { info } = sources.target;
    const area = files.area ?? { x: 0, y: 0, width: info.width, height: info.height };
    if (area.x < 0 || area.y < 0 || area.width < 1 || area.height < 1 || area.x + area.width > info.width || area.y + area.height > info.height) {
      throw new InputError(files.target, `the area ${area.width}×${area.height} at (${area.x}, ${area.y}) is not inside the ${info.width}×${info.height} scene`);
    }
    const shift = (w: Window = { x: 0, y: 0, width: area.width, height: area.height }): Window => ({ ...w, x: w.x + area.x, y: w.y + area.y });
    const opened = mask;
    return {
      files,
      target: sources.target,
      area,
      sources: { read: (w) => sources.read(shift(w)), readRaw: (w) => sources.readRaw(shift(w)) },
      mask: { path: opened.path, band: opened.band, read: (w) => opened.read(shift(w)) },
      close: async () => {
        await opened.close();
        await sources.close();
      },
    };
  } catch (error) {
    await mask?.close();
    await sources.close();
    throw error;
  }
}

export function planRun(inputs: RunInputs, tiling: { tileSize?: number; overlap?: number }): TilePlan {
  return planTiles(inputs.area.width, inputs.area.height, tiling);
}

export interface TileSurvey {
  cloudy: Tile[];
  /** Tiles that are all cloud (or nodata): nothing to fit the network to, so they keep the input. */
  withoutClearPixels: Tile[];
  cloudPixels: number;
  validPixels: number;
}

/**
 * Which tiles need the network, found from the mask alone before any optimisation. A mask with no clear pixel
 * at all is refused; a single tile that is all cloud keeps the input and is counted, since a larger tile would
 * give the network something to learn from.
 */
export async function surveyTiles(plan: TilePlan, inputs: RunInputs): Promise<TileSurvey> {
  const survey: TileSurvey = { cloudy: [], withoutClearPixels: [], cloudPixels: 0, validPixels: 0 };
  for (const tile of plan.tiles) {
    const cloud = (await inputs.mask.read(tile.window)).data;
    // Reading the target for its nodata costs all its bands: only worth it where the mask has cloud.
    const valid = cloud.includes(1) ? await validPixels(inputs, tile.window) : undefined;
    const { cloudy, clear } = censusTile(plan, tile, cloud, valid, survey);
    if (cloudy === 0) continue;
    (clear === 0 ? survey.withoutClearPixels : survey.cloudy).push(tile);
  }
  if (survey.validPixels > 0 && survey.cloudPixels === survey.validPixels) {
    throw new InputError(`${inputs.mask.path} band ${inputs.mask.band}`, `the mask marks all ${survey.validPixels} pixels as cloud; at least some must be clear`);
  }
  return survey;
}

/** A tile of the plan with its cloud and clear pixels (nodata pixels are neither), as the survey counts them. */
export interface TileCensus {
  tile: Tile;
  cloudy: number;
  clear: number;
}

/**
 * Every tile of the plan with its cloud and clear pixels, the way `surveyTiles` sees them, for showing the
 * grid before a run: the mask of the whole area is read once (and the target's bands once, for its nodata,
 * only when it has a nodata value and the mask has cloud), and never refused, even when it is all cloud.
 */
export async function censusTiles(plan: TilePlan, inputs: RunInputs): Promise<TileCensus[]> {
  const whole = { x: 0, y: 0, width: inputs.area.width, height: inputs.area.height };
  const cloud = (await inputs.mask.read(whole)).data;
  const valid = cloud.includes(1) ? await validPixels(inputs, whole) : undefined;
  const totals = { cloudPixels: 0, validPixels: 0 };
  return plan.tiles.map((tile) => ({ tile, ...censusTile(plan, tile, cropMask({ ...whole, data: cloud }, tile.window).data, valid && cropMask({ ...whole, data: valid }, tile.window).data, totals) }));
}

/**
 * One tile's cloud and clear pixels (`cloud` and `valid` are the tile's window, row-major), and its core's
 * added to `totals`: tiles overlap, and the cover counts each pixel once, in the tile whose core holds it.
 */
function censusTile(plan: TilePlan, tile: Tile, cloud: Uint8Array, valid: Uint8Array | undefined, totals: { cloudPixels: number; validPixels: number }): { cloudy: number; clear: number } {
  const core = coreOf(plan, tile);
  let cloudy = 0;
  let clear = 0;
  for (let row = 0; row < tile.window.height; row++) {
    for (let col = 0; col < tile.window.width; col++) {
      const p = row * tile.window.width + col;
      if (valid && !valid[p]) continue;
      if (cloud[p]) cloudy++;
      else clear++;
      if (col < core.width && row < core.height) {
        totals.validPixels++;
        if (cloud[p]) totals.cloudPixels++;
      }
    }
  }
  return { cloudy, clear };
}


/** The part of a tile up to where the next tile (right, below) starts: the cores partition the area. */
function coreOf(plan: TilePlan, tile: Tile): { width: number; height: number } {
  const right = tile.col + 1 < plan.cols ? plan.tiles[tile.index + 1].window.x : plan.width;
  const below = tile.row + 1 < plan.rows ? plan.tiles[tile.index + plan.cols].window.y : plan.height;
  return { width: right - tile.window.x, height: below - tile.window.y };
}

/** 1 where the target has data in some band; undefined when it has no nodata value (every pixel valid). */
async function validPixels(inputs: RunInputs, window: Window): Promise<Uint8Array | undefined> {
  if (inputs.target.info.nodata === null) return undefined;
  const valid = nodataPixels(window, (await inputs.sources.readRaw(window)).data, inputs.target.bandIndexes.length, inputs.target.info.nodata);
  for (let p = 0; p < valid.length; p++) valid[p] ^= 1;
  return valid;
}

/** 1 where every band of a pixel-interleaved window is `nodata`. */
function nodataPixels(window: Window, values: Float32Array, bands: number, nodata: number | null): Uint8Array {
  return nodataMask({ width: window.width, height: window.height, bands, data: values }, nodata)?.data ?? new Uint8Array(window.width * window.height);
}

export interface TileReconstruction {
  /** The reconstruction in digital numbers (unrounded), then with several seeds the spread bands. */
  image: Image;
  bandNames: string[];
  runs: SeedRun[];
  /**
   * With several seeds, how sure the tile is: the median over its masked pixels of the seeds' spread (standard
   * deviation, mean over bands, digital numbers); null with one seed, a baseline, or no masked pixel.
   */
  spread: number | null;
  /** With `keepWeights`: each seed's final network weights (for a neighbour's warm start). */
  weights?: NetworkWeights[];
}

/** How one tile is computed: cancel, progress, and a warm start's weights in and out. */
export interface TileOptions {
  signal?: AbortSignal;
  onProgress?: (progress: TileProgress) => void;
  /** Start each seed's network from these weights (by seed index) instead of random ones. */
  startWeights?: readonly NetworkWeights[];
  /** Hand back each seed's final weights. */
  keepWeights?: boolean;
}

/**
 * Everything one tile's reconstruction reads: every source's window, the cloud mask and the band names. It is
 * all a worker needs, so a tile can be reconstructed in another process or on another machine (jobs/queue/).
 */
export interface TileSources {
  window: WindowSources;
  cloud: Mask;
  /** The target's band names ("band N" where the file has none). */
  bandNames: string[];
}

/** Reads one tile's window of every source and of the mask. */
export async function readTileSources(inputs: RunInputs, tile: Tile): Promise<TileSources> {
  return {
    window: await inputs.sources.read(tile.window),
    cloud: await inputs.mask.read(tile.window),
    bandNames: inputs.target.bandNames.map((name, band) => name ?? `band ${band + 1}`),
  };
}

export type TileProgress = FitProgress & { seed: number; seedIndex: number; seeds: number };

/** Reconstructs one tile of the run: the network (or a baseline) on the tile's window of every source. */
export async function reconstructTile(
  inputs: RunInputs,
  tile: Tile,
  settings: ReconstructionSettings,
  options: TileOptions = {},
): Promise<TileReconstruction> {
  return reconstructTileSources(await readTileSources(inputs, tile), settings, options);
}

/** Reconstructs a tile from what was read of it (here, or by the process that sent it over the queue). */
export async function reconstructTileSources(
  sources: TileSources,
  settings: ReconstructionSettings,
  options: TileOptions = {},
): Promise<TileReconstruction> {
  const { cloud, bandNames: names } = sources;
  const window = { ...sources.window };
  if (settings.groundTruth) window.s2 = hideMasked(window.s2, cloud);
  if (settings.method !== 'dip') {
    if (settings.method !== 'idw-fill' && !window.reference) throw new InputError(undefined, `the ${settings.method} baseline needs a reference`);
    const filled =
      settings.method === 'idw-fill'
        ? inverseDistanceFill(window.s2, cloud)
        : settings.method === 'reference-seamless'
          ? seamlessReferenceSubstitution(window.s2, window.reference!, cloud, window.invalid)
          : referenceSubstitution(window.s2, window.reference!, cloud);
    return { image: stitched(inDigitalNumbers([filled]), window.raw, cloud, settings.stitch), bandNames: names, runs: [], spread: null };
  }
  if (!settings.mode) throw new InputError(undefined, 'a mode is required (basic, ms, mt, msmt, msr, mtr or mtfit)');
  const result = await inpaint(settings.mode, { ...window, mask: cloud }, {
    ...settings.engine,
    bandNames: names,
    steps: settings.steps ?? DEFAULT_STEPS,
    seeds: settings.seeds,
    signal: options.signal,
    onProgress: options.onProgress,
    startWeights: options.startWeights,
    keepWeights: options.keepWeights,
  });
  const layers = [result.reconstruction, ...(result.spread ? [result.spread] : [])];
  return { image: stitched(inDigitalNumbers(layers), window.raw, cloud, settings.stitch), bandNames: [...names, ...(result.spread ? names.map((n) => `${n} spread`) : [])], runs: result.runs, spread: result.spread ? medianSpreadUnderMask(result.spread, cloud) : null, ...(result.weights ? { weights: result.weights } : {}) };
}

/** The median over the masked pixels of the spread's mean over bands, in digital numbers (null: no masked pixel). */
export function medianSpreadUnderMask(spread: Image, cloud: Mask): number | null {
  const values: number[] = [];
  for (let p = 0; p < cloud.data.length; p++) {
    if (!cloud.data[p]) continue;
    let sum = 0;
    for (let b = 0; b < spread.bands; b++) sum += spread.data[p * spread.bands + b];
    values.push((sum / spread.bands) * S2_SCALE);
  }
  if (values.length === 0) return null;
  values.sort((a, b) => a - b);
  const mid = values.length >> 1;
  return values.length % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

/**
 * With stitching, a tile's clear pixels are the input's (and their spread 0), as the mosaic will show them:
 * a finished tile then looks as it will in the result, on the map while the run goes on and in QGIS.
 */
function stitched(image: Image, raw: Image, cloud: Mask, stitch: boolean): Image {
  if (!stitch) return image;
  const { bands } = image;
  for (let p = 0; p < cloud.data.length; p++) {
    if (cloud.data[p]) continue;
    image.data.set(raw.data.subarray(p * raw.bands, (p + 1) * raw.bands), p * bands);
    image.data.fill(0, p * bands + raw.bands, (p + 1) * bands);
  }
  return image;
}

/** The network's ÷2000 scale back to digital numbers, unrounded (the mosaic blends first, the writer rounds), bands side by side. */
function inDigitalNumbers(layers: Image[]): Image {
  const { width, height } = layers[0];
  const bands = layers.reduce((n, l) => n + l.bands, 0);
  const out = createImage(width, height, bands);
  for (let p = 0; p < width * height; p++) {
    let to = p * bands;
    for (const layer of layers) {
      for (let b = 0; b < layer.bands; b++) out.data[to++] = layer.data[p * layer.bands + b] * S2_SCALE;
    }
  }
  return out;
}

/**
 * Marks 2 the cloud pixels of `cloud` (window-sized, row-major) that no reconstructed tile covers: they show
 * the input (a failed tile, an entirely cloudy one, one not chosen), and the mask says so.
 */
function notReconstructed(plan: TilePlan, results: TileResults, window: Window, cloud: Float32Array): Float32Array {
  const covered = new Uint8Array(cloud.length);
  for (const tile of plan.tiles) {
    const part = results.has(tile.index) ? intersect(window, tile.window) : null;
    if (!part) continue;
    for (let y = part.y; y < part.y + part.height; y++) covered.fill(1, (y - window.y) * window.width + part.x - window.x, (y - window.y) * window.width + part.x - window.x + part.width);
  }
  for (let p = 0; p < cloud.length; p++) if (cloud[p] && !covered[p]) cloud[p] = 2;
  return cloud;
}

export interface RunOutputs {
  out: string;
  uncertainty?: string;
  maskOut?: string;
}

/**
 * Mosaics the reconstructed tiles into the run's outputs: the corrected scene (input's data type and bands),
 * optionally the spread across seeds and the mask used. One run, one set of outputs: if one fails, the others
 * already written are removed, since a result without its companions would look complete and is not.
 */
export async function writeRunOutputs(
  inputs: RunInputs,
  plan: TilePlan,
  results: TileResults,
  settings: ReconstructionSettings & { backend: string },
  outputs: RunOutputs,
): Promise<{ mosaicSeconds: number }> {
  const { info, bandNames } = inputs.target;
  // The writer pulls blocks from the mosaic, several at a time: the wall time during which any pull is under
  // way is the mosaic's share; the rest of the write is encoding and writing.
  let mosaicMs = 0;
  let inFlight = 0;
  let busySince = 0;
  const timed = (source: BlockSource): BlockSource => ({
    ...source,
    read: async (window) => {
      if (inFlight++ === 0) busySince = performance.now();
      try {
        return await source.read(window);
      } finally {
        if (--inFlight === 0) mosaicMs += performance.now() - busySince;
      }
    },
  });
  const bands = bandNames.length;
  const like = { ...info, width: plan.width, height: plan.height };
  const pixelOffset = { x: inputs.area.x, y: inputs.area.y };
  // Pixels that show the input whatever the tiles say: nodata always, clear pixels when stitching.
  const keepFor = async (window: Window, shown: Float32Array): Promise<Uint8Array> => {
    // In a ground-truth run the input shown has its masked pixels hidden (0 in every band), which a nodata of 0
    // would take for nodata and keep: the reconstruction under the whole mask was lost. Nodata is the file's own.
    const raw = settings.groundTruth ? (await inputs.sources.readRaw(window)).data : shown;
    const keep = nodataPixels(window, raw, bands, info.nodata);
    if (settings.stitch) {
      const cloud = await inputs.mask.read(window);
      for (let p = 0; p < keep.length; p++) if (!cloud.data[p]) keep[p] = 1;
    }
    return keep;
  };
  // What the result shows where nothing was reconstructed (a failed tile): the input, but never the hidden truth.
  const readShown = async (window: Window): Promise<Float32Array> => {
    const raw = await inputs.sources.readRaw(window);
    return settings.groundTruth ? hideMasked(raw, await inputs.mask.read(window)).data : raw.data;
  };
  const { files } = inputs;
  const metadata = provenance({
    mode: settings.method === 'dip' ? (settings.mode ?? 'basic') : 'none',
    steps: settings.method === 'dip' ? (settings.steps ?? DEFAULT_STEPS) : 0,
    seeds: settings.seeds,
    backend: settings.backend,
    stitch: settings.stitch,
    inputs: {
      target: path.basename(files.target),
      mask: `${path.basename(files.mask)}:${files.maskBand}`,
      ...(files.references?.length ? { reference: files.references.map((r) => path.basename(r)).join(',') } : {}),
      ...(files.sar ? { sar: path.basename(files.sar) } : {}),
      ...(files.area ? { area: `${files.area.width}x${files.area.height}+${files.area.x}+${files.area.y}` } : {}),
    },
  });
  if (settings.method !== 'dip') metadata.CLEARSKY_METHOD = BASELINE_DESCRIPTIONS[settings.method];
  metadata.CLEARSKY_TILING = `${plan.tileSize} px tiles, ${plan.overlap} px feathered overlap`;
  if (settings.method === 'dip' && settings.warmStart) metadata.CLEARSKY_WARM_START = 'yes: each tile started from a finished neighbour\'s network where one was there (each tile file names it)';
  const written: string[] = [];
  try {
    await writeGeoTiffFromBlocks(
      outputs.out,
      timed(mosaicSource({ plan, results, bands: { first: 0, count: bands }, readInput: readShown, readKeep: keepFor }, bands)),
      { dataType: info.dataType, like, pixelOffset, bandNames, nodata: info.nodata, metadata },
    );
    written.push(outputs.out);
    if (outputs.uncertainty) {
      const spread = mosaicSource(
        { plan, results, bands: { first: bands, count: bands }, readInput: async (w) => new Float32Array(w.width * w.height * bands), readKeep: async (w) => keepFor(w, (await inputs.sources.readRaw(w)).data) },
        bands,
      );
      await writeGeoTiffFromBlocks(outputs.uncertainty, spread, {
        dataType: 'float32',
        like,
        pixelOffset,
        bandNames: bandNames.map((name, band) => `${name ?? `band ${band + 1}`} spread (standard deviation across seeds, digital numbers)`),
        metadata: { ...metadata, CLEARSKY_LAYER: 'uncertainty: per-pixel standard deviation of the reconstruction across seeds' },
      });
      written.push(outputs.uncertainty);
    }
    if (outputs.maskOut) {
      const cloud = { width: plan.width, height: plan.height, bands: 1, read: async (w: Window) => notReconstructed(plan, results, w, Float32Array.from((await inputs.mask.read(w)).data)) };
      await writeGeoTiffFromBlocks(outputs.maskOut, cloud, {
        dataType: 'uint8',
        like,
        pixelOffset,
        bandNames: ['cloud mask'],
        overviews: 'nearest',
        metadata: { ...metadata, CLEARSKY_LAYER: 'the cloud mask of this run: 1 = cloud (reconstructed), 2 = cloud left as the input (its tile failed or was not reconstructed), 0 = clear' },
      });
    }
  } catch (error) {
    await Promise.all(written.map((file) => fs.rm(file, { force: true })));
    throw error;
  }
  return { mosaicSeconds: mosaicMs / 1000 };
}
