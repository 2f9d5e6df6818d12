/**
 * One reconstruction: a mode's problem fitted once per seed; with several seeds the result is the
 * per-element median and the spread (standard deviation across seeds) is its uncertainty.
 */
import * as tf from './tf.ts';
import { createImage, createMask, type Image, type Mask } from './image.ts';
import { clearRing } from './mask-ops.ts';
import { checkRepresentation, RepresentationError, setupMode, type Mode, type Representation, type Sources } from './modes.ts';
import { fitDip, type FitOptions, type FitProgress } from './optimise.ts';
import type { LossCurve } from './loss-curve.ts';
import type { NetworkWeights } from './network.ts';

export interface HoldoutOptions {
  /** Width in pixels of the clear ring around the clouds the held-out pixels come from. Default 8. */
  ringWidth?: number;
  /** Fraction of the ring held out. Default 0.1. */
  fraction?: number;
  every?: number;
  patience?: number;
}

export interface InpaintOptions extends Omit<FitOptions, 'seed' | 'onProgress' | 'earlyStopping' | 'onCheckpointOutput' | 'initialWeights'> {
  /** Warm start: the start parameters of each seed's fit, by seed index (a missing entry starts that seed cold). */
  startWeights?: readonly (NetworkWeights | undefined)[];
  /** Beyond the paper, off by default: early stopping on held-out clear pixels near the clouds. */
  earlyStopping?: boolean | HoldoutOptions;
  /** One fit per seed. Default [0]. */
  seeds?: number[];
  /** Keep the clear pixels of the input exactly and the network output only under the mask. */
  stitch?: boolean;
  /** Band names for messages (the representation check's refusal); default 'band N'. */
  bandNames?: readonly string[];
  /** For measurement only: the network's representation of the target (modes.ts); default 'fitted'. */
  representation?: Representation;
  /** For measurement only: false hands out a reconstruction capped at the network's range instead of refusing it. */
  refuseCapped?: boolean;
  onProgress?: (progress: FitProgress & { seed: number; seedIndex: number; seeds: number }) => void;
  /** At each of `checkpoints`, one seed's S2 reconstruction as a run of that many steps would give it (stitched if asked). */
  /** `refused`: the message a run of that many steps would be refused with (the representation check), if it would. */
  onCheckpoint?: (checkpoint: { step: number; seed: number; reconstruction: Image; refused?: string }) => void | Promise<void>;
}

export interface SeedRun {
  seed: number;
  finalLoss: number;
  steps: number;
  seconds: number;
  secondsPerStep: number;
  /** The fit's loss curve (at most MAX_CURVE_POINTS points, loss-curve.ts). */
  curve: LossCurve;
  /** With early stopping: the step whose network gave the result, and its held-out error. */
  bestStep?: number;
  holdoutLoss?: number;
}

export interface InpaintResult {
  /** The S2 reconstruction, ÷2000 scale. */
  reconstruction: Image;
  /** Per-element standard deviation across seeds; present with two or more seeds. */
  spread?: Image;
  runs: SeedRun[];
  backend: string;
  /** With `keepWeights`: each seed's final parameters, by seed index. */
  weights?: NetworkWeights[];
}

export async function inpaint(mode: Mode, sources: Sources, options: InpaintOptions = {}): Promise<InpaintResult> {
  const seeds = options.seeds?.length ? options.seeds : [0];
  const holdoutOptions = options.earlyStopping === true ? {} : options.earlyStopping || undefined;
  const shared = holdoutOptions ? undefined : setupMode(mode, sources, { representation: options.representation });
  const reconstructions: Image[] = [];
  const runs: SeedRun[] = [];
  const weights: NetworkWeights[] = [];
  let backend = '';
  for (const [seedIndex, seed] of seeds.entries()) {
    // Held-out pixels are drawn per seed, before the problem is set up: what is fitted on clear pixels (mtfit's
    // baseline) must not have seen them, or step 0's held-out error would be in-sample and favoured.
    const holdout = holdoutOptions && (await holdOut(sources, seed, holdoutOptions));
    const setup = shared ?? setupMode(mode, sources, { representation: options.representation, heldOut: holdout?.pixels });
    const { decode } = setup;
    const fit = await fitDip(setup.problem, {
      ...options,
      seed,
      initialWeights: options.startWeights?.[seedIndex],
      earlyStopping: holdout && { holdout: holdoutWeights(holdout.pixels, setup.problem.target.bands, sources.s2.bands), every: holdoutOptions.every, patience: holdoutOptions.patience },
      onProgress: options.onProgress && ((p) => options.onProgress!({ ...p, seed, seedIndex, seeds: seeds.length })),
      onCheckpointOutput: options.onCheckpoint && ((step, output) => {
        const reconstruction = decode(output);
        if (options.stitch) stitchClearPixels(reconstruction, sources.s2, sources.mask);
        // A checkpoint stands for a run of that many steps, which the check below would refuse just the same.
        let refused: string | undefined;
        try {
          if (options.refuseCapped !== false) checkRepresentation(setup.problem, output, sources, options.bandNames);
        } catch (error) {
          if (!(error instanceof RepresentationError)) throw error;
          refused = error.message;
        }
        return options.onCheckpoint!({ step, seed, reconstruction, ...(refused ? { refused } : {}) });
      }),
    });
    backend = fit.backend;
    if (fit.weights) weights.push(fit.weights);
    if (options.refuseCapped !== false) checkRepresentation(setup.problem, fit.output, sources, options.bandNames);
    reconstructions.push(decode(fit.output));
    runs.push({ seed, finalLoss: fit.finalLoss, steps: fit.steps, seconds: fit.seconds, secondsPerStep: fit.secondsPerStep, curve: fit.curve, bestStep: fit.bestStep, holdoutLoss: fit.holdoutLoss });
  }
  const reconstruction = reconstructions.length === 1 ? reconstructions[0] : medianOf(reconstructions);
  const spread = reconstructions.length > 1 ? standardDeviationOf(reconstructions) : undefined;
  if (options.stitch) stitchClearPixels(reconstruction, sources.s2, sources.mask);
  return { reconstruction, spread, runs, backend, ...(options.keepWeights ? { weights } : {}) };
}

/**
 * A random part (seeded) of the clear ring around the clouds, valid pixels only: the pixels whose error best
 * predicts the error under the cloud. Undefined when the draw holds none.
 */
async function holdOut({ mask, invalid }: Sources, seed: number, options: HoldoutOptions): Promise<{ pixels: Mask } | undefined> {
  const ring = clearRing(mask, options.ringWidth ?? 8);
  const fraction = options.fraction ?? 0.1;
  const draw = tf.randomUniform([ring.data.length], 0, 1, 'float32', seed + 17);
  const random = await draw.data();
  draw.dispose();
  const pixels = createMask(mask.width, mask.height);
  let count = 0;
  for (let p = 0; p < ring.data.length; p++) {
    if (!ring.data[p] || invalid?.data[p] || random[p] >= fraction) continue;
    pixels.data[p] = 1;
    count++;
  }
  return count === 0 ? undefined : { pixels };
}

/** The held-out weights over the problem's channels: 1 on the S2 channels (the first s2Bands) of each held-out pixel. */
function holdoutWeights(pixels: Mask, channels: number, s2Bands: number): Float32Array {
  const weights = new Float32Array(pixels.data.length * channels);
  for (let p = 0; p < pixels.data.length; p++) if (pixels.data[p]) weights.fill(1, p * channels, p * channels + s2Bands);
  return weights;
}

/** Pastes the input's clear pixels back, so only masked pixels come from the network. */
export function stitchClearPixels(result: Image, input: Image, mask: Mask): void {
  const bands = result.bands;
  for (let p = 0; p < mask.data.length; p++) {
    if (!mask.data[p]) result.data.set(input.data.subarray(p * bands, (p + 1) * bands), p * bands);
  }
}

export function medianOf(images: Image[]): Image {
  const { width, height, bands } = images[0];
  const out = createImage(width, height, bands);
  const values = new Float32Array(images.length);
  const mid = images.length >> 1;
  for (let i = 0; i < out.data.length; i++) {
    for (let k = 0; k < images.length; k++) values[k] = images[k].data[i];
    values.sort();
    out.data[i] = images.length % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
  }
  return out;
}

export function standardDeviationOf(images: Image[]): Image {
  const { width, height, bands } = images[0];
  const out = createImage(width, height, bands);
  for (let i = 0; i < out.data.length; i++) {
    let sum = 0;
    let sumSq = 0;
    for (const img of images) {
      sum += img.data[i];
      sumSq += img.data[i] * img.data[i];
    }
    const mean = sum / images.length;
    out.data[i] = Math.sqrt(Math.max(0, sumSq / images.length - mean * mean));
  }
  return out;
}
