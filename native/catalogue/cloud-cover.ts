/**
 * A Sentinel-2 scene's cloud cover when neither its file nor a mask of its day gave one: estimated by the
 * cloud detector (raster/sentinel/cloud-detect.ts) at its default settings, read in strips so a large scene costs
 * one strip of memory, and kept in the catalogue (source 'detected': a mask imported later replaces it).
 */
import { openCloudDetector } from '../raster/sentinel/cloud-detect.ts';
import type { Project } from './project.ts';
import { getScene, sceneFile } from './scenes.ts';

const STRIP_ROWS = 1024;

/** The share of the scene's pixels the detector finds cloud or shadow in (0–1). */
export async function detectedCover(file: string, signal?: AbortSignal): Promise<number> {
  const detector = await openCloudDetector(file);
  try {
    const { width, height } = detector.grid;
    let cloud = 0;
    for (let y = 0; y < height; y += STRIP_ROWS) {
      signal?.throwIfAborted();
      const strip = await detector.read({ x: 0, y, width, height: Math.min(STRIP_ROWS, height - y) });
      for (const value of strip.data) cloud += value;
    }
    return cloud / (width * height);
  } finally {
    await detector.close();
  }
}

/**
 * The scene's cloud cover, estimated and kept when it has none (Sentinel-2 only; a Sentinel-1 scene has none).
 * Answers the cover, or null for SAR.
 */
export async function ensureCloudCover(project: Project, sceneId: number, signal?: AbortSignal): Promise<number | null> {
  const scene = getScene(project, sceneId);
  if (scene.sensor !== 'S2') return null;
  if (scene.cloudCover !== null) return scene.cloudCover;
  const cover = await detectedCover(sceneFile(project, sceneId), signal);
  // Only if nothing better arrived meanwhile (a mask imported while the detector ran).
  project.db.prepare("UPDATE scenes SET cloud_cover = ?, cloud_cover_source = 'detected' WHERE id = ? AND cloud_cover IS NULL").run(cover, sceneId);
  return getScene(project, sceneId).cloudCover;
}
