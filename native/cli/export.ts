/** `clearsky export`: a run's result layer copied out of the project as a COG (and its quality file). */
import { exportCommand } from '../commands/runs.ts';
import { UsageError, integer, type Options, type ParsedArgs } from './args.ts';

export const summary = 'write a result layer of a project to a GeoTIFF outside it';

export const usage = `clearsky export DIR RESULT_ID OUT.tif [--quality]
                a run's result layer, as a Cloud Optimized GeoTIFF (ids: clearsky runs DIR)
                --quality: also OUT.quality.json (a reconstruction's per-tile loss, seed spread, loss curves)`;

export const options = { quality: { type: 'boolean', default: false } } satisfies Options;

export const positionals = true;

export async function run({ values: v, positionals: words }: ParsedArgs): Promise<number> {
  if (words.length !== 3) throw new UsageError('usage: clearsky export DIR RESULT_ID OUT.tif [--quality]');
  for (const written of await exportCommand(words[0], integer(words[1], 'RESULT_ID'), words[2], v.quality === true)) console.error(`wrote ${written}`);
  return 0;
}
