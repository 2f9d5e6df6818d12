/**
 * The multi-temporal references of a project: imported ones, and those built from its scenes (static mean,
 * dynamic), with the scenes they were made from (ref_scenes): rows ↔ RefRecord.
 */
import { rmSync } from 'node:fs';
import type { Grid, RefRecord } from '../api/contract.ts';
import { InputError } from '../errors.ts';
import type { Project } from './project.ts';
import { type CatalogueRow, assertFilePresent, describeRuns, notFound, now, parseJson, runsUsing } from './records.ts';

export interface NewRef {
  name: string;
  file: string;
  sourcePath: string | null;
  sourceSha256: string | null;
  method: RefRecord['method'];
  date: string | null;
  bands: (string | null)[];
  grid: Grid;
  /** Scenes of the project it was made from (checked to exist by the foreign key). */
  sceneIds: number[];
}

/** A row of `refs`; the scenes it was made from are rows of `ref_scenes`. */
type RefRow = CatalogueRow<Omit<RefRecord, 'sceneIds'>, 'bands' | 'grid'>;

/** Inserts the reference and its scene links in one transaction. */
export function insertRef(project: Project, ref: NewRef): RefRecord {
  const id = project.db.transaction(() => {
    const { lastInsertRowid } = project.db
      .prepare('INSERT INTO refs (name, file, source_path, source_sha256, method, date, bands, grid, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(ref.name, ref.file, ref.sourcePath, ref.sourceSha256, ref.method, ref.date, JSON.stringify(ref.bands), JSON.stringify(ref.grid), now());
    const link = project.db.prepare('INSERT INTO ref_scenes (ref_id, scene_id) VALUES (?, ?)');
    for (const sceneId of new Set(ref.sceneIds)) {
      try {
        link.run(lastInsertRowid, sceneId);
      } catch (error) {
        if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY') throw notFound('scene', sceneId);
        throw error;
      }
    }
    return Number(lastInsertRowid);
  })();
  return getRef(project, id);
}

export function listRefs(project: Project): RefRecord[] {
  return (project.db.prepare('SELECT * FROM refs ORDER BY id').all() as RefRow[]).map((row) => toRecord(project, row));
}

export function getRef(project: Project, id: number): RefRecord {
  const row = project.db.prepare('SELECT * FROM refs WHERE id = ?').get(id) as RefRow | undefined;
  if (!row) throw notFound('reference', id);
  return toRecord(project, row);
}

/** The reference's raster, absolute, checked to be on disk. */
export function refFile(project: Project, id: number): string {
  return assertFilePresent(project, getRef(project, id).file);
}

export function refBySource(project: Project, sha256: string): RefRecord | null {
  const row = project.db.prepare('SELECT * FROM refs WHERE source_sha256 = ? ORDER BY id LIMIT 1').get(sha256) as RefRow | undefined;
  return row ? toRecord(project, row) : null;
}

/** Deletes a reference and its raster; one a run used cannot be deleted (InputError naming the runs). */
export function deleteRef(project: Project, id: number): void {
  const ref = getRef(project, id);
  const runs = runsUsing(project, ['ref_id'], id);
  if (runs.length) throw new InputError(undefined, `reference ${id} (${ref.name}) is used by ${describeRuns(runs)}; delete those runs first`);
  try {
    project.db.prepare('DELETE FROM refs WHERE id = ?').run(id);
  } catch (error) {
    if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY') throw new InputError(undefined, `reference ${id} (${ref.name}) is used by a run; delete it first`);
    throw error;
  }
  rmSync(project.resolve(ref.file), { force: true });
}

function toRecord(project: Project, row: RefRow): RefRecord {
  const scenes = project.db.prepare('SELECT scene_id FROM ref_scenes WHERE ref_id = ? ORDER BY scene_id').all(row.id) as { scene_id: number }[];
  return {
    id: row.id,
    name: row.name,
    file: row.file,
    method: row.method,
    date: row.date,
    bands: parseJson(row.bands, `reference ${row.id} bands`),
    grid: parseJson(row.grid, `reference ${row.id} grid`),
    sceneIds: scenes.map((scene) => scene.scene_id),
    createdAt: row.created_at,
  };
}
