/**
 * `clearsky inpaint`: reconstructs the cloudy pixels of a scene of any size and writes a georeferenced GeoTIFF
 * in the input's digital numbers.
 *
 * The scene is cut into overlapping tiles (tiling.ts); only tiles with cloud are optimised, each result is
 * written to a tile folder beside the output as soon as it is done, and the mosaic streams from those tiles
 * into the output with feathered blending, so memory depends on the tile size, not the scene's. Every input is
 * checked before the (long) optimisation starts; the output appears atomically, so a failure leaves no file.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors.ts';
import { selectBackend, type BackendChoice } from '../dip/backends/select.ts';
import { createImage, type Image } from '../dip/image.ts';
import { inverseDistanceFill, referenceSubstitution } from '../dip/baselines.ts';
import { inpaint, type InpaintOptions } from '../dip/inpaint.ts';
import type { Mode } from '../dip/modes.ts';
import { DEFAULT_STEPS, type FitProgress } from '../dip/optimise.ts';
import { writeGeoTiffFromBlocks } from '../raster/geotiff-writer.ts';
import { nodataMask } from '../raster/mask.ts';
import { mosaicSource } from '../raster/mosaic.ts';
import { S2_SCALE } from '../raster/preprocess.ts';
import type { SarUnits } from '../raster/preprocess.ts';
import type { Window } from '../raster/raster-info.ts';
import { TileResultFolder } from '../raster/tile-results.ts';
import { planTiles, type Tile, type TilePlan } from '../raster/tiling.ts';
import { provenance } from './provenance.ts';
import { openMask, openSources, type OpenMask, type OpenSources } from './sources.ts';
import { assertWritableFolder } from './output-folder.ts';

export interface InpaintCommand {
  target: string;
  mask: string;
  /** 1-based. */
  maskBand: number;
  references: string[];
  sar?: string;
  /** 1-based VV and VH band numbers of the SAR file; default: found by band description. */
  sarBands?: { vv: number; vh: number };
  sarUnits?: SarUnits;
  bands?: string[];
  /** What fills the cloud: the network (default), or a fast baseline for a quick look. */
  method?: InpaintMethod;
  /** The network's mode; required for `dip`. */
  mode?: Mode;
  steps?: number;
  seeds: number[];
  backend: BackendChoice;
  stitch: boolean;
  out: string;
  /** Tile edge and overlap in pixels (defaults 256 and 32). */
  tileSize?: number;
  overlap?: number;
  /** Resample references and SAR on other grids onto the target's instead of refusing them. */
  resample?: boolean;
  /** Where to write the per-pixel spread across seeds (needs two or more seeds). */
  uncertainty?: string;
  /** Where to write the cloud mask used, on the output's grid (for QA beside the result). */
  maskOut?: string;
  engine?: Omit<InpaintOptions, 'seeds' | 'stitch' | 'steps' | 'onProgress' | 'signal'>;
  signal?: AbortSignal;
  onProgress?: (progress: FitProgress & { label: string }) => void;
  /** After each reconstructed tile: how many of the cloudy tiles are done. */
  onTileDone?: (done: number, total: number) => void;
}

export type InpaintMethod = 'dip' | 'reference-fit' | 'idw-fill';
export const INPAINT_METHODS: readonly InpaintMethod[] = ['dip', 'reference-fit', 'idw-fill'];

const BASELINE_DESCRIPTIONS: Record<Exclude<InpaintMethod, 'dip'>, string> = {
  'reference-fit': 'reference substitution with a per-band gain and offset fitted on a clear ring around the clouds (baseline)',
  'idw-fill': 'inverse-distance fill from the cloud edge, as gdal_fillnodata (baseline)',
};

export interface InpaintSummary {
  out: string;
  uncertainty?: string;
  mask_out?: string;
  method: InpaintMethod;
  mode: Mode | null;
  backend: string;
  steps: number;
  seeds: number[];
  cloud_cover: number;
  tiles: { total: number; reconstructed: number; clear: number; without_clear_pixels: number };
  seconds: number;
  /** Where the time went: reading the mask to choose tiles, the tiles themselves, mosaicking and writing. */
  phases: { survey_seconds: number; reconstruct_seconds: number; write_seconds: number };
  seconds_per_step: number;
  final_loss: number;
  peak_rss_mb: number;
}

interface TileSurvey {
  cloudy: Tile[];
  /** Tiles that are all cloud (or nodata): nothing to fit the network to, so they keep the input. */
  withoutClearPixels: Tile[];
  cloudPixels: number;
  validPixels: number;
}

export async function runInpaint(command: InpaintCommand): Promise<InpaintSummary> {
  try {
    planTiles(1, 1, { tileSize: command.tileSize, overlap: command.overlap }); // flags checked before any file is opened
  } catch (error) {
    throw new InputError(undefined, `--tile/--overlap: ${(error as Error).message}`);
  }
  for (const out of [command.out, command.uncertainty, command.maskOut]) if (out) await assertWritableFolder(out);
  const method = command.method ?? 'dip';
  if (method === 'dip' && !command.mode) throw new InputError(undefined, '--mode is required (basic, ms, mt, msmt, msr or mtr)');
  if (method === 'reference-fit' && command.references.length === 0) throw new InputError(undefined, '--method reference-fit needs --reference');
  if (command.uncertainty && (method !== 'dip' || command.seeds.length < 2)) {
    throw new InputError(command.uncertainty, 'the uncertainty layer is the spread across seeds: give two or more with --seeds');
  }
  const sources = await openSources({
    target: command.target,
    bands: command.bands,
    references: command.references,
    sar: command.sar,
    sarBands: command.sarBands,
    sarUnits: command.sarUnits,
    resample: command.resample,
  });
  let mask: OpenMask | undefined;
  try {
    mask = await openMask(command.mask, command.maskBand, sources.target.info);
    const { info } = sources.target;
    const plan = planTiles(info.width, info.height, { tileSize: command.tileSize, overlap: command.overlap });
    const start = performance.now();
    const survey = await surveyTiles(plan, sources, mask);
    const surveyed = performance.now();
    const backend = method === 'dip' ? await selectBackend(command.backend) : { description: 'none (baseline)' };
    const folder = await TileResultFolder.open(await tileFolderFor(command.out), plan, info);
    try {
      const reconstructing = performance.now();
      const runs = await reconstructTiles(command, survey.cloudy, sources, mask, folder);
      const reconstructed = performance.now();
      await writeMosaics(command, plan, sources, mask, folder, backend.description);
      const written = performance.now();
      const stepsRun = runs.reduce((n, r) => n + r.steps, 0);
      return {
        out: command.out,
        ...(command.uncertainty ? { uncertainty: command.uncertainty } : {}),
        ...(command.maskOut ? { mask_out: command.maskOut } : {}),
        method,
        mode: method === 'dip' ? command.mode! : null,
        backend: backend.description,
        steps: method === 'dip' ? (command.steps ?? DEFAULT_STEPS) : 0,
        seeds: command.seeds,
        cloud_cover: survey.cloudPixels / Math.max(1, survey.validPixels),
        tiles: {
          total: plan.tiles.length,
          reconstructed: survey.cloudy.length,
          clear: plan.tiles.length - survey.cloudy.length - survey.withoutClearPixels.length,
          without_clear_pixels: survey.withoutClearPixels.length,
        },
        seconds: (written - start) / 1000,
        phases: { survey_seconds: (surveyed - start) / 1000, reconstruct_seconds: (reconstructed - reconstructing) / 1000, write_seconds: (written - reconstructed) / 1000 },
        peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
        seconds_per_step: runs.reduce((n, r) => n + r.seconds, 0) / Math.max(1, stepsRun),
        final_loss: runs.at(-1)?.finalLoss ?? 0,
      };
    } finally {
      await folder.remove();
    }
  } finally {
    await mask?.close();
    await sources.close();
  }
}

/**
 * Which tiles need the network, found from the mask alone before any optimisation. A scene whose mask has no
 * clear pixel at all is refused (as for a single patch); a single tile that is all cloud keeps the input and
 * is counted, since a larger tile would give the network something to learn from.
 */
async function surveyTiles(plan: TilePlan, sources: OpenSources, mask: OpenMask): Promise<TileSurvey> {
  const survey: TileSurvey = { cloudy: [], withoutClearPixels: [], cloudPixels: 0, validPixels: 0 };
  for (const tile of plan.tiles) {
    const cloud = await mask.read(tile.window);
    // Reading the target for its nodata costs all its bands: only worth it where the mask has cloud.
    const valid = cloud.data.includes(1) ? await validPixels(sources, tile.window) : undefined;
    const core = coreOf(plan, tile);
    let cloudy = 0;
    let clear = 0;
    for (let row = 0; row < tile.window.height; row++) {
      for (let col = 0; col < tile.window.width; col++) {
        const p = row * tile.window.width + col;
        if (valid && !valid[p]) continue;
        if (cloud.data[p]) cloudy++;
        else clear++;
        // Tiles overlap; the scene's cover counts each pixel once, in the tile whose core holds it.
        if (col < core.width && row < core.height) {
          survey.validPixels++;
          if (cloud.data[p]) survey.cloudPixels++;
        }
      }
    }
    if (cloudy === 0) continue;
    (clear === 0 ? survey.withoutClearPixels : survey.cloudy).push(tile);
  }
  if (survey.validPixels > 0 && survey.cloudPixels === survey.validPixels) {
    throw new InputError(`${mask.path} band ${mask.band}`, `the mask marks all ${survey.validPixels} pixels as cloud; at least some must be clear`);
  }
  return survey;
}

/** The part of a tile up to where the next tile (right, below) starts: the cores partition the scene. */
function coreOf(plan: TilePlan, tile: Tile): { width: number; height: number } {
  const right = tile.col + 1 < plan.cols ? plan.tiles[tile.index + 1].window.x : plan.width;
  const below = tile.row + 1 < plan.rows ? plan.tiles[tile.index + plan.cols].window.y : plan.height;
  return { width: right - tile.window.x, height: below - tile.window.y };
}

/** 1 where the target has data in some band; undefined when it has no nodata value (every pixel valid). */
async function validPixels(sources: OpenSources, window: Window): Promise<Uint8Array | undefined> {
  if (sources.target.info.nodata === null) return undefined;
  const valid = nodataPixels(window, (await sources.readRaw(window)).data, sources.target.bandIndexes.length, sources.target.info.nodata);
  for (let p = 0; p < valid.length; p++) valid[p] ^= 1;
  return valid;
}

/** 1 where every band of a pixel-interleaved window is `nodata`. */
function nodataPixels(window: Window, values: Float32Array, bands: number, nodata: number | null): Uint8Array {
  return nodataMask({ width: window.width, height: window.height, bands, data: values }, nodata)?.data ?? new Uint8Array(window.width * window.height);
}

async function reconstructTiles(command: InpaintCommand, tiles: Tile[], sources: OpenSources, mask: OpenMask, folder: TileResultFolder) {
  const runs: { steps: number; seconds: number; finalLoss: number }[] = [];
  const names = sources.target.bandNames.map((name, band) => name ?? `band ${band + 1}`);
  for (const [i, tile] of tiles.entries()) {
    const where = tiles.length > 1 ? `tile ${i + 1}/${tiles.length} (row ${tile.row + 1}, col ${tile.col + 1})` : '';
    const window = await sources.read(tile.window);
    const cloud = await mask.read(tile.window);
    if (command.method === 'idw-fill' || command.method === 'reference-fit') {
      const filled = command.method === 'idw-fill' ? inverseDistanceFill(window.s2, cloud) : referenceSubstitution(window.s2, window.reference!, cloud);
      await folder.write(tile, inDigitalNumbers([filled]), names);
      command.onTileDone?.(i + 1, tiles.length);
      continue;
    }
    const result = await inpaint(command.mode!, { ...window, mask: cloud }, {
      ...command.engine,
      steps: command.steps ?? DEFAULT_STEPS,
      seeds: command.seeds,
      signal: command.signal,
      onProgress:
        command.onProgress &&
        ((p) => command.onProgress!({ ...p, label: [where, p.seeds > 1 ? `seed ${p.seed} (${p.seedIndex + 1}/${p.seeds})` : ''].filter(Boolean).join(' ') })),
    });
    const layers = [result.reconstruction, ...(result.spread ? [result.spread] : [])];
    await folder.write(tile, inDigitalNumbers(layers), [...names, ...(result.spread ? names.map((n) => `${n} spread`) : [])]);
    runs.push(...result.runs);
    command.onTileDone?.(i + 1, tiles.length);
  }
  return runs;
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

async function writeMosaics(command: InpaintCommand, plan: TilePlan, sources: OpenSources, mask: OpenMask, folder: TileResultFolder, backend: string) {
  const { info, bandNames } = sources.target;
  const bands = bandNames.length;
  // Pixels that show the input whatever the tiles say: nodata always, clear pixels when stitching.
  const keepFor = async (window: Window, raw: Float32Array): Promise<Uint8Array> => {
    const keep = nodataPixels(window, raw, bands, info.nodata);
    if (command.stitch) {
      const cloud = await mask.read(window);
      for (let p = 0; p < keep.length; p++) if (!cloud.data[p]) keep[p] = 1;
    }
    return keep;
  };
  const metadata = provenance({
    mode: command.mode ?? 'none',
    steps: command.method && command.method !== 'dip' ? 0 : (command.steps ?? DEFAULT_STEPS),
    seeds: command.seeds,
    backend,
    stitch: command.stitch,
    inputs: {
      target: path.basename(command.target),
      mask: `${path.basename(command.mask)}:${command.maskBand}`,
      ...(command.references.length ? { reference: command.references.map((r) => path.basename(r)).join(',') } : {}),
      ...(command.sar ? { sar: path.basename(command.sar) } : {}),
    },
  });
  if (command.method && command.method !== 'dip') metadata.CLEARSKY_METHOD = BASELINE_DESCRIPTIONS[command.method];
  metadata.CLEARSKY_TILING = `${plan.tileSize} px tiles, ${plan.overlap} px feathered overlap`;
  const written: string[] = [];
  try {
    await writeGeoTiffFromBlocks(
      command.out,
      mosaicSource({ plan, results: folder, bands: { first: 0, count: bands }, readInput: async (w) => (await sources.readRaw(w)).data, readKeep: keepFor }, bands),
      { dataType: info.dataType, like: info, bandNames, nodata: info.nodata, metadata },
    );
    written.push(command.out);
    if (command.uncertainty) {
      const spread = mosaicSource(
        { plan, results: folder, bands: { first: bands, count: bands }, readInput: async (w) => new Float32Array(w.width * w.height * bands), readKeep: async (w) => keepFor(w, (await sources.readRaw(w)).data) },
        bands,
      );
      await writeGeoTiffFromBlocks(command.uncertainty, spread, {
        dataType: 'float32',
        like: info,
        bandNames: bandNames.map((name, band) => `${name ?? `band ${band + 1}`} spread (standard deviation across seeds, digital numbers)`),
        metadata: { ...metadata, CLEARSKY_LAYER: 'uncertainty: per-pixel standard deviation of the reconstruction across seeds' },
      });
      written.push(command.uncertainty);
    }
    if (command.maskOut) {
      const cloud = { width: plan.width, height: plan.height, bands: 1, read: async (w: Window) => Float32Array.from((await mask.read(w)).data) };
      await writeGeoTiffFromBlocks(command.maskOut, cloud, {
        dataType: 'uint8',
        like: info,
        bandNames: ['cloud mask'],
        overviews: 'nearest',
        metadata: { ...metadata, CLEARSKY_LAYER: 'the cloud mask of this run: 1 = cloud (reconstructed), 0 = clear' },
      });
    }
  } catch (error) {
    // One run, one set of outputs: an output without its companions would look complete and is not.
    await Promise.all(written.map((file) => fs.rm(file, { force: true })));
    throw error;
  }
}

/** A fresh folder beside the output for the finished tiles (same file system, so they are cheap to write). */
async function tileFolderFor(out: string): Promise<string> {
  const resolved = path.resolve(out);
  return fs.mkdtemp(path.join(path.dirname(resolved), `.${path.basename(resolved)}.tiles-`));
}
