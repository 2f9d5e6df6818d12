/**
 * `clearsky mask`: a cloud mask GeoTIFF (UInt8, 1 = cloud, 0 = clear) from a binary mask, a Sentinel-2 SCL
 * layer or a cloud-probability raster, on the target's grid (`like`) or the source's own, or detected from the
 * scene's own bands (`detect`, on the scene's grid; raster/sentinel/cloud-detect.ts), optionally dilated,
 * optionally with its outline as GeoJSON. Everything that can be checked is checked before any pixel is
 * read; outputs are written atomically, so a failure leaves no file behind.
 */
import { createRequire } from 'node:module';
import { writeFileAtomically } from '../raster/tiff/atomic-file.ts';
import { openCloudDetector, type DetectionInfo, type DetectOptions } from '../raster/sentinel/cloud-detect.ts';
import { writeCloudMask, writeMaskFrom, type CloudMaskSource } from '../raster/sentinel/cloud-masks.ts';
import { readRasterInfo } from '../raster/tiff/geotiff-reader.ts';
import { maskOutline } from '../raster/geo/outline.ts';
import { COPERNICUS_ATTRIBUTION } from '../reconstruction/provenance.ts';
import { assertWritableFolder } from './output-folder.ts';
import { prepareOutputs } from '../project/output-guard.ts';
import { InputError } from '../errors.ts';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

export interface MaskCommand {
  out: string;
  /** Exactly one of `source` (a mask, SCL or probability raster) and `detect` (a scene to find the clouds in). */
  source?: CloudMaskSource;
  detect?: { path: string; options?: Omit<DetectOptions, 'dilate'> };
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
  kind: CloudMaskSource['kind'] | 'detected';
  source: string;
  width: number;
  height: number;
  resampled: boolean;
  dilation: number;
  cloud_pixels: number;
  cloud_fraction: number;
  outline_polygons: number | null;
  /** Detection only: the sun, the shadow offset matched and the bands used. */
  detection?: DetectionInfo;
}

export async function runMask(command: MaskCommand): Promise<MaskSummary> {
  const outputs = [command.out, ...(command.geojson ? [command.geojson] : [])];
  for (const output of outputs) await assertWritableFolder(output);
  const source = command.detect ? { kind: 'detected' as const, path: command.detect.path } : command.source;
  if (!source || (command.detect && command.source)) throw new Error('runMask: give exactly one of source and detect');
  const flag = { binary: '--from', scl: '--from-scl', probability: '--from-probability', detected: '--detect' }[source.kind];
  if (command.detect && command.like) throw new InputError(command.like, '--like is for imported masks: a detected mask is on the grid of the scene it was found in');
  await prepareOutputs({
    inputs: [{ path: source.path, what: flag }, ...(command.like ? [{ path: command.like, what: '--like' }] : [])],
    outputs: [{ path: command.out, what: '--out' }, ...(command.geojson ? [{ path: command.geojson, what: '--geojson' }] : [])],
  });
  const like = command.like ? await readRasterInfo(command.like) : null;
  const dilate = command.dilate ?? 0;
  const metadata = {
    CLEARSKY_VERSION: version,
    CLEARSKY_DATE: new Date().toISOString(),
    ATTRIBUTION: COPERNICUS_ATTRIBUTION,
  };
  let detection: DetectionInfo | undefined;
  let written;
  if (command.detect) {
    const detector = await openCloudDetector(command.detect.path, { ...command.detect.options, dilate });
    detection = detector.info;
    written = await writeMaskFrom(command.out, detector, { keepMask: command.geojson !== undefined, metadata });
  } else {
    written = await writeCloudMask(command.out, command.source!, { like, dilate, keepMask: command.geojson !== undefined, metadata });
  }
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
    kind: source.kind,
    source: source.path,
    width: written.grid.width,
    height: written.grid.height,
    resampled: written.resampled,
    dilation: dilate,
    cloud_pixels: written.cloudPixels,
    cloud_fraction: written.cloudFraction,
    outline_polygons: polygons,
    ...(detection ? { detection } : {}),
  };
}

export function formatMaskSummary(summary: MaskSummary): string {
  const percent = (100 * summary.cloud_fraction).toFixed(1);
  const grid = `${summary.width}×${summary.height}${summary.resampled ? ', resampled (nearest)' : ''}`;
  const outline = summary.geojson ? `; outline ${summary.geojson} (${summary.outline_polygons} polygons)` : '';
  const found = summary.detection ? `; ${describeDetection(summary.detection)}` : '';
  return `wrote ${summary.out} (${grid}): ${percent} % cloud${summary.detection ? ' and shadow' : ''}, ${summary.cloud_pixels} pixels${summary.dilation ? `, dilated by ${summary.dilation}` : ''}${found}${outline}`;
}

function describeDetection(info: DetectionInfo): string {
  const sun = info.sun ? `sun azimuth ${info.sun.azimuth.toFixed(0)}°, zenith ${info.sun.zenith.toFixed(0)}° (${info.sunSource})` : info.sunSource === 'searched' ? 'sun direction searched' : '';
  const shadows = info.thresholds === null ? 'shadows not looked for' : info.cast ? `shadows ${info.cast.near.toFixed(0)}–${info.cast.far.toFixed(0)} px from their clouds` : 'no cloud shadow found';
  return [`bands ${info.bands.join(',')}${info.cirrus ? ' (B10 cirrus test)' : ''}`, sun, shadows].filter(Boolean).join('; ');
}

