/**
 * `clearsky run`: a run in a project, worked to its end (or queued with --detach). The flags become the API's
 * RunRequest as they are (numbers read, lists split); the contract's schema checks it, so the command line
 * refuses exactly what the app and the HTTP API refuse, naming the flag.
 */
import { BatchRunParameters, CloudyDatesRequest, RunRequest, isFinishedRun } from '../api/contract.ts';
import { cloudyDatesCommand, formatCloudyDates, formatLease, formatRuns, runCommand } from '../commands/runs.ts';
import { modeName } from '../dip/modes.ts';
import { parseBandList } from '../raster/sentinel/bands.ts';
import { BACKEND, CHOICES, JSON_OUTPUT, STEPS, UsageError, numberOrText, optionalInteger, projectDir, schemaProblems, type Context, type Options, type ParsedArgs } from './args.ts';
import { eventPrinter } from './progress.ts';

export const summary = 'reconstruct a scene of a project as a run (resumable, on worker processes)';

export const usage = `clearsky run DIR --target SCENE_ID --mask MASK_ID [--reference REF_ID] [--sar SCENE_ID] [--bands ...]
             [--method ${CHOICES.method}] [--mode ${CHOICES.mode}] [--steps 4000] [--seeds 0,1]
             [--no-stitch] [--tile 256] [--overlap 32] [--area X,Y,W,H] [--tiles 0,8] [--workers N]
             [--backend ${CHOICES.backend}] [--ground-truth] [--warm-start] [--queue redis://…]
             [--name NAME] [--detach] [--json]
clearsky run DIR --every-cloudy-date [--reference REF_ID | --reference-from SCENE_ID,...] [--masks own|detected]
             [--min-cover 1] [--max-cover 95] [--mode ...] [--steps ...] (the run options above but --target/--mask/--tiles)
                 one run per Sentinel-2 date whose cloud cover (percent) is within the limits, named by its date`;

export const options = {
  ...BACKEND, ...STEPS, ...JSON_OUTPUT,
  target: { type: 'string' },
  mask: { type: 'string' },
  reference: { type: 'string' },
  sar: { type: 'string' },
  bands: { type: 'string' },
  method: { type: 'string' },
  mode: { type: 'string' },
  seed: { type: 'string' },
  seeds: { type: 'string' },
  'no-stitch': { type: 'boolean', default: false },
  tile: { type: 'string' },
  overlap: { type: 'string' },
  area: { type: 'string' },
  tiles: { type: 'string' },
  workers: { type: 'string' },
  'ground-truth': { type: 'boolean', default: false },
  'warm-start': { type: 'boolean', default: false },
  queue: { type: 'string' },
  name: { type: 'string' },
  detach: { type: 'boolean', default: false },
  'every-cloudy-date': { type: 'boolean', default: false },
  'reference-from': { type: 'string' },
  masks: { type: 'string' },
  'min-cover': { type: 'string' },
  'max-cover': { type: 'string' },
} satisfies Options;

export const positionals = true;

export async function run({ values: v, positionals: words }: ParsedArgs, context: Context): Promise<number> {
  const dir = projectDir(words);
  if (v['every-cloudy-date']) return everyCloudyDate(dir, v, context);
  const checked = RunRequest.safeParse(request(v), { reportInput: true });
  if (!checked.success) throw new UsageError(schemaProblems(checked.error, { seeds: v.seeds === undefined && v.seed !== undefined ? '--seed' : '--seeds' })!, false);
  const run = await runCommand(dir, checked.data, {
    queueUrl: v.queue as string | undefined, detach: v.detach as boolean, workers: optionalInteger(v.workers, '--workers'), backend: v.backend as string,
    signal: context.signal, onEvent: eventPrinter(),
  });
  console.log(v.json ? JSON.stringify(run) : formatRuns([run]));
  // Ended elsewhere: this process did not finish the run, and a script must not take it for done.
  if (run.status === 'cancelled') {
    console.error(`clearsky: run ${run.id} was cancelled from another process (clearsky cancel or the app); its finished tiles are kept`);
    return 3;
  }
  if (!isFinishedRun(run.status) && !v.detach) {
    console.error(`clearsky: run ${run.id} was taken over by another process (${run.lease ? formatLease(run.lease) : 'now free'}); it goes on there, not here`);
    return 3;
  }
  return run.status === 'failed' ? 1 : 0;
}

/** The request as the flags give it, unchecked: the schema says what is wrong with it. */
function request(v: ParsedArgs['values']): Record<string, unknown> {
  const text = (flag: string) => v[flag] as string | undefined;
  const number = (flag: string) => (v[flag] === undefined ? undefined : numberOrText(text(flag)!));
  const list = (flag: string) => text(flag)?.split(',').map((part) => numberOrText(part.trim()));
  const area = list('area');
  if (area && area.length !== 4) throw new UsageError('--area takes x,y,width,height in pixels of the target', false);
  return {
    name: text('name'),
    targetSceneId: number('target'),
    maskId: number('mask'),
    refId: number('reference'),
    sarSceneId: number('sar'),
    bands: v.bands === undefined ? undefined : parseBandList(text('bands')!),
    method: text('method'),
    mode: v.mode === undefined ? undefined : modeName(text('mode')!),
    steps: number('steps'),
    seeds: list('seeds') ?? (v.seed === undefined ? undefined : [number('seed')]),
    stitch: !v['no-stitch'],
    tileSize: number('tile'),
    overlap: number('overlap'),
    area: area && { x: area[0], y: area[1], width: area[2], height: area[3] },
    tiles: list('tiles'),
    backend: text('backend'),
    groundTruth: v['ground-truth'],
    // Only when asked, so a request without it stays as it was.
    warmStart: v['warm-start'] ? true : undefined,
    queue: v.queue !== undefined,
  };
}

/** `clearsky run DIR --every-cloudy-date …`: one run per cloudy date (Service.runCloudyDates), worked unless --detach. */
async function everyCloudyDate(dir: string, v: ParsedArgs['values'], context: Context): Promise<number> {
  for (const flag of ['target', 'mask', 'sar', 'tiles', 'ground-truth', 'name'] as const) {
    if (v[flag] !== undefined && v[flag] !== false) throw new UsageError(`--${flag} is not for --every-cloudy-date: each cloudy date is a run of its own scene and mask`);
  }
  const { bands, method, mode, steps, seeds, stitch, tileSize, overlap, area, backend, queue } = request(v);
  const parameters = BatchRunParameters.partial().safeParse({ bands, method, mode, steps, seeds, stitch, tileSize, overlap, area, backend, queue }, { reportInput: true });
  if (!parameters.success) throw new UsageError(schemaProblems(parameters.error, { seeds: v.seeds === undefined && v.seed !== undefined ? '--seed' : '--seeds' })!, false);
  const text = (flag: string) => v[flag] as string | undefined;
  const percent = (flag: string) => (v[flag] === undefined ? undefined : Number(text(flag)) / 100);
  const checked = CloudyDatesRequest.safeParse({
    refId: v.reference === undefined ? undefined : numberOrText(text('reference')!),
    referenceFrom: text('reference-from')?.split(',').map((part) => numberOrText(part.trim())),
    masks: text('masks'),
    minCover: percent('min-cover'),
    maxCover: percent('max-cover'),
    run: parameters.data,
  }, { reportInput: true });
  if (!checked.success) throw new UsageError(schemaProblems(checked.error)!, false);
  const result = await cloudyDatesCommand(dir, checked.data, {
    queueUrl: v.queue as string | undefined, detach: v.detach as boolean, workers: optionalInteger(v.workers, '--workers'), backend: v.backend as string,
    signal: context.signal, onEvent: eventPrinter(), onPlanned: (r) => console.error(formatCloudyDates(r)),
  });
  console.log(v.json ? JSON.stringify(result) : formatRuns(result.runs));
  return result.runs.some((r) => r.status === 'failed') ? 1 : 0;
}
