/**
 * `clearsky run`: a run in a project, worked to its end (or queued with --detach). The flags become the API's
 * RunRequest as they are (numbers read, lists split); the contract's schema checks it, so the command line
 * refuses exactly what the app and the HTTP API refuse, naming the flag.
 */
import { RunRequest, isFinishedRun } from '../api.ts';
import { formatLease, formatRuns, runCommand } from '../commands/runs.ts';
import { modeName } from '../dip/modes.ts';
import { parseBandList } from '../raster/bands.ts';
import { BACKEND, CHOICES, JSON_OUTPUT, STEPS, UsageError, numberOrText, optionalInteger, projectDir, schemaProblems, type Context, type Options, type ParsedArgs } from './args.ts';
import { eventPrinter } from './progress.ts';

export const summary = 'reconstruct a scene of a project as a run (resumable, on worker processes)';

export const usage = `clearsky run DIR --target SCENE_ID --mask MASK_ID [--reference REF_ID] [--sar SCENE_ID] [--bands ...]
             [--method ${CHOICES.method}] [--mode ${CHOICES.mode}] [--steps 4000] [--seeds 0,1]
             [--no-stitch] [--tile 256] [--overlap 32] [--area X,Y,W,H] [--tiles 0,8] [--workers N]
             [--backend ${CHOICES.backend}] [--ground-truth] [--queue redis://…]
             [--name NAME] [--detach] [--json]`;

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
  queue: { type: 'string' },
  name: { type: 'string' },
  detach: { type: 'boolean', default: false },
} satisfies Options;

export const positionals = true;

export async function run({ values: v, positionals: words }: ParsedArgs, context: Context): Promise<number> {
  const dir = projectDir(words);
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
    queue: v.queue !== undefined,
  };
}
