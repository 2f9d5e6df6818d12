/**
 * Runs in a project from the command line, for batch and remote use: `clearsky run` queues a run and (unless
 * --detach) works the project's queue until it ends, `clearsky resume` works the queue until it is empty (after
 * a crash, a reboot, or runs queued with --detach), `clearsky runs` lists them, `clearsky cancel` stops one.
 * All of them go through the Service, as the desktop app does.
 */
import type { ApiEvent, RunMetrics, RunRecord, RunRequestInput } from '../api.ts';
import { Service, type ServiceOptions } from '../service.ts';

const FINISHED = ['done', 'partial', 'failed', 'cancelled'];

export interface RunCommandOptions extends ServiceOptions {
  detach?: boolean;
  signal?: AbortSignal;
  onEvent?: (event: ApiEvent) => void;
}

export async function runCommand(dir: string, request: RunRequestInput, options: RunCommandOptions = {}): Promise<RunRecord> {
  const service = Service.open(dir, { ...options, jobs: !options.detach });
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

/** Works every unfinished run of the project to its end; returns them. */
export async function resumeCommand(dir: string, options: RunCommandOptions = {}): Promise<RunRecord[]> {
  const service = Service.open(dir, options);
  try {
    const unsubscribe = options.onEvent ? service.subscribe(options.onEvent) : () => undefined;
    const active = (await service.listRuns()).filter((r) => !FINISHED.includes(r.status)).map((r) => r.id);
    const runs = await untilFinished(service, active, options.signal);
    unsubscribe();
    return runs;
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

/** Resolves when every run in `ids` has finished; Ctrl-C (the signal) stops waiting and leaves them resumable. */
function untilFinished(service: Service, ids: number[], signal?: AbortSignal): Promise<RunRecord[]> {
  return new Promise((resolve, reject) => {
    const check = async () => {
      const runs = (await service.listRuns()).filter((r) => ids.includes(r.id));
      if (runs.every((r) => FINISHED.includes(r.status))) {
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

/** Copies a result layer out of the project (e.g. into a QGIS project folder) as a COG. */
export async function exportCommand(dir: string, resultId: number, destination: string): Promise<string> {
  const service = Service.open(dir, { jobs: false });
  try {
    return (await service.exportResult({ resultId, destination })).path;
  } finally {
    await service.close();
  }
}

export function formatRuns(runs: RunRecord[]): string {
  const lines = ['run  status      tiles done/cloudy  method/mode      created                   results (id kind)'];
  for (const r of runs) {
    const cloudy = r.tiles.total - r.tiles.clear;
    const how = r.request.method === 'dip' ? `dip/${r.request.mode}` : r.request.method;
    lines.push(`${String(r.id).padEnd(4)} ${r.status.padEnd(11)} ${`${r.tiles.done}/${cloudy}`.padEnd(18)} ${how.padEnd(16)} ${r.createdAt.padEnd(25)} ${r.results.map((x) => `${x.id} ${x.kind}`).join(', ')}${r.error ? `  (${r.error})` : ''}`);
    if (r.metrics) lines.push(`     ${formatMetrics(r.metrics)}`);
  }
  return lines.join('\n');
}

/** A ground-truth run's scores on one line (METHOD.md's ÷2000 scale). */
export function formatMetrics(metrics: RunMetrics): string {
  const figure = (value: number | null, digits = 3) => (value === null ? '–' : value.toFixed(digits));
  const { masked, whole } = metrics;
  return `vs ground truth: under the mask (${metrics.maskedPixels} px) SSIM ${figure(masked.ssim)} RMSE ${figure(masked.rmse)} PSNR ${figure(masked.psnr, 1)} dB SAM ${figure(masked.sam)} rad; whole SSIM ${figure(whole.ssim)} RMSE ${figure(whole.rmse)}`;
}
