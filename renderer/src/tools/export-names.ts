/**
 * What the Export dialog suggests: a file name that says what the file is (scene, method or mode, run, kind),
 * beside the project folder (exports never go inside it), and the names of the optional extra files (the run's
 * mask and uncertainty) next to it, as `clearsky inpaint --mask-out/--uncertainty` would write them.
 */
import type { ResultRecord, RunRecord } from '../../../native/api/contract.ts';

/** The folder holding `dir` (either separator), or '' when it has none. */
export function parentFolder(dir: string): string {
  const trimmed = dir.replace(/[\\/]+$/, '');
  const cut = Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\'));
  return cut <= 0 ? trimmed.slice(0, cut + 1) : trimmed.slice(0, cut);
}

/** e.g. `S2L1C_20150909_mt_run12.tif`, `…_run12_uncertainty.tif`: only letters, digits, `_`, `-` and `.`. */
export function suggestedFileName(sceneName: string | null, run: Pick<RunRecord, 'id' | 'request'>, kind: ResultRecord['kind']): string {
  const scene = (sceneName ?? 'scene').replace(/\.tiff?$/i, '').replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^[_.]+|_+$/g, '') || 'scene';
  const how = run.request.method === 'dip' ? run.request.mode : run.request.method;
  return `${scene}_${how}_run${run.id}${kind === 'reconstruction' ? '' : `_${kind}`}.tif`;
}

/** The suggested destination: the name beside the project folder, with the project's own separator. */
export function suggestedDestination(projectDir: string, fileName: string): string {
  const parent = parentFolder(projectDir);
  const separator = projectDir.includes('\\') && !projectDir.includes('/') ? '\\' : '/';
  return parent === '' ? fileName : `${parent.replace(/[\\/]+$/, '')}${separator}${fileName}`;
}

/** An extra file beside the destination: `out.tif` → `out_mask.tif`. */
export function companionPath(destination: string, suffix: 'mask' | 'uncertainty'): string {
  const base = destination.replace(/\.tiff?$/i, '');
  return `${base}_${suffix}.tif`;
}
