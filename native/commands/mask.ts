/**
 * `clearsky mask`: a cloud mask GeoTIFF (UInt8, 1 = cloud, 0 = clear) from a binary mask, a Sentinel-2 SCL
 * layer or a cloud-probability raster, on the target's grid (`like`) or the source's own, optionally dilated,
 * optionally with its outline as GeoJSON. Everything that can be checked is checked before any pixel is
 * read; outputs are written atomically, so a failure leaves no file behind.
 */
import { createRequire } from 'node:module';
import { writeFileAtomically } from '../raster/atomic-file.ts';
import { writeCloudMask, type CloudMaskSource } from '../raster/cloud-masks.ts';
import { readRasterInfo } from '../raster/geotiff-reader.ts';
import { maskOutline } from '../raster/outline.ts';
import { COPERNICUS_ATTRIBUTION } from '../provenance.ts';
import { assertWritableFolder } from './output-folder.ts';
import { prepareOutputs } from '../output-guard.ts';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

export interface MaskCommand {
  out: string;
  source: CloudMaskSource;
  /** Grow the cloud by this many pixels; default 0. */
  dilate?: number;
  /** Make the mask on this raster's grid. */
  like?: string;
  /** Also write the cloud outline here (GeoJSON in the grid's CRS). */
  geojson?: string;
  /** Outline simplification tolerance in pixels; default 1. */
  tolerance?: number;
}

export interface MaskSummary {
  out: string;
  geojson: string | null;
  kind: CloudMaskSource['kind'];
  source: string;
  width: number;
  height: number;
  resampled: boolean;
  dilation: number;
  cloud_pixels: number;
  cloud_fraction: number;
  outline_polygons: number | null;
}

export async function runMask(command: MaskCommand): Promise<MaskSummary> {
  const outputs = [command.out, ...(command.geojson ? [command.geojson] : [])];
  for (const output of outputs) await assertWritableFolder(output);
  const flag = { binary: '--from', scl: '--from-scl', probability: '--from-probability' }[command.source.kind];
  await prepareOutputs({
    inputs: [{ path: command.source.path, what: flag }, ...(command.like ? [{ path: command.like, what: '--like' }] : [])],
    outputs: [{ path: command.out, what: '--out' }, ...(command.geojson ? [{ path: command.geojson, what: '--geojson' }] : [])],
  });
  const like = command.like ? await readRasterInfo(command.like) : null;
  const dilate = command.dilate ?? 0;
  const written = await writeCloudMask(command.out, command.source, {
    like,
    dilate,
    keepMask: command.geojson !== undefined,
    metadata: {
      CLEARSKY_VERSION: version,
      CLEARSKY_DATE: new Date().toISOString(),
      ATTRIBUTION: COPERNICUS_ATTRIBUTION,
    },
  });
  let polygons: number | null = null;
  if (command.geojson && written.mask) {
    const outline = maskOutline(written.mask, written.grid, { tolerance: command.tolerance });
    polygons = outline.features[0]?.geometry.coordinates.length ?? 0;
    const text = JSON.stringify(outline);
    await writeFileAtomically(command.geojson, async (file) => {
      await file.writeFile(text, 'utf8');
    });
  }
  return {
    out: command.out,
    geojson: command.geojson ?? null,
    kind: command.source.kind,
    source: command.source.path,
    width: written.grid.width,
    height: written.grid.height,
    resampled: written.resampled,
    dilation: dilate,
    cloud_pixels: written.cloudPixels,
    cloud_fraction: written.cloudFraction,
    outline_polygons: polygons,
  };
}

export function formatMaskSummary(summary: MaskSummary): string {
  const percent = (100 * summary.cloud_fraction).toFixed(1);
  const grid = `${summary.width}×${summary.height}${summary.resampled ? ', resampled (nearest)' : ''}`;
  const outline = summary.geojson ? `; outline ${summary.geojson} (${summary.outline_polygons} polygons)` : '';
  return `wrote ${summary.out} (${grid}): ${percent} % cloud, ${summary.cloud_pixels} pixels${summary.dilation ? `, dilated by ${summary.dilation}` : ''}${outline}`;
}

