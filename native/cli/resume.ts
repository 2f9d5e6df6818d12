/** `clearsky resume`: works a project's unfinished runs that no live process works, to their end. */
import { formatLease, formatRuns, resumeCommand } from '../commands/runs.ts';
import { BACKEND, JSON_OUTPUT, optionalInteger, projectDir, type Context, type Options, type ParsedArgs } from './args.ts';
import { eventPrinter } from './progress.ts';

export const summary = 'work the unfinished runs of a project no live process works (after a crash)';

export const usage = `clearsky resume DIR [--workers N] [--backend ...] [--queue redis://…] [--json]
                work the unfinished runs no live process works to their end
                --queue: tiles go to \`clearsky worker\` processes through Redis (the project keeps the URL)`;

export const options = {
  ...BACKEND, ...JSON_OUTPUT,
  workers: { type: 'string' },
  queue: { type: 'string' },
} satisfies Options;

export const positionals = true;

export async function run({ values: v, positionals: words }: ParsedArgs, context: Context): Promise<number> {
  const { runs, leftAlone } = await resumeCommand(projectDir(words), {
    queueUrl: v.queue as string | undefined, workers: optionalInteger(v.workers, '--workers'), backend: v.backend as string, signal: context.signal, onEvent: eventPrinter(),
  });
  for (const r of leftAlone) console.error(`run ${r.id}: left alone, ${r.lease ? formatLease(r.lease) : 'another process took it meanwhile'}`);
  console.log(v.json ? JSON.stringify(runs) : runs.length ? formatRuns(runs) : leftAlone.length ? 'no unfinished runs to take over' : 'no unfinished runs');
  return 0;
}
