/**
 * Clouds and shadows found in a Sentinel-2 scene of the project (raster/sentinel/cloud-detect.ts): saved as the scene's
 * next mask version (source 'detected', its own GeoTIFF and outline in rasters/masks/, the settings in its
 * parameters), or previewed as an outline without writing anything. The user then edits it by drawing, as any
 * mask (edit-mask.ts).
 *
 * A preview is asked for again and again while the user moves the threshold slider: what the detector's survey
 * found for a scene (the dark thresholds and the shadow offset, a pass or two over the whole scene; the same for
 * every threshold and dilation) is kept for the project's next previews and its save.
 */
import fs from 'node:fs/promises';
import { DetectMaskRequest, PREVIEW_DETECTION_MAX_PIXELS, PreviewDetectionRequest, type DetectionPreview, type DetectMaskRequestInput, type MaskRecord, type PreviewDetectionRequestInput } from '../api/contract.ts';
import { InputError, throwIfCancelled } from '../errors.ts';
import { UNFOLLOWED, type TaskContext } from '../project/tasks.ts';
import { COPERNICUS_ATTRIBUTION } from '../reconstruction/provenance.ts';
import { writeFileAtomically } from '../raster/tiff/atomic-file.ts';
import { openCloudDetector, type CloudDetector, type DetectionInfo } from '../raster/sentinel/cloud-detect.ts';
import { writeMaskFrom } from '../raster/sentinel/cloud-masks.ts';
import { maskOutline } from '../raster/geo/outline.ts';
import { FOLDERS, uniquePath } from './import.ts';
import { insertMask } from './masks.ts';
import type { Project } from './project.ts';
import { getScene, sceneFile, setSceneCloudCover } from './scenes.ts';

type Survey = Pick<DetectionInfo, 'thresholds' | 'cast' | 'sun' | 'sunSource' | 'cirrusBaseline'>;
const SURVEYS_KEPT = 16;
const surveys = new WeakMap<Project, Map<string, Survey>>();

/** The detector over a scene of the project, reusing an earlier survey of it with the same settings. */
async function detectorFor(project: Project, request: DetectMaskRequest, signal: AbortSignal): Promise<{ detector: CloudDetector; file: string }> {
  const scene = getScene(project, request.sceneId); // an unknown id is an InputError
  if (scene.sensor !== 'S2') throw new InputError(undefined, `scene ${scene.id} (${scene.name}) is Sentinel-1: clouds are detected in Sentinel-2 scenes`);
  const file = sceneFile(project, scene.id);
  const cache = surveys.get(project) ?? new Map<string, Survey>();
  surveys.set(project, cache);
  const key = `${scene.id}:${scene.file}:${request.shadows}`;
  const detector = await openCloudDetector(file, { threshold: request.threshold, dilate: request.dilate, shadows: request.shadows, survey: cache.get(key), signal });
  if (!cache.has(key)) {
    if (cache.size >= SURVEYS_KEPT) cache.delete(cache.keys().next().value!);
    const { thresholds, cast, sun, sunSource, cirrusBaseline } = detector.info;
    cache.set(key, { thresholds, cast, sun, sunSource, cirrusBaseline });
  }
  return { detector, file };
}

/**
 * Detects clouds and shadows in a scene and saves them as its next mask version. The task's signal stops it
 * between windows: no file and no mask record is left.
 */
export async function detectMask(project: Project, input: DetectMaskRequestInput, task: TaskContext = UNFOLLOWED): Promise<MaskRecord> {
  const request = DetectMaskRequest.parse(input);
  const scene = getScene(project, request.sceneId);
  const target = await uniquePath(project, FOLDERS.mask, `${stemOf(scene.file)}-detected`);
  const outline = target.replace(/\.tif$/, '.geojson');
  try {
    task.progress(0, 1, 'surveying the scene (dark ground, shadow offset)');
    const { detector } = await detectorFor(project, request, task.signal);
    // writeMaskFrom closes the detector, also when it fails.
    const written = await writeMaskFrom(target, detector, {
      keepMask: true,
      metadata: { CLEARSKY_LAYER: 'cloud mask: 1 = cloud, 0 = clear', CLEARSKY_MASK_DETECTED_IN: `${scene.file} (scene ${scene.id})`, ATTRIBUTION: COPERNICUS_ATTRIBUTION },
      signal: task.signal,
      onProgress: (done, total) => task.progress(done, total, 'detecting and writing tiles'),
    });
    // A mask without cloud is of no use (a run would have nothing to reconstruct), as for a drawn one.
    if (written.cloudPixels === 0) {
      throw new InputError(undefined, `no cloud or shadow found in scene ${scene.id} (${scene.name}) at threshold ${request.threshold}: it looks clear; a lower threshold finds fainter haze`);
    }
    task.progress(0, 1, 'outlining');
    const geojson = JSON.stringify(maskOutline(written.mask!, written.grid));
    throwIfCancelled(task.signal);
    await writeFileAtomically(outline, (handle) => handle.writeFile(geojson));
    const record = insertMask(project, {
      name: `${scene.name} · detected`,
      file: project.relative(target),
      band: 1,
      source: 'detected',
      sourcePath: null,
      sourceSha256: null,
      sourceFile: null,
      sceneId: scene.id,
      acquired: scene.acquired,
      parameters: { ...request, detection: written.description },
      grid: scene.grid,
      cloudCover: written.cloudFraction,
      outlineFile: project.relative(outline),
    });
    if (scene.cloudCover === null) setSceneCloudCover(project, scene.id, written.cloudFraction, 'detected');
    return record;
  } catch (error) {
    await Promise.all([fs.rm(target, { force: true }), fs.rm(outline, { force: true })]);
    throw error;
  }
}

/** The mask detection would save, over a window of the scene, as an outline; nothing is written. */
export async function previewDetection(project: Project, input: PreviewDetectionRequestInput, signal: AbortSignal = UNFOLLOWED.signal): Promise<DetectionPreview> {
  const request = PreviewDetectionRequest.parse(input);
  const scene = getScene(project, request.sceneId);
  const area = request.area ?? { x: 0, y: 0, width: scene.grid.width, height: scene.grid.height };
  if (area.x + area.width > scene.grid.width || area.y + area.height > scene.grid.height) {
    throw new InputError(undefined, `the area ${area.width}×${area.height} at (${area.x}, ${area.y}) reaches outside scene ${scene.id} (${scene.grid.width}×${scene.grid.height})`);
  }
  if (area.width * area.height > PREVIEW_DETECTION_MAX_PIXELS) {
    throw new InputError(undefined, `a preview covers at most ${PREVIEW_DETECTION_MAX_PIXELS} pixels, not ${area.width}×${area.height}: preview the part in view (area), or save the detection (detectMask)`);
  }
  const { detector } = await detectorFor(project, request, signal);
  try {
    const mask = await detector.read(area);
    let pixels = 0;
    for (const value of mask.data) pixels += value;
    const t = scene.grid.geoTransform;
    // The window's own georeferencing: the outline lands where the window lies in the scene's CRS.
    const geoTransform: typeof t = t && [t[0] + area.x * t[1] + area.y * t[2], t[1], t[2], t[3] + area.x * t[4] + area.y * t[5], t[4], t[5]];
    const crs = scene.grid.epsg !== null ? { epsg: scene.grid.epsg, description: `EPSG:${scene.grid.epsg}`, geoKeys: {} } : null;
    const outline = maskOutline(mask, { width: area.width, height: area.height, crs, geoTransform });
    return { sceneId: scene.id, area, pixels, cover: pixels / (area.width * area.height), outline, description: detector.description };
  } finally {
    await detector.close();
  }
}

function stemOf(file: string): string {
  return (file.split('/').pop() ?? 'scene').replace(/\.tiff?$/i, '');
}
