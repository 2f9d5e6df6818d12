/** `clearsky report`: a finished run's QA report, one self-contained HTML file. */
import { reportCommand } from '../commands/runs.ts';
import { UsageError, integer, type Options, type ParsedArgs } from './args.ts';

export const summary = "write a finished run's QA report (one HTML file)";

export const usage = `clearsky report DIR RUN_ID --out REPORT.html
                a finished run's QA report: one HTML file (print it to PDF)`;

export const options = { out: { type: 'string' } } satisfies Options;

export const positionals = true;

export async function run({ values: v, positionals: words }: ParsedArgs): Promise<number> {
  if (words.length !== 2 || typeof v.out !== 'string') throw new UsageError('usage: clearsky report DIR RUN_ID --out REPORT.html');
  console.error(`wrote ${await reportCommand(words[0], integer(words[1], 'RUN_ID'), v.out)}`);
  return 0;
}
