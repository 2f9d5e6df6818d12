/**
 * Writing a file so that readers only ever see the old file or the complete new one: write to a temporary
 * file in the same folder (same file system, so the rename is atomic), flush, rename over the target. On any
 * failure the temporary file is removed and the target is left as it was.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../../errors.ts';

/** What a user can do about a failed write, by errno code. */
const WRITE_PROBLEMS: Record<string, string> = {
  ENOENT: 'cannot write: the folder does not exist',
  ENOTDIR: 'cannot write: a part of the folder path is not a folder',
  EACCES: 'cannot write: permission denied in the output folder',
  EPERM: 'cannot write: permission denied in the output folder',
  EROFS: 'cannot write: the output folder is on a read-only file system',
  ENOSPC: 'disk full while writing (free some space, or write to another disk)',
  EDQUOT: 'disk quota exceeded while writing',
  EISDIR: 'cannot write: a folder of that name exists',
  EFBIG: 'cannot write: the file is too large for the file system',
};

/** Runs `write` on a fresh temporary file beside `target`, then renames it to `target`. */
export async function writeFileAtomically(target: string, write: (file: fs.FileHandle) => Promise<void>): Promise<void> {
  const temporary = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  await refuseNonRegularTarget(target);
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(temporary, 'wx');
    await write(handle);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await refuseNonRegularTarget(target); // again: it may have appeared while we wrote
    await fs.rename(temporary, target);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await fs.rm(temporary, { force: true }).catch(() => undefined);
    throw asWriteError(target, error);
  }
}

/**
 * The rename would replace a device node, a FIFO or a socket with our file (as root, /dev/full itself): only a
 * regular file (or a symlink, which the rename replaces, not its target) may be written over.
 */
async function refuseNonRegularTarget(target: string): Promise<void> {
  const stats = await fs.lstat(target).catch(() => undefined);
  if (stats && !stats.isFile() && !stats.isSymbolicLink()) {
    throw new InputError(target, `cannot write: it exists and is ${stats.isDirectory() ? 'a folder' : 'not a regular file (a device, FIFO or socket)'}`);
  }
}

function asWriteError(target: string, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const problem = code === undefined ? undefined : WRITE_PROBLEMS[code];
  return problem === undefined ? error : new InputError(target, problem);
}
