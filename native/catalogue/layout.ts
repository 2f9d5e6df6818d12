/**
 * A project folder's layout: the names of its catalogue file and folders, and whether a path stays inside
 * the folder. No SQLite here, so that what needs only the names (Electron's main process, its protocol
 * handler, browser mode's file serving) does not load better-sqlite3; project.ts opens the catalogue.
 */
import path from 'node:path';

export const CATALOGUE_FILE = 'project.sqlite';
export const RASTERS_FOLDER = 'rasters';
export const RUNS_FOLDER = 'runs';
export const BACKUPS_FOLDER = 'backups';

/** Is `candidate` the folder itself or inside it (after resolving `..`; symlinks are not resolved)? */
export function isInside(folder: string, candidate: string): boolean {
  const relative = path.relative(folder, candidate);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}
