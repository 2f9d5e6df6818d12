/**
 * One DIP worker process: loads the engine once, then takes tasks one at a time from the job runner (survey a
 * run's tiles, reconstruct a tile, mosaic a run) and answers each with `done` or `failed`. A run's inputs stay
 * open between its tiles. Cancel aborts the current task between two optimisation steps.
 *
 * Started by jobs/pool.ts with an IPC channel (in the desktop app: Electron's binary as Node on the bundled
 * dist/electron/worker.js, forked by the workspace host); CLEARSKY_WORKER_BACKEND picks the backend. With
 * CLEARSKY_WORKER_PROBE=1 it only says which backends work here and exits (jobs/pool.ts probeBackends).
 */
import { detectBackends, selectBackend, parseBackendChoice } from '../dip/backends/select.ts';
import { InputError } from '../errors.ts';
import { RepresentationError } from '../dip/modes.ts';
import { scoreGroundTruth } from '../reconstruction/ground-truth.ts';
import type { FromWorker, ProbeAnswer, RunContext, Task, ToWorker } from './protocol.ts';
import { decodeTileJob, encodeTileResult } from './queue/tile-payload.ts';
import { openRunInputs, planRun, reconstructTile, reconstructTileSources, surveyTiles, writeRunOutputs, type RunInputs, type TileProgress } from '../reconstruction/pipeline.ts';
import { TileResultFolder } from '../raster/tiles/tile-results.ts';
import { readWeightsFile, tileLabel, WARM_START_ITEM, weightsPath, writeWeightsFile } from '../reconstruction/warm-start.ts';
import os from 'node:os';
import path from 'node:path';

if (!process.send) throw new Error('native/jobs/worker.ts runs as a child process with an IPC channel (jobs/pool.ts starts it)');
const send = (message: FromWorker) => process.send!(message);

if (process.env.CLEARSKY_WORKER_PROBE === '1') {
  // Asked only which backends work here (jobs/pool.ts probeBackends): answer and go.
  const found = await detectBackends();
  await new Promise<void>((resolve) => process.send!({ type: 'backends', ...found } satisfies ProbeAnswer, () => resolve()));
  process.exit(0);
}

const backend = await selectBackend(parseBackendChoice(process.env.CLEARSKY_WORKER_BACKEND ?? 'auto'));
let open: { runId: number; inputs: RunInputs } | undefined;
let current: { runId: number; controller: AbortController } | undefined;
const queue: Task[] = [];

process.on('message', (message: ToWorker) => {
  if (message.type === 'cancel') {
    if (current?.runId === message.runId) current.controller.abort();
    return;
  }
  queue.push(message.task);
  if (!current) void drain();
});
// The runner going away (crash, kill) must not leave orphaned workers computing.
process.on('disconnect', () => process.exit(0));

send({ type: 'ready', backend: backend.description, pid: process.pid });

async function drain(): Promise<void> {
  while (queue.length > 0) {
    const task = queue.shift()!;
    const controller = new AbortController();
    current = { runId: task.run.runId, controller };
    try {
      send(await perform(task, controller.signal));
    } catch (error) {
      const e = error as Error;
      send({
        type: 'failed',
        runId: task.run.runId,
        kind: task.kind,
        tileIndex: task.kind === 'tile' ? task.tileIndex : undefined,
        error: e.message?.split('\n')[0] ?? String(error),
        // A refused (capped) reconstruction comes out the same on a retry, like bad input: not retried.
        userError: e instanceof InputError || e instanceof RepresentationError,
        cancelled: e.name === 'AbortError',
      });
    } finally {
      current = undefined;
    }
  }
}

async function inputsOf(run: RunContext): Promise<RunInputs> {
  if (open?.runId !== run.runId) {
    await open?.inputs.close();
    open = undefined;
    open = { runId: run.runId, inputs: await openRunInputs(run.inputs) };
  }
  return open.inputs;
}

/** About one progress message a second: enough for a live ETA, cheap for the IPC channel. */
function progressSender(runId: number, tileIndex: number, start: number): (p: TileProgress) => void {
  let lastProgress = 0;
  return (p) => {
    const now = performance.now();
    if (now - lastProgress < 1000 && p.step !== p.steps) return;
    lastProgress = now;
    send({ type: 'progress', runId, tileIndex, step: p.step + p.seedIndex * p.steps, steps: p.steps * p.seeds, loss: p.loss, elapsedSeconds: (now - start) / 1000 });
  };
}

/** A tile from the queue: everything it needs came in the job's data; the result goes back packed, not to a file. */
async function performQueued(task: Extract<Task, { kind: 'queued-tile' }>, signal: AbortSignal): Promise<FromWorker> {
  const what = `queue job ${task.job}`;
  const { tileIndex, settings, sources } = decodeTileJob(task.data, what);
  const start = performance.now();
  const result = await reconstructTileSources(sources, settings, { signal, onProgress: progressSender(task.run.runId, tileIndex, start) });
  const seconds = (performance.now() - start) / 1000;
  const loss = result.runs.at(-1)?.finalLoss ?? null;
  const quality = { curves: result.runs.map((r) => r.curve), spread: result.spread };
  const queued = await encodeTileResult({ image: result.image, bandNames: result.bandNames, loss, seconds, backend: backend.description, worker: `${os.hostname()}:${process.pid}`, quality }, what);
  return { type: 'done', runId: task.run.runId, kind: 'queued-tile', tileIndex, queued };
}

async function perform(task: Task, signal: AbortSignal): Promise<FromWorker> {
  if (task.kind === 'queued-tile') return performQueued(task, signal);
  const inputs = await inputsOf(task.run);
  const plan = planRun(inputs, task.run.tiling);
  const { runId } = task.run;
  if (task.kind === 'survey') {
    const survey = await surveyTiles(plan, inputs);
    const cloudy = new Set(survey.cloudy.map((t) => t.index));
    const allCloud = new Set(survey.withoutClearPixels.map((t) => t.index));
    const state = (index: number) => (cloudy.has(index) ? 'cloudy' : allCloud.has(index) ? 'all-cloud' : 'clear');
    return { type: 'done', runId, kind: 'survey', survey: { tiles: plan.tiles.map((t) => ({ index: t.index, window: t.window, state: state(t.index) })) } };
  }
  const folder = await TileResultFolder.open(task.run.tileFolder, plan, inputs.target.info, inputs.area);
  if (task.kind === 'mosaic') {
    await writeRunOutputs(inputs, plan, folder, { ...task.run.settings, backend: task.run.backend }, task.outputs);
    const within = task.scoreWithin?.map((index) => plan.tiles[index].window);
    const metrics = task.scoreTiles && (await scoreGroundTruth(inputs, task.outputs.out, task.scoreTiles.map((index) => plan.tiles[index]), within));
    return { type: 'done', runId, kind: 'mosaic', metrics };
  }
  const tile = plan.tiles[task.tileIndex];
  const start = performance.now();
  const warm = task.run.settings.method === 'dip' && task.run.settings.warmStart === true;
  // The neighbour's weights may be gone (a resumed run, a cleaned folder): then this tile starts cold.
  const startWeights = warm && task.warmFrom ? await readWeightsFile(task.warmFrom.file) : undefined;
  const warmStartFrom = startWeights ? task.warmFrom!.tileIndex : null;
  const result = await reconstructTile(inputs, tile, task.run.settings, { signal, onProgress: progressSender(runId, tile.index, start), startWeights, keepWeights: warm });
  // The weights before the result: a finished tile of a warm-started run always has them for its neighbours.
  if (result.weights) await writeWeightsFile(weightsPath(task.run.tileFolder, tile), result.weights);
  const provenance = warm ? { [WARM_START_ITEM]: warmStartFrom === null ? 'none (random start)' : tileLabel(plan.tiles[warmStartFrom]) } : undefined;
  await folder.write(tile, result.image, result.bandNames, provenance);
  return {
    type: 'done',
    runId,
    kind: 'tile',
    tileIndex: tile.index,
    tile: {
      resultFile: path.join(task.run.tileFolder, TileResultFolder.fileName(tile)),
      loss: result.runs.at(-1)?.finalLoss ?? null,
      seconds: (performance.now() - start) / 1000,
      quality: { curves: result.runs.map((r) => r.curve), spread: result.spread },
    },
  };
}
