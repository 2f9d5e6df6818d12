/**
 * A multi-temporal reference built from the project's own scenes (what `clearsky reference` does with files):
 * the scenes and, by default, each scene's newest cloud mask are checked, the reference is streamed into
 * references/ as a tiled GeoTIFF with overviews (for the map), and catalogued with the scenes it was made from.
 * A failure leaves no file and no record behind.
 */
import fs from 'node:fs/promises';
import { BuildReferenceRequest, type BuildReferenceRequestInput, type RefRecord } from '../api/contract.ts';
import { InputError } from '../errors.ts';
import { commonProvenance } from '../reconstruction/provenance.ts';
import { writeGeoTiffFromBlocks } from '../raster/tiff/geotiff-writer.ts';
import { openReference, type MaskChoice } from '../raster/sentinel/reference.ts';
import { UNFOLLOWED, type TaskContext } from '../project/tasks.ts';
import { FOLDERS, uniquePath } from './import.ts';
import { listMasks, maskFile } from './masks.ts';
import type { Project } from './project.ts';
import { gridOf } from './records.ts';
import { insertRef } from './refs.ts';
import { getScene, sceneFile } from './scenes.ts';

/** The task's signal stops the build between rows of tiles: no file and no record is left. */
export async function buildReference(project: Project, input: BuildReferenceRequestInput, task: TaskContext = UNFOLLOWED): Promise<RefRecord> {
  const request = BuildReferenceRequest.parse(input);
  if (new Set(request.sceneIds).size !== request.sceneIds.length) throw new InputError(undefined, 'a scene is listed twice');
  const scenes = request.sceneIds.map((id) => getScene(project, id));
  for (const scene of scenes) {
    if (scene.sensor !== 'S2') throw new InputError(scene.file, `scene ${scene.id} (${scene.name}) is Sentinel-1: a reference is made of Sentinel-2 scenes`);
  }
  let masks: MaskChoice[] | undefined;
  if (request.masks === 'own') {
    const all = listMasks(project);
    masks = scenes.map((scene) => {
      const own = all.filter((m) => m.sceneId === scene.id).sort((a, b) => b.version - a.version)[0];
      if (!own) throw new InputError(scene.file, `scene ${scene.id} (${scene.name}) has no cloud mask: import or draw one, or build the reference without masks`);
      const { file, band } = maskFile(project, own.id);
      return { path: file, band };
    });
  }
  const reference = await openReference({ scenes: scenes.map((s) => sceneFile(project, s.id)), masks, bands: request.bands, method: request.method, date: request.date });
  const days = scenes.map((s) => s.acquired?.slice(0, 10)).filter((d): d is string => Boolean(d)).sort();
  const name = request.name ?? (request.method === 'static' ? `mean of ${scenes.length} scene${scenes.length === 1 ? '' : 's'}${days.length ? ` ${days[0]}…${days.at(-1)}` : ''}` : `latest clear before ${request.date}`);
  const target = await uniquePath(project, FOLDERS.reference, request.method === 'static' ? 'mean' : `latest-before-${request.date}`);
  try {
    await writeGeoTiffFromBlocks(target, reference, {
      dataType: reference.dataType,
      like: reference.like,
      bandNames: reference.bandNames,
      nodata: reference.nodata,
      overviews: 'average',
      metadata: { ...commonProvenance(), ...reference.metadata },
      signal: task.signal,
      onProgress: (done, total) => task.progress(done, total, request.method === 'static' ? `averaging ${scenes.length} scenes, tile by tile` : `taking the latest clear pixel of ${scenes.length} scenes, tile by tile`),
    });
    const used = new Set(reference.scenes.filter((s) => s.used).map((s) => s.path));
    return insertRef(project, {
      name,
      file: project.relative(target),
      sourcePath: null,
      sourceSha256: null,
      method: request.method,
      date: request.date ?? null,
      bands: reference.bandNames,
      grid: gridOf(reference.like),
      sceneIds: scenes.filter((s) => used.has(sceneFile(project, s.id))).map((s) => s.id),
    });
  } catch (error) {
    await fs.rm(target, { force: true });
    throw error;
  } finally {
    await reference.close();
  }
}
