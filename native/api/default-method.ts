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
    // docs/measurements.md, "Starting from the baseline": mtfit is reference-fit at step 0 and level with it at
    // 25–100 steps (stitched SSIM 0.958 against 0.956), worse from 250; MT needs ~1000 steps to reach 0.951.
    return {
      ...base,
      steps: 100,
      method: 'dip',
      mode: 'mtfit',
      why: 'a reference: mtfit starts from reference-fit, the best measured baseline (Slovenia: SSIM 0.956 in the mask), and learns a correction for 100 steps (0.958); MT took 1000 steps for 0.951',
    };
  }
  if (sources.sar) {
    return { ...base, method: 'dip', mode: 'ms', why: 'SAR only: ms, SAR sees through the clouds (not yet measured here: no public set has SAR with a truth)' };
  }
  return {
    ...base,
    method: 'idw-fill',
    mode: 'basic',
    why: 'the scene alone: inverse-distance fill beat Basic DIP on all 9 Slovenia masks (SSIM 0.868 vs 0.826 in the mask); choose dip to try the network',
  };
}
