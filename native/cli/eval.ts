/** `clearsky eval`: the paper's ground-truth protocol, real masks pasted onto a clear target and scored. */
import { runEval, formatEvalTable } from '../commands/eval.ts';
import { checkVariant, formatSetTable, parseEvalModes, runSetEval, type EngineVariant } from '../commands/eval-table.ts';
import { parseSetNames, resolveEvalSets } from '../commands/eval-sets.ts';
import { dataFolder } from '../commands/data-folder.ts';
import { parseBackendChoice, parsePrecision } from '../dip/backends/select.ts';
import { parseMode, type Mode } from '../dip/modes.ts';
import { parseBandList } from '../raster/sentinel/bands.ts';
import { BACKEND, JSON_OUTPUT, PRECISION, SOURCES, STEPS, UsageError, decimal, integerList, required, sarOptions, seedsFrom, type Context, type Options, type ParsedArgs } from './args.ts';
import { progressPrinter } from './progress.ts';

export const summary = 'score modes and baselines against ground truth (real masks on a clear scene)';

export const usage = `clearsky eval --target CLEAR.tif --masks MASKS.tif --mask-bands 14,19 [--reference R.tif ...] [--sar S1.tif]
              [--bands ...] --modes basic,mt,... [--steps N | --steps 100,250,500] [--seeds 0,...] [--stitch] [--backend ...] [--precision fp32|bf16] [--json]
clearsky eval --set slovenia|sen12mscr|t33uuu|all [--data DIR] [--modes basic,mt,default,...] [--steps N | --steps 25,50,100]
              [--seeds 0,1,2] [--ensemble] [--warm-start] [--early-stopping] [--ema DECAY] [--learning-rate LR] [--out ROWS.jsonl] [--backend ...] [--precision fp32|bf16] [--json]
              every method on the public sets, one table; --out appends rows and skips those done;
              --early-stopping, --ema and --learning-rate run the DIP methods as that variant (rows named e.g. 'mtfit +es');
              --ensemble also scores each DIP method's seeds as one result, their per-pixel median (rows 'mtfit median of 3'; slovenia);
              --warm-start starts each tile of t33uuu from a finished neighbour (rows named e.g. 'basic warm')`;

export const options = {
  ...SOURCES, ...BACKEND, ...PRECISION, ...STEPS, ...JSON_OUTPUT,
  masks: { type: 'string' },
  'mask-bands': { type: 'string' },
  modes: { type: 'string' },
  set: { type: 'string' },
  data: { type: 'string' },
  out: { type: 'string' },
  stitch: { type: 'boolean', default: false },
  'early-stopping': { type: 'boolean', default: false },
  ema: { type: 'string' },
  'learning-rate': { type: 'string' },
  'warm-start': { type: 'boolean', default: false },
  ensemble: { type: 'boolean', default: false },
} satisfies Options;

/** The engine variant the flags of `--set` ask for; undefined for none. */
export function variantFrom(v: ParsedArgs['values']): EngineVariant | undefined {
  const variant: EngineVariant = {
    ...(v['early-stopping'] ? { earlyStopping: true } : {}),
    ...(v.ema !== undefined ? { emaDecay: decimal(v.ema, '--ema') } : {}),
    ...(v['learning-rate'] !== undefined ? { learningRate: decimal(v['learning-rate'], '--learning-rate') } : {}),
  };
  return Object.keys(variant).length ? checkVariant(variant) : undefined;
}

export async function run({ values: v }: ParsedArgs, context: Context): Promise<number> {
  const precision = v.precision === undefined ? undefined : parsePrecision(v.precision as string);
  if (v.set !== undefined) {
    // The public sets (eval-table.ts): rows appended to --out as they finish, one table at the end.
    const rows = await runSetEval({
      sets: resolveEvalSets(parseSetNames(v.set as string), dataFolder(v.data as string | undefined)),
      modes: v.modes === undefined ? undefined : parseEvalModes(v.modes as string),
      steps: v.steps === undefined ? undefined : integerList(v.steps as string, '--steps'),
      variant: variantFrom(v),
      seeds: v.seed === undefined && v.seeds === undefined ? undefined : seedsFrom(v),
      backend: parseBackendChoice(v.backend as string),
      precision,
      out: v.out as string | undefined,
      signal: context.signal,
      onProgress: progressPrinter(),
      onNote: (line) => console.error(line),
      warmStart: v['warm-start'] as boolean,
      ensemble: v.ensemble as boolean,
    });
    console.log(v.json ? JSON.stringify(rows) : formatSetTable(rows));
    return 0;
  }
  if (variantFrom(v)) throw new UsageError('--early-stopping, --ema and --learning-rate go with --set (the file-based eval takes none)');
  if (v.ensemble) throw new UsageError('--ensemble goes with --set (the file-based eval scores each seed on its own)');
  const rows = await runEval({
    target: required(v.target, '--target'),
    masks: required(v.masks, '--masks'),
    maskBands: integerList(required(v['mask-bands'], '--mask-bands'), '--mask-bands'),
    references: (v.reference as string[] | undefined) ?? [],
    sar: v.sar as string | undefined,
    ...sarOptions(v),
    bands: v.bands === undefined ? undefined : parseBandList(v.bands as string),
    modes: ((v.modes as string | undefined) ?? 'basic,mt').split(',').map((m): Mode => parseMode(m.trim())),
    steps: v.steps === undefined ? undefined : integerList(v.steps as string, '--steps'),
    seeds: seedsFrom(v),
    engine: { stitch: v.stitch as boolean },
    backend: parseBackendChoice(v.backend as string),
    precision,
    signal: context.signal,
    onProgress: progressPrinter(),
  });
  console.log(v.json ? JSON.stringify(rows) : formatEvalTable(rows));
  return 0;
}
