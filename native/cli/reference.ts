/** `clearsky reference`: the multi-temporal reference (a static mean or a dynamic latest-clear) as a file. */
import { formatReferenceSummary, runReference } from '../commands/reference.ts';
import { parseBandList } from '../raster/sentinel/bands.ts';
import { JSON_OUTPUT, UsageError, required, type Options, type ParsedArgs } from './args.ts';

export const summary = 'build a multi-temporal reference from clear scenes';

export const usage = `clearsky reference --out REF.tif SCENE.tif ... [--masks M.tif[:BAND] ... | --masks M.tif --mask-bands 1,4,...]
                   [--bands B04,B03,B02] [--dynamic --date YYYY-MM-DD [--age AGE.tif]] [--json]`;

export const options = {
  ...JSON_OUTPUT,
  out: { type: 'string' },
  masks: { type: 'string', multiple: true },
  'mask-bands': { type: 'string' },
  bands: { type: 'string' },
  dynamic: { type: 'boolean', default: false },
  date: { type: 'string' },
  age: { type: 'string' },
} satisfies Options;

export const positionals = true;

/** `--masks a.tif b.tif`: every word after --masks up to the next flag is a mask (scenes are the other words). */
export function prepare(rest: string[]): string[] {
  let flag = '';
  const args = rest.flatMap((arg) => {
    if (arg.startsWith('-')) flag = arg;
    return arg === '--masks' ? [] : flag === '--masks' && !arg.startsWith('-') ? ['--masks', arg] : [arg];
  });
  if (rest.includes('--masks') && !args.includes('--masks')) throw new UsageError('--masks needs one mask file per scene');
  return args;
}

export async function run({ values: v, positionals: scenes }: ParsedArgs): Promise<number> {
  if (scenes.length === 0) throw new UsageError('reference needs at least one scene (SCENE.tif ...)');
  let masks = v.masks as string[] | undefined;
  if (v['mask-bands'] !== undefined) {
    if (masks?.length !== 1) throw new UsageError('--mask-bands needs exactly one --masks file');
    masks = (v['mask-bands'] as string).split(',').map((band) => `${masks![0]}:${band.trim()}`);
  }
  if (masks && masks.length !== scenes.length) throw new UsageError(`${masks.length} mask${masks.length === 1 ? '' : 's'} for ${scenes.length} scene${scenes.length === 1 ? '' : 's'}: give one mask per scene, in the same order`);
  if (!v.dynamic && (v.date !== undefined || v.age !== undefined)) throw new UsageError('--date and --age are for a dynamic reference: add --dynamic');
  const result = await runReference({
    scenes, masks, bands: v.bands === undefined ? undefined : parseBandList(v.bands as string),
    method: v.dynamic ? 'dynamic' : 'static', date: v.dynamic ? required(v.date, '--date') : undefined,
    out: required(v.out, '--out'), age: v.age as string | undefined,
  });
  if (v.json) console.log(JSON.stringify(result));
  else console.error(formatReferenceSummary(result));
  return 0;
}
