/**
 * What each reconstruction mode needs (METHOD.md): a multi-temporal reference, Sentinel-1 SAR, both or
 * neither. The run dialog disables a mode whose source is not chosen and says why.
 */
import { isOwnMask, MODES, type MaskRecord, type Mode, type SceneRecord } from '../../../native/api.ts';

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
  return { reference: mode === 'mt' || mode === 'msmt' || mode === 'mtr' || mode === 'mtfit', sar: mode === 'ms' || mode === 'msmt' || mode === 'msr' };
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
