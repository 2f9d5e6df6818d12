/**
 * What each reconstruction mode needs (METHOD.md): a multi-temporal reference, Sentinel-1 SAR, both or
 * neither. The run dialog disables a mode whose source is not chosen and says why.
 */
import { defaultMethod, isOwnMask, MODES, REFERENCE_MODES, SAR_MODES, type DefaultMethod, type MaskRecord, type Mode, type ReconstructionMethod, type SceneRecord } from '../../../native/api/contract.ts';

export type { Mode };

export const MODE_LABELS: Record<Mode, string> = {
  basic: 'basic — S2 only',
  ms: 'ms — S2 + SAR',
  mt: 'mt — S2 + reference',
  msmt: 'msmt — S2 + reference + SAR',
  msr: 'msr — S2 − SAR (residual)',
  mtr: 'mtr — S2 − reference (residual)',
  mtfit: 'mtfit — reference-fit baseline + learnt correction',
};

export function modeNeeds(mode: Mode): { reference: boolean; sar: boolean } {
  return { reference: REFERENCE_MODES.has(mode), sar: SAR_MODES.has(mode) };
}

/** Why `mode` cannot run with what is chosen; null when it can. */
export function modeBlocked(mode: Mode, hasReference: boolean, hasSar: boolean): string | null {
  const needs = modeNeeds(mode);
  const missing = [needs.reference && !hasReference ? 'a reference' : null, needs.sar && !hasSar ? 'a SAR scene' : null].filter(Boolean);
  return missing.length === 0 ? null : `${mode} needs ${missing.join(' and ')}: choose one below`;
}

export { MODES };

/** The latest `progress` event of a tile being fitted. */
export interface TileProgress {
  step: number;
  steps: number;
  loss: number;
}

/**
 * Why a ground-truth run of `scene` with `mask` would mean nothing (as the service refuses it): the scene's own
 * mask marks its own clouds, so under it lies cloud, not truth. Null when the mask is of another date.
 */
export function groundTruthBlocked(scene: SceneRecord, mask: MaskRecord): string | null {
  return isOwnMask(scene, mask) ? 'this is the scene’s own cloud mask: under it lies cloud, not ground truth. Choose a mask of another date' : null;
}

export interface MethodChoice {
  method: ReconstructionMethod;
  mode: Mode;
}

/**
 * The dialog's method and mode: what defaultMethod recommends for the chosen sources (reference, SAR), until the
 * user picks a method or a mode of their own; theirs then stays whatever sources they choose next.
 */
export function methodForSources(current: MethodChoice, hasReference: boolean, hasSar: boolean, overridden: boolean): MethodChoice & { recommended: DefaultMethod } {
  const recommended = defaultMethod({ reference: hasReference, sar: hasSar });
  return overridden ? { ...current, recommended } : { method: recommended.method, mode: recommended.mode, recommended };
}

/** The dialog's one line: what is recommended for these sources and why, and whether the choice shown is it. */
export function recommendationLine(current: MethodChoice, recommended: DefaultMethod): string {
  const name = recommended.method === 'dip' ? `dip, ${recommended.mode}` : recommended.method;
  const same = current.method === recommended.method && (current.method !== 'dip' || current.mode === recommended.mode);
  return `${same ? 'Recommended' : 'Your choice; recommended'} for these sources: ${name} — ${recommended.why}`;
}
