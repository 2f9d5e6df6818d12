/** `clearsky runs`: a project's runs, their status, tiles, owner and result layers. */
import { formatRuns, listRunsCommand } from '../commands/runs.ts';
import { JSON_OUTPUT, projectDir, type Options, type ParsedArgs } from './args.ts';

export const summary = 'list the runs of a project (status, tiles, result layer ids)';

export const usage = `clearsky runs DIR [--json]`;

export const options = { ...JSON_OUTPUT } satisfies Options;

export const positionals = true;

export async function run({ values: v, positionals: words }: ParsedArgs): Promise<number> {
  const runs = await listRunsCommand(projectDir(words));
  console.log(v.json ? JSON.stringify(runs) : formatRuns(runs));
  return 0;
}
