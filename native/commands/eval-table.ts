/**
 * `clearsky eval --set …`: every method on the public sets (eval-sets.ts), one row per set × case × method ×
 * seed, and one table of medians with their spread. Rows are appended to a JSONL file as they finish, and a
 * rerun with the same file skips the rows it already holds (a full run at 4000 steps takes hours).
 *
 * What each method sees is what the app gives it: DIP results are stitched (clear pixels kept exactly, the
 * app's default), and `default` is defaultMethod() for the set's sources, with its steps and seeds unless
 * --steps/--seeds are given. Several step counts train once to the largest and score each checkpoint; an
 * engine variant (early stopping, a moving average, a learning rate) runs every DIP method with it, and its rows
 * carry its name (method `mtfit +es`, column `variant`), so variants sit side by side in one --out file.
 */
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BackendChoice, ReconstructionMethod } from '../api/contract.ts';
import { defaultMethod } from '../api/default-method.ts';
import { selectBackend } from '../dip/backends/select.ts';
import { inverseDistanceFill, referenceSubstitution, seamlessReferenceSubstitution } from '../dip/baselines.ts';
import { createMask, cropMask, hideMasked, maskCover, type Image, type Mask } from '../dip/image.ts';
import { inpaint, medianOf } from '../dip/inpaint.ts';
import { describeSsim, scoreReconstruction, type Scores } from '../dip/metrics.ts';
import { MODES, parseMode, RepresentationError, type Mode } from '../dip/modes.ts';
import { REFERENCE_MODES, SAR_MODES, type Precision } from '../dip/choices.ts';
import type { Representation } from '../dip/modes.ts';
import { DEFAULT_STEPS, type FitProgress } from '../dip/optimise.ts';
import { InputError } from '../errors.ts';
import { assertSafeOutputs } from '../project/output-guard.ts';
import { scoreGroundTruth } from '../reconstruction/ground-truth.ts';
import { planRun, reconstructTile, surveyTiles, writeRunOutputs, type ReconstructionSettings, type RunInputs } from '../reconstruction/pipeline.ts';
import { openCloudDetector } from '../raster/sentinel/cloud-detect.ts';
import { openRaster, readBands } from '../raster/tiff/geotiff-reader.ts';
import { assertHasClearPixels } from '../raster/sentinel/mask.ts';
import type { Window } from '../raster/tiff/raster-info.ts';
import { TileResultFolder } from '../raster/tiles/tile-results.ts';
import { loadMask, loadSources, openSources } from '../reconstruction/source-files.ts';
import { warmStartDonor } from '../reconstruction/warm-start.ts';
import type { NetworkWeights } from '../dip/network.ts';
import { setFiles, setSources, type EvalSet, type Pair, type PastedSet, type TiledSet } from './eval-sets.ts';

export type EvalModeChoice = Mode | 'default';

export interface SetEvalCommand {
  sets: EvalSet[];
  /** Modes to run (baselines always run); 'default' = defaultMethod for the set's sources. Default: every mode the set's sources allow, and 'default'. */
  modes?: EvalModeChoice[];
  /** Training steps of the DIP methods; several train once to the largest and score at each. */
  steps?: number | number[];
  /** Engine options beyond the paper the DIP methods run with (none: the engine's defaults). */
  variant?: EngineVariant;
  /** Default [0]; `default` then uses defaultMethod's seeds. */
  seeds?: number[];
  backend: BackendChoice;
  precision?: Precision;
  /** JSONL file the rows are appended to; rows already in it are not run again. */
  out?: string;
  signal?: AbortSignal;
  onProgress?: (progress: FitProgress & { label: string }) => void;
  /** A line for the user (a skipped method, a resumed row). */
  onNote?: (line: string) => void;
  /** The tiled set's DIP tiles start from a finished neighbour's weights (warm-start.ts); rows say "… warm". */
  warmStart?: boolean;
  /**
   * The paper's ensemble: each DIP method's seeds combined into one result, the per-pixel median (inpaint.ts),
   * scored once as 'mtfit median of 3' (seed null); each seed's own rows are kept too. Slovenia only.
   */
  ensemble?: boolean;
  /** For measurement and tests only: the network's representation of the target (dip/modes.ts); default 'fitted'. */
  representation?: Representation;
}

export interface SetEvalRow {
  set: string;
  /** The mask band (slovenia), the pair (sen12mscr) or the crop (t33uuu). */
  case: string;
  /** Share of the scored pixels under the mask. */
  cover: number;
  /** 'basic', 'mt', …, 'reference-fit', 'reference-seamless', 'idw-fill', or 'default (…)'. */
  method: string;
  mode: Mode | null;
  seed: number | null;
  steps: number;
  /** The engine variant's name ('' or absent: none); part of the method's label too. */
  variant?: string;
  ssim_mask: number | null;
  rmse_mask: number | null;
  ssim_whole: number | null;
  rmse_whole: number | null;
  /** Wall seconds of the reconstruction (all tiles), without reading and scoring. */
  seconds: number;
  tiles: number;
  seconds_per_tile: number;
  mask_source: string;
  truth: string;
  /**
   * Present when the engine refused this method's reconstruction (dip/modes.ts checkRepresentation): why, and
   * which tile. Its scores are null; the other rows go on, and the table counts it as failed.
   */
  error?: string;
}

interface MethodChoice {
  label: string;
  method: ReconstructionMethod;
  mode: Mode | null;
  /** Step counts scored, ascending (one training to the last); [0] for a baseline. */
  steps: number[];
  seeds: (number | null)[];
  variant: string;
}

/** Engine options beyond the paper (inpaint.ts), to compare candidates for the default. */
export interface EngineVariant {
  /** Early stopping on held-out clear pixels near the clouds, step 0 a candidate (mtfit: the baseline). */
  earlyStopping?: boolean;
  /** The exponential moving average of the outputs, with this decay. */
  emaDecay?: number;
  learningRate?: number;
}

/** The variant's name in rows and tables: `+es`, `+ema0.99`, `+lr0.005`, joined; '' for none. */
export function variantName(variant: EngineVariant | undefined): string {
  if (!variant) return '';
  return [variant.earlyStopping ? '+es' : '', variant.emaDecay !== undefined ? `+ema${variant.emaDecay}` : '', variant.learningRate !== undefined ? `+lr${variant.learningRate}` : ''].join('');
}

/** Checks a variant's values (the flags' text already read as numbers); refuses one line per problem. */
export function checkVariant(variant: EngineVariant): EngineVariant {
  const { emaDecay, learningRate } = variant;
  if (emaDecay !== undefined && !(emaDecay > 0 && emaDecay < 1)) throw new InputError(undefined, `--ema must be a decay between 0 and 1 (e.g. 0.99), not ${emaDecay}`);
  if (learningRate !== undefined && !(learningRate > 0 && learningRate <= 1)) throw new InputError(undefined, `--learning-rate must be above 0 and at most 1, not ${learningRate}`);
  // With both, the engine hands out the early-stopped output and the average is not used: not a variant of its own.
  if (variant.earlyStopping && emaDecay !== undefined) throw new InputError(undefined, '--early-stopping and --ema are separate variants: give one of them');
  return variant;
}

/** The step counts a command asks for, ascending and distinct; undefined when none is given. */
function stepList(steps: number | number[] | undefined): number[] | undefined {
  if (steps === undefined) return undefined;
  return [...new Set([steps].flat())].sort((a, b) => a - b);
}

/** `--modes`: modes and `default`, comma-separated; `all` (undefined) = every mode the set allows, and default. */
export function parseEvalModes(text: string): EvalModeChoice[] | undefined {
  const words = text.split(',').map((w) => w.trim()).filter(Boolean);
  if (words.length === 0 || words.includes('all')) return undefined;
  return words.map((w) => (w.toLowerCase() === 'default' ? 'default' : parseMode(w)));
}

const needsReference = (mode: Mode) => REFERENCE_MODES.has(mode);
const needsSar = (mode: Mode) => SAR_MODES.has(mode);

/** The methods run on `set`: the modes its sources allow, `default`, and the baselines (once each: no seed). */
export function methodsFor(set: EvalSet, command: Pick<SetEvalCommand, 'modes' | 'steps' | 'seeds' | 'variant' | 'onNote'>): MethodChoice[] {
  const sources = setSources(set);
  const allowed = (mode: Mode) => (!needsReference(mode) || sources.reference) && (!needsSar(mode) || sources.sar);
  const choices: MethodChoice[] = [];
  const seeds = command.seeds ?? [0];
  const steps = stepList(command.steps);
  const variant = variantName(command.variant);
  const named = (label: string) => (variant ? `${label} ${variant}` : label);
  for (const choice of command.modes ?? [...MODES.filter(allowed), 'default' as const]) {
    if (choice === 'default') {
      const picked = defaultMethod(sources);
      const dip = picked.method === 'dip';
      choices.push({
        label: dip ? named(`default (${picked.mode})`) : `default (${picked.method})`,
        method: picked.method,
        mode: dip ? picked.mode : null,
        steps: dip ? (steps ?? [picked.steps]) : [0],
        seeds: dip ? (command.seeds ?? picked.seeds) : [null],
        variant: dip ? variant : '',
      });
    } else if (!allowed(choice)) {
      command.onNote?.(`${set.name}: ${choice} skipped, it needs ${needsReference(choice) ? 'a reference' : 'SAR'} and the set has none`);
    } else {
      choices.push({ label: named(choice), method: 'dip', mode: choice, steps: steps ?? [DEFAULT_STEPS], seeds, variant });
    }
  }
  if (sources.reference) {
    for (const method of ['reference-fit', 'reference-seamless'] as const) choices.push({ label: method, method, mode: null, steps: [0], seeds: [null], variant: '' });
  }
  choices.push({ label: 'idw-fill', method: 'idw-fill', mode: null, steps: [0], seeds: [null], variant: '' });
  return choices;
}

type RowKey = Pick<SetEvalRow, 'set' | 'case' | 'method' | 'seed' | 'steps' | 'variant'>;
// The variant is in the method's label too; keyed on its own as well, so a row is never taken for another variant's.
const rowKey = (r: RowKey) => `${r.set}|${r.case}|${r.method}|${r.seed}|${r.steps}|${r.variant ?? ''}`;

/** Runs every set's rows not already in `command.out`; returns all rows (those found there too). */
export async function runSetEval(command: SetEvalCommand): Promise<SetEvalRow[]> {
  const bad = stepList(command.steps)?.find((n) => !(n >= 1));
  if (bad !== undefined) throw new InputError(undefined, `--steps must be at least 1, not ${bad}`);
  if (command.variant) checkVariant(command.variant);
  if (command.ensemble) checkEnsemble(command);
  // Rows are appended to --out: never onto one of the sets' files (nor a folder, a device…).
  if (command.out) await assertSafeOutputs({ inputs: command.sets.flatMap(setFiles).map((file) => ({ path: file, what: 'a set file' })), outputs: [{ path: command.out, what: '--out' }] });
  const rows = command.out ? await readRows(command.out) : [];
  const done = new Set(rows.map(rowKey));
  if (rows.length) command.onNote?.(`${command.out}: ${rows.length} rows already done, not run again`);
  const plans = command.sets.map((set) => ({ set, methods: methodsFor(set, command) }));
  if (plans.some((p) => p.methods.some((m) => m.method === 'dip'))) await selectBackend(command.backend, { precision: command.precision });
  const record = async (row: SetEvalRow) => {
    rows.push(row);
    done.add(rowKey(row));
    if (command.out) await fs.appendFile(command.out, JSON.stringify(row) + '\n');
  };
  const context: RunContext = { command, isDone: (key) => done.has(rowKey(key)), record };
  for (const { set, methods } of plans) {
    if (set.kind === 'pasted') await runPasted(set, methods, context);
    else if (set.kind === 'pairs') for (const pair of set.pairs) await runPair(set, pair, methods, context);
    else await runTiled(set, methods, context);
  }
  return rows;
}

/** The ensemble needs several seeds to combine, and is scored on the pasted set (one whole image a case). */
function checkEnsemble(command: SetEvalCommand): void {
  if ((command.seeds?.length ?? 0) < 2) throw new InputError(undefined, '--ensemble combines several seeds: give at least two with --seeds (e.g. 0,1,2)');
  if (command.warmStart) throw new InputError(undefined, '--ensemble and --warm-start are separate candidates: give one of them');
  const other = command.sets.find((set) => set.kind !== 'pasted');
  if (other) throw new InputError(undefined, `--ensemble is measured on slovenia only, not on ${other.name}`);
}

/** The ensemble's label: 'mtfit median of 3'. */
const ensembleLabel = (choice: MethodChoice) => `${choice.label} median of ${choice.seeds.length}`;

interface RunContext {
  command: SetEvalCommand;
  isDone(key: RowKey): boolean;
  record(row: SetEvalRow): Promise<void>;
}

async function readRows(file: string): Promise<SetEvalRow[]> {
  if (!existsSync(file)) return [];
  const text = await fs.readFile(file, 'utf8');
  const lines = text.split('\n');
  const rows = lines.flatMap((line, i) => {
    if (!line.trim()) return [];
    try {
      return [JSON.parse(line) as SetEvalRow];
    } catch {
      // The last line cut short by a kill: that row is run again (on a line of its own, below).
      if (lines.slice(i + 1).every((l) => !l.trim())) return [];
      throw new InputError(file, `line ${i + 1} is not a row of clearsky eval --out`);
    }
  });
  if (text.length > 0 && !text.endsWith('\n')) await fs.appendFile(file, '\n');
  return rows;
}

/** What a run of `steps` steps gives (one of a training's checkpoints), and the seconds it took to get there. */
type Scored = { steps: number; seconds: number } & ({ pred: Image; error?: undefined } | { pred?: undefined; error: string });

const NO_SCORES = { ssim_mask: null, rmse_mask: null, ssim_whole: null, rmse_whole: null };

/** Reconstruction of one whole image (the sets small enough to fit the network at once), at each of the choice's steps. */
async function reconstructWhole(
  choice: MethodChoice,
  seed: number | null,
  sources: { s2: Image; mask: Mask; reference?: Image; sar?: Image; invalid?: Mask },
  bandNames: string[],
  label: string,
  command: SetEvalCommand,
): Promise<Scored[]> {
  const start = performance.now();
  const elapsed = () => (performance.now() - start) / 1000;
  if (choice.method === 'idw-fill') return [{ steps: 0, pred: inverseDistanceFill(sources.s2, sources.mask), seconds: elapsed() }];
  if (choice.method === 'reference-fit') return [{ steps: 0, pred: referenceSubstitution(sources.s2, sources.reference!, sources.mask), seconds: elapsed() }];
  if (choice.method === 'reference-seamless') return [{ steps: 0, pred: seamlessReferenceSubstitution(sources.s2, sources.reference!, sources.mask, sources.invalid), seconds: elapsed() }];
  const earlier: Scored[] = [];
  const result = await inpaint(choice.mode!, sources, {
    ...command.variant,
    ...(command.representation ? { representation: command.representation } : {}),
    bandNames,
    steps: choice.steps.at(-1)!,
    seeds: [seed ?? 0],
    stitch: true,
    signal: command.signal,
    onProgress: command.onProgress && ((p) => command.onProgress!({ ...p, label })),
    // The output at each earlier checkpoint is what a run of that many steps returns (same seed, same steps so far).
    checkpoints: choice.steps.slice(0, -1),
    onCheckpoint: ({ step, reconstruction, refused }) => {
      earlier.push(refused ? { steps: step, error: refused, seconds: elapsed() } : { steps: step, pred: reconstruction, seconds: elapsed() });
    },
  }).catch((error: unknown) => {
    // The engine refused the reconstruction (capped under the clouds): that row fails, the others stand.
    if (error instanceof RepresentationError) return error;
    throw error;
  });
  const last = choice.steps.at(-1)!;
  if (result instanceof RepresentationError) return [...earlier, { steps: last, error: result.message, seconds: elapsed() }];
  return [...earlier, { steps: last, pred: result.reconstruction, seconds: elapsed() }];
}

/** The rows of one choice and seed, one per step count. */
const keysOf = (set: string, kase: string, choice: MethodChoice, seed: number | null): RowKey[] =>
  choice.steps.map((steps) => ({ set, case: kase, method: choice.label, seed, steps, ...(choice.variant ? { variant: choice.variant } : {}) }));

function scoreRow(scores: { masked: Pick<Scores, 'ssim' | 'rmse'>; whole: Pick<Scores, 'ssim' | 'rmse'> }) {
  const finite = (v: number | null) => (v !== null && Number.isFinite(v) ? v : null);
  return { ssim_mask: finite(scores.masked.ssim), rmse_mask: finite(scores.masked.rmse), ssim_whole: finite(scores.whole.ssim), rmse_whole: finite(scores.whole.rmse) };
}

async function runPasted(set: PastedSet, methods: MethodChoice[], { command, isDone, record }: RunContext): Promise<void> {
  const sources = await loadSources({ target: set.target, bands: set.bands, references: set.references });
  const truth = sources.s2;
  const bandNames = sources.target.bandNames.map((n, b) => n ?? `band ${b + 1}`);
  for (const band of set.maskBands) {
    const mask = await loadMask(set.masks, band, sources.target.info);
    const cloudy = hideMasked(truth, mask);
    for (const choice of methods) {
      if (command.ensemble && choice.method === 'dip') {
        await runEnsemble(set.name, `mask ${band}`, choice, { truth, cloudy, mask, sources, bandNames, maskSource: set.maskSource, truthName: set.truth }, { command, isDone, record });
        continue;
      }
      for (const seed of choice.seeds) {
        const keys = keysOf(set.name, `mask ${band}`, choice, seed);
        if (keys.every(isDone)) continue;
        const label = `${set.name} mask ${band} ${choice.label}${seed === null ? '' : ` seed ${seed}`}`;
        const scored = await reconstructWhole(choice, seed, { ...sources, s2: cloudy, mask }, bandNames, label, command);
        for (const [i, { pred, seconds, error }] of scored.entries()) {
          if (isDone(keys[i])) continue;
          const scores = pred ? scoreRow(scoreReconstruction(truth, pred, mask)) : NO_SCORES;
          await record({ ...keys[i], cover: maskCover(mask), mode: choice.mode, ...scores, seconds, tiles: 1, seconds_per_tile: seconds, mask_source: set.maskSource, truth: set.truth, ...failed(error, label, keys[i].steps, command) });
        }
      }
    }
  }
}

/**
 * One case of the ensemble: every seed trained (its own rows recorded as usual), then, at each step count, the
 * per-pixel median of the seeds' stitched outputs scored as one row; its seconds are the seeds' together.
 */
async function runEnsemble(
  setName: string,
  kase: string,
  choice: MethodChoice,
  c: { truth: Image; cloudy: Image; mask: Mask; sources: Awaited<ReturnType<typeof loadSources>>; bandNames: string[]; maskSource: string; truthName: string },
  { command, isDone, record }: RunContext,
): Promise<void> {
  const keys = choice.steps.map((steps): RowKey => ({ set: setName, case: kase, method: ensembleLabel(choice), seed: null, steps, ...(choice.variant ? { variant: choice.variant } : {}) }));
  if (keys.every(isDone)) return;
  const common = { cover: maskCover(c.mask), mode: choice.mode, tiles: 1, mask_source: c.maskSource, truth: c.truthName };
  const bySeed: Scored[][] = [];
  for (const seed of choice.seeds) {
    const label = `${setName} ${kase} ${choice.label} seed ${seed} (ensemble)`;
    const scored = await reconstructWhole(choice, seed, { ...c.sources, s2: c.cloudy, mask: c.mask }, c.bandNames, label, command);
    const seedKeys = keysOf(setName, kase, choice, seed);
    for (const [i, { pred, seconds, error }] of scored.entries()) {
      const scores = pred ? scoreRow(scoreReconstruction(c.truth, pred, c.mask)) : NO_SCORES;
      if (!isDone(seedKeys[i])) await record({ ...seedKeys[i], ...common, ...scores, seconds, seconds_per_tile: seconds, ...failed(error, label, seedKeys[i].steps, command) });
    }
    bySeed.push(scored);
  }
  for (const [i, key] of keys.entries()) {
    if (isDone(key)) continue;
    const seconds = bySeed.reduce((sum, scored) => sum + scored[i].seconds, 0);
    // A seed the engine refused leaves no median to score: the ensemble's row fails with that seed's reason.
    const refused = bySeed.map((scored) => scored[i]).find((one) => one.pred === undefined);
    if (refused) {
      await record({ ...key, ...common, ...NO_SCORES, seconds, seconds_per_tile: seconds, ...failed(refused.error, `${setName} ${kase} ${key.method}`, key.steps, command) });
      continue;
    }
    // Stitched outputs share their clear pixels, so the median of them is stitched too.
    const pred = medianOf(bySeed.map((scored) => scored[i].pred as Image));
    await record({ ...key, ...common, ...scoreRow(scoreReconstruction(c.truth, pred, c.mask)), seconds, seconds_per_tile: seconds });
  }
}

/** The whole detected mask (cloud ∪ shadow) of a scene, at the detector's defaults. */
async function detectedMask(file: string): Promise<Mask> {
  const detector = await openCloudDetector(file);
  try {
    const { width, height } = detector.grid;
    return await detector.read({ x: 0, y: 0, width, height });
  } finally {
    await detector.close();
  }
}

/**
 * Where the truth can be scored: not nodata in either image (`invalid`), and nothing the detector finds (cloud,
 * shadow) on the cloud-free image itself. Null when that is every pixel.
 */
export async function truthValid(clearFile: string, invalid: (Mask | undefined)[]): Promise<Mask | null> {
  const onClear = await detectedMask(clearFile);
  const valid = createMask(onClear.width, onClear.height);
  let all = true;
  for (let p = 0; p < valid.data.length; p++) {
    valid.data[p] = onClear.data[p] || invalid.some((m) => m?.data[p]) ? 0 : 1;
    if (!valid.data[p]) all = false;
  }
  return all ? null : valid;
}

/** Scores under the mask and over the image, counting only `valid` pixels (when given): what is invalid in the truth is not scored. */
export function scoreWhereValid(truth: Image, pred: Image, mask: Mask, valid: Mask | null) {
  if (!valid) return scoreReconstruction(truth, pred, mask);
  // Invalid pixels take the truth's value in the prediction too, so they do not move the SSIM of the valid pixels
  // whose window reaches them.
  pred = { ...pred, data: pred.data.slice() };
  for (let p = 0; p < valid.data.length; p++) if (!valid.data[p]) pred.data.set(truth.data.subarray(p * truth.bands, (p + 1) * truth.bands), p * truth.bands);
  const inMask = { ...mask, data: mask.data.map((m, p) => (m && valid.data[p] ? 1 : 0)) };
  // Over the valid pixels: the masked scores of the valid mask (its SSIM = the SSIM map's mean over them).
  return { masked: scoreReconstruction(truth, pred, inMask).masked, whole: scoreReconstruction(truth, pred, valid).masked };
}

async function runPair(set: EvalSet & { kind: 'pairs' }, pair: Pair, methods: MethodChoice[], { command, isDone, record }: RunContext): Promise<void> {
  const todo = methods.flatMap((choice) => choice.seeds.map((seed) => ({ choice, seed, keys: keysOf(set.name, pair.name, choice, seed) }))).filter((t) => !t.keys.every(isDone));
  if (todo.length === 0) return;
  const sources = await loadSources({ target: pair.cloudy, bands: set.bands, sar: pair.sar });
  const clear = await loadSources({ target: pair.clear, bands: set.bands });
  const truth = clear.s2;
  const mask = await detectedMask(pair.cloudy);
  if (sources.invalid) for (let p = 0; p < mask.data.length; p++) if (sources.invalid.data[p]) mask.data[p] = 0;
  assertHasClearPixels(mask, `${pair.cloudy} (detected mask)`);
  const valid = await truthValid(pair.clear, [clear.invalid, sources.invalid]);
  const scored = valid ? valid.data.reduce((n, v) => n + v, 0) : mask.data.length;
  const cover = mask.data.reduce((n, m, p) => n + (m && (!valid || valid.data[p]) ? 1 : 0), 0) / Math.max(1, scored);
  const bandNames = sources.target.bandNames.map((n, b) => n ?? `band ${b + 1}`);
  for (const { choice, seed, keys } of todo) {
    const label = `${set.name} ${pair.name} ${choice.label}${seed === null ? '' : ` seed ${seed}`}`;
    // The method sees the cloudy image; its pixels under the mask are unknown to it (weight 0) either way.
    const scored = await reconstructWhole(choice, seed, { ...sources, mask }, bandNames, label, command);
    for (const [i, { pred, seconds, error }] of scored.entries()) {
      if (isDone(keys[i])) continue;
      const scores = pred ? scoreRow(scoreWhereValid(truth, pred, mask, valid)) : NO_SCORES;
      await record({ ...keys[i], cover, mode: choice.mode, ...scores, seconds, tiles: 1, seconds_per_tile: seconds, mask_source: set.maskSource, truth: set.truth, ...failed(error, label, keys[i].steps, command) });
    }
  }
}

/** A failed row's `error` (and a line for the user as it happens); nothing for a row that was scored. */
function failed(error: string | undefined, label: string, steps: number, command: SetEvalCommand): { error?: string } {
  if (error === undefined) return {};
  command.onNote?.(`${label} at ${steps} steps failed, the other rows go on: ${error}`);
  return { error };
}

/** The set's mask on its area: the real mask enlarged `maskScale` times (nearest neighbour), repeated if the area is larger. */
export async function tiledSetMask(set: TiledSet): Promise<Mask> {
  const raster = await openRaster(set.maskFile);
  try {
    const source = await readBands(raster, [0]);
    const { width, height } = set.area;
    const mask = createMask(width, height);
    for (let y = 0; y < height; y++) {
      const sy = Math.floor(y / set.maskScale) % source.height;
      for (let x = 0; x < width; x++) mask.data[y * width + x] = source.data[sy * source.width + (Math.floor(x / set.maskScale) % source.width)] ? 1 : 0;
    }
    return mask;
  } finally {
    await raster.close();
  }
}

async function runTiled(set: TiledSet, methods: MethodChoice[], { command, isDone, record }: RunContext): Promise<void> {
  const crop = `${set.area.width}×${set.area.height}+${set.area.x}+${set.area.y}`;
  // The tiled pipeline has no checkpoints: each step count is a run of its own.
  const warmLabel = (choice: MethodChoice) => (command.warmStart && choice.method === 'dip' ? `${choice.label} warm` : choice.label);
  const todo = methods.flatMap((choice) => choice.seeds.flatMap((seed) => keysOf(set.name, crop, choice, seed).map((key) => ({ choice, seed, key: { ...key, method: warmLabel(choice) } })))).filter((t) => !isDone(t.key));
  if (todo.length === 0) return;
  const sources = await openSources({ target: set.target, bands: set.bands });
  const folderRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-eval-'));
  try {
    const whole = await tiledSetMask(set);
    const { area } = set;
    const shift = (w: Window = { x: 0, y: 0, width: area.width, height: area.height }): Window => ({ ...w, x: w.x + area.x, y: w.y + area.y });
    // A project run's inputs, with the mask held in memory on the area's grid (it is made here, not a file).
    const inputs: RunInputs = {
      files: { target: set.target, bands: set.bands, mask: set.maskFile, maskBand: 1, area },
      target: sources.target,
      area,
      sources: { read: (w) => sources.read(shift(w)), readRaw: (w) => sources.readRaw(shift(w)) },
      mask: { path: set.maskFile, band: 1, read: async (w) => (w ? cropMask(whole, w) : { ...whole, data: whole.data.slice() }) },
      close: () => sources.close(),
    };
    const plan = planRun(inputs, { tileSize: set.tileSize, overlap: set.overlap });
    const survey = await surveyTiles(plan, inputs);
    for (const [n, { choice, seed, key }] of todo.entries()) {
      const folder = await TileResultFolder.open(path.join(folderRoot, `tiles-${n}`), plan, sources.target.info, area);
      const warm = command.warmStart === true && choice.method === 'dip';
      const engine = choice.method === 'dip' && (command.variant || command.representation) ? { ...command.variant, ...(command.representation ? { representation: command.representation } : {}) } : undefined;
      const settings: ReconstructionSettings = { method: choice.method, mode: choice.mode ?? undefined, steps: key.steps || undefined, seeds: [seed ?? 0], stitch: true, groundTruth: true, engine, warmStart: warm };
      const start = performance.now();
      // Tiles one after another, as one worker would: each starts from the nearest finished one (row-major order).
      const finished = new Map<number, NetworkWeights[]>();
      let refused: string | undefined;
      for (const [i, tile] of survey.cloudy.entries()) {
        const label = `${set.name} ${key.method}${seed === null ? '' : ` seed ${seed}`} tile ${i + 1}/${survey.cloudy.length}`;
        const donor = warm ? warmStartDonor(plan, tile, (index) => finished.has(index)) : undefined;
        const result = await reconstructTile(inputs, tile, settings, { signal: command.signal, onProgress: command.onProgress && ((p) => command.onProgress!({ ...p, label })), startWeights: donor === undefined ? undefined : finished.get(donor), keepWeights: warm }).catch((error: unknown) => {
          // One tile refused by the engine: this method's row fails (no mosaic to score), the other methods go on.
          if (error instanceof RepresentationError) return `tile ${i + 1}/${survey.cloudy.length} (x ${tile.window.x}, y ${tile.window.y}): ${error.message}`;
          throw error;
        });
        if (typeof result === 'string') {
          refused = result;
          break;
        }
        if (result.weights) finished.set(tile.index, result.weights);
        await folder.write(tile, result.image, result.bandNames);
      }
      const seconds = (performance.now() - start) / 1000;
      const tiles = survey.cloudy.length;
      if (refused !== undefined) {
        const label = `${set.name} ${key.method}${seed === null ? '' : ` seed ${seed}`}`;
        await record({ ...key, cover: survey.cloudPixels / Math.max(1, survey.validPixels), mode: choice.mode, ...NO_SCORES, seconds, tiles, seconds_per_tile: seconds / Math.max(1, tiles), mask_source: set.maskSource, truth: set.truth, ...failed(refused, label, key.steps, command) });
        await fs.rm(path.join(folderRoot, `tiles-${n}`), { recursive: true, force: true });
        continue;
      }
      const out = path.join(folderRoot, `result-${n}.tif`);
      await writeRunOutputs(inputs, plan, folder, { ...settings, backend: 'eval' }, { out });
      const scores = await scoreGroundTruth(inputs, out, []);
      await record({
        ...key,
        cover: survey.cloudPixels / Math.max(1, survey.validPixels),
        mode: choice.mode,
        ssim_mask: scores.run.masked.ssim,
        rmse_mask: scores.run.masked.rmse,
        ssim_whole: scores.run.whole.ssim,
        rmse_whole: scores.run.whole.rmse,
        seconds,
        tiles,
        seconds_per_tile: seconds / Math.max(1, tiles),
        mask_source: set.maskSource,
        truth: set.truth,
      });
      await fs.rm(path.join(folderRoot, `tiles-${n}`), { recursive: true, force: true });
      await fs.rm(out, { force: true });
    }
  } finally {
    await sources.close();
    await fs.rm(folderRoot, { recursive: true, force: true });
  }
}

/** Median and spread (min–max) of the finite values; null where there are none. */
export function medianSpread(values: (number | null)[]): { median: number; min: number; max: number } | null {
  const sorted = values.filter((v): v is number => v !== null && Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = sorted.length >> 1;
  return { median: sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2, min: sorted[0], max: sorted.at(-1)! };
}

/** One table: rows = set × method × steps, medians over cases (masks, pairs) and seeds, with min–max. */
export function formatSetTable(rows: SetEvalRow[]): string {
  const cell = (values: (number | null)[]) => {
    const s = medianSpread(values);
    return s === null ? '–' : s.min === s.max ? s.median.toFixed(3) : `${s.median.toFixed(3)} (${s.min.toFixed(3)}–${s.max.toFixed(3)})`;
  };
  const lines = [
    '| set | method | SSIM mask | RMSE mask | SSIM whole | RMSE whole | runs | s/tile | steps |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  const sets = [...new Set(rows.map((r) => r.set))];
  const notes: string[] = [];
  const failed: string[] = [];
  for (const set of sets) {
    const ofSet = rows.filter((r) => r.set === set);
    // A line per method and step count (a steps list scores each checkpoint).
    const lineKey = (r: SetEvalRow) => `${r.method}|${r.steps}`;
    for (const key of [...new Set(ofSet.map(lineKey))]) {
      const r = ofSet.filter((x) => lineKey(x) === key);
      const { method, steps } = r[0];
      const perTile = medianSpread(r.map((x) => x.seconds_per_tile));
      // Failed runs have no scores: the medians are over the others, and the runs column says how many failed.
      const failures = r.filter((x) => x.error !== undefined);
      const runs = failures.length ? `${r.length} (${failures.length} failed)` : `${r.length}`;
      lines.push(`| ${set} | ${method} | ${cell(r.map((x) => x.ssim_mask))} | ${cell(r.map((x) => x.rmse_mask))} | ${cell(r.map((x) => x.ssim_whole))} | ${cell(r.map((x) => x.rmse_whole))} | ${runs} | ${perTile ? perTile.median.toFixed(1) : '–'} | ${steps} |`);
      for (const x of failures) failed.push(`FAILED: ${set} ${x.case} ${method}${x.seed === null ? '' : ` seed ${x.seed}`} at ${steps} steps: ${x.error}`);
    }
    const cases = new Set(ofSet.map((r) => r.case)).size;
    notes.push(`${set} (${cases} case${cases === 1 ? '' : 's'}): clouds = ${ofSet[0].mask_source}; truth = ${ofSet[0].truth}.`);
  }
  return [...lines, '', 'Median (min–max) over cases and seeds; baselines run once (no seed).', ...(failed.length ? [`${failed.length} run(s) failed, left out of the medians:`, ...failed] : []), ...notes, `${describeSsim()}; RMSE in the ÷2000 scale; DIP results stitched (clear pixels kept).`].join('\n');
}
