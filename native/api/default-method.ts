/**
 * The method Clearsky picks for the sources a user has: the run dialog preselects it (and shows `why`), and
 * `clearsky eval --modes default` evaluates exactly it, so the default itself is measured. One place: change the
 * choice here when `clearsky eval --set all` says otherwise (docs/measurements.md has the table it rests on).
 *
 * Pure and free of the engine (no tfjs): the renderer reaches it through native/api/contract.ts.
 */
import type { Mode } from '../dip/choices.ts';

/** The engine's default steps (dip/optimise.ts DEFAULT_STEPS, the paper's 4000), repeated here to stay engine-free. */
export const DEFAULT_METHOD_STEPS = 4000;

export interface AvailableSources {
  /** A multi-temporal reference (a mean of clear scenes) on the target's grid. */
  reference: boolean;
  /** A Sentinel-1 scene on the target's grid. */
  sar: boolean;
}

export interface DefaultMethod {
  method: 'dip' | 'reference-fit' | 'idw-fill';
  /** The network's mode for `dip`; for a baseline, the mode the dialog keeps selected should the user switch to dip. */
  mode: Mode;
  steps: number;
  seeds: number[];
  /** One line for the user: why this method for these sources, from what was measured. */
  why: string;
}

export function defaultMethod(sources: AvailableSources): DefaultMethod {
  const base = { steps: DEFAULT_METHOD_STEPS, seeds: [0] };
  if (sources.reference && sources.sar) {
    return { ...base, method: 'dip', mode: 'msmt', why: 'reference + SAR: msmt, the paper’s best with MT (not yet measured here: no public set has SAR with a truth)' };
  }
  if (sources.reference) {
    // docs/measurements.md, "Choosing the default with a reference": on the 9 Slovenia masks × 3 seeds (stitched)
    // mtfit at 25 steps is the one candidate at least as good as reference-fit on both medians (SSIM 0.950 / RMSE
    // 0.0233 against 0.948 / 0.0239; a tie in substance). At 100 steps (0.947 / 0.0242), 50, with early stopping
    // or a learning rate of 0.005 at 100 it was not; a fixed step count is a choice the app makes blind.
    // "Today's MT at 4000 steps" in the same file: MT beats it on median SSIM (0.953 vs 0.950), not on RMSE.
    return {
      ...base,
      steps: 25,
      method: 'dip',
      mode: 'mtfit',
      why: 'a reference: mtfit starts from reference-fit, the best measured baseline, and learns a correction for 25 steps: Slovenia, 9 masks × 3 seeds, SSIM 0.950 / RMSE 0.023 in the mask against the baseline’s 0.948 / 0.024 (level, not a clear win); MT at the paper’s 4000 steps (160× the time) beat it on 4 of the 9 masks, all with clouds of 10–25 % (median SSIM 0.953 against 0.950, RMSE 0.025 against 0.023), and did far worse under 47 % cloud: choose MT for small clouds when you can wait',
    };
  }
  if (sources.sar) {
    return { ...base, method: 'dip', mode: 'ms', why: 'SAR only: ms, SAR sees through the clouds (not yet measured here: no public set has SAR with a truth)' };
  }
  return {
    ...base,
    method: 'idw-fill',
    mode: 'basic',
    // docs/measurements.md, "The default for a scene alone": no fixed step count of Basic (25–500, 4000) is at
    // least as good on every set; 25 steps wins on the SEN12MS-CR pairs and loses on Slovenia.
    why: 'the scene alone: inverse-distance fill; Basic DIP lost to it on the 9 Slovenia masks at every step count measured (best, 100 steps: SSIM 0.851 vs 0.876 in the mask; 4000: 0.826 vs 0.868), though at 25 steps it won on two SEN12MS-CR pairs; choose dip to try the network',
  };
}
