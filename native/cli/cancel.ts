/** `clearsky cancel`: stops a run from anywhere, also while another process works it. */
import { cancelCommand, formatRuns } from '../commands/runs.ts';
import { JSON_OUTPUT, UsageError, integer, type Options, type ParsedArgs } from './args.ts';

export const summary = 'cancel a run (its finished tiles are kept)';

export const usage = `clearsky cancel DIR RUN_ID [--json]`;

export const options = { ...JSON_OUTPUT } satisfies Options;

export const positionals = true;

export async function run({ values: v, positionals: words }: ParsedArgs): Promise<number> {
  if (words.length !== 2) throw new UsageError('usage: clearsky cancel DIR RUN_ID');
  const cancelled = await cancelCommand(words[0], integer(words[1], 'RUN_ID'));
  console.log(v.json ? JSON.stringify(cancelled) : formatRuns([cancelled]));
  return 0;
}
