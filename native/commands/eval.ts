/**
 * `clearsky eval`: the paper's ground-truth protocol. Each real cloud mask is pasted onto a clear target;
 * every mode and baseline reconstructs it; the result is scored inside the mask and over the whole image.
 */
import { InputError } from '../errors.ts';
import type { BackendChoice } from '../api/contract.ts';
import type { Precision } from '../dip/choices.ts';
import { selectBackend } from '../dip/backends/select.ts';
import { inverseDistanceFill, referenceSubstitution, seamlessReferenceSubstitution } from '../dip/baselines.ts';
import { hideMasked, maskCover, type Image, type Mask } from '../dip/image.ts';
import { inpaint, type InpaintOptions } from '../dip/inpaint.ts';
import { describeSsim, scoreReconstruction } from '../dip/metrics.ts';
import type { Mode } from '../dip/modes.ts';
import { DEFAULT_STEPS, type FitProgress } from '../dip/optimise.ts';
import type { SarUnits } from '../raster/sentinel/preprocess.ts';
import { loadMask, loadSources } from '../reconstruction/source-files.ts';

export interface EvalCommand {
  target: string;
  masks: string;
  /** 1-based bands of the masks file, one task each. */
  maskBands: number[];
  references: string[];
  sar?: string;
  /** 1-based VV and VH band numbers of the SAR file; default: found by band description. */
  sarBands?: { vv: number; vh: number };
  sarUnits?: SarUnits;
  bands?: string[];
  modes: Mode[];
  /** Steps of each training; several (e.g. [100, 250, 500, 1000]) train once to the largest and score at each. */
  steps?: number | number[];
  seeds: number[];
  backend: BackendChoice;
  /** The native backend's convolutions: fp32 or bf16. */
  precision?: Precision;
  engine?: Omit<InpaintOptions, 'seeds' | 'steps' | 'onProgress' | 'signal'>;
  signal?: AbortSignal;
  onProgress?: (progress: FitProgress & { label: string }) => void;
}

export interface EvalRow {
  mask: number;
  cover: number;
  method: string;
  seed: number | null;
  /** Training steps of a mode's row (null for a baseline). */
  steps: number | null;
  ssim_mask: number;
  rmse_mask: number;
  ssim_whole: number;
  rmse_whole: number;
  seconds_per_step: number | null;
}

export async function runEval(command: EvalCommand): Promise<EvalRow[]> {
  // Zero steps would score the untrained network's output as a mode's reconstruction.
  const checkpoints = [...new Set(command.steps === undefined ? [DEFAULT_STEPS] : [command.steps].flat())].sort((a, b) => a - b);
  const bad = checkpoints.find((n) => !(n >= 1));
  if (command.modes.length > 0 && bad !== undefined) throw new InputError(undefined, `--steps must be at least 1, not ${bad}`);
  const steps = checkpoints.at(-1)!;
  const sources = await loadSources({
    target: command.target,
    bands: command.bands,
    references: command.references,
    sar: command.sar,
    sarBands: command.sarBands,
    sarUnits: command.sarUnits,
  });
  const truth = sources.s2;
  const masks: Mask[] = [];
  for (const band of command.maskBands) masks.push(await loadMask(command.masks, band, sources.target.info));
  await selectBackend(command.backend, { precision: command.precision });

  const rows: EvalRow[] = [];
  for (const [i, mask] of masks.entries()) {
    const band = command.maskBands[i];
    const cover = maskCover(mask);
    const cloudy = hideMasked(truth, mask);
    const row = (method: string, seed: number | null, steps: number | null, pred: Image, secondsPerStep: number | null): EvalRow => {
      const scores = scoreReconstruction(truth, pred, mask);
      return { mask: band, cover, method, seed, steps, ssim_mask: scores.masked.ssim, rmse_mask: scores.masked.rmse, ssim_whole: scores.whole.ssim, rmse_whole: scores.whole.rmse, seconds_per_step: secondsPerStep };
    };
    for (const mode of command.modes) {
      for (const seed of command.seeds) {
        const earlier: EvalRow[] = [];
        const result = await inpaint(mode, { ...sources, s2: cloudy, mask }, {
          ...command.engine,
          bandNames: sources.target.bandNames.map((name, b) => name ?? `band ${b + 1}`),
          steps,
          seeds: [seed],
          signal: command.signal,
          onProgress: command.onProgress && ((p) => command.onProgress!({ ...p, label: `mask ${band} ${mode} seed ${seed}` })),
          // The network at each earlier checkpoint is what a run of that many steps returns (same seed, same steps so far).
          checkpoints: checkpoints.slice(0, -1),
          onCheckpoint: ({ step, reconstruction }) => {
            earlier.push(row(mode, seed, step, reconstruction, null));
          },
        });
        rows.push(...earlier, row(mode, seed, steps, result.reconstruction, result.runs[0].secondsPerStep));
      }
    }
    if (sources.reference) {
      rows.push(row('reference-fit', null, null, referenceSubstitution(cloudy, sources.reference, mask), null));
      rows.push(row('reference-seamless', null, null, seamlessReferenceSubstitution(cloudy, sources.reference, mask), null));
    }
    rows.push(row('idw-fill', null, null, inverseDistanceFill(cloudy, mask), null));
  }
  return rows;
}


/** A table like the paper's Table 2: per method, the median over masks and seeds. */
export function formatEvalTable(rows: EvalRow[]): string {
  // A mode scored at several step counts gets a line per count.
  const label = (r: EvalRow) => (r.steps !== null && new Set(rows.filter((x) => x.method === r.method).map((x) => x.steps)).size > 1 ? `${r.method} @ ${r.steps} steps` : r.method);
  const methods = [...new Set(rows.map(label))];
  const median = (values: number[]) => {
    const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  };
  const lines = [
    '| method | SSIM mask | RMSE mask | SSIM whole | RMSE whole | runs | s/step |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const method of methods) {
    const r = rows.filter((row) => label(row) === method);
    const sps = r.map((x) => x.seconds_per_step).filter((x): x is number => x !== null);
    lines.push(`| ${method} | ${median(r.map((x) => x.ssim_mask)).toFixed(3)} | ${median(r.map((x) => x.rmse_mask)).toFixed(3)} | ${median(r.map((x) => x.ssim_whole)).toFixed(3)} | ${median(r.map((x) => x.rmse_whole)).toFixed(3)} | ${r.length} | ${sps.length ? median(sps).toFixed(3) : '-'} |`);
  }
  lines.push('', `Medians over ${new Set(rows.map((r) => r.mask)).size} masks; ${describeSsim()}; RMSE in the ÷2000 scale.`);
  return lines.join('\n');
}
