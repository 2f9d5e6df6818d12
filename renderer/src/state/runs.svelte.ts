/**
 * The runs of the open project as the page shows them: the records (newest first), the chosen run, and the
 * live state of runs going on (tile progress, tiles finished so far, ETA), kept current from the API's
 * events. The merging rules are the pure functions of `run-events.ts`; this module holds their results in
 * runes and makes the calls they need.
 */
import { isActiveRun, isFinishedRun, type ApiEvent, type ClearskyApi, type RunRecord } from '../../../native/api/contract.ts';
import { call } from '../tools/api-call.ts';
import { addProgress, type LiveLoss, type QualityBy } from './loss-curves.ts';
import { addFinishedTiles, applyRunEvent, emptyLive, followLiveTiles, followsLiveTiles, forgetRun, upsertRun, type RunLive } from './run-events.ts';

/** Runs whose finished tiles the map shows one by one: those going on, and cancelled ones (they have no mosaic). */
function showsLiveTiles(status: RunRecord['status']): boolean {
  return isActiveRun(status) || status === 'cancelled';
}

export class RunsState {
  runs = $state<RunRecord[]>([]);
  selectedRunId = $state<number | null>(null);
  /** Replaced whole by each update (the pure functions return new values), so not deeply reactive. */
  live = $state.raw<RunLive>(emptyLive());
  readonly selectedRun = $derived(this.runs.find((r) => r.id === this.selectedRunId) ?? null);
  /** The loss of the tiles being fitted, per seed, as the progress events said it (the curves grow live). */
  liveLoss = $state.raw<LiveLoss>({});
  /** The selected run's tile whose loss curve is shown; null: the whole run's. */
  lossTile = $state<number | null>(null);
  /** What the run's tile outlines on the map show: their state, or a quality signal. */
  qualityBy = $state<QualityBy>('status');
  /** Counts the selected run's finished tiles as they come: the loss panel fetches the stored curves again. */
  curvesVersion = $state(0);

  readonly #api: ClearskyApi;
  readonly #onerror: (message: string) => void;

  constructor(api: ClearskyApi, onerror: (message: string) => void) {
    this.#api = api;
    this.#onerror = onerror;
  }

  /** The project's runs as listed by the catalogue; the page follows the finished tiles of those going on. */
  replace(list: RunRecord[]): void {
    this.runs = list;
    for (const run of list) if (showsLiveTiles(run.status)) void this.#seedLiveTiles(run.id);
  }

  /** A run record from a reply (start, cancel) or an event; an older picture of a run does not replace a newer one. */
  upsert(run: RunRecord, resumed = false): void {
    const next = upsertRun(this.runs, run, resumed);
    if (next !== this.runs) this.runs = next;
  }

  /** Another project: none of the last one's runs is chosen or followed. */
  reset(): void {
    this.selectedRunId = null;
    this.lossTile = null;
    this.liveLoss = {};
    this.live = { ...this.live, progress: {}, eta: {} };
  }

  /** Follows one API event: the run's record, its live tiles and progress. */
  apply(event: ApiEvent): void {
    if (event.type === 'run') {
      this.upsert(event.run);
      if (showsLiveTiles(event.run.status)) void this.#seedLiveTiles(event.run.id);
    }
    this.live = applyRunEvent(this.live, event);
    if (event.type === 'progress') {
      const run = this.runs.find((r) => r.id === event.runId);
      // A tile's steps count on across its seeds: the run's steps per seed say where each seed starts.
      if (run) this.liveLoss = addProgress(this.liveLoss, event, run.request.steps);
    } else if (event.type === 'tile' && event.runId === this.selectedRunId && event.tile.status === 'done') {
      this.curvesVersion++;
    }
    if (event.type === 'run' && isFinishedRun(event.run.status) && event.run.id in this.liveLoss) {
      // Its curves are stored now (runLossCurves): the live points go.
      const { [event.run.id]: _done, ...rest } = this.liveLoss;
      this.liveLoss = rest;
    }
    if (event.type === 'run' && isFinishedRun(event.run.status)) {
      // The finished record (with its result layers) from the catalogue itself.
      const id = event.run.id;
      void call(this.#api, 'getRun', id).then((outcome) => {
        if (outcome.ok) {
          const { tileList: _tiles, ...run } = outcome.value;
          this.upsert(run);
        }
      });
    }
  }

  async cancel(run: RunRecord): Promise<void> {
    const outcome = await call(this.#api, 'cancelRun', run.id);
    if (outcome.ok) this.upsert(outcome.value);
    else this.#onerror(outcome.error);
  }

  /** Cancels every run of a batch still to finish (finished tiles are kept). */
  async cancelBatch(batch: string): Promise<void> {
    const outcome = await call(this.#api, 'cancelBatch', { batch });
    if (!outcome.ok) return this.#onerror(outcome.error);
    for (const run of outcome.value) this.upsert(run);
  }

  /** Runs just queued (a batch): listed at once, before their events come. */
  added(list: RunRecord[]): void {
    for (const run of list) this.upsert(run);
  }

  /** Deletes a run that is over (its files in the project go; exports elsewhere stay). */
  async delete(run: RunRecord): Promise<boolean> {
    const outcome = await call(this.#api, 'deleteRun', run.id);
    if (!outcome.ok) {
      this.#onerror(outcome.error);
      return false;
    }
    this.runs = this.runs.filter((r) => r.id !== run.id);
    this.live = forgetRun(this.live, run.id);
    if (this.selectedRunId === run.id) this.selectedRunId = null;
    return true;
  }

  /** A cancelled run goes on (`resumeRun`), or is finished as it is (`finishRun`: its finished tiles mosaicked). */
  async reopen(run: RunRecord, how: 'resumeRun' | 'finishRun'): Promise<void> {
    const outcome = await call(this.#api, how, run.id);
    if (outcome.ok) this.upsert(outcome.value, true);
    else this.#onerror(outcome.error);
  }

  /** The tiles a run finished before this page knew of it (opened mid-run); later ones come as events. */
  async #seedLiveTiles(runId: number): Promise<void> {
    if (followsLiveTiles(this.live, runId)) return;
    this.live = followLiveTiles(this.live, runId);
    const outcome = await call(this.#api, 'getRun', runId);
    if (!outcome.ok || !showsLiveTiles(outcome.value.status)) return;
    this.live = addFinishedTiles(this.live, runId, outcome.value.tileList);
  }
}
