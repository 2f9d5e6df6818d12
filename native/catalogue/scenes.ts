/**
 * The scenes of a project (Sentinel-2 and Sentinel-1 rasters in rasters/): rows ↔ SceneRecord.
 */
import { rmSync } from 'node:fs';
import type { SceneRecord } from '../api/contract.ts';
import { InputError } from '../errors.ts';
import type { Project } from './project.ts';
import { type CatalogueRow, assertFilePresent, describeRuns, notFound, now, parseJson, runsUsing } from './records.ts';

/** What an import knows of a scene: its record but for the catalogue's id and time, and where it came from. */
export type NewScene = Omit<SceneRecord, 'id' | 'importedAt'> & { sourcePath: string | null; sourceSha256: string | null };

/** A row of `scenes` (source_path and source_sha256 are read only by sceneBySource's WHERE). */
type SceneRow = CatalogueRow<SceneRecord, 'bands' | 'grid'>;

export function insertScene(project: Project, scene: NewScene): SceneRecord {
  const { lastInsertRowid } = project.db
    .prepare(
      `INSERT INTO scenes (name, file, source_path, source_sha256, sensor, level, acquired, bands, grid, data_type, nodata, units, cloud_cover, cloud_cover_source, imported_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      scene.name, scene.file, scene.sourcePath, scene.sourceSha256, scene.sensor, scene.level, scene.acquired,
      JSON.stringify(scene.bands), JSON.stringify(scene.grid), scene.dataType, scene.nodata, scene.units, scene.cloudCover,
      scene.cloudCover === null ? null : (scene.cloudCoverSource ?? 'metadata'), now(),
    );
  return getScene(project, Number(lastInsertRowid));
}

export function listScenes(project: Project): SceneRecord[] {
  return (project.db.prepare('SELECT * FROM scenes ORDER BY id').all() as SceneRow[]).map(toRecord);
}

export function getScene(project: Project, id: number): SceneRecord {
  const row = project.db.prepare('SELECT * FROM scenes WHERE id = ?').get(id) as SceneRow | undefined;
  if (!row) throw notFound('scene', id);
  return toRecord(row);
}

/** The scene's raster, absolute, checked to be on disk: for when it is about to be used. */
export function sceneFile(project: Project, id: number): string {
  return assertFilePresent(project, getScene(project, id).file);
}

/** The scene imported from a file with this content (SHA-256), if any. */
export function sceneBySource(project: Project, sha256: string): SceneRecord | null {
  const row = project.db.prepare('SELECT * FROM scenes WHERE source_sha256 = ? ORDER BY id LIMIT 1').get(sha256) as SceneRow | undefined;
  return row ? toRecord(row) : null;
}

/** Sets a scene's cloud cover and where it came from ('mask' when not said). */
export function setSceneCloudCover(project: Project, id: number, cloudCover: number, source: 'metadata' | 'mask' | 'detected' = 'mask'): void {
  project.db.prepare('UPDATE scenes SET cloud_cover = ?, cloud_cover_source = ? WHERE id = ?').run(cloudCover, source, id);
}

/**
 * Whether a mask's cover may replace the scene's: when it has none, or only the detector's estimate (a mask of
 * its day, imported or drawn, knows better; the file's own figure and an earlier mask's are kept).
 */
export function coverReplaceable(scene: { cloud_cover: number | null; cloud_cover_source?: string | null }): boolean {
  return scene.cloud_cover === null || scene.cloud_cover_source === 'detected';
}

/**
 * Deletes a scene and its raster. A scene that a run or a reference was made from cannot be deleted (the
 * catalogue keeps what every result came from): an InputError naming them, and nothing is deleted. Masks of
 * the scene stay, unlinked.
 */
export function deleteScene(project: Project, id: number): void {
  const scene = getScene(project, id);
  const runs = runsUsing(project, ['target_scene_id', 'sar_scene_id'], id);
  if (runs.length) throw new InputError(undefined, `scene ${id} (${scene.name}) is used by ${describeRuns(runs)}; delete those runs first`);
  const refs = (project.db.prepare('SELECT ref_id FROM ref_scenes WHERE scene_id = ? ORDER BY ref_id').all(id) as { ref_id: number }[]).map((r) => r.ref_id);
  if (refs.length) throw new InputError(undefined, `scene ${id} (${scene.name}) was used to make reference${refs.length === 1 ? '' : 's'} ${refs.join(', ')}; delete ${refs.length === 1 ? 'it' : 'them'} first`);
  try {
    project.db.prepare('DELETE FROM scenes WHERE id = ?').run(id);
  } catch (error) {
    // A run inserted between the check and the delete: the foreign key refuses, and says so plainly here.
    if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
      throw new InputError(undefined, `scene ${id} (${scene.name}) is used by a run or a reference; delete those first`);
    }
    throw error;
  }
  rmSync(project.resolve(scene.file), { force: true });
}

function toRecord(row: SceneRow): SceneRecord {
  return {
    id: row.id,
    name: row.name,
    file: row.file,
    sensor: row.sensor,
    level: row.level,
    acquired: row.acquired,
    bands: parseJson(row.bands, `scene ${row.id} bands`),
    grid: parseJson(row.grid, `scene ${row.id} grid`),
    dataType: row.data_type,
    nodata: row.nodata,
    units: row.units,
    cloudCover: row.cloud_cover,
    cloudCoverSource: row.cloud_cover_source ?? null,
    importedAt: row.imported_at,
  };
}
