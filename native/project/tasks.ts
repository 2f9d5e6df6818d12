/**
 * Long actions that are not runs — an import, building a reference, detecting clouds, an export, a QA report —
 * as tasks: each gets an id, an AbortController and progress events (`TaskEvent` in ../api/contract.ts), and
 * `cancelTask(id)` aborts it. The work itself checks `task.signal` between its blocks (`throwIfCancelled` in
 * errors.ts) and writes its files atomically (raster/tiff/atomic-file.ts), so a cancelled task leaves no file and,
 * recording last, no catalogue row.
 *
 * A task ends in one of two ways when cancelled: work that throws after the abort (most) rejects with a
 * CancelledError; work that notices the abort, stops early and returns what it did (a folder import keeps the
 * files done and lists the rest) resolves with that value, and its last event says 'cancelled' all the same.
 *
 * Runs have their own, persistent progress and cancel (jobs/); tasks live only as long as their call.
 */
import { randomBytes } from 'node:crypto';
import type { TaskEvent } from '../api/contract.ts';
import { CancelledError } from '../errors.ts';

/** What a task's work gets: the signal to check between blocks, and where to say how far it is. */
export interface TaskContext {
  readonly signal: AbortSignal;
  /** `done` of `total` at `step` (the step's name is kept until another is given). */
  progress(done: number, total: number, step?: string): void;
}

/** A task context for work nobody follows or cancels (the command line, tests). */
export const UNFOLLOWED: TaskContext = { signal: new AbortController().signal, progress: () => undefined };


export class Tasks {
  private readonly running = new Map<string, { controller: AbortController; group: string | undefined }>();
  private readonly listeners = new Set<(event: TaskEvent) => void>();
  // Ids differ between services (projects opened one after another), so a stale Cancel stops nothing new.
  private readonly prefix = randomBytes(3).toString('hex');
  private next = 1;

  /**
   * Runs `work` as a task named `label`. A task of the same `group` still going on is cancelled first (a newer
   * detection preview replaces the older one). Cancelled, it rejects with a CancelledError "<label> cancelled", or
   * resolves with what `work` returned if it returned (it stopped early). `signal` (Ctrl-C on the command line)
   * cancels it too.
   */
  async run<T>(label: string, work: (task: TaskContext) => Promise<T>, options: { group?: string; signal?: AbortSignal } = {}): Promise<T> {
    if (options.group !== undefined) {
      for (const other of this.running.values()) if (other.group === options.group) other.controller.abort();
    }
    const taskId = `${this.prefix}-${this.next++}`;
    const controller = new AbortController();
    this.running.set(taskId, { controller, group: options.group });
    const outer = options.signal;
    const abort = () => controller.abort();
    if (outer?.aborted) abort();
    outer?.addEventListener('abort', abort);
    let last = { step: '', done: 0, total: 0 };
    let sentPercent = -1;
    const send = (state: TaskEvent['state']) => this.emit({ type: 'task', taskId, label, ...last, state });
    const task: TaskContext = {
      signal: controller.signal,
      progress: (done, total, step = last.step) => {
        // At most one event per whole percent of a step (a 1-GB file hashed in 1-MiB chunks sends 101, not 1000).
        const percent = total > 0 ? Math.floor((100 * done) / total) : 0;
        const due = step !== last.step || total !== last.total || percent !== sentPercent;
        last = { step, done, total };
        if (!due) return;
        sentPercent = percent;
        send('running');
      },
    };
    try {
      const value = await work(task);
      // Aborted but returned: the work stopped early and says what it did.
      send(controller.signal.aborted ? 'cancelled' : 'done');
      return value;
    } catch (error) {
      // Aborted, whatever the work threw on its way out (a closed stream, say), it was cancelled.
      if (!controller.signal.aborted) {
        send('failed');
        throw error;
      }
      send('cancelled');
      throw new CancelledError(`${label} cancelled`);
    } finally {
      outer?.removeEventListener('abort', abort);
      this.running.delete(taskId);
    }
  }

  /** Aborts a task; false when there is no such task going on (it ended already). */
  cancel(taskId: string): boolean {
    const task = this.running.get(taskId);
    task?.controller.abort();
    return task !== undefined;
  }

  /** The ids of the tasks going on. */
  ids(): string[] {
    return [...this.running.keys()];
  }

  subscribe(listener: (event: TaskEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Cancels every task (the project is being closed). */
  cancelAll(): void {
    for (const task of this.running.values()) task.controller.abort();
  }

  private emit(event: TaskEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch {
        // One broken listener must not stop the others, nor the task.
      }
    }
  }
}
