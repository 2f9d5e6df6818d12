/**
 * `clearsky project create | import | list`: making a project folder, importing rasters into it, and listing
 * its scenes, references and masks with the ids runs are started with.
 */
import type { ImportFolderResult, ImportOutcome, ImportRequest, MaskRecord, RefRecord, SceneRecord, TaskEvent } from '../api/contract.ts';
import { Service } from '../project/service.ts';
import { importFiles } from '../catalogue/import.ts';
import { listMasks } from '../catalogue/masks.ts';
import { createProject, openProject } from '../catalogue/project.ts';
import { listRefs } from '../catalogue/refs.ts';
import { listScenes } from '../catalogue/scenes.ts';
import { SCHEMA_VERSION } from '../catalogue/schema.ts';

export interface ProjectSummary {
  dir: string;
  name: string;
  schemaVersion: number;
}

export function createProjectCommand(dir: string, name?: string): ProjectSummary {
  const project = createProject(dir, name);
  try {
    const row = project.db.prepare('SELECT name FROM project WHERE id = 1').get() as { name: string };
    return { dir: project.dir, name: row.name, schemaVersion: SCHEMA_VERSION };
  } finally {
    project.close();
  }
}

export async function importCommand(dir: string, request: ImportRequest, onProgress?: (done: number, total: number, file: string) => void): Promise<ImportOutcome[]> {
  const project = openProject(dir);
  try {
    return await importFiles(project, request, onProgress);
  } finally {
    project.close();
  }
}

/**
 * A folder imported through the service (progress, cancel between files, each new scene's cloud cover); the
 * signal (Ctrl-C) keeps the files done and lists the rest. `onProgress` gets the import's task events.
 */
export async function importFolderCommand(dir: string, folder: string, kind: ImportRequest['kind'], signal: AbortSignal, onProgress: (event: TaskEvent) => void): Promise<ImportFolderResult> {
  const service = Service.open(dir, { jobs: false });
  try {
    // The import's task is the first one this service starts (its only one): follow that one.
    let taskId: string | undefined;
    service.subscribe((event) => {
      if (event.type !== 'task') return;
      taskId ??= event.taskId;
      if (event.taskId === taskId) onProgress(event);
    });
    return await service.importFolder({ folder, kind }, signal);
  } finally {
    await service.close();
  }
}

export interface ProjectListing {
  scenes: SceneRecord[];
  refs: RefRecord[];
  masks: MaskRecord[];
}

export function listProjectCommand(dir: string): ProjectListing {
  const project = openProject(dir);
  try {
    return { scenes: listScenes(project), refs: listRefs(project), masks: listMasks(project) };
  } finally {
    project.close();
  }
}

/** One line per outcome (a mask stack's bands summarised in one line), then a count. */
export function formatImportOutcomes(outcomes: ImportOutcome[]): string {
  const lines: string[] = [];
  const stacks = new Map<string, MaskRecord[]>();
  for (const outcome of outcomes) {
    if (outcome.status === 'imported' && outcome.kind === 'mask') {
      const list = stacks.get(outcome.path) ?? [];
      list.push(outcome.record);
      if (list.length === 1) {
        stacks.set(outcome.path, list);
        lines.push(`\0mask:${outcome.path}`);
      }
      continue;
    }
    switch (outcome.status) {
      case 'imported':
        if (outcome.kind === 'scene') {
          const s = outcome.record;
          lines.push(`imported ${outcome.path}: scene ${s.id} ${s.sensor}${s.level ? ` ${s.level}` : ''}${s.units ? ` ${s.units}` : ''}${s.acquired ? ` ${s.acquired}` : ''}, ${s.bands.length} bands${s.cloudCover === null ? '' : `, ${percent(s.cloudCover)} cloud${s.cloudCoverSource ? ` (${s.cloudCoverSource})` : ''}`} → ${s.file}`);
        } else {
          lines.push(`imported ${outcome.path}: reference ${outcome.record.id} (${outcome.record.bands.join(' ')}) → ${outcome.record.file}`);
        }
        break;
      case 'duplicate':
        lines.push(`already imported ${outcome.path}: ${outcome.kind === 'ref' ? 'reference' : outcome.kind} ${outcome.id} (${outcome.name})`);
        break;
      case 'unsure':
        lines.push(`unsure ${outcome.path}: ${outcome.reason}; say which with --kind ${outcome.candidates.join('|')}`);
        break;
      case 'failed':
        lines.push(`failed ${outcome.error}`);
        break;
    }
  }
  const text = lines.map((line) => {
    if (!line.startsWith('\0mask:')) return line;
    const file = line.slice('\0mask:'.length);
    const masks = stacks.get(file)!;
    const ids = masks.length === 1 ? `mask ${masks[0].id}` : `masks ${masks[0].id}–${masks[masks.length - 1].id} (one per band)`;
    const source = masks[0].source === 'binary' ? '' : ` from ${masks[0].source.toUpperCase() === 'SCL' ? 'SCL' : 'cloud probability'} ${JSON.stringify(masks[0].parameters)}`;
    const cover = masks.length === 1 && masks[0].cloudCover !== null ? `, ${percent(masks[0].cloudCover)} cloud` : '';
    const linked = masks.filter((mask) => mask.sceneId !== null);
    const scenes = linked.length ? `, ${linked.length === 1 ? `for scene ${linked[0].sceneId}` : `${linked.length} linked to scenes`}` : '';
    return `imported ${file}: ${ids}${source}${cover}${scenes} → ${masks[0].file}`;
  });
  const count = (status: string) => outcomes.filter((o) => o.status === status).length;
  const files = new Set(outcomes.filter((o) => o.status === 'imported').map((o) => o.path)).size;
  return `${text.join('\n')}\n${files} file${files === 1 ? '' : 's'} imported, ${count('duplicate')} already there, ${count('unsure')} unsure, ${count('failed')} failed`;
}

/** Tables of scenes, references and masks with their ids. */
export function formatProjectListing(listing: ProjectListing): string {
  const out: string[] = [];
  out.push(`scenes (${listing.scenes.length})`);
  out.push(...table(['id', 'sensor', 'level', 'date', 'bands', 'size', 'EPSG', 'cloud', 'name'], listing.scenes.map((s) => [
    String(s.id), s.sensor, s.level ?? (s.units ?? ''), s.acquired ?? '', String(s.bands.length), `${s.grid.width}×${s.grid.height}`, s.grid.epsg === null ? '' : String(s.grid.epsg),
    s.cloudCover === null ? '' : percent(s.cloudCover), s.name,
  ])));
  out.push('', `references (${listing.refs.length})`);
  out.push(...table(['id', 'method', 'date', 'bands', 'scenes', 'name'], listing.refs.map((r) => [
    String(r.id), r.method, r.date ?? '', r.bands.map((b) => b ?? '?').join(' '), r.sceneIds.join(','), r.name,
  ])));
  out.push('', `masks (${listing.masks.length})`);
  out.push(...table(['id', 'source', 'band', 'scene', 'date', 'cloud', 'name'], listing.masks.map((m) => [
    String(m.id), m.source, String(m.band), m.sceneId === null ? '' : String(m.sceneId), m.acquired ?? '', m.cloudCover === null ? '' : percent(m.cloudCover), m.name,
  ])));
  return out.join('\n');
}

function table(header: string[], rows: string[][]): string[] {
  if (rows.length === 0) return ['  (none)'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => `  ${cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')}`;
  return [line(header), ...rows.map(line)];
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)} %`;
}
