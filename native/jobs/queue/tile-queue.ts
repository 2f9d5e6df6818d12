/**
 * The owner's side of the tile queue (contract.ts): tiles go to BullMQ as jobs with stable ids, outcomes come
 * back from QueueEvents and, so that a missed event (a Redis restart, a dropped connection, an owner that
 * was away) never loses one, from polling the owner's outstanding jobs every few seconds.
 */
import { Queue, QueueEvents, type ConnectionOptions } from 'bullmq';
import { TILE_QUEUE_NAME, type QueuedOutcome, type QueuedProgress, type QueuedTile, type TileQueueClient } from './contract.ts';
import { checkQueueReachable, parseQueueUrl, type QueueUrl } from './queue-url.ts';
import { cancelKey, decodeTileResult, encodeTileJob, parseFailureReason, TileProgressData, tileJobId } from './tile-payload.ts';

export interface TileQueueOptions {
  /** How often the outstanding jobs are looked at, besides the events (ms). Default 3000. */
  pollMs?: number;
  /** How long to try the first connection before giving up with an error (ms). Default 10 000. */
  connectTimeoutMs?: number;
  /** Where Redis errors (connection lost…) are reported, with the password hidden; default console.warn at most every 30 s. */
  onError?: (message: string) => void;
}

/** How long a run's cancel mark stays in Redis: longer than any worker takes to notice it. */
const CANCEL_TTL_SECONDS = 24 * 3600;
/**
 * The events stream keeps each finished job's return value (a tile's result, megabytes) beside the job until
 * it is trimmed: kept short, since QueueEvents readers only need the recent events and polling finds the rest.
 */
const EVENTS_MAX_LEN = 100;

/** BullMQ connection options for a queue URL: reconnect for ever, never fail a command while Redis is away. */
export function bullConnection(url: QueueUrl): ConnectionOptions {
  return { ...url.connection, maxRetriesPerRequest: null, retryStrategy: (times: number) => Math.min(times * 200, 2000) };
}

interface Outstanding {
  runKey: string;
  tileIndex: number;
  /** Redis holds the job (until then a poll must not take its absence for a loss). */
  added: boolean;
}

export class TileQueue implements TileQueueClient {
  readonly display: string;
  private readonly outstanding = new Map<string, Outstanding>();
  private readonly progressListeners = new Set<(runKey: string, tileIndex: number, progress: QueuedProgress) => void>();
  private readonly outcomeListeners = new Set<(runKey: string, tileIndex: number, outcome: QueuedOutcome) => void>();
  private readonly poller: NodeJS.Timeout;
  private polling = false;
  private closed = false;

  /** Connects (failing with a clear error, password hidden, when Redis cannot be reached) and starts listening. */
  static async open(url: string | QueueUrl, options: TileQueueOptions = {}): Promise<TileQueue> {
    const parsed = typeof url === 'string' ? parseQueueUrl(url) : url;
    await checkQueueReachable(parsed, options.connectTimeoutMs);
    const queue = new TileQueue(parsed, options);
    await Promise.all([queue.queue.waitUntilReady(), queue.events.waitUntilReady()]);
    return queue;
  }

  private readonly queue: Queue;
  private readonly events: QueueEvents;

  private constructor(
    private readonly url: QueueUrl,
    options: TileQueueOptions,
  ) {
    this.display = url.display;
    const connection = bullConnection(url);
    this.queue = new Queue(TILE_QUEUE_NAME, { connection, streams: { events: { maxLen: EVENTS_MAX_LEN } } });
    this.events = new QueueEvents(TILE_QUEUE_NAME, { connection });
    const report = options.onError ?? throttledWarning(url.display);
    const onError = (error: Error) => report(url.redact(error.message));
    this.queue.on('error', onError);
    this.events.on('error', onError);
    this.events.on('completed', ({ jobId }) => this.look(jobId));
    this.events.on('failed', ({ jobId }) => this.look(jobId));
    this.events.on('progress', ({ data }) => {
      const progress = TileProgressData.safeParse(data);
      if (!progress.success) return;
      const { runKey, tileIndex, ...rest } = progress.data;
      for (const listener of this.progressListeners) listener(runKey, tileIndex, rest);
    });
    this.poller = setInterval(() => void this.poll(), options.pollMs ?? 3000);
  }

  async submit(tile: QueuedTile): Promise<void> {
    const id = tileJobId(tile.runKey, tile.tileIndex);
    const entry: Outstanding = { runKey: tile.runKey, tileIndex: tile.tileIndex, added: false };
    this.outstanding.set(id, entry);
    let state = await this.queue.getJobState(id);
    if (state === 'failed') {
      // A failure left from before (an earlier owner's try): removed, so that this submit really tries again.
      await this.queue.remove(id);
      state = 'unknown';
    }
    // Only a new job is encoded and sent; one already there (waiting, running, done) is followed as it is.
    if (state === 'unknown') await this.queue.add('tile', encodeTileJob(tile), { jobId: id, attempts: Math.max(1, tile.attempts), removeOnComplete: false, removeOnFail: false });
    entry.added = true;
    await this.look(id);
  }

  onProgress(listener: (runKey: string, tileIndex: number, progress: QueuedProgress) => void): () => void {
    this.progressListeners.add(listener);
    return () => this.progressListeners.delete(listener);
  }

  onOutcome(listener: (runKey: string, tileIndex: number, outcome: QueuedOutcome) => void): () => void {
    this.outcomeListeners.add(listener);
    return () => this.outcomeListeners.delete(listener);
  }

  async settle(runKey: string, tileIndex: number): Promise<void> {
    const id = tileJobId(runKey, tileIndex);
    this.outstanding.delete(id);
    await this.queue.remove(id);
  }

  async cancelRun(runKey: string): Promise<void> {
    const client = await this.queue.client;
    // Workers look for this mark before and while they work on a tile of the run.
    await client.set(cancelKey(runKey), '1', { EX: CANCEL_TTL_SECONDS });
    const prefix = `${encodeURIComponent(runKey)}#`;
    const waiting = (await this.queue.getRanges(['waiting', 'prioritized', 'delayed', 'paused'], 0, -1)).filter((id) => id.startsWith(prefix));
    for (const id of waiting) {
      // 0: a worker took it meanwhile; it sees the mark and fails it as cancelled.
      if ((await this.queue.remove(id)) === 1) this.deliver(id, { type: 'failed', error: 'the run was cancelled', userError: false, cancelled: true });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.poller);
    await Promise.all([this.events.close(), this.queue.close()]);
  }

  /** Tiles submitted here whose outcome has not come yet (for tests and diagnostics). */
  get pending(): number {
    return this.outstanding.size;
  }

  /** Looks at one outstanding job and delivers its outcome if it has ended. */
  private async look(id: string): Promise<void> {
    const entry = this.outstanding.get(id);
    if (!entry?.added || this.closed) return;
    try {
      const state = await this.queue.getJobState(id);
      let outcome: QueuedOutcome;
      const job = state === 'completed' || state === 'failed' ? await this.queue.getJob(id) : undefined;
      if (job && state === 'completed') {
        outcome = decodeTileResult(job.returnvalue, `queue job ${id}`);
      } else if (job && state === 'failed') {
        outcome = parseFailureReason(job.failedReason ?? 'failed');
      } else if (state === 'unknown' || state === 'completed' || state === 'failed') {
        outcome = { type: 'failed', error: `the job is no longer on the queue ${this.display} (removed, or Redis lost it)`, userError: false, cancelled: false };
      } else {
        return;
      }
      this.deliver(id, outcome);
    } catch (error) {
      const e = error as Error;
      // A result that is not a tile's is that tile's failure; a lost connection is looked at again next poll.
      if (e.name === 'PayloadError') this.deliver(id, { type: 'failed', error: e.message, userError: false, cancelled: false });
    }
  }

  private deliver(id: string, outcome: QueuedOutcome): void {
    const entry = this.outstanding.get(id);
    if (!entry) return; // already delivered (an event and a poll found it at once)
    this.outstanding.delete(id);
    for (const listener of this.outcomeListeners) listener(entry.runKey, entry.tileIndex, outcome);
  }

  /** One round trip for all outstanding jobs: which have ended (or vanished); only those are looked at. */
  private async poll(): Promise<void> {
    if (this.polling || this.closed) return;
    const ids = [...this.outstanding].filter(([, e]) => e.added).map(([id]) => id);
    if (ids.length === 0) return;
    this.polling = true;
    try {
      const client = await this.queue.client;
      const pipeline = client.pipeline();
      const { completed, failed } = this.queue.keys;
      for (const id of ids) pipeline.runCommand('zscore', [completed, id]).runCommand('zscore', [failed, id]).runCommand('exists', [this.queue.toKey(id)]);
      const answers = (await pipeline.exec()) ?? [];
      await Promise.all(
        ids.map((id, i) => {
          const [completed, failed, exists] = answers.slice(i * 3, i * 3 + 3).map(([error, value]) => (error ? undefined : value));
          const ended = completed !== null || failed !== null || exists === 0;
          return ended ? this.look(id) : undefined;
        }),
      );
    } catch {
      // Redis is away: the next poll tries again.
    } finally {
      this.polling = false;
    }
  }
}

function throttledWarning(display: string): (message: string) => void {
  let last = 0;
  return (message) => {
    const now = Date.now();
    if (now - last < 30_000) return;
    last = now;
    console.warn(`clearsky: queue ${display}: ${message}`);
  };
}
