/**
 * Where a command may write. An output must never land on the user's data: not on one of the command's own
 * inputs (also through a symlink or a hard link), not on another of its outputs, not inside any Clearsky
 * project's catalogue, rasters/ or runs/ (only the project itself writes there; a project is found by its
 * catalogue file, open or not), and not on anything but a regular file path (a device, a FIFO, a socket or
 * a folder would be replaced by the rename that publishes the file). Checked before any long work: a
 * refusal costs nothing and writes nothing.
 */
import type { Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { CATALOGUE_FILE, RASTERS_FOLDER, RUNS_FOLDER, isInside } from '../catalogue/project.ts';
import { InputError } from '../errors.ts';
import { sweepStaleTemporaries } from '../raster/tiff/temporaries.ts';

/** A path and how the user named it (a flag such as `--out`, or words such as `result 3`). */
export interface NamedPath {
  path: string;
  what: string;
}

export interface OutputPlan {
  inputs: NamedPath[];
  outputs: NamedPath[];
  /** Folders nothing may be written into at all (the open project, for an export out of it). */
  closedFolders?: string[];
}

/** Throws an InputError naming the output and what it would overwrite when any output is unsafe. */
export async function assertSafeOutputs(plan: OutputPlan): Promise<void> {
  const inputs = await Promise.all(plan.inputs.map(identify));
  const outputs = await Promise.all(plan.outputs.map(identify));
  const closed = await Promise.all((plan.closedFolders ?? []).map(async (folder) => [path.resolve(folder), await realPath(path.resolve(folder))]));
  for (const [i, out] of outputs.entries()) {
    const kind = out.stats && !out.stats.isFile() ? nonRegularKind(out.stats) : undefined;
    if (kind) throw new InputError(out.path, `${out.what} is ${kind}, not a regular file: nothing was written; give a file path`);
    for (const input of inputs) {
      if (sameFile(out, input)) throw new InputError(out.path, `${out.what} is the same file as ${input.what} ${input.path}: writing would destroy the input; choose another output path`);
    }
    for (const other of outputs.slice(0, i)) {
      if (sameFile(out, other)) throw new InputError(out.path, `${out.what} is the same file as ${other.what} ${other.path}: one output would overwrite the other; give each its own path`);
    }
    for (const [folder, real] of closed) {
      if (isInside(folder, out.resolved) || isInside(real, out.real)) {
        throw new InputError(out.path, `${out.what} is inside the open project ${folder}: write the export to a folder outside the project`);
      }
    }
    await assertOutsideProjectData(out);
  }
}

/**
 * The checks above, then the temporaries that killed Clearsky processes left beside each output are removed
 * (what a run that is stopped with kill -9 cannot clean up itself). Call it before any long work.
 */
export async function prepareOutputs(plan: OutputPlan): Promise<void> {
  await assertSafeOutputs(plan);
  const folders = new Set(plan.outputs.map((out) => path.dirname(path.resolve(out.path))));
  for (const folder of folders) sweepStaleTemporaries(folder);
}

interface Identity extends NamedPath {
  resolved: string;
  /** The path with every symlink of its existing part resolved. */
  real: string;
  /** Of the file the path leads to (following symlinks), when there is one. */
  stats: Stats | undefined;
}

async function identify(named: NamedPath): Promise<Identity> {
  const resolved = path.resolve(named.path);
  const stats = await fs.stat(resolved).catch(() => undefined);
  return { ...named, resolved, real: await realPath(resolved), stats };
}

/** realpath of the longest existing part of `absolute`, with the rest (not yet created) appended. */
async function realPath(absolute: string): Promise<string> {
  const missing: string[] = [];
  let existing = absolute;
  for (;;) {
    try {
      return path.join(await fs.realpath(existing), ...missing.reverse());
    } catch {
      const parent = path.dirname(existing);
      if (parent === existing) return absolute;
      missing.push(path.basename(existing));
      existing = parent;
    }
  }
}

function sameFile(a: Identity, b: Identity): boolean {
  if (a.resolved === b.resolved || a.real === b.real) return true;
  // Hard links: two names, one file.
  return a.stats !== undefined && b.stats !== undefined && a.stats.dev === b.stats.dev && a.stats.ino === b.stats.ino;
}

function nonRegularKind(stats: Stats): string {
  if (stats.isDirectory()) return 'a folder';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  return 'not a file';
}

/** Any folder above the output (by its written path and by its real one) holding a catalogue is a project. */
async function assertOutsideProjectData(out: Identity): Promise<void> {
  for (const candidate of new Set([out.resolved, out.real])) {
    for (let folder = path.dirname(candidate); ; folder = path.dirname(folder)) {
      const catalogue = await fs.stat(path.join(folder, CATALOGUE_FILE)).catch(() => undefined);
      if (catalogue?.isFile()) {
        const first = path.relative(folder, candidate).split(path.sep)[0];
        // project.sqlite-wal, -shm and -journal are the catalogue too.
        if (first === RASTERS_FOLDER || first === RUNS_FOLDER || first.startsWith(CATALOGUE_FILE)) {
          const part = first.startsWith(CATALOGUE_FILE) ? `its catalogue ${first}` : `its ${first}/ folder`;
          throw new InputError(out.path, `${out.what} is inside the Clearsky project ${folder} (${part}), which only the project writes: choose a path outside its ${CATALOGUE_FILE}, ${RASTERS_FOLDER}/ and ${RUNS_FOLDER}/`);
        }
      }
      if (path.dirname(folder) === folder) break;
    }
  }
}
