/**
 * Runs in a project from the command line, for batch and remote use: `clearsky run` queues a run and (unless
 * --detach) works it until it ends (and the project's free queued runs meanwhile), `clearsky resume` works the
 * unfinished runs no live process works (after a crash, a reboot, or runs queued with --detach), `clearsky runs`
 * lists them, `clearsky cancel` stops one. All of them go through the Service, as the desktop app does.
 *
 * Several of these (and the app) may be open on one project at once: each works only the runs it holds the
 * lease of (jobs/lease.ts). `clearsky run` returns when its run ended, or when another process took it over.
 */
import { isFinishedRun, type ApiEvent, type CloudyDatesRequestInput, type CloudyDatesResult, type RunMetrics, type RunRecord, type RunRequestInput } from '../api/contract.ts';
import { describeOwner } from '../jobs/lease.ts';
import { Service, type ServiceOptions } from '../project/service.ts';

export interface RunCommandOptions extends ServiceOptions {
  detach?: boolean;
  signal?: AbortSignal;
  onEvent?: (event: ApiEvent) => void;
}

/**
 * Queues a run and works it to its end. The record returned is finished (`cancelled` when cancelled from
 * another process), or still unfinished when another process took the run over (its lease says which).
 */
export async function runCommand(dir: string, request: RunRequestInput, options: RunCommandOptions = {}): Promise<RunRecord> {
  const service = Service.open(dir, { ...options, jobs: !options.detach, watchOthers: false });
  try {
    const unsubscribe = options.onEvent ? service.subscribe(options.onEvent) : () => undefined;
    const run = await service.startRun(request);
    if (options.detach) return run;
    const result = await untilFinished(service, [run.id], options.signal);
    unsubscribe();
    return result[0];
  } finally {
    await service.close();
  }
}

/**
 * `clearsky run DIR --every-cloudy-date`: one run per cloudy date (Service.runCloudyDates), then, unless
 * --detach, works them to their end; `onPlanned` hears the dates' list first. Answers the runs at their end.
 */
export async function cloudyDatesCommand(dir: string, request: CloudyDatesRequestInput, options: RunCommandOptions & { onPlanned?: (result: CloudyDatesResult) => void } = {}): Promise<CloudyDatesResult> {
  const service = Service.open(dir, { ...options, jobs: !options.detach, watchOthers: false });
  try {
    const unsubscribe = options.onEvent ? service.subscribe(options.onEvent) : () => undefined;
    const result = await service.runCloudyDates(request);
    options.onPlanned?.(result);
    if (options.detach || result.runs.length === 0) return result;
    const runs = await untilFinished(service, result.runs.map((r) => r.id), options.signal);
    unsubscribe();
    return { ...result, runs };
  } finally {
    await service.close();
  }
}

/** The dates of a batch, one a line: run id and name, or why not. */
export function formatCloudyDates(result: CloudyDatesResult): string {
  const cover = (c: number | null) => (c === null ? '  ?  ' : `${(c * 100).toFixed(1).padStart(5)} %`);
  const lines = result.dates.map((d) => `${(d.acquired ?? d.name).padEnd(14)} ${cover(d.cloudCover)}  ${d.state === 'queued' ? `run ${d.runId} (mask ${d.maskId})` : `${d.state}: ${d.reason}`}`);
  if (result.reference) lines.unshift(`reference ${result.reference.id} (${result.reference.name})`);
  lines.push(`${result.runs.length} run${result.runs.length === 1 ? '' : 's'} in batch ${result.batch}`);
  return lines.join('\n');
}

export interface ResumeOutcome {
  /** The runs this process took over (free, or their owner gone) and worked to their end. */
  runs: RunRecord[];
  /** Unfinished runs a live process works (their lease says which): left alone. */
  leftAlone: RunRecord[];
}

/** Works every unfinished run that no live process works to its end. */
export async function resumeCommand(dir: string, options: RunCommandOptions = {}): Promise<ResumeOutcome> {
  const service = Service.open(dir, { ...options, watchOthers: false });
  try {
    const unsubscribe = options.onEvent ? service.subscribe(options.onEvent) : () => undefined;
    const taken = service.ownedRuns();
    const leftAlone = (await service.listRuns()).filter((r) => !isFinishedRun(r.status) && !taken.includes(r.id));
    const runs = await untilFinished(service, taken, options.signal);
    unsubscribe();
    return { runs, leftAlone };
  } finally {
    await service.close();
  }
}

export async function listRunsCommand(dir: string): Promise<RunRecord[]> {
  const service = Service.open(dir, { jobs: false });
  try {
    return await service.listRuns();
  } finally {
    await service.close();
  }
}

export async function cancelCommand(dir: string, runId: number): Promise<RunRecord> {
  const service = Service.open(dir, { jobs: false });
  try {
    return await service.cancelRun(runId);
  } finally {
    await service.close();
  }
}

/**
 * Resolves when every run in `ids` has finished or is no longer this process's (taken over by another);
 * Ctrl-C (the signal) stops waiting and leaves them resumable.
 */
function untilFinished(service: Service, ids: number[], signal?: AbortSignal): Promise<RunRecord[]> {
  return new Promise((resolve, reject) => {
    const check = async () => {
      const runs = (await service.listRuns()).filter((r) => ids.includes(r.id));
      if (runs.every((r) => isFinishedRun(r.status) || r.lease?.owner !== service.owner)) {
        unsubscribe();
        resolve(runs);
      }
    };
    const unsubscribe = service.subscribe((event) => {
      if (event.type === 'run') void check().catch(reject);
    });
    signal?.addEventListener('abort', () => {
      unsubscribe();
      reject(Object.assign(new Error('stopped; the run goes on with `clearsky resume`'), { name: 'AbortError' }));
    });
    void check().catch(reject);
  });
}

/** Copies a result layer out of the project (e.g. into a QGIS project folder) as a COG; with `quality`, its quality file too. Returns the files written. */
export async function exportCommand(dir: string, resultId: number, destination: string, quality = false): Promise<string[]> {
  const service = Service.open(dir, { jobs: false });
  try {
    const written = await service.exportResult({ resultId, destination, quality });
    return [written.path, ...(written.quality ? [written.quality] : [])];
  } finally {
    await service.close();
  }
}

/** Writes a finished run's QA report (one self-contained HTML file) outside the project. */
export async function reportCommand(dir: string, runId: number, destination: string): Promise<string> {
  const service = Service.open(dir, { jobs: false });
  try {
    return (await service.runReport({ runId, destination })).path;
  } finally {
    await service.close();
  }
}

export function formatRuns(runs: RunRecord[]): string {
  const lines = ['run  status      tiles done/cloudy  method/mode      created                   results (id kind)'];
  for (const r of runs) {
    const cloudy = r.tiles.total - r.tiles.clear;
    const how = r.request.method === 'dip' ? `dip/${r.request.mode}` : r.request.method;
    lines.push(`${String(r.id).padEnd(4)} ${r.status.padEnd(11)} ${`${r.tiles.done}/${cloudy}`.padEnd(18)} ${how.padEnd(16)} ${r.createdAt.padEnd(25)} ${r.results.map((x) => `${x.id} ${x.kind}`).join(', ')}${r.error ? `  (${r.error})` : ''}${r.lease ? `  [${formatLease(r.lease)}]` : ''}`);
    if (r.metrics) lines.push(`     ${formatMetrics(r.metrics)}`);
  }
  return lines.join('\n');
}

/** Who works an unfinished run: "worked by pid 1234 on host", or that its owner is gone and `resume` takes it over. */
export function formatLease(lease: NonNullable<RunRecord['lease']>): string {
  return lease.stale ? `was worked by ${describeOwner(lease.owner)}, which stopped: clearsky resume takes it over` : `worked by ${describeOwner(lease.owner)}`;
}

/** A ground-truth run's scores on one line (METHOD.md's ÷2000 scale). */
export function formatMetrics(metrics: RunMetrics): string {
  const figure = (value: number | null, digits = 3) => (value === null ? '–' : value.toFixed(digits));
  const { masked, whole } = metrics;
  return `vs ground truth: under the mask (${metrics.maskedPixels} px) SSIM ${figure(masked.ssim)} RMSE ${figure(masked.rmse)} PSNR ${figure(masked.psnr, 1)} dB SAM ${figure(masked.sam)} rad; whole SSIM ${figure(whole.ssim)} RMSE ${figure(whole.rmse)}`;
}
