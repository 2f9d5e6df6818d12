/**
 * The hidden temporaries Clearsky writes beside a file while making it, and finding those a killed process
 * left behind. Every name carries the writing process's id, so a temporary is stale exactly when that process
 * is gone; a live process's files are never touched (also not another user's: kill(pid, 0) says EPERM). A
 * recycled PID only keeps a stale file longer, never removes a live one.
 *
 *   .NAME.PID-RANDOM.tmp          the file being written (atomic-file.ts)
 *   .NAME.PID-RANDOM.levelN.tmp   a COG level's compressed tiles (geotiff-writer.ts)
 *   .NAME.tiles-PID-RANDOM/       finished tiles of `clearsky inpaint` (commands/inpaint.ts)
 *
 * Synchronous on purpose: a project is swept while it opens, and openProject is synchronous; folders are small.
 */
import { readdirSync, rmSync, type Dirent } from 'node:fs';
import path from 'node:path';

const TEMPORARY_FILE = /^\..+\.(\d+)-[0-9a-f]{8}(?:\.level\d+)?\.tmp$/;
const TILE_FOLDER = /^\..+\.tiles-(\d+)-[A-Za-z0-9]{6}$/;

/** The prefix for fs.mkdtemp of the tile folder beside `out` (this process's id in it). */
export function tileFolderPrefix(out: string): string {
  const resolved = path.resolve(out);
  return path.join(path.dirname(resolved), `.${path.basename(resolved)}.tiles-${process.pid}-`);
}

/** Is process `pid` running (on this machine)? */
export function processIsAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it is someone else's.
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

export interface SweepOptions {
  /** Also look in subfolders (never following links); a project's rasters/ and runs/ are swept this way. */
  recursive?: boolean;
  /** For tests. */
  isAlive?: (pid: number) => boolean;
}

/** Absolute paths of the temporaries in `folder` whose writing process is gone. A missing or unreadable folder has none. */
export function findStaleTemporaries(folder: string, { recursive = false, isAlive = processIsAlive }: SweepOptions = {}): string[] {
  const stale: string[] = [];
  for (const entry of entries(folder)) {
    const match = entry.isFile() ? TEMPORARY_FILE.exec(entry.name) : entry.isDirectory() ? TILE_FOLDER.exec(entry.name) : null;
    const pid = match ? Number(match[1]) : NaN;
    if (Number.isSafeInteger(pid) && pid > 0) {
      if (!isAlive(pid)) stale.push(path.join(folder, entry.name));
    } else if (recursive && entry.isDirectory()) {
      stale.push(...findStaleTemporaries(path.join(folder, entry.name), { recursive, isAlive }));
    }
  }
  return stale;
}

/** Removes the stale temporaries in `folder`; returns what was removed. Failures to remove are left for next time. */
export function sweepStaleTemporaries(folder: string, options: SweepOptions = {}): string[] {
  const removed: string[] = [];
  for (const file of findStaleTemporaries(folder, options)) {
    try {
      rmSync(file, { recursive: true, force: true });
      removed.push(file);
    } catch {
      // e.g. permissions: harmless, it stays hidden.
    }
  }
  return removed;
}

function entries(folder: string): Dirent[] {
  try {
    return readdirSync(folder, { withFileTypes: true });
  } catch {
    return [];
  }
}
