/**
 * `clearsky worker --queue URL`: a QueueWorker until it is stopped. SIGTERM (or Ctrl-C) stops taking tiles
 * and finishes the current ones; a second SIGTERM or Ctrl-C aborts them and hands them back to the queue.
 */
import { QueueWorker } from '../jobs/queue/queue-worker.ts';
import { checkQueueReachable, type QueueUrl } from '../jobs/queue/queue-url.ts';

export interface WorkerCommand {
  url: QueueUrl;
  backend: string;
  concurrency?: number;
}

export async function workerCommand(command: WorkerCommand): Promise<number> {
  const log = (line: string) => console.error(line);
  // A wrong address or password is told at once, before the engine is loaded.
  await checkQueueReachable(command.url);
  const worker = new QueueWorker({ ...command, log });
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals === 1) {
      log(`clearsky worker: ${signal}: finishing the tiles under way, taking no more`);
      void worker.stop();
    } else {
      log(`clearsky worker: ${signal} again: handing the tiles under way back to the queue`);
      void worker.abort();
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await worker.start();
    await worker.finished;
    log('clearsky worker: stopped');
    return 0;
  } catch (error) {
    await worker.abort().catch(() => {});
    throw error;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
