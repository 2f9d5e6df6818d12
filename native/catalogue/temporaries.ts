/**
 * Temporaries left by killed processes. Writers name their temporary files with their process id
 * (`.NAME.<pid>-<8 hex>.tmp` in raster/atomic-file.ts, `.NAME.<pid>-<8 hex>.level<N>.tmp` for the GeoTIFF
 * writer's scratch levels), so a file whose owner is gone can be told from one still being written: only the
 * former is removed. A recycled PID only keeps a stale file longer, never removes a live one.
 */
import { readdirSync, rmSync, type Dirent } from 'node:fs';
import path from 'node:path';

/** The temporaries the project's writers make; group `pid` is the writer's process id. */
export const PID_TEMPORARY = /^\..+\.(?<pid>\d+)-[0-9a-f]{8}(?:\.level\d+)?\.tmp$/;

/**
 * Removes, in `folder` and its subfolders (never following links), the plain files whose name matches `pattern`
 * and whose owner process (the pattern's `pid` group) no longer exists. Returns the removed paths.
 */
export function sweepStaleTemporaries(folder: string, pattern: RegExp): string[] {
  const removed: string[] = [];
  for (const entry of entries(folder)) {
    const file = path.join(folder, entry.name);
    if (entry.isDirectory()) {
      removed.push(...sweepStaleTemporaries(file, pattern));
      continue;
    }
    const pid = entry.isFile() ? Number(pattern.exec(entry.name)?.groups?.pid) : NaN;
    if (Number.isSafeInteger(pid) && pid > 0 && !processExists(pid)) {
      rmSync(file, { force: true });
      removed.push(file);
    }
  }
  return removed;
}

/** `kill(pid, 0)` sends nothing: ESRCH says there is no such process; EPERM says there is one (another user's). */
function processExists(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function entries(folder: string): Dirent[] {
  try {
    return readdirSync(folder, { withFileTypes: true });
  } catch {
    return [];
  }
}
