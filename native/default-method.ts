/**
 * The method Clearsky picks for the sources a user has: the run dialog preselects it (and shows `why`), and
 * `clearsky eval --modes default` evaluates exactly it, so the default itself is measured. One place: change the
 * choice here when `clearsky eval --set all` says otherwise (docs/measurements.md has the table it rests on).
 *
 * Pure and free of the engine (no tfjs): the renderer reaches it through native/api.ts.
 */
import type { Mode } from './dip/choices.ts';

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
    return {
      ...base,
      method: 'dip',
      mode: 'mt',
      why: 'a reference: MT fits its structure to this scene — on Slovenia it beat inverse-distance fill (SSIM 0.942 vs 0.905 in the mask); reference-fit scored 0.956 there, on a scene that barely changed',
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
