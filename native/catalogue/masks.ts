/**
 * The cloud masks of a project (1 = cloud): imported binary masks (one row per band of a stack), masks
 * derived from an SCL or cloud-probability raster (the source raster kept beside), drawn ones; each with its
 * cloud cover and outline (GeoJSON) and, when known, the scene it belongs to: rows ↔ MaskRecord.
 */
import { rmSync } from 'node:fs';
import type { Grid, MaskRecord } from '../api/contract.ts';
import { InputError } from '../errors.ts';
import type { Project } from './project.ts';
import { type CatalogueRow, assertFilePresent, describeRuns, notFound, now, parseJson, runsUsing } from './records.ts';

export interface NewMask {
  name: string;
  file: string;
  /** 1-based band of `file`. */
  band: number;
  source: MaskRecord['source'];
  sourcePath: string | null;
  sourceSha256: string | null;
  /** The SCL / probability raster kept in the project, relative; null for binary and drawn masks. */
  sourceFile: string | null;
  sceneId: number | null;
  acquired: string | null;
  /** Default: one more than the scene's latest mask (1 without a scene). */
  version?: number;
  parameters: Record<string, unknown>;
  grid: Grid;
  cloudCover: number | null;
  outlineFile: string | null;
}

/** A row of `masks` (source_path and source_sha256 are written, not read back). */
type MaskRow = CatalogueRow<MaskRecord, 'parameters' | 'grid'>;

export function insertMask(project: Project, mask: NewMask): MaskRecord {
  const version = mask.version ?? nextVersion(project, mask.sceneId);
  const { lastInsertRowid } = project.db
    .prepare(
      `INSERT INTO masks (name, file, band, source, source_path, source_sha256, source_file, scene_id, acquired, version, parameters, grid, cloud_cover, outline_file, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      mask.name, mask.file, mask.band, mask.source, mask.sourcePath, mask.sourceSha256, mask.sourceFile, mask.sceneId, mask.acquired,
      version, JSON.stringify(mask.parameters), JSON.stringify(mask.grid), mask.cloudCover, mask.outlineFile, now(),
    );
  return getMask(project, Number(lastInsertRowid));
}

export function listMasks(project: Project): MaskRecord[] {
  return (project.db.prepare('SELECT * FROM masks ORDER BY id').all() as MaskRow[]).map(toRecord);
}

export function getMask(project: Project, id: number): MaskRecord {
  const row = project.db.prepare('SELECT * FROM masks WHERE id = ?').get(id) as MaskRow | undefined;
  if (!row) throw notFound('mask', id);
  return toRecord(row);
}

/** The mask's raster (absolute, checked to be on disk) and its 1-based band. */
export function maskFile(project: Project, id: number): { file: string; band: number } {
  const mask = getMask(project, id);
  return { file: assertFilePresent(project, mask.file), band: mask.band };
}

export function masksBySource(project: Project, sha256: string): MaskRecord[] {
  return (project.db.prepare('SELECT * FROM masks WHERE source_sha256 = ? ORDER BY id').all(sha256) as MaskRow[]).map(toRecord);
}

/** Links a mask to its scene (the mask's version becomes the next one of that scene). */
export function linkMaskToScene(project: Project, maskId: number, sceneId: number): void {
  project.db.prepare('UPDATE masks SET scene_id = ?, version = ? WHERE id = ?').run(sceneId, nextVersion(project, sceneId), maskId);
}

/**
 * Deletes a mask, and its raster and outline when no other mask uses them (a stack's bands share one file).
 * One a run used cannot be deleted (InputError naming the runs).
 */
export function deleteMask(project: Project, id: number): void {
  const mask = getMask(project, id);
  const runs = runsUsing(project, ['mask_id'], id);
  if (runs.length) throw new InputError(undefined, `mask ${id} (${mask.name}) is used by ${describeRuns(runs)}; delete those runs first`);
  const row = project.db.prepare('SELECT source_file FROM masks WHERE id = ?').get(id) as { source_file: string | null };
  try {
    project.db.prepare('DELETE FROM masks WHERE id = ?').run(id);
  } catch (error) {
    if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY') throw new InputError(undefined, `mask ${id} (${mask.name}) is used by a run; delete it first`);
    throw error;
  }
  const stillUsed = (column: string, file: string) => project.db.prepare(`SELECT 1 FROM masks WHERE ${column} = ? LIMIT 1`).get(file) !== undefined;
  if (!stillUsed('file', mask.file)) rmSync(project.resolve(mask.file), { force: true });
  if (mask.outlineFile && !stillUsed('outline_file', mask.outlineFile)) rmSync(project.resolve(mask.outlineFile), { force: true });
  if (row.source_file && !stillUsed('source_file', row.source_file)) rmSync(project.resolve(row.source_file), { force: true });
}

function nextVersion(project: Project, sceneId: number | null): number {
  if (sceneId === null) return 1;
  const row = project.db.prepare('SELECT MAX(version) AS latest FROM masks WHERE scene_id = ?').get(sceneId) as { latest: number | null };
  return (row.latest ?? 0) + 1;
}

function toRecord(row: MaskRow): MaskRecord {
  return {
    id: row.id,
    name: row.name,
    file: row.file,
    band: row.band,
    source: row.source,
    sceneId: row.scene_id,
    acquired: row.acquired,
    version: row.version,
    parameters: parseJson(row.parameters, `mask ${row.id} parameters`),
    grid: parseJson(row.grid, `mask ${row.id} grid`),
    cloudCover: row.cloud_cover,
    outlineFile: row.outline_file,
    sourceFile: row.source_file,
    createdAt: row.created_at,
  };
}
