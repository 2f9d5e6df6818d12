/** `clearsky inpaint`: one scene's cloudy pixels reconstructed into a GeoTIFF, outside any project. */
import { METHODS } from '../api/contract.ts';
import { runInpaint } from '../commands/inpaint.ts';
import { parseBackendChoice } from '../dip/backends/select.ts';
import { parseMode } from '../dip/modes.ts';
import { parseBandList } from '../raster/sentinel/bands.ts';
import { BACKEND, CHOICES, JSON_OUTPUT, SOURCES, STEPS, oneOf, optionalInteger, required, sarOptions, seedsFrom, type Context, type Options, type ParsedArgs } from './args.ts';
import { progressPrinter, tilePrinter } from './progress.ts';

/** `clearsky inpaint` wrote its output, but some cloudy tiles failed and keep the input (main.ts lists the statuses). */
export const PARTIAL_EXIT = 4;

export const summary = 'reconstruct the clouds of one scene into a GeoTIFF';

export const usage = `clearsky inpaint --target S2.tif --mask M.tif [--mask-band N] [--reference R.tif ...] [--sar S1.tif]
                 [--sar-bands VV,VH] [--sar-units linear|db] [--bands B04,B03,B02] --mode ${CHOICES.mode}
                 [--steps 4000] [--method ${CHOICES.method}]
                 [--seed 0 | --seeds 0,1,2,3] [--backend ${CHOICES.backend}] [--stitch]
                 [--tile 256] [--overlap 32] [--uncertainty SPREAD.tif] [--mask-out MASK.tif] [--quality] [--resample]
                 [--queue redis://[user:password@]host:port[/db]] --out OUT.tif [--json]`;

export const options = {
  ...SOURCES, ...BACKEND, ...STEPS, ...JSON_OUTPUT,
  mask: { type: 'string' },
  'mask-band': { type: 'string' },
  mode: { type: 'string' },
  method: { type: 'string', default: 'dip' },
  stitch: { type: 'boolean', default: false },
  tile: { type: 'string' },
  overlap: { type: 'string' },
  uncertainty: { type: 'string' },
  'mask-out': { type: 'string' },
  quality: { type: 'boolean', default: false },
  resample: { type: 'boolean', default: false },
  queue: { type: 'string' },
  out: { type: 'string' },
} satisfies Options;

export async function run({ values: v }: ParsedArgs, context: Context): Promise<number> {
  const result = await runInpaint({
    target: required(v.target, '--target'),
    mask: required(v.mask, '--mask'),
    maskBand: optionalInteger(v['mask-band'], '--mask-band') ?? 1,
    references: (v.reference as string[] | undefined) ?? [],
    sar: v.sar as string | undefined,
    ...sarOptions(v),
    bands: v.bands === undefined ? undefined : parseBandList(v.bands as string),
    method: oneOf(v.method as string, METHODS, '--method'),
    mode: v.mode === undefined ? undefined : parseMode(v.mode as string),
    steps: optionalInteger(v.steps, '--steps'),
    seeds: seedsFrom(v),
    backend: parseBackendChoice(v.backend as string),
    stitch: v.stitch as boolean,
    out: required(v.out, '--out'),
    tileSize: optionalInteger(v.tile, '--tile'),
    overlap: optionalInteger(v.overlap, '--overlap'),
    uncertainty: v.uncertainty as string | undefined,
    resample: v.resample as boolean,
    maskOut: v['mask-out'] as string | undefined,
    quality: v.quality === true,
    queue: v.queue as string | undefined,
    signal: context.signal,
    onProgress: progressPrinter(),
    onTileDone: tilePrinter(),
    onTileFailed: (label, reason) => console.error(`${label || 'the tile'} failed, keeps the input: ${reason}`),
  });
  if (v.json) console.log(JSON.stringify(result));
  else console.error(`wrote ${result.out}${result.quality ? ` and ${result.quality}` : ''} (${result.tiles.reconstructed} of ${result.tiles.total} tiles reconstructed, ${result.backend}, ${result.seconds.toFixed(1)} s, ${result.seconds_per_step.toFixed(3)} s/step)`);
  if (result.tiles.without_clear_pixels > 0) console.error(`warning: ${result.tiles.without_clear_pixels} tiles are entirely cloud and keep the input; try a larger --tile`);
  const failed = result.failed_tiles;
  if (failed.length === 0) return 0;
  // Written, but not all of it reconstructed: one line, and a status a script cannot take for success.
  const cloudy = result.tiles.reconstructed + failed.length;
  const [first] = failed;
  const more = failed.length > 1 ? `; and ${failed.length - 1} more, listed by --json` : '';
  console.error(`clearsky: ${failed.length} of ${cloudy} cloudy tiles failed and keep the input (row ${first.row + 1}, col ${first.col + 1}: ${first.reason.replace(/\s*\n\s*/g, ' ')}${more}); the others are reconstructed in ${result.out}`);
  return PARTIAL_EXIT;
}
