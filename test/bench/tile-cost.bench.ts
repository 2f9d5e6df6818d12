/**
 * `BENCH_ONLY=tile npm run bench`: seconds per 256² tile for the app's default method with a reference
 * (native/api/default-method.ts, read here, never copied) against the old default, `mt` at the paper's 4000
 * steps (issue 18: the same quality in at most a quarter of the compute per tile), and the instant
 * `reference-seamless` baseline beside them. Printed, never asserted.
 *
 * The tile is real: a SEN12MS-CR patch with real clouds (BENCH_TILE_PAIR, default Congo, spring, 256 × 256) as
 * the target, the cloud-free image of the same grid as the reference, and the mask of its clouds and shadows
 * as the app's detector finds them (the cloud detector of `clearsky mask --detect`), bands B04, B03, B02,
 * through the pipeline a run uses (reconstructTile: reading the tile's sources, the baseline, the fit, the
 * output in digital numbers).
 *
 * The default is run whole, BENCH_ROUNDS times (default 2), after a short warm-up fit; the figure is the best
 * round. `mt` at 4000 steps would take ~15 minutes, so it is timed over BENCH_TILE_STEPS steps (default 200)
 * after BENCH_TILE_WARMUP steps (default 20) and extrapolated to 4000 — printed as extrapolated. The
 * extrapolation leaves out the tile's set-up and output (the default's figure includes them), which favours
 * `mt`, so the ratio errs against the default.
 *
 * Environment: BENCH_BACKEND (default auto), BENCH_ROUNDS, BENCH_TILE_STEPS, BENCH_TILE_WARMUP, BENCH_TILE_PAIR
 * (congo-spring, italy-summer or colombia-fall).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { defaultMethod } from '../../native/api/default-method.ts';
import type { BackendChoice } from '../../native/api/contract.ts';
import { selectBackend } from '../../native/dip/backends/select.ts';
import { DEFAULT_STEPS } from '../../native/dip/optimise.ts';
import { CancelledError } from '../../native/errors.ts';
import { openRunInputs, planRun, reconstructTile, surveyTiles, type ReconstructionSettings, type RunInputs } from '../../native/reconstruction/pipeline.ts';
import { readRasterInfo } from '../../native/raster/tiff/geotiff-reader.ts';
import { writeGeoTiff } from '../../native/raster/tiff/geotiff-writer.ts';
import type { Tile } from '../../native/raster/tiles/tiling.ts';
import { detectWhole, PAIRS } from '../helpers/detect-reference.ts';

const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const timedSteps = Number(process.env.BENCH_TILE_STEPS ?? 200);
const warmupSteps = Number(process.env.BENCH_TILE_WARMUP ?? 20);
const OLD_MODE = 'mt' as const;
const OLD_STEPS = DEFAULT_STEPS; // the paper's 4000, the engine's default and the old default's
const BANDS = ['B04', 'B03', 'B02'];
// The fit reports its loss and time every 10 steps (optimise.ts progressEvery): the window must fall on those.
if (timedSteps % 10 !== 0 || warmupSteps % 10 !== 0 || timedSteps < 10 || warmupSteps < 10) throw new Error('BENCH_TILE_STEPS and BENCH_TILE_WARMUP must be multiples of 10, at least 10');

const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

const pairName = process.env.BENCH_TILE_PAIR ?? 'congo-spring';
const pair = PAIRS.find((p) => p.name === pairName) ?? PAIRS[0];
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-bench-tile-'));
try {
  const backend = await selectBackend((process.env.BENCH_BACKEND ?? 'auto') as BackendChoice);
  const info = await readRasterInfo(pair.cloudy);
  const { mask: cloud } = await detectWhole(pair.cloudy);
  const maskFile = path.join(dir, 'mask.tif');
  await writeGeoTiff(maskFile, { width: cloud.width, height: cloud.height, bands: 1, data: Float32Array.from(cloud.data) }, { dataType: 'uint8', like: info });
  const inputs = await openRunInputs({ target: pair.cloudy, bands: BANDS, references: [pair.clear], mask: maskFile, maskBand: 1 });
  try {
    const plan = planRun(inputs, { tileSize: 256 });
    const survey = await surveyTiles(plan, inputs);
    if (plan.tiles.length !== 1 || survey.cloudy.length !== 1) throw new Error(`expected one cloudy 256² tile, got ${survey.cloudy.length} of ${plan.tiles.length}`);
    const tile = survey.cloudy[0];
    const chosen = defaultMethod({ reference: true, sar: false });
    const cover = survey.cloudPixels / survey.validPixels;
    console.log(`tile cost: ${path.basename(pair.cloudy)} (${tile.window.width}×${tile.window.height}, ${(cover * 100).toFixed(1)} % cloud, bands ${BANDS.join(',')}), reference ${path.basename(pair.clear)}, ${backend.description}`);
    console.log(`load average at start: ${load()}`);

    const defaultSettings: ReconstructionSettings = { method: chosen.method, mode: chosen.mode, steps: chosen.steps, seeds: chosen.seeds, stitch: true };
    const label = `default with a reference: ${chosen.method}${chosen.method === 'dip' ? ` ${chosen.mode}, ${chosen.steps} steps` : ''}, ${chosen.seeds.length} seed${chosen.seeds.length === 1 ? '' : 's'}`;
    // A short fit first, so that the backend's first-use costs (kernels, allocations) fall on no measured run.
    await reconstructTile(inputs, tile, { ...defaultSettings, steps: Math.min(10, chosen.steps) });
    const defaultSeconds: number[] = [];
    const defaultPerStep: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      // Its fit's own time per step too (from step 10 on), to compare step with step beside the whole tile.
      let first: { step: number; at: number } | undefined;
      let perStep = Number.NaN;
      const start = performance.now();
      await reconstructTile(inputs, tile, defaultSettings, {
        onProgress: (p) => {
          first ??= { step: p.step, at: p.elapsedSeconds };
          if (p.step > first.step) perStep = (p.elapsedSeconds - first.at) / (p.step - first.step);
        },
      });
      defaultSeconds.push((performance.now() - start) / 1000);
      defaultPerStep.push(perStep);
      console.log(`round ${round}: ${label}: ${defaultSeconds.at(-1)!.toFixed(2)} s/tile (${perStep.toFixed(4)} s/step after step 10)`);
    }
    // The instant alternative the run dialog offers: the same seamless cloning without the network.
    const seamlessSeconds: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      const start = performance.now();
      await reconstructTile(inputs, tile, { method: 'reference-seamless', steps: 0, seeds: [0], stitch: true });
      seamlessSeconds.push((performance.now() - start) / 1000);
    }
    const perStepOld: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      perStepOld.push(await secondsPerStep(inputs, tile, { method: 'dip', mode: OLD_MODE, steps: OLD_STEPS, seeds: chosen.seeds, stitch: true }));
      console.log(`round ${round}: ${OLD_MODE}, ${OLD_STEPS} steps: ${perStepOld.at(-1)!.toFixed(4)} s/step over steps ${warmupSteps + 1}–${warmupSteps + timedSteps}`);
    }
    const best = Math.min(...defaultSeconds);
    const oldTile = Math.min(...perStepOld) * OLD_STEPS * chosen.seeds.length;
    const steps = defaultPerStep.filter(Number.isFinite);
    console.log(`${label}: ${best.toFixed(2)} s per 256² tile (best of ${rounds}, run whole${steps.length ? `; ${Math.min(...steps).toFixed(4)} s/step` : ''})`);
    console.log(`reference-seamless (no network): ${Math.min(...seamlessSeconds).toFixed(2)} s per 256² tile (best of ${rounds})`);
    console.log(`${OLD_MODE}, ${OLD_STEPS} steps: ${oldTile.toFixed(1)} s per 256² tile — EXTRAPOLATED from ${timedSteps} timed steps (${Math.min(...perStepOld).toFixed(4)} s/step × ${OLD_STEPS}), set-up and output not included`);
    console.log(`ratio default / ${OLD_MODE}-${OLD_STEPS}: ${(best / oldTile).toFixed(4)} (${(oldTile / best).toFixed(0)}× less compute per tile; issue 18 asks for ≤ 0.25)`);
    console.log(`load average at end: ${load()} (1, 5, 15 min; ${os.cpus().length} cores)`);
  } finally {
    await inputs.close();
  }
} finally {
  await fs.rm(dir, { recursive: true, force: true });
}

/** Seconds per step of `settings` on the tile, between step `warmupSteps` and `warmupSteps + timedSteps`; the fit is then cancelled. */
async function secondsPerStep(inputs: RunInputs, tile: Tile, settings: ReconstructionSettings): Promise<number> {
  const stop = new AbortController();
  let from: number | undefined;
  let perStep: number | undefined;
  const last = warmupSteps + timedSteps;
  await reconstructTile(inputs, tile, settings, {
    signal: stop.signal,
    onProgress: (p) => {
      if (p.step === warmupSteps) from = p.elapsedSeconds;
      if (p.step === last && from !== undefined) {
        perStep = (p.elapsedSeconds - from) / timedSteps;
        stop.abort();
      }
    },
  }).catch((error: unknown) => {
    if (!(error instanceof CancelledError) || perStep === undefined) throw error;
  });
  if (perStep === undefined) throw new Error(`the fit ended before step ${last}`);
  return perStep;
}
