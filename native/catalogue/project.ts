/**
 * A project on disk: a folder with `project.sqlite` (the catalogue), `rasters/` (imported scenes, references,
 * masks) and `runs/<id>/` (tile results, mosaics). Paths in the catalogue are relative to the folder.
 *
 * The database runs in WAL mode with foreign keys on; the services of several processes may have it open (the
 * app, `clearsky run`, `clearsky cancel`), each working only the runs it holds (jobs/lease.ts), and workers only
 * compute. Opening migrates an older catalogue in one transaction and refuses a newer one.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.ts';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.ts';

export const CATALOGUE_FILE = 'project.sqlite';
export const RASTERS_FOLDER = 'rasters';
export const RUNS_FOLDER = 'runs';

export interface Project {
  /** Absolute path of the project folder. */
  readonly dir: string;
  readonly db: Database.Database;
  /** Absolute path of a catalogue path (relative to the project). */
  resolve(relative: string): string;
  /** The catalogue form of an absolute path inside the project (forward slashes). */
  relative(absolute: string): string;
  close(): void;
}

/** Makes a new project in `dir` (created if missing; must not already be a project). */
export function createProject(dir: string, name = path.basename(path.resolve(dir))): Project {
  const folder = path.resolve(dir);
  if (existsSync(folder) && !statSync(folder).isDirectory()) throw new InputError(dir, 'exists and is not a folder');
  if (existsSync(path.join(folder, CATALOGUE_FILE))) throw new InputError(dir, 'is already a Clearsky project');
  mkdirSync(path.join(folder, RASTERS_FOLDER), { recursive: true });
  mkdirSync(path.join(folder, RUNS_FOLDER), { recursive: true });
  const project = open(folder, true);
  project.db.prepare('INSERT INTO project (id, name, created_at) VALUES (1, ?, ?)').run(name, new Date().toISOString());
  return project;
}

/** Opens an existing project, migrating its catalogue if it was made by an older Clearsky. */
export function openProject(dir: string): Project {
  const folder = path.resolve(dir);
  if (!existsSync(folder)) throw new InputError(dir, 'no such project folder');
  if (!existsSync(path.join(folder, CATALOGUE_FILE))) {
    throw new InputError(dir, `is not a Clearsky project (no ${CATALOGUE_FILE}); make one with \`clearsky project create ${dir}\``);
  }
  return open(folder, false);
}

function open(folder: string, create: boolean): Project {
  const file = path.join(folder, CATALOGUE_FILE);
  let db: Database.Database;
  try {
    db = new Database(file, { fileMustExist: !create });
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
  } catch (error) {
    throw new InputError(file, `cannot open the catalogue (${(error as Error).message})`);
  }
  try {
    migrate(db, file);
  } catch (error) {
    db.close();
    throw error;
  }
  const resolve = (relative: string): string => {
    const absolute = path.resolve(folder, relative);
    if (!isInside(folder, absolute)) throw new InputError(relative, 'points outside the project folder');
    return absolute;
  };
  return {
    dir: folder,
    db,
    resolve,
    relative: (absolute) => {
      const relative = path.relative(folder, path.resolve(absolute));
      if (!isInside(folder, path.resolve(absolute))) throw new InputError(absolute, 'is outside the project folder');
      return relative.split(path.sep).join('/');
    },
    close: () => db.close(),
  };
}

function migrate(db: Database.Database, file: string): void {
  let version: number;
  try {
    version = db.pragma('user_version', { simple: true }) as number;
  } catch (error) {
    throw new InputError(file, `is not a Clearsky catalogue or is corrupt (${(error as Error).message})`);
  }
  if (version > SCHEMA_VERSION) {
    throw new InputError(file, `was made by a newer Clearsky (catalogue version ${version}; this one knows up to ${SCHEMA_VERSION}): update Clearsky to open it`);
  }
  if (version === SCHEMA_VERSION) return;
  db.transaction(() => {
    for (const sql of MIGRATIONS.slice(version)) db.exec(sql);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
}

/** Is `candidate` the folder itself or inside it (after resolving `..`)? */
export function isInside(folder: string, candidate: string): boolean {
  const relative = path.relative(folder, candidate);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}
