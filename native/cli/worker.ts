/** `clearsky worker`: takes tile tasks from a Redis queue until stopped (scale-out). */
import { workerCommand } from '../commands/worker.ts';
import { parseBackendChoice } from '../dip/backends/select.ts';
import { parseQueueUrl } from '../jobs/queue/queue-url.ts';
import { BACKEND, CHOICES, UsageError, optionalInteger, required, type Context, type Options, type ParsedArgs } from './args.ts';

export const summary = 'compute tiles from a queue (BullMQ on Redis) for runs on other machines';

export const usage = `clearsky worker --queue redis://[user:password@]host:port[/db] [--backend ${CHOICES.backend}] [--concurrency N]
                take tile tasks from a queue (BullMQ on Redis; rediss:// for TLS) until stopped:
                SIGTERM finishes the tiles under way, a second one hands them back to the queue`;

export const options = {
  ...BACKEND,
  queue: { type: 'string' },
  concurrency: { type: 'string' },
} satisfies Options;

export async function run({ values: v }: ParsedArgs, context: Context): Promise<number> {
  const concurrency = optionalInteger(v.concurrency, '--concurrency');
  if (concurrency !== undefined && concurrency < 1) throw new UsageError('--concurrency must be at least 1');
  context.ownSignals();
  return workerCommand({ url: parseQueueUrl(required(v.queue, '--queue')), backend: parseBackendChoice(v.backend as string), concurrency });
}
