/**
 * `clearsky inpaint`: reconstructs the cloudy pixels of a scene of any size and writes a georeferenced GeoTIFF
 * in the input's digital numbers.
 *
 * The scene is cut into overlapping tiles (tiling.ts); only tiles with cloud are optimised, each result is
 * written to a tile folder beside the output as soon as it is done, and the mosaic streams from those tiles
 * into the output with feathered blending, so memory depends on the tile size, not the scene's. Every input is
 * checked before the (long) optimisation starts; the output appears atomically, so a failure leaves no file.
 *
 * A tile the engine refuses (its data: an InputError or RepresentationError) fails alone, as in a project's
 * run: the other tiles go on and the output is written with that tile's cloud left as the input, the summary's
 * `failed_tiles` naming it. Only when every cloudy tile failed is nothing written (the first error is thrown);
 * a cancel or any other error still throws at once and writes nothing.
 */
import fs from 'node:fs/promises';
import { InputError, isCancelled } from '../errors.ts';
import { METHODS, REFERENCE_METHODS, type BackendChoice, type ReconstructionMethod } from '../api/contract.ts';
import { selectBackend } from '../dip/backends/select.ts';
import type { InpaintOptions, SeedRun } from '../dip/inpaint.ts';
import { RepresentationError, type Mode } from '../dip/modes.ts';
import { DEFAULT_STEPS, type FitProgress } from '../dip/optimise.ts';
import { openRunInputs, planRun, reconstructTile, surveyTiles, writeRunOutputs } from '../reconstruction/pipeline.ts';
import type { SarUnits } from '../raster/sentinel/preprocess.ts';
import { TileResultFolder } from '../raster/tiles/tile-results.ts';
import { planTiles, type Tile } from '../raster/tiles/tiling.ts';
import { checkQueueUrl } from '../jobs/queue/project-queue.ts';
import { reconstructOnQueue } from '../jobs/queue/queued-inpaint.ts';
import { connectTileQueue, type QueueConnect } from '../jobs/queue/queued-runs.ts';
import { assertWritableFolder } from './output-folder.ts';
import { prepareOutputs } from '../project/output-guard.ts';
import { tileFolderPrefix } from '../raster/tiff/temporaries.ts';
import { writeFileAtomically } from '../raster/tiff/atomic-file.ts';
import { inpaintQualityFile, qualityPath, type InpaintQualityTile } from '../report/quality-file.ts';

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
  /** Also write OUT.quality.json beside the output: per cloudy tile its loss, seed spread and loss curves (as `clearsky export --quality`). */
  quality?: boolean;
  engine?: Omit<InpaintOptions, 'seeds' | 'stitch' | 'steps' | 'onProgress' | 'signal'>;
  /**
   * A redis:// or rediss:// URL: the cloudy tiles go to `clearsky worker` processes through this queue instead
   * of being reconstructed here (survey, mosaic and export stay here).
   */
  queue?: string;
  /** How to reach the queue (default: BullMQ on Redis); tests may give their own. */
  connectQueue?: QueueConnect;
  signal?: AbortSignal;
  onProgress?: (progress: FitProgress & { label: string }) => void;
  /** After each reconstructed (or failed) tile, once one has been reconstructed: how many of the cloudy tiles are finished. */
  onTileDone?: (done: number, total: number) => void;
  /** A tile the engine refused, once one has been reconstructed: which (`tile 2/8 (row 1, col 3)`) and why. */
  onTileFailed?: (label: string, reason: string) => void;
}

export type InpaintMethod = ReconstructionMethod;
export const INPAINT_METHODS: readonly InpaintMethod[] = METHODS;

/** Why a tile without a clear pixel failed, as a project's run records it (jobs/run-store.ts). */
const ALL_CLOUD = 'the tile is entirely cloud: no clear pixel to learn from (use larger tiles)';


export interface InpaintSummary {
  out: string;
  uncertainty?: string;
  mask_out?: string;
  quality?: string;
  method: InpaintMethod;
  mode: Mode | null;
  backend: string;
  steps: number;
  seeds: number[];
  cloud_cover: number;
  tiles: { total: number; reconstructed: number; failed: number; clear: number; without_clear_pixels: number };
  /** Cloudy tiles the engine refused (0-based plan index, row and column, as the quality file): they keep the input. */
  failed_tiles: FailedTile[];
  seconds: number;
  /** Where the time went: reading the mask to choose tiles, the tiles themselves, mosaicking and writing. */
  phases: { survey_seconds: number; reconstruct_seconds: number; mosaic_seconds: number; export_seconds: number };
  seconds_per_step: number;
  final_loss: number;
  peak_rss_mb: number;
}


export interface FailedTile {
  index: number;
  row: number;
  col: number;
  reason: string;
}

/** Whether a tile's error is the engine refusing that tile's data (fails the tile), not a cancel or a fault (fails the command). */
function isTileRefusal(error: unknown): error is Error {
  return (error instanceof InputError || error instanceof RepresentationError) && !isCancelled(error);
}

export async function runInpaint(command: InpaintCommand): Promise<InpaintSummary> {
  try {
    planTiles(1, 1, { tileSize: command.tileSize, overlap: command.overlap }); // flags checked before any file is opened
  } catch (error) {
    throw new InputError(undefined, `--tile/--overlap: ${(error as Error).message}`);
  }
  const qualityOut = command.quality ? qualityPath(command.out) : undefined;
  for (const out of [command.out, command.uncertainty, command.maskOut]) if (out) await assertWritableFolder(out);
  if (command.queue !== undefined) checkQueueUrl(command.queue);
  const method = command.method ?? 'dip';
  if (method === 'dip' && !command.mode) throw new InputError(undefined, '--mode is required (basic, ms, mt, msmt, msr, mtr or mtfit)');
  // Zero steps would write the untrained network's output as a "reconstruction".
  if (method === 'dip' && command.steps !== undefined && command.steps < 1) throw new InputError(undefined, `--steps must be at least 1, not ${command.steps}`);
  if (REFERENCE_METHODS.has(method) && command.references.length === 0) throw new InputError(undefined, `--method ${method} needs --reference`);
  if (command.uncertainty && (method !== 'dip' || command.seeds.length < 2)) {
    throw new InputError(command.uncertainty, 'the uncertainty layer is the spread across seeds: give two or more with --seeds');
  }
  await prepareOutputs({
    inputs: [
      { path: command.target, what: '--target' },
      { path: command.mask, what: '--mask' },
      ...command.references.map((reference) => ({ path: reference, what: '--reference' })),
      ...(command.sar ? [{ path: command.sar, what: '--sar' }] : []),
    ],
    outputs: [
      { path: command.out, what: '--out' },
      ...(command.maskOut ? [{ path: command.maskOut, what: '--mask-out' }] : []),
      ...(command.uncertainty ? [{ path: command.uncertainty, what: '--uncertainty' }] : []),
      ...(qualityOut ? [{ path: qualityOut, what: 'the quality file' }] : []),
    ],
  });
  const inputs = await openRunInputs({
    target: command.target,
    bands: command.bands,
    references: command.references,
    sar: command.sar,
    sarBands: command.sarBands,
    sarUnits: command.sarUnits,
    resample: command.resample,
    mask: command.mask,
    maskBand: command.maskBand,
  });
  try {
    const plan = planRun(inputs, { tileSize: command.tileSize, overlap: command.overlap });
    const start = performance.now();
    const survey = await surveyTiles(plan, inputs);
    const surveyed = performance.now();
    // On the queue each worker loads the engine: this process does not.
    const backend = method === 'dip' && command.queue === undefined ? await selectBackend(command.backend) : { description: method === 'dip' ? 'the queue’s workers' : 'none (baseline)' };
    const settings = { method, mode: command.mode, steps: command.steps, seeds: command.seeds, stitch: command.stitch, engine: command.engine };
    // A fresh folder beside the output for the finished tiles (same file system, so they are cheap to write).
    const folder = await TileResultFolder.open(await fs.mkdtemp(tileFolderPrefix(command.out)), plan, inputs.target.info, inputs.area);
    try {
      const runs: SeedRun[] = [];
      // Each tile as it finished, for the quality file; the entirely cloudy ones failed (as in a project's run).
      const qualityTiles: InpaintQualityTile[] = survey.withoutClearPixels.map((tile) => ({ index: tile.index, window: tile.window, status: 'failed', finalLoss: null, spread: null, seconds: null, curves: [], error: ALL_CLOUD }));
      const failedTiles: FailedTile[] = [];
      let firstFailure: Error | undefined;
      const where = (tile: Tile, i: number) => (survey.cloudy.length > 1 ? `tile ${i + 1}/${survey.cloudy.length} (row ${tile.row + 1}, col ${tile.col + 1})` : '');
      // A tile whose data was refused fails alone, as in a project's run; `error` is thrown if every tile fails.
      const failTile = (tile: Tile, i: number, reason: string, error: Error, seconds: number | null) => {
        firstFailure ??= error;
        failedTiles.push({ index: tile.index, row: tile.row, col: tile.col, reason });
        qualityTiles.push({ index: tile.index, window: tile.window, status: 'failed', finalLoss: null, spread: null, seconds, curves: [], error: reason });
        untold.push([where(tile, i), reason]);
      };
      // Failed tiles and the count are told once a tile has been reconstructed: when every tile fails, the
      // error alone is said, as when the first failure stopped the command.
      const untold: [string, string][] = [];
      const tell = (done: number, total: number) => {
        if (done <= failedTiles.length) return;
        for (const [label, reason] of untold.splice(0)) command.onTileFailed?.(label, reason);
        command.onTileDone?.(done, total);
      };
      if (command.queue !== undefined) {
        const queue = await (command.connectQueue ?? connectTileQueue)(command.queue);
        try {
          const position = new Map(survey.cloudy.map((tile, i) => [tile.index, i]));
          const queued = await reconstructOnQueue({
            queue,
            inputs,
            tiles: survey.cloudy,
            settings,
            backend: command.backend,
            folder,
            signal: command.signal,
            onProgress: command.onProgress && ((tile, p) => command.onProgress!({ ...p, label: where(tile, position.get(tile.index)!) })),
            onTileDone: tell,
            onTileFailed: (tile, reason) => {
              const i = position.get(tile.index)!;
              failTile(tile, i, reason, new InputError(undefined, [where(tile, i), reason].filter(Boolean).join(': ')), null);
            },
          });
          for (const t of queued.tiles) qualityTiles.push({ index: t.index, window: survey.cloudy[position.get(t.index)!].window, status: 'done', finalLoss: t.loss, spread: t.quality?.spread ?? null, seconds: t.seconds, curves: t.quality?.curves ?? [], error: null });
          backend.description = queued.backends.length > 0 ? `${queued.backends.join(', ')} on ${queued.workers.length} worker${queued.workers.length === 1 ? '' : 's'} of ${queue.display}` : `queue ${queue.display}`;
          // The workers' time on the tiles, as one SeedRun for the summary's figures.
          const seconds = queued.seconds.reduce((a, b) => a + b, 0);
          const steps = (method === 'dip' ? (command.steps ?? DEFAULT_STEPS) : 0) * command.seeds.length * queued.seconds.length;
          if (steps > 0) runs.push({ seed: command.seeds.at(-1)!, steps, seconds, secondsPerStep: seconds / steps, finalLoss: queued.finalLoss ?? 0, curve: { seed: command.seeds.at(-1)!, step: [], loss: [], min: [] } });
        } finally {
          await queue.close();
        }
      }
      for (const [i, tile] of (command.queue === undefined ? survey.cloudy : []).entries()) {
        const tileStart = performance.now();
        const result = await reconstructTile(inputs, tile, settings, {
          signal: command.signal,
          onProgress:
            command.onProgress &&
            ((p) => command.onProgress!({ ...p, label: [where(tile, i), p.seeds > 1 ? `seed ${p.seed} (${p.seedIndex + 1}/${p.seeds})` : ''].filter(Boolean).join(' ') })),
        }).catch((error: unknown) => {
          if (!isTileRefusal(error)) throw error;
          return error;
        });
        if (result instanceof Error) {
          // This tile's data was refused: the tile fails, the others go on (as in a project's run).
          const reason = result.message;
          // Which tile was refused, where there are several (for the error thrown if every tile fails).
          if (result instanceof RepresentationError && where(tile, i)) result.message = `${where(tile, i)}: ${result.message}`;
          failTile(tile, i, reason, result, (performance.now() - tileStart) / 1000);
        } else {
          await folder.write(tile, result.image, result.bandNames);
          runs.push(...result.runs);
          qualityTiles.push({ index: tile.index, window: tile.window, status: 'done', finalLoss: result.runs.at(-1)?.finalLoss ?? null, spread: result.spread, seconds: (performance.now() - tileStart) / 1000, curves: result.runs.map((r) => r.curve), error: null });
        }
        tell(i + 1, survey.cloudy.length);
      }
      // Nothing reconstructed: a mosaic would be the input itself, passed off as a result.
      if (firstFailure && failedTiles.length === survey.cloudy.length) throw firstFailure;
      const reconstructed = performance.now();
      const { mosaicSeconds } = await writeRunOutputs(inputs, plan, folder, { ...settings, backend: backend.description }, { out: command.out, uncertainty: command.uncertainty, maskOut: command.maskOut });
      if (qualityOut) {
        const content = inpaintQualityFile({ method, mode: method === 'dip' ? command.mode! : null, steps: method === 'dip' ? (command.steps ?? DEFAULT_STEPS) : null, seeds: command.seeds }, qualityTiles);
        await writeFileAtomically(qualityOut, (file) => file.writeFile(`${JSON.stringify(content, null, 1)}\n`, 'utf8')).catch(async (error: unknown) => {
          // One run, one set of outputs (as writeRunOutputs): a result without its quality file would look complete.
          for (const written of [command.out, command.uncertainty, command.maskOut]) if (written) await fs.rm(written, { force: true });
          throw error;
        });
      }
      const written = performance.now();
      const stepsRun = runs.reduce((n, r) => n + r.steps, 0);
      return {
        out: command.out,
        ...(command.uncertainty ? { uncertainty: command.uncertainty } : {}),
        ...(command.maskOut ? { mask_out: command.maskOut } : {}),
        ...(qualityOut ? { quality: qualityOut } : {}),
        method,
        mode: method === 'dip' ? command.mode! : null,
        backend: backend.description,
        steps: method === 'dip' ? (command.steps ?? DEFAULT_STEPS) : 0,
        seeds: command.seeds,
        cloud_cover: survey.cloudPixels / Math.max(1, survey.validPixels),
        tiles: {
          total: plan.tiles.length,
          reconstructed: survey.cloudy.length - failedTiles.length,
          failed: failedTiles.length,
          clear: plan.tiles.length - survey.cloudy.length - survey.withoutClearPixels.length,
          without_clear_pixels: survey.withoutClearPixels.length,
        },
        seconds: (written - start) / 1000,
        phases: { survey_seconds: (surveyed - start) / 1000, reconstruct_seconds: (reconstructed - surveyed) / 1000, mosaic_seconds: mosaicSeconds, export_seconds: (written - reconstructed) / 1000 - mosaicSeconds },
        peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
        seconds_per_step: runs.reduce((n, r) => n + r.seconds, 0) / Math.max(1, stepsRun),
        final_loss: runs.at(-1)?.finalLoss ?? 0,
        failed_tiles: failedTiles.sort((a, b) => a.index - b.index),
      };
    } finally {
      await folder.remove();
    }
  } finally {
    await inputs.close();
  }
}

