/**
 * A project on disk: a folder with `project.sqlite` (the catalogue), `rasters/` (imported scenes, references,
 * masks), `runs/<id>/` (tile results, mosaics) and `backups/` (rolling copies of the catalogue). Paths in the
 * catalogue are relative to the folder.
 *
 * The database runs in WAL mode with foreign keys on; the services of several processes may have it open (the
 * app, `clearsky run`, `clearsky cancel`), each working only the runs it holds (jobs/lease.ts), and workers only
 * compute. Opening first inspects the file read-only: only a Clearsky catalogue (its application_id, a schema
 * version, every table, SQLite's quick_check) is ever opened for writing; anything else is refused with the
 * path and what is wrong, and left byte for byte as it was. Then it backs the catalogue up (before a migration,
 * and once a day), migrates an older catalogue in one transaction and refuses a newer one.
 */
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { closeSync, existsSync, linkSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.ts';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.ts';
import { sweepStaleTemporaries } from '../raster/tiff/temporaries.ts';
import { BACKUPS_FOLDER, CATALOGUE_FILE, isInside, RASTERS_FOLDER, RUNS_FOLDER } from './layout.ts';

// The folder's names live in layout.ts (no SQLite there); re-exported for the modules that open projects too.
export { BACKUPS_FOLDER, CATALOGUE_FILE, isInside, RASTERS_FOLDER, RUNS_FOLDER };

/** `PRAGMA application_id` of a Clearsky catalogue: ASCII 'ClSk' (0x436C536B). */
export const APPLICATION_ID = 0x436c536b;
/** How many backups `backups/` keeps (the newest). */
export const BACKUPS_KEPT = 7;
const BACKUP_INTERVAL_MS = 24 * 60 * 60 * 1000;
/** `project-2026-12-06T18-16-00.123Z.sqlite`: the time it was taken, so names sort oldest first. */
const BACKUP_NAME = /^project-(\d{4}-\d\d-\d\dT\d\d)-(\d\d)-(\d\d\.\d{3}Z)\.sqlite$/;

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

/** Makes a new project in `dir` (created if missing; must not already hold a catalogue, sound or damaged). */
export function createProject(dir: string, name = path.basename(path.resolve(dir))): Project {
  const folder = path.resolve(dir);
  if (existsSync(folder) && !statSync(folder).isDirectory()) throw new InputError(dir, 'exists and is not a folder');
  const file = path.join(folder, CATALOGUE_FILE);
  if (existsSync(file)) {
    checkCatalogue(folder);
    throw new InputError(dir, 'is already a Clearsky project');
  }
  mkdirSync(path.join(folder, RASTERS_FOLDER), { recursive: true });
  mkdirSync(path.join(folder, RUNS_FOLDER), { recursive: true });
  // Built under a temporary name and linked into place whole: a create that is killed leaves no half-made
  // project.sqlite, and of two at once only one wins (link never replaces a file).
  const temporary = temporaryBeside(file);
  try {
    const db = new Database(temporary);
    try {
      db.transaction(() => {
        for (const sql of MIGRATIONS) db.exec(sql);
        db.pragma(`user_version = ${SCHEMA_VERSION}`);
        db.pragma(`application_id = ${APPLICATION_ID}`);
        db.prepare('INSERT INTO project (id, name, created_at, uid) VALUES (1, ?, ?, lower(hex(randomblob(8))))').run(name, new Date().toISOString());
      })();
    } finally {
      db.close();
    }
    linkInto(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new InputError(dir, 'is already a Clearsky project');
    throw error instanceof InputError ? error : new InputError(file, `cannot create the catalogue (${(error as Error).message})`);
  } finally {
    rmSync(temporary, { force: true });
  }
  return open(folder);
}

/** Puts `temporary` at `file` unless that exists; file systems without hard links (FAT, some shares) get a rename. */
function linkInto(temporary: string, file: string): void {
  try {
    linkSync(temporary, file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || !['EPERM', 'ENOTSUP', 'ENOSYS', 'EOPNOTSUPP'].includes(code ?? '')) throw error;
    if (existsSync(file)) throw Object.assign(new Error(`${file} exists`), { code: 'EEXIST' });
    renameSync(temporary, file);
  }
}

/** Opens an existing project, migrating its catalogue if it was made by an older Clearsky. */
export function openProject(dir: string): Project {
  const folder = path.resolve(dir);
  if (!existsSync(folder)) throw new InputError(dir, 'no such project folder');
  if (!existsSync(path.join(folder, CATALOGUE_FILE))) {
    throw new InputError(dir, `is not a Clearsky project (no ${CATALOGUE_FILE}); make one with \`clearsky project create ${dir}\``);
  }
  return open(folder);
}

/**
 * Throws an InputError (naming the catalogue, what is wrong and how to recover) unless `folder/project.sqlite`
 * is a sound Clearsky catalogue (possibly from a newer Clearsky). Reads only.
 */
export function checkCatalogue(folder: string): void {
  inspect(path.join(path.resolve(folder), CATALOGUE_FILE));
}

interface Inspection {
  applicationId: number;
  version: number;
}

/** Everything checked on a read-only connection, so that a file that is not ours is never written. */
function inspect(file: string): Inspection {
  const folder = path.dirname(file);
  const stat = statSync(file);
  if (!stat.isFile()) throw new InputError(file, 'is not a file: not a Clearsky catalogue');
  if (stat.size === 0) throw new InputError(file, `is empty: not a Clearsky catalogue; ${recovery(folder)}`);
  // The header first, so that another program's database is refused without SQLite ever opening it.
  const header = readHeader(file);
  if (!header.subarray(0, 16).equals(SQLITE_MAGIC)) throw new InputError(file, `is not a SQLite database: not a Clearsky catalogue; ${recovery(folder)}`);
  const headerId = header.readUInt32BE(68);
  if (headerId !== 0 && headerId !== APPLICATION_ID) throw foreign(file, headerId);
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new InputError(file, `cannot be read (${(error as Error).message})`);
  }
  try {
    let applicationId: number;
    let version: number;
    try {
      applicationId = db.pragma('application_id', { simple: true }) as number;
      version = db.pragma('user_version', { simple: true }) as number;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'SQLITE_NOTADB') throw new InputError(file, `is not a SQLite database: not a Clearsky catalogue; ${recovery(folder)}`);
      if (isBusy(error)) throw busy(file, error);
      throw new InputError(file, `cannot be read as a catalogue (${(error as Error).message}); ${recovery(folder)}`);
    }
    if (applicationId !== APPLICATION_ID && applicationId !== 0) throw foreign(file, applicationId);
    if (applicationId === 0 && (version < 1 || version > SCHEMA_VERSION)) {
      throw new InputError(file, `is a SQLite database but not a Clearsky catalogue (no Clearsky application_id, user_version ${version}); Clearsky leaves it as it is`);
    }
    if (version < 1) throw new InputError(file, `has no Clearsky schema (user_version 0): it is damaged; ${recovery(folder)}`);
    const problem = quickCheck(db, file);
    if (problem !== null) throw new InputError(file, `is damaged: SQLite's quick_check says "${problem}"; ${recovery(folder)}`);
    const present = new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]));
    // A newer Clearsky's tables are not known here; open() refuses that catalogue anyway.
    const missing = (version > SCHEMA_VERSION ? [] : tablesAt(version)).filter((table) => !present.has(table));
    if (missing.length > 0) {
      const tables = `${missing.length === 1 ? 'table' : 'tables'} ${missing.map((t) => `'${t}'`).join(', ')}`;
      throw new InputError(file, applicationId === 0
        ? `is not a Clearsky catalogue (it has no ${tables}); Clearsky leaves it as it is`
        : `is damaged: its ${tables} ${missing.length === 1 ? 'is' : 'are'} missing; ${recovery(folder)}`);
    }
    return { applicationId, version };
  } finally {
    db.close();
  }
}

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

/** The database header's first 100 bytes (zeros past the end of a shorter file). */
function readHeader(file: string): Buffer {
  const header = Buffer.alloc(100);
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    readSync(fd, header, 0, header.length, 0);
  } catch (error) {
    throw new InputError(file, `cannot be read (${(error as Error).message})`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return header;
}

function foreign(file: string, applicationId: number): InputError {
  return new InputError(file, `is the SQLite database of another application (application_id 0x${(applicationId >>> 0).toString(16)}), not a Clearsky catalogue; Clearsky leaves it as it is`);
}

/** quick_check's first line when it finds a problem (it may also throw, e.g. on a malformed page), else null. */
function quickCheck(db: Database.Database, file: string): string | null {
  try {
    const rows = db.pragma('quick_check') as { quick_check: string }[];
    const first = rows[0]?.quick_check ?? 'no answer';
    return rows.length === 1 && first === 'ok' ? null : first.split('\n')[0];
  } catch (error) {
    if (isBusy(error)) throw busy(file, error);
    return (error as Error).message.split('\n')[0];
  }
}

/** Another process holding a lock past the busy timeout is not damage: no recovery advice. */
function isBusy(error: unknown): boolean {
  return /^SQLITE_(BUSY|LOCKED)/.test((error as { code?: string }).code ?? '');
}

function busy(file: string, error: unknown): InputError {
  return new InputError(file, `is locked by another process (${(error as Error).message}); try again`);
}

/** What the user can do about a damaged catalogue: the newest backup, and that nothing else was touched. */
function recovery(folder: string): string {
  const newest = backups(folder).at(-1);
  const restore = newest === undefined
    ? `there is no backup in ${path.join(folder, BACKUPS_FOLDER)}`
    : `to recover, copy the newest backup ${newest} over it (and delete ${CATALOGUE_FILE}-wal and -shm if present)`;
  return `${restore}; the project's ${RASTERS_FOLDER}/ and ${RUNS_FOLDER}/ are kept untouched`;
}

const tablesByVersion = new Map<number, string[]>();

/** The tables a catalogue at `version` has: the first `version` migrations, run in memory. */
function tablesAt(version: number): string[] {
  let tables = tablesByVersion.get(version);
  if (tables === undefined) {
    const db = new Database(':memory:');
    try {
      for (const sql of MIGRATIONS.slice(0, version)) db.exec(sql);
      tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[];
    } finally {
      db.close();
    }
    tablesByVersion.set(version, tables);
  }
  return tables;
}

function open(folder: string): Project {
  const file = path.join(folder, CATALOGUE_FILE);
  const inspection = inspect(file);
  if (inspection.version > SCHEMA_VERSION) {
    throw new InputError(file, `was made by a newer Clearsky (catalogue version ${inspection.version}; this one knows up to ${SCHEMA_VERSION}): update Clearsky to open it`);
  }
  let db: Database.Database;
  try {
    db = new Database(file, { fileMustExist: true });
  } catch (error) {
    throw new InputError(file, `cannot open the catalogue (${(error as Error).message})`);
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    if (inspection.version < SCHEMA_VERSION) backup(db, folder);
    else if (dailyBackupDue(db, folder)) backupQuietly(db, folder);
    migrate(db, inspection);
  } catch (error) {
    db.close();
    // SQLite's own errors ("database disk image is malformed", "no such table") say nothing of which file.
    const sqlite = (error as { code?: string }).code?.startsWith('SQLITE_') === true;
    throw sqlite ? new InputError(file, `cannot open the catalogue (${(error as Error).message})`) : error;
  }
  for (const sub of [RASTERS_FOLDER, RUNS_FOLDER, BACKUPS_FOLDER]) sweepStaleTemporaries(path.join(folder, sub), { recursive: true });
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

function migrate(db: Database.Database, { applicationId, version }: Inspection): void {
  if (version === SCHEMA_VERSION && applicationId === APPLICATION_ID) return;
  // A migration that rebuilds a table (5) drops it while other tables' rows refer to it: foreign keys are off
  // meanwhile (the pragma does nothing inside a transaction), and checked whole before the commit.
  db.pragma('foreign_keys = OFF');
  try {
    db.transaction(() => {
      for (const sql of MIGRATIONS.slice(version)) db.exec(sql);
      const broken = db.pragma('foreign_key_check') as unknown[];
      if (broken.length) throw new Error(`the migration would break ${broken.length} references between tables`);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
      // A catalogue from a Clearsky before application_id, found sound above, is adopted.
      db.pragma(`application_id = ${APPLICATION_ID}`);
    })();
  } finally {
    db.pragma('foreign_keys = ON');
  }
}

/**
 * Copies the open (checked) catalogue into `backups/` and keeps the newest BACKUPS_KEPT; returns the copy's path.
 * `VACUUM INTO` is SQLite's synchronous online backup (a consistent snapshot, like the backup API, which
 * better-sqlite3 only offers asynchronously while opening a project is synchronous); written under a temporary
 * name and renamed, so a backup is complete or absent.
 */
export function backupCatalogue(project: Project): string {
  return backup(project.db, project.dir);
}

function backup(db: Database.Database, folder: string): string {
  const dir = path.join(folder, BACKUPS_FOLDER);
  const named = (time: number) => path.join(dir, `project-${new Date(time).toISOString().replace(/:/g, '-')}.sqlite`);
  let time = Date.now();
  while (existsSync(named(time))) time++; // two in one millisecond keep both
  const target = named(time);
  const temporary = temporaryBeside(target);
  try {
    mkdirSync(dir, { recursive: true });
    db.prepare('VACUUM INTO ?').run(temporary);
    renameSync(temporary, target);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new InputError(dir, `cannot back up the catalogue (${(error as Error).message})`);
  }
  for (const old of backups(folder).slice(0, -BACKUPS_KEPT)) rmSync(old, { force: true });
  return target;
}

/** The once-a-day backup, for a project that stays open for days (the app, `clearsky serve`). */
export function backupIfDue(project: Project): void {
  if (dailyBackupDue(project.db, project.dir)) backupQuietly(project.db, project.dir);
}

/** The daily backup must not keep a project from opening (a full disk, a read-only copy): it says why instead. */
function backupQuietly(db: Database.Database, folder: string): void {
  try {
    backup(db, folder);
  } catch (error) {
    console.error(`clearsky: ${(error as Error).message}`);
  }
}

/** Is the newest backup (or, with none yet, the project's creation) more than a day old? */
function dailyBackupDue(db: Database.Database, folder: string): boolean {
  const newest = backups(folder).at(-1);
  const created = db.prepare('SELECT created_at FROM project WHERE id = 1').pluck().get() as string | undefined;
  const since = newest === undefined ? Date.parse(created ?? '') : backupTime(path.basename(newest));
  return !(Date.now() - since < BACKUP_INTERVAL_MS);
}

/** The project's backups, oldest first (absolute paths). */
function backups(folder: string): string[] {
  const dir = path.join(folder, BACKUPS_FOLDER);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((name) => BACKUP_NAME.test(name)).sort().map((name) => path.join(dir, name));
}

function backupTime(name: string): number {
  const [, day, minutes, seconds] = BACKUP_NAME.exec(name) ?? [];
  return Date.parse(`${day}:${minutes}:${seconds}`);
}

/** A fresh name beside `file` in the form the stale-temporary sweep knows (it names this process). */
function temporaryBeside(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
}
