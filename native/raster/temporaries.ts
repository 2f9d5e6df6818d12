/**
 * The hidden temporaries Clearsky writes beside a file while making it, and finding those a killed process
 * left behind. Every name carries the writing process's id, so a temporary is stale exactly when that process
 * is gone; a live process's files are never touched (also not another user's: kill(pid, 0) says EPERM).
 *
 *   .NAME.PID-RANDOM.tmp          the file being written (atomic-file.ts)
 *   .NAME.PID-RANDOM.levelN.tmp   a COG level's compressed tiles (geotiff-writer.ts)
 *   .NAME.tiles-PID-RANDOM/       finished tiles of `clearsky inpaint` (commands/inpaint.ts)
 */
import fs from 'node:fs/promises';
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

/**
 * Absolute paths of the temporaries in `folder` (not below it) whose writing process is gone. A missing or
 * unreadable folder has none. `isAlive` is for tests.
 */
export async function findStaleTemporaries(folder: string, isAlive: (pid: number) => boolean = processIsAlive): Promise<string[]> {
  let entries;
  try {
    entries = await fs.readdir(folder, { withFileTypes: true });
  } catch {
    return [];
  }
  const stale: string[] = [];
  for (const entry of entries) {
    const match = entry.isFile() ? TEMPORARY_FILE.exec(entry.name) : entry.isDirectory() ? TILE_FOLDER.exec(entry.name) : null;
    if (!match) continue;
    const pid = Number(match[1]);
    if (Number.isSafeInteger(pid) && pid > 0 && !isAlive(pid)) stale.push(path.join(folder, entry.name));
  }
  return stale;
}

/** Removes the stale temporaries in `folder`; returns what was removed. Failures to remove are left for next time. */
export async function sweepStaleTemporaries(folder: string): Promise<string[]> {
  const removed: string[] = [];
  for (const file of await findStaleTemporaries(folder)) {
    try {
      await fs.rm(file, { recursive: true, force: true });
      removed.push(file);
    } catch {
      // e.g. permissions: harmless, it stays hidden.
    }
  }
  return removed;
}
