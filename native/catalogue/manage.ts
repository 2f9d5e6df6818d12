/**
 * Renaming and deleting the project's scenes, masks, references and runs, and what depends on each (shown
 * before a delete): runs that use it, references made from a scene, masks linked to a scene. Deleting what a
 * run or reference uses is refused, naming them (scenes.ts, masks.ts, refs.ts); runs go through the service,
 * which removes their folder too.
 */
import type { ItemKind } from '../api/contract.ts';
import { InputError } from '../errors.ts';
import { deleteMask, getMask } from './masks.ts';
import type { Project } from './project.ts';
import { runsUsing } from './records.ts';
import { deleteRef, getRef } from './refs.ts';
import { deleteScene, getScene } from './scenes.ts';

const TABLES: Record<ItemKind, string> = { scene: 'scenes', mask: 'masks', reference: 'refs', run: 'runs' };

/** What depends on an item: the runs using it, the references made from it and the masks linked to it (scenes). */
export function dependentsOf(project: Project, kind: ItemKind, id: number): { runs: number[]; references: number[]; masks: number[] } {
  exists(project, kind, id);
  if (kind === 'run') return { runs: [], references: [], masks: [] };
  const columns = { scene: ['target_scene_id', 'sar_scene_id'], mask: ['mask_id'], reference: ['ref_id'] }[kind];
  const runs = runsUsing(project, columns, id);
  if (kind !== 'scene') return { runs, references: [], masks: [] };
  const ids = (sql: string) => (project.db.prepare(sql).all(id) as { id: number }[]).map((r) => r.id);
  return { runs, references: ids('SELECT ref_id AS id FROM ref_scenes WHERE scene_id = ? ORDER BY ref_id'), masks: ids('SELECT id FROM masks WHERE scene_id = ? ORDER BY id') };
}

/** A new display name (the files keep theirs): one line, 1–200 characters. */
export function renameItem(project: Project, kind: ItemKind, id: number, name: string): void {
  exists(project, kind, id);
  const trimmed = name.trim();
  if (trimmed === '' || trimmed.length > 200 || /[\r\n]/.test(trimmed)) throw new InputError(undefined, `a name is one line of 1 to 200 characters, not ${JSON.stringify(name.slice(0, 40))}`);
  project.db.prepare(`UPDATE ${TABLES[kind]} SET name = ? WHERE id = ?`).run(trimmed, id);
}

/** Deletes a scene, mask or reference nothing depends on (else refused, naming what does), with its files. */
export function deleteItem(project: Project, kind: Exclude<ItemKind, 'run'>, id: number): void {
  if (kind === 'scene') deleteScene(project, id);
  else if (kind === 'mask') deleteMask(project, id);
  else deleteRef(project, id);
}

function exists(project: Project, kind: ItemKind, id: number): void {
  if (kind === 'scene') getScene(project, id);
  else if (kind === 'mask') getMask(project, id);
  else if (kind === 'reference') getRef(project, id);
  else if (!project.db.prepare('SELECT 1 FROM runs WHERE id = ?').get(id)) throw new InputError(undefined, `there is no run ${id} in this project`);
}
