/** Checks on where a command will write, made before any long work starts. */
import fs from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors.ts';

/** Fail before hours of optimisation, not after, when the result could not be written. */
export async function assertWritableFolder(out: string): Promise<void> {
  const folder = path.dirname(path.resolve(out));
  try {
    await fs.access(folder, fs.constants.W_OK);
  } catch {
    throw new InputError(out, `cannot write here: folder ${folder} does not exist or is not writable`);
  }
}
