/** `clearsky mask`: a cloud mask GeoTIFF from a mask, an SCL layer or a cloud probability, or detected in a scene. */
import { formatMaskSummary, runMask, type MaskCommand } from '../commands/mask.ts';
import { JSON_OUTPUT, UsageError, decimal, integerList, optionalInteger, required, type Options, type ParsedArgs } from './args.ts';

export const summary = 'make a cloud mask (from SCL, a probability or a mask, or detected in the scene)';

export const usage = `clearsky mask --out MASK.tif (--from M.tif | --from-scl SCL.tif [--classes 3,8,9,10]
              | --from-probability P.tif --threshold 0.4 [--scale 255]) [--band N] [--dilate N]
              [--like TARGET.tif] [--geojson OUTLINE.geojson] [--json]
clearsky mask --out MASK.tif --detect S2.tif [--threshold 0.2] [--dilate N] [--shadows | --no-shadows]
              [--sun-azimuth DEG --sun-zenith DEG] [--offset DN] [--geojson OUTLINE.geojson] [--json]
              finds cloud and shadow in an L1C/L2A scene's own bands; an SCL layer or a cloud
              probability, where you have one, is the better source (--from-scl, --from-probability)`;

export const options = {
  ...JSON_OUTPUT,
  out: { type: 'string' },
  from: { type: 'string' },
  'from-scl': { type: 'string' },
  'from-probability': { type: 'string' },
  detect: { type: 'string' },
  classes: { type: 'string' },
  threshold: { type: 'string' },
  scale: { type: 'string' },
  band: { type: 'string' },
  dilate: { type: 'string' },
  like: { type: 'string' },
  geojson: { type: 'string' },
  shadows: { type: 'boolean' },
  'no-shadows': { type: 'boolean' },
  'sun-azimuth': { type: 'string' },
  'sun-zenith': { type: 'string' },
  offset: { type: 'string' },
} satisfies Options;

const SOURCE_FLAGS = ['from', 'from-scl', 'from-probability', 'detect'] as const;
const DETECT_ONLY = ['shadows', 'no-shadows', 'sun-azimuth', 'sun-zenith', 'offset'] as const;

export async function run({ values: v }: ParsedArgs): Promise<number> {
  const given = SOURCE_FLAGS.filter((flag) => v[flag] !== undefined);
  if (given.length !== 1) throw new UsageError('mask needs exactly one of --from, --from-scl, --from-probability, --detect');
  const from = given[0] === 'detect' ? detection(v) : imported(v, given[0]);
  const result = await runMask({
    out: required(v.out, '--out'),
    ...from,
    dilate: optionalInteger(v.dilate, '--dilate') ?? 0,
    like: v.like as string | undefined,
    geojson: v.geojson as string | undefined,
  });
  if (v.json) console.log(JSON.stringify(result));
  else console.error(formatMaskSummary(result));
  return 0;
}

/** `--detect S2.tif` and the flags only detection takes. */
function detection(v: ParsedArgs['values']): Pick<MaskCommand, 'detect'> {
  if (v.shadows && v['no-shadows']) throw new UsageError('give --shadows or --no-shadows, not both');
  if ((v['sun-azimuth'] === undefined) !== (v['sun-zenith'] === undefined)) throw new UsageError('--sun-azimuth and --sun-zenith go together');
  if (v.band !== undefined || v.classes !== undefined || v.scale !== undefined) throw new UsageError('--band, --classes and --scale are not for --detect');
  return {
    detect: {
      path: v.detect as string,
      options: {
        threshold: v.threshold === undefined ? undefined : decimal(v.threshold, '--threshold'),
        shadows: !v['no-shadows'],
        sun: v['sun-azimuth'] === undefined ? undefined : { azimuth: decimal(v['sun-azimuth'], '--sun-azimuth'), zenith: decimal(v['sun-zenith'], '--sun-zenith') },
        offset: v.offset === undefined ? undefined : decimal(v.offset, '--offset'),
      },
    },
  };
}

/** `--from`, `--from-scl` or `--from-probability`: a mask made from a raster someone made. */
function imported(v: ParsedArgs['values'], flag: Exclude<(typeof SOURCE_FLAGS)[number], 'detect'>): Pick<MaskCommand, 'source'> {
  const detectOnly = DETECT_ONLY.filter((name) => v[name] !== undefined);
  if (detectOnly.length) throw new UsageError(`--${detectOnly[0]} is for --detect`);
  const kind = flag === 'from' ? 'binary' : flag === 'from-scl' ? 'scl' : 'probability';
  if (v.classes !== undefined && kind !== 'scl') throw new UsageError('--classes is for --from-scl');
  if ((v.threshold !== undefined || v.scale !== undefined) && kind !== 'probability') throw new UsageError('--threshold and --scale are for --from-probability');
  return {
    source: {
      kind,
      path: required(v[flag], `--${flag}`),
      band: optionalInteger(v.band, '--band'),
      classes: v.classes === undefined ? undefined : integerList(v.classes as string, '--classes'),
      threshold: kind === 'probability' ? decimal(required(v.threshold, '--threshold'), '--threshold') : undefined,
      scale: v.scale === undefined ? undefined : decimal(v.scale, '--scale'),
    },
  };
}
