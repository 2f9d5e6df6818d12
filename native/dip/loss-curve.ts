/**
 * A fit's loss curve, kept small enough to store per tile and seed (600 tiles × several seeds in one
 * catalogue, one queue result, one export beside the GeoTIFF).
 *
 * The training loop reads the loss every `progressEvery` steps (10 by default: 400 readings for 4000 steps).
 * At most MAX_CURVE_POINTS points are kept: consecutive readings are grouped into equal-width buckets of
 * steps, and each bucket keeps its last step, its mean loss and its lowest loss. Equal-width buckets, not
 * log-spaced ones, because the curve is drawn against the steps on a linear axis (where DIP's loss keeps
 * falling slowly for thousands of steps, and a log axis would spend its points on the first hundred); the mean
 * smooths the jitter the regularisation noise adds to each step, and the minimum keeps what the network
 * reached.
 */

/** The most points a curve keeps per seed. */
export const MAX_CURVE_POINTS = 200;

/** One seed's loss curve: parallel arrays, steps strictly increasing. */
export interface LossCurve {
  seed: number;
  /** The last training step of each bucket (1-based). */
  step: number[];
  /** The mean masked MSE of the readings in the bucket (the network's scale, as `finalLoss`). */
  loss: number[];
  /** The lowest reading in the bucket. */
  min: number[];
}

/** Four significant digits: the plot needs no more, and the JSON stays short. */
const round = (value: number): number => (Number.isFinite(value) ? Number(value.toPrecision(4)) : value);

/**
 * Reduces readings (step, loss) taken in step order to at most `maxPoints` buckets of equal step width
 * (mean and minimum per bucket); fewer readings than that are kept as they are.
 */
export function compactCurve(seed: number, steps: readonly number[], losses: readonly number[], maxPoints = MAX_CURVE_POINTS): LossCurve {
  const curve: LossCurve = { seed, step: [], loss: [], min: [] };
  const n = Math.min(steps.length, losses.length);
  if (n === 0) return curve;
  if (n <= maxPoints) {
    for (let i = 0; i < n; i++) {
      curve.step.push(steps[i]);
      curve.loss.push(round(losses[i]));
      curve.min.push(round(losses[i]));
    }
    return curve;
  }
  const first = steps[0];
  const width = (steps[n - 1] - first + 1) / maxPoints;
  let bucket = -1;
  let sum = 0;
  let count = 0;
  let low = Infinity;
  let last = 0;
  const flush = () => {
    if (count === 0) return;
    curve.step.push(last);
    curve.loss.push(round(sum / count));
    curve.min.push(round(low));
  };
  for (let i = 0; i < n; i++) {
    const b = Math.min(maxPoints - 1, Math.floor((steps[i] - first) / width));
    if (b !== bucket) {
      flush();
      bucket = b;
      sum = 0;
      count = 0;
      low = Infinity;
    }
    sum += losses[i];
    count++;
    low = Math.min(low, losses[i]);
    last = steps[i];
  }
  flush();
  return curve;
}

/** The same curve with at most `maxPoints` points (for an overview of many tiles), by the same bucketing. */
export function thinCurve(curve: LossCurve, maxPoints: number): LossCurve {
  if (curve.step.length <= maxPoints) return curve;
  const thinned = compactCurve(curve.seed, curve.step, curve.loss, maxPoints);
  // The minimum of a bucket is the lowest minimum of the points merged into it.
  const mins: number[] = [];
  let j = 0;
  for (const end of thinned.step) {
    let low = Infinity;
    while (j < curve.step.length && curve.step[j] <= end) low = Math.min(low, curve.min[j++]);
    mins.push(low);
  }
  return { ...thinned, min: mins };
}

/** Collects a fit's readings as the loop reports them, then compacts them. */
export class LossRecorder {
  private readonly steps: number[] = [];
  private readonly losses: number[] = [];

  add(step: number, loss: number): void {
    this.steps.push(step);
    this.losses.push(loss);
  }

  curve(seed: number, maxPoints = MAX_CURVE_POINTS): LossCurve {
    return compactCurve(seed, this.steps, this.losses, maxPoints);
  }
}
