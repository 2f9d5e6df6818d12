/**
 * The long actions going on in the back end that are not runs (imports, references, detections, exports,
 * reports): the latest `task` event of each, from the API's event stream, until it ends. Cancel asks the back
 * end to stop one (`cancelTask`); the action's own command then fails with "… cancelled" (a folder import
 * instead answers with the files done and those not imported).
 */
import type { ApiEvent, ClearskyApi, TaskEvent } from '../../../native/api/contract.ts';
import { call } from '../tools/api-call.ts';

export class TasksState {
  /** Running tasks, oldest first. */
  running = $state<TaskEvent[]>([]);
  /** Tasks whose Cancel was sent and that have not ended yet. */
  cancelling = $state<string[]>([]);
  error = $state<string | null>(null);
  readonly #api: ClearskyApi;

  constructor(api: ClearskyApi) {
    this.#api = api;
  }

  apply(event: ApiEvent): void {
    if (event.type !== 'task') return;
    const index = this.running.findIndex((t) => t.taskId === event.taskId);
    if (event.state !== 'running') {
      if (index >= 0) this.running.splice(index, 1);
      this.cancelling = this.cancelling.filter((id) => id !== event.taskId);
    } else if (index >= 0) this.running[index] = event;
    else this.running.push(event);
  }

  async cancel(taskId: string): Promise<void> {
    this.cancelling = [...this.cancelling, taskId];
    const outcome = await call(this.#api, 'cancelTask', taskId);
    this.error = outcome.ok ? null : outcome.error;
  }
}
