/**
 * `clearsky reference`: builds a multi-temporal reference GeoTIFF from clear (or masked) scenes — the
 * per-pixel mean (static, as the paper) or the latest clear observation before a date (dynamic) — streamed
 * tile by tile, in the scenes' digital numbers, on their grid, with their band descriptions. Inputs are all
 * checked before any pixel is read; outputs appear atomically, and a failure leaves none behind.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors.ts';
import { writeGeoTiffFromBlocks } from '../raster/tiff/geotiff-writer.ts';
import { AGE_NODATA, openReference, parseMaskChoice, type MaskChoice, type ReferenceMethod, type ReferenceScene } from '../raster/sentinel/reference.ts';
import { commonProvenance } from '../reconstruction/provenance.ts';
import { assertWritableFolder } from './output-folder.ts';
import { prepareOutputs } from '../project/output-guard.ts';

export interface ReferenceCommand {
  scenes: string[];
  /** One per scene, same order: "M.tif", "M.tif:BAND" (1-based) or "M.tif:YYYY-MM-DD". */
  masks?: (string | MaskChoice)[];
  bands?: string[];
  method: ReferenceMethod;
  /** YYYY-MM-DD, dynamic only. */
  date?: string;
  out: string;
  /** Dynamic only: also write a UInt16 raster of the chosen observation's age in days (0 = none). */
  age?: string;
}

export interface ReferenceSummary {
  out: string;
  age: string | null;
  method: ReferenceMethod;
  date: string | null;
  bands: (string | null)[];
  scenes: (ReferenceScene & { pixels: number })[];
  pixels: number;
  /** Pixels where no scene is clear: nodata in the output. */
  no_clear_observation: number;
  nodata: number;
  seconds: number;
}

export async function runReference(command: ReferenceCommand): Promise<ReferenceSummary> {
  if (command.age !== undefined && command.method !== 'dynamic') {
    throw new InputError(command.age, '--age is the age of a dynamic reference\'s observations; add --dynamic --date YYYY-MM-DD');
  }
  for (const out of [command.out, command.age]) if (out !== undefined) await assertWritableFolder(out);
  await prepareOutputs({
    inputs: [
      ...command.scenes.map((scene) => ({ path: scene, what: 'the scene' })),
      ...(command.masks ?? []).map((m) => ({ path: (typeof m === 'string' ? parseMaskChoice(m) : m).path, what: '--masks' })),
    ],
    outputs: [{ path: command.out, what: '--out' }, ...(command.age !== undefined ? [{ path: command.age, what: '--age' }] : [])],
  });
  const start = performance.now();
  const reference = await openReference({ scenes: command.scenes, masks: command.masks, bands: command.bands, method: command.method, date: command.date });
  let wroteOut = false;
  try {
    const metadata = { ...commonProvenance(), ...reference.metadata };
    await writeGeoTiffFromBlocks(command.out, reference, {
      dataType: reference.dataType,
      like: reference.like,
      bandNames: reference.bandNames,
      nodata: reference.nodata,
      metadata,
    });
    wroteOut = true;
    if (command.age !== undefined && reference.age) {
      await writeGeoTiffFromBlocks(command.age, reference.age, {
        dataType: 'uint16',
        like: reference.like,
        bandNames: ['AGE_DAYS'],
        nodata: AGE_NODATA,
        metadata: {
          ...metadata,
          CLEARSKY_REFERENCE_AGE: `days between the observation in ${path.basename(command.out)} and ${reference.date}; ${AGE_NODATA} where there is none`,
        },
      });
    }
  } catch (error) {
    if (wroteOut) await fs.rm(command.out, { force: true }).catch(() => undefined);
    throw error;
  } finally {
    await reference.close();
  }
  const stats = reference.stats();
  return {
    out: command.out,
    age: command.age ?? null,
    method: reference.method,
    date: reference.date,
    bands: reference.bandNames,
    scenes: reference.scenes.map((scene, i) => ({ ...scene, pixels: stats.pixelsPerScene[i] })),
    pixels: stats.pixels,
    no_clear_observation: stats.noClearObservation,
    nodata: reference.nodata,
    seconds: (performance.now() - start) / 1000,
  };
}

/** One line for the terminal: what was written and how much of it has no clear observation. */
export function formatReferenceSummary(summary: ReferenceSummary): string {
  const used = summary.scenes.filter((scene) => scene.used);
  const what =
    summary.method === 'static'
      ? `mean of ${used.length} scene${used.length === 1 ? '' : 's'}`
      : `latest clear of ${used.length} scene${used.length === 1 ? '' : 's'} before ${summary.date}`;
  const empty = summary.no_clear_observation;
  const share = summary.pixels > 0 ? ((100 * empty) / summary.pixels).toFixed(1) : '0';
  return (
    `wrote ${summary.out}${summary.age ? ` and ${summary.age}` : ''} (${what}, ${summary.bands.length} bands, ${summary.seconds.toFixed(1)} s); ` +
    `${empty} of ${summary.pixels} pixels (${share} %) have no clear observation and are nodata (${summary.nodata})`
  );
}
