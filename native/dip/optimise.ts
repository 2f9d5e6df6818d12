/**
 * The training loop: fits a fresh DIP network to one problem (METHOD.md "Optimisation").
 *
 * Masked MSE over the known elements, Adam, regularisation noise on the input each step, and the final
 * output from the clean input. The problem is padded to the network's size multiple with zero weights
 * (padding is unknown, not clear) and the output cropped back.
 */
import { CancelledError } from '../errors.ts';
import { createAdam } from './adam.ts';
import * as tf from './tf.ts';
import { createImage, type Image } from './image.ts';
import type { DipProblem } from './modes.ts';
import { DipNetwork, type NetworkConfig, type NetworkWeights } from './network.ts';
import { LossRecorder, type LossCurve } from './loss-curve.ts';

export type InputKind = 'meshgrid' | 'noise';

export interface FitOptions {
  /** Training steps. Default 4000 (paper). */
  steps?: number;
  /** Adam learning rate. Default 0.02. */
  learningRate?: number;
  seed?: number;
  /** 'meshgrid' (2 channels, default) or uniform 'noise' × 0.1 of `inputDepth` channels. */
  input?: InputKind;
  /** Channels of the noise input. Default 32. */
  inputDepth?: number;
  /** Std of the Gaussian noise added to the input at each step. Default 0.1. */
  regNoise?: number;
  /** Network widths and kernels (METHOD.md defaults). */
  network?: Pick<NetworkConfig, 'downWidths' | 'upWidths' | 'downKernel' | 'upKernel' | 'leak'>;
  /**
   * Beyond the paper, off by default: return an exponential moving average of the training outputs with
   * this decay (e.g. 0.99) instead of the last clean output.
   */
  emaDecay?: number;
  /**
   * Beyond the paper, off by default: held-out known elements (weight 1 here, and 0 in the problem's
   * weights) whose error is watched on the clean output at step 0 and every `every` steps (default 10); the
   * result is the clean output where that error was lowest (the earlier step on a tie, step 0 included: for
   * mtfit, the baseline itself), and training stops when it has not improved for `patience` steps (default
   * 500). It replaces the moving average (`emaDecay`) when both are given.
   */
  earlyStopping?: { holdout: Float32Array; every?: number; patience?: number };
  signal?: AbortSignal;
  onProgress?: (progress: FitProgress) => void;
  /**
   * After each of these steps, the output as a run of that many steps would return it (with early stopping:
   * the best so far) is handed to `onCheckpointOutput`: one training gives a steps-vs-quality curve.
   */
  checkpoints?: readonly number[];
  onCheckpointOutput?: (step: number, output: Image) => void | Promise<void>;
  /** Read the loss back (a device sync) every this many steps. Default 10. */
  progressEvery?: number;
  /**
   * Beyond the paper, off by default (warm start): start from these parameters of a finished fit (same
   * architecture, band count and mode) instead of the seed's random ones; a mismatch is refused. The input z
   * stays this fit's own and Adam starts afresh (see docs/engine.md).
   */
  initialWeights?: NetworkWeights;
  /** Return the final parameters in `FitResult.weights` (for a later warm start). */
  keepWeights?: boolean;
}

export interface FitProgress {
  step: number;
  steps: number;
  loss: number;
  elapsedSeconds: number;
}

export interface FitResult {
  /** The network output over the problem's grid and channels. */
  output: Image;
  finalLoss: number;
  steps: number;
  /** The loss read every `progressEvery` steps, compacted (loss-curve.ts). */
  curve: LossCurve;
  /** With early stopping: the step whose network gave the result, and its held-out error. */
  bestStep?: number;
  holdoutLoss?: number;
  seconds: number;
  secondsPerStep: number;
  backend: string;
  /** With `keepWeights`: the parameters that gave `output`. */
  weights?: NetworkWeights;
}

export const DEFAULT_STEPS = 4000;
export const DEFAULT_LEARNING_RATE = 0.02;

/** One cancellation error for runs and tasks alike (errors.ts). */
export { CancelledError };

export async function fitDip(problem: DipProblem, options: FitOptions = {}): Promise<FitResult> {
  const steps = options.steps ?? DEFAULT_STEPS;
  const seed = options.seed ?? 0;
  const regNoise = options.regNoise ?? 0.1;
  const progressEvery = Math.max(1, options.progressEvery ?? 10);
  const { target } = problem;
  const inputKind = options.input ?? 'meshgrid';
  const inputChannels = inputKind === 'meshgrid' ? 2 : (options.inputDepth ?? 32);

  const network = new DipNetwork({
    ...options.network,
    inputChannels,
    outputChannels: target.bands,
    head: problem.head,
    zeroHead: problem.zeroHead,
    seed,
  });
  try {
    if (options.initialWeights) network.loadWeights(options.initialWeights);
  } catch (error) {
    network.dispose();
    throw error;
  }
  const multiple = network.sizeMultiple;
  const paddedHeight = Math.ceil(target.height / multiple) * multiple;
  const paddedWidth = Math.ceil(target.width / multiple) * multiple;

  const [z, targetT, weightsT, weightSum] = tf.tidy(() => {
    const z = inputKind === 'meshgrid'
      ? meshgrid(paddedHeight, paddedWidth)
      : tf.mul(tf.randomUniform([1, paddedHeight, paddedWidth, inputChannels], 0, 1, 'float32', seed + 1), 0.1) as tf.Tensor4D;
    const targetT = padTo(tf.tensor4d(target.data, [1, target.height, target.width, target.bands]), paddedHeight, paddedWidth);
    const weightsT = padTo(tf.tensor4d(problem.weights, [1, target.height, target.width, target.bands]), paddedHeight, paddedWidth);
    return [z, targetT, weightsT, tf.sum(weightsT)] as const;
  });
  // Reads back with data(), never dataSync(): the webgpu backend cannot read synchronously in Node.
  if ((await weightSum.data())[0] === 0) {
    tf.dispose([z, targetT, weightsT, weightSum, ...network.variables]);
    throw new Error('nothing to fit: every element is masked');
  }

  const stopping = options.earlyStopping && new EarlyStopping(options.earlyStopping, target, paddedHeight, paddedWidth);
  const optimizer = createAdam(options.learningRate ?? DEFAULT_LEARNING_RATE, 0.9, 0.999, 1e-8);
  const emaDecay = options.emaDecay;
  let ema: tf.Tensor4D | undefined;
  const start = performance.now();
  let lastLoss = Number.NaN;
  let stepsDone = 0;
  const recorder = new LossRecorder();
  // The output a run stopped here hands out: the best held-out one with early stopping, else the EMA or the clean output.
  const currentOutput = (): tf.Tensor4D => stopping?.output() ?? (ema ? tf.clone(ema) : tf.tidy(() => network.apply(z)));
  try {
    // Step 0 is a candidate too: for mtfit (zero head) it is the baseline, returned when training never beats it.
    await stopping?.observe(0, network, z, targetT);
    for (let step = 1; step <= steps; step++) {
      if (options.signal?.aborted) throw new CancelledError();
      const noiseSeed = seed * 1_000_003 + step;
      const loss = optimizer.minimize(() => {
        const noisy = regNoise > 0 ? tf.add(z, tf.randomNormal(z.shape, 0, regNoise, 'float32', noiseSeed)) as tf.Tensor4D : z;
        const out = network.apply(noisy);
        if (emaDecay !== undefined) ema = updateEma(ema, out, emaDecay);
        return maskedMse(out, targetT, weightsT, weightSum);
      }, true, network.variables);
      stepsDone = step;
      if (stopping?.due(step)) await stopping.observe(step, network, z, targetT);
      if (step % progressEvery === 0 || step === steps) {
        lastLoss = (await loss!.data())[0];
        recorder.add(step, lastLoss);
        options.onProgress?.({ step, steps, loss: lastLoss, elapsedSeconds: (performance.now() - start) / 1000 });
      }
      loss!.dispose();
      if (options.onCheckpointOutput && options.checkpoints?.includes(step)) await options.onCheckpointOutput(step, await readOutput(currentOutput(), target.width, target.height));
      // Let timers, signals and IPC run between steps, so a cancel takes effect within a step.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (stopping?.exhausted(step)) break;
    }
    const seconds = (performance.now() - start) / 1000;
    const output = await readOutput(currentOutput(), target.width, target.height);
    // Stopped early: a run of a later checkpoint's steps would have stopped here too and returned the same.
    if (options.onCheckpointOutput) {
      for (const step of options.checkpoints ?? []) if (step > stepsDone && step <= steps) await options.onCheckpointOutput(step, { ...output, data: output.data.slice() });
    }
    // With early stopping these are the last step's weights, not the kept output's: a warm start wants the trained network.
    const weights = options.keepWeights ? await network.readWeights() : undefined;
    return {
      weights,
      output,
      finalLoss: lastLoss,
      steps: stepsDone,
      curve: recorder.curve(seed),
      seconds,
      secondsPerStep: seconds / Math.max(1, stepsDone),
      backend: tf.getBackend(),
      bestStep: stopping?.bestStep,
      holdoutLoss: stopping?.bestLoss,
    };
  } finally {
    stopping?.dispose();
    if (ema && !ema.isDisposed) ema.dispose();
    optimizer.dispose();
    network.dispose();
    tf.dispose([z, targetT, weightsT, weightSum]);
  }
}

/** The output over the problem's grid: the padded network output cropped and read back (and disposed). */
async function readOutput(outputT: tf.Tensor4D, width: number, height: number): Promise<Image> {
  const cropped = tf.tidy(() => tf.slice(outputT, [0, 0, 0, 0], [1, height, width, outputT.shape[3]]));
  const output = createImage(width, height, outputT.shape[3]);
  output.data.set(await cropped.data() as Float32Array);
  tf.dispose([outputT, cropped]);
  return output;
}

/** Watches the error on held-out elements of the clean output and keeps the output where it was lowest. */
class EarlyStopping {
  bestStep = 0;
  bestLoss = Number.POSITIVE_INFINITY;
  private readonly every: number;
  private readonly patience: number;
  private readonly holdout: tf.Tensor4D;
  private readonly holdoutSum: tf.Scalar;
  private best?: tf.Tensor4D;

  constructor(options: NonNullable<FitOptions['earlyStopping']>, target: Image, height: number, width: number) {
    this.every = Math.max(1, options.every ?? 10);
    this.patience = options.patience ?? 500;
    [this.holdout, this.holdoutSum] = tf.tidy(() => {
      const holdout = padTo(tf.tensor4d(options.holdout, [1, target.height, target.width, target.bands]), height, width);
      return [holdout, tf.sum(holdout)] as const;
    });
  }

  due(step: number): boolean {
    return step % this.every === 0;
  }

  /**
   * The clean output of the network as it is after `step` updates, kept when its held-out error is lower than
   * every earlier one (a tie keeps the earlier step). Read with data(): webgpu cannot read synchronously.
   */
  async observe(step: number, network: DipNetwork, z: tf.Tensor4D, target: tf.Tensor4D): Promise<void> {
    const out = tf.tidy(() => network.apply(z));
    const lossT = tf.tidy(() => maskedMse(out, target, this.holdout, this.holdoutSum));
    const loss = (await lossT.data())[0];
    lossT.dispose();
    if (loss < this.bestLoss) {
      this.bestLoss = loss;
      this.bestStep = step;
      this.best?.dispose();
      this.best = out;
    } else {
      out.dispose();
    }
  }

  exhausted(step: number): boolean {
    return step - this.bestStep >= this.patience;
  }

  /** A copy of the best output so far (step 0's until a later one is better); none when every error was NaN. */
  output(): tf.Tensor4D | undefined {
    return this.best && tf.clone(this.best);
  }

  dispose(): void {
    tf.dispose([...(this.best ? [this.best] : []), this.holdout, this.holdoutSum]);
  }
}

/** Mean squared error over the elements with weight 1. */
function maskedMse(out: tf.Tensor4D, target: tf.Tensor4D, weights: tf.Tensor4D, weightSum: tf.Scalar): tf.Scalar {
  return tf.div(tf.sum(tf.mul(tf.squaredDifference(out, target), weights)), weightSum);
}

function updateEma(ema: tf.Tensor4D | undefined, out: tf.Tensor4D, decay: number): tf.Tensor4D {
  const next = tf.keep(ema ? tf.add(tf.mul(ema, decay), tf.mul(out, 1 - decay)) as tf.Tensor4D : tf.clone(out));
  ema?.dispose();
  return next;
}

/** The 2-channel meshgrid input: row/H and col/W in [0, 1). */
export function meshgrid(height: number, width: number): tf.Tensor4D {
  return tf.tidy(() => {
    const rows = tf.tile(tf.reshape(tf.div(tf.range(0, height), height), [height, 1, 1]), [1, width, 1]);
    const cols = tf.tile(tf.reshape(tf.div(tf.range(0, width), width), [1, width, 1]), [height, 1, 1]);
    return tf.expandDims(tf.concat([rows, cols], 2), 0) as tf.Tensor4D;
  });
}

function padTo(x: tf.Tensor4D, height: number, width: number): tf.Tensor4D {
  if (x.shape[1] === height && x.shape[2] === width) return x;
  return tf.tidy(() => tf.pad(x, [[0, 0], [0, height - x.shape[1]], [0, width - x.shape[2]], [0, 0]]));
}
