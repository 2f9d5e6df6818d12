/** `clearsky export`: a run's result layer copied out of the project as a COG. */
import { exportCommand } from '../commands/runs.ts';
import { UsageError, integer, type Options, type ParsedArgs } from './args.ts';

export const summary = 'write a result layer of a project to a GeoTIFF outside it';

export const usage = `clearsky export DIR RESULT_ID OUT.tif
                a run's result layer, as a Cloud Optimized GeoTIFF (ids: clearsky runs DIR)`;

export const options = {} satisfies Options;

export const positionals = true;

export async function run({ positionals: words }: ParsedArgs): Promise<number> {
  if (words.length !== 3) throw new UsageError('usage: clearsky export DIR RESULT_ID OUT.tif');
  console.error(`wrote ${await exportCommand(words[0], integer(words[1], 'RESULT_ID'), words[2])}`);
  return 0;
}
