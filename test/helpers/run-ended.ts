/**
 * Waiting for a run to end (done, partial, failed or cancelled: `isFinishedRun`), the two ways tests drive runs:
 * a JobRunner's events, or a Service polled as the app's client would.
 */
import { isFinishedRun, type ApiEvent, type RunRecord, type RunStatus } from '../../native/api/contract.ts';
import type { JobRunner } from '../../native/jobs/runner.ts';
import type { Service } from '../../native/project/service.ts';

/** The run's final status, from the runner's run events; rejects with the run's record after `timeoutMs`. */
export function runnerRunEnded(runner: JobRunner, runId: number, timeoutMs = 120_000): Promise<RunStatus> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`run ${runId} did not finish: ${JSON.stringify(runner.store.record(runId))}`)), timeoutMs);
    const check = (event?: ApiEvent) => {
      if (event && event.type !== 'run') return;
      const status = runner.store.status(runId);
      if (isFinishedRun(status)) {
        clearTimeout(timer);
        unsubscribe();
        resolve(status);
      }
    };
    const unsubscribe = runner.subscribe(check);
    check();
  });
}

/** The run's record once it has ended, polling the service's run list every 200 ms for up to `timeoutMs`. */
export async function serviceRunEnded(service: Service, runId: number, timeoutMs = 120_000): Promise<RunRecord> {
  for (let waited = 0; waited < timeoutMs; waited += 200) {
    const run = (await service.listRuns()).find((r) => r.id === runId)!;
    if (isFinishedRun(run.status)) return run;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`run ${runId} did not finish`);
}
