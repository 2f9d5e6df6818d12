/**
 * `clearsky worker`: takes tile jobs from the queue (BullMQ on Redis) and hands each to a local worker process
 * of a WorkerPool (jobs/pool.ts: one per GPU, pinned, as for local runs). This process only brokers: its event
 * loop stays free, so BullMQ renews the job locks however long a tile takes, and a worker that dies (kill -9,
 * machine lost) stops renewing them: after the lock expires another worker's stalled-job check puts the tile
 * back on the queue for someone else.
 *
 * Every job is checked (schema, shapes, settings) before it goes anywhere; a malformed one fails at once with
 * the reason, and so do a user error and a cancel, without retry. One stderr line per tile.
 */
import os from 'node:os';
import { UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import type { FromWorker, Task } from '../protocol.ts';
import { WorkerPool, type WorkerLaunch } from '../pool.ts';
import { TILE_QUEUE_NAME } from './contract.ts';
import { checkQueueReachable, type QueueUrl } from './queue-url.ts';
import { bullConnection } from './tile-queue.ts';
import { cancelKey, checkTileJob, failureReason, type TileJobData, type TileProgressData, type TileResultData } from './tile-payload.ts';

export interface QueueWorkerOptions {
  url: QueueUrl;
  /** Backend choice for the local worker processes ('auto': the best this machine has). */
  backend: string;
  /** Tiles at once (and worker processes). Default: the pool's default (one per GPU, else one per two cores). */
  concurrency?: number;
  launch?: WorkerLaunch;
  /** One line for the user (stderr). */
  log(line: string): void;
  /**
   * How long a job stays locked without renewal before another worker takes it as stalled (ms). Default 60 s,
   * or CLEARSKY_QUEUE_LOCK_MS (tests shorten it). Locks are renewed every half of it while a tile runs.
   */
  lockMs?: number;
}

/** How a tile's task ended in the local worker process. */
type TaskEnd = { type: 'done'; result: TileResultData } | { type: 'failed'; error: string; userError: boolean; cancelled: boolean };

interface Running {
  job: Job;
  label: string;
  resolve(end: TaskEnd): void;
  onProgress(message: Extract<FromWorker, { type: 'progress' }>): void;
}

/** How often a running tile's run is looked up for a cancel mark (ms). */
const CANCEL_CHECK_MS = 1000;
/** A cancelled or handed-back task that has not stopped within this long has its worker process killed. */
const ABORT_GRACE_MS = 5000;

export class QueueWorker {
  private readonly pool: WorkerPool;
  private worker: Worker | undefined;
  private readonly running = new Map<number, Running>();
  private readonly idleWaiters: (() => void)[] = [];
  private taskCounter = 0;
  private handingBack = false;
  private stopping: Promise<void> | undefined;
  private backendDescription = '';
  private readonly ready: Promise<void>;
  private broken: ((reason: string) => void) | undefined;
  /** Settles when the worker has stopped (after stop() or abort(), or when the local workers cannot start). */
  readonly finished: Promise<void>;
  private finish!: (error?: Error) => void;

  constructor(private readonly options: QueueWorkerOptions) {
    this.finished = new Promise<void>((resolve, reject) => (this.finish = (error) => (error ? reject(error) : resolve())));
    let readyResolve!: () => void;
    this.ready = new Promise<void>((resolve, reject) => {
      readyResolve = resolve;
      this.broken = (reason) => reject(new Error(reason));
    });
    this.pool = new WorkerPool({
      backend: options.backend,
      workers: options.concurrency,
      launch: options.launch,
      onMessage: (_worker, message) => {
        if (message.type === 'ready') {
          this.backendDescription = message.backend;
          readyResolve();
        }
        if (message.type === 'progress') this.running.get(message.runId)?.onProgress(message);
        if (message.type === 'done') this.running.get(message.runId)?.resolve(message.queued ? { type: 'done', result: message.queued } : { type: 'failed', error: 'the worker sent no result', userError: false, cancelled: false });
        if (message.type === 'failed') this.running.get(message.runId)?.resolve({ type: 'failed', error: message.error, userError: message.userError, cancelled: message.cancelled });
        if (message.type === 'ready' || message.type === 'done' || message.type === 'failed') this.wakeIdleWaiters();
      },
      onCrash: (_worker, task, reason) => {
        if (task) this.running.get(task.run.runId)?.resolve({ type: 'failed', error: reason, userError: false, cancelled: false });
      },
      onBroken: (reason) => {
        this.broken?.(reason);
        options.log(`clearsky worker: ${reason}`);
        void this.abort().finally(() => this.finish(new Error(reason)));
      },
    });
  }

  /** Connects, waits for a local worker process to be ready, then takes jobs until stopped. */
  async start(): Promise<void> {
    const { url, log } = this.options;
    await checkQueueReachable(url);
    await this.ready;
    const lockDuration = this.options.lockMs ?? (Number(process.env.CLEARSKY_QUEUE_LOCK_MS) || 60_000);
    const concurrency = this.options.concurrency ?? this.pool.size;
    this.worker = new Worker(TILE_QUEUE_NAME, (job, token) => this.process(job, token), {
      connection: bullConnection(url),
      concurrency,
      lockDuration,
      stalledInterval: Math.max(500, Math.floor(lockDuration / 2)),
      // Stalls count against the job's own attempts (see process): BullMQ's per-worker limit must not come first.
      maxStalledCount: 1000,
      name: `clearsky@${os.hostname()}:${process.pid}`,
    });
    let lastError = 0;
    this.worker.on('error', (error) => {
      // A Redis outage repeats the same error many times a second: one line every 30 s is enough.
      if (Date.now() - lastError < 30_000) return;
      lastError = Date.now();
      log(`clearsky worker: queue ${url.display}: ${url.redact(error.message)}`);
    });
    await this.worker.waitUntilReady();
    log(`clearsky worker: taking tiles from ${url.display} (${TILE_QUEUE_NAME}), ${concurrency} at a time on ${this.backendDescription}`);
  }

  /** Takes no more jobs, finishes the current ones, then stops. */
  stop(): Promise<void> {
    if (!this.stopping) {
      if (this.running.size > 0) this.options.log(`clearsky worker: stopping after the ${this.running.size} tile(s) under way (stop again to hand them back to the queue)`);
      this.stopping = this.close();
    }
    return this.stopping;
  }

  /** Takes no more jobs, aborts the current ones and puts them back on the queue for another worker, then stops. */
  abort(): Promise<void> {
    this.handingBack = true;
    this.wakeIdleWaiters();
    for (const runId of this.running.keys()) this.pool.cancel(runId, ABORT_GRACE_MS);
    return this.stop();
  }

  private async close(): Promise<void> {
    try {
      await this.worker?.close();
    } finally {
      await this.pool.close();
      this.finish();
    }
  }

  private async process(job: Job, token: string | undefined): Promise<TileResultData> {
    const { log } = this.options;
    let data: TileJobData;
    try {
      data = checkTileJob(job.data, `queue job ${job.id}`);
    } catch (error) {
      const message = (error as Error).message;
      log(`job ${job.id} refused: ${message}`);
      throw new UnrecoverableError(failureReason(message, { userError: true, cancelled: false }));
    }
    const label = `tile ${data.runKey}:${data.tileIndex}`;
    const attempts = job.opts.attempts ?? 1;
    // A worker that died or stalled with the tile used one of its tries, as a failure would have.
    if (job.attemptsStarted > attempts) {
      const reason = `tried ${attempts} time${attempts === 1 ? '' : 's'}; each time the worker died or stalled`;
      log(`${label} failed: ${reason}`);
      throw new UnrecoverableError(reason);
    }
    const client = await this.worker!.client;
    const cancelled = async () => (await client.get(cancelKey(data.runKey))) !== null;
    if (await cancelled()) {
      log(`${label} cancelled: the run was cancelled before it started`);
      throw new UnrecoverableError(failureReason('the run was cancelled', { userError: false, cancelled: true }));
    }
    const runId = ++this.taskCounter;
    let sawCancel = false;
    const ended = new Promise<TaskEnd>((resolve) => {
      const check = setInterval(() => {
        cancelled()
          .then((yes) => {
            if (yes && !sawCancel) {
              sawCancel = true;
              this.pool.cancel(runId, ABORT_GRACE_MS);
            }
          })
          .catch(() => {}); // Redis away for a moment: looked at again in a second
      }, CANCEL_CHECK_MS);
      this.running.set(runId, {
        job,
        label,
        resolve: (taskEnd) => {
          clearInterval(check);
          if (this.running.delete(runId)) resolve(taskEnd);
        },
        onProgress: (message) => {
          const progress: TileProgressData = { runKey: data.runKey, tileIndex: data.tileIndex, step: message.step, steps: message.steps, loss: message.loss, elapsedSeconds: message.elapsedSeconds };
          job.updateProgress(progress).catch(() => {});
        },
      });
    });
    if (await this.assignWhenIdle({ kind: 'queued-tile', run: { runId }, job: String(job.id), data: job.data })) {
      // Cancelled or stopped while the task waited for a free process: abort() and the check did not reach it.
      if (sawCancel || this.handingBack) this.pool.cancel(runId, ABORT_GRACE_MS);
    } else {
      this.running.get(runId)?.resolve({ type: 'failed', error: 'not started: this worker is stopping', userError: false, cancelled: false });
    }
    const end = await ended;
    if (end.type === 'done') {
      log(`${label} done in ${end.result.seconds.toFixed(1)} s on ${end.result.backend}`);
      return end.result;
    }
    if (this.handingBack) {
      // Back to waiting, its lock released: another worker takes it now, not after the stall check.
      await job.moveToWait(token);
      log(`${label} handed back to the queue (this worker is stopping)`);
      throw new WaitingError();
    }
    if (sawCancel || end.cancelled) {
      log(`${label} cancelled: the run was cancelled`);
      throw new UnrecoverableError(failureReason('the run was cancelled', { userError: false, cancelled: true }));
    }
    log(`${label} failed: ${end.error}`);
    if (end.userError) throw new UnrecoverableError(failureReason(end.error, end));
    throw new Error(end.error);
  }

  /**
   * Gives the task to a local worker process that is ready and free (one frees up as each tile ends, or a
   * crashed one is replaced), finding and assigning it in one go so that two jobs never get the same one.
   * False when the worker is handing its jobs back before one was free.
   */
  private async assignWhenIdle(task: Task): Promise<boolean> {
    for (;;) {
      if (this.handingBack) return false;
      const name = this.pool.idle();
      if (name) {
        this.pool.assign(name, task);
        return true;
      }
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
  }

  private wakeIdleWaiters(): void {
    for (const wake of this.idleWaiters.splice(0)) wake();
  }
}
