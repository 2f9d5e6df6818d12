/**
 * Importing rasters into a project: one file or whole folders (every *.tif / *.tiff below them), each
 * recognised (recognise.ts) unless the request says its kind, converted into the project's rasters/<kind>/ as
 * a tiled, DEFLATE-compressed COG with overviews (copy-raster.ts), and recorded in one transaction.
 *
 * - A file whose content (SHA-256) was imported before is reported as 'duplicate', not imported again.
 * - Conversion fails → no row; recording fails → the converted files are removed. Either way the outcome of
 *   that file is 'failed' with a one-line reason, and the other files go on.
 * - Binary masks: one row per band (a stack of s2cloudless masks gives one mask per date, named by its band
 *   description), each with its cloud cover and outline (GeoJSON beside the raster). Overviews are nearest.
 * - SCL and cloud probability: the source raster is kept (rasters/scl/, rasters/probability/) and a binary
 *   mask derived from it (SCL classes 3, 8, 9, 10; probability > 0.4) is written to rasters/masks/ and
 *   recorded as the mask (source 'scl' / 'probability', parameters saying how, sourceFile the kept raster).
 *   Runs use the binary mask; another threshold or class set is a new mask made from the kept source.
 * - A mask is linked to the scene of the same acquisition day on the same grid (and gives that scene its
 *   cloud cover), whichever of the two was imported first.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ImportRequest, type Grid, type ImportOutcome, type MaskRecord, type SceneRecord } from '../api/contract.ts';
import { InputError, isCancelled, throwIfCancelled } from '../errors.ts';
import { createMask, type Mask } from '../dip/image.ts';
import { DEFAULT_SCL_CLASSES, openCloudMask, writeCloudMask, type CloudMaskSource } from '../raster/sentinel/cloud-masks.ts';
import { copyRaster } from '../raster/tiff/copy-raster.ts';
import { DATA_TYPES } from '../raster/tiff/data-types.ts';
import { openRaster } from '../raster/tiff/geotiff-reader.ts';
import { maskOutline } from '../raster/geo/outline.ts';
import { sceneDate } from '../raster/sentinel/reference.ts';
import type { RasterInfo } from '../raster/tiff/raster-info.ts';
import type { TaskContext } from '../project/tasks.ts';
import { getMask, insertMask, linkMaskToScene, masksBySource } from './masks.ts';
import { RASTERS_FOLDER, type Project } from './project.ts';
import { gridOf, sameGrid } from './records.ts';
import { catalogueBands, metadataCloudCover, recognise, s1Level, s1Units, s2Level, sampleValues, type ImportKind } from './recognise.ts';
import { insertRef, refBySource } from './refs.ts';
import { coverReplaceable, getScene, insertScene, sceneBySource, setSceneCloudCover } from './scenes.ts';

/** Default SCL classes and probability threshold for masks derived at import. */
export const IMPORT_SCL_CLASSES = DEFAULT_SCL_CLASSES;
export const IMPORT_PROBABILITY_THRESHOLD = 0.4;

/** Where each kind lands under rasters/. */
export const FOLDERS: Record<ImportKind, string> = { S2: 's2', S1: 's1', reference: 'references', mask: 'masks', scl: 'scl', probability: 'probability' };

export type ImportProgress = (done: number, total: number, file: string) => void;

export interface ImportOptions {
  /** Stops between files: the files done stay imported, the others are listed in `notImported`. */
  signal?: AbortSignal;
  /** Told each file's path when the import stops before it. */
  onNotImported?: (file: string) => void;
}

/**
 * Imports the request's files and folders; one outcome per file (per recorded mask for a mask stack). With a
 * `task`, each file's steps report there (tiles written, strips outlined) and its signal stops the import
 * between blocks: the file being imported leaves nothing (its COG is written atomically, its rows recorded
 * last); files imported before it stay. `options.signal` (a folder import's) stops it between files instead,
 * and the import answers what it did.
 */
export async function importFiles(project: Project, input: ImportRequest, onProgress?: ImportProgress, task?: TaskContext, options: ImportOptions = {}): Promise<ImportOutcome[]> {
  const request = ImportRequest.parse(input);
  const outcomes: ImportOutcome[] = [];
  const files: string[] = [];
  for (const given of request.paths) {
    const absolute = path.resolve(given);
    try {
      const stat = await fs.stat(absolute);
      if (stat.isDirectory()) {
        const found = await findRasters(absolute);
        if (found.length === 0) outcomes.push({ path: given, status: 'failed', error: `${given}: no .tif or .tiff files in this folder` });
        files.push(...found);
      } else {
        files.push(absolute);
      }
    } catch {
      outcomes.push({ path: given, status: 'failed', error: `${given}: no such file or folder` });
    }
  }
  const unique = [...new Set(files)];
  for (const [index, file] of unique.entries()) {
    if (options.signal?.aborted) {
      // A file is never left half imported: the one under way finished; this one and the rest are not started.
      for (const rest of unique.slice(index)) options.onNotImported?.(rest);
      break;
    }
    onProgress?.(index, unique.length, file);
    // One file: the task's label names it already. Several: say which one, and how far along the list.
    const name = unique.length > 1 ? `${path.basename(file)} (${index + 1} of ${unique.length}): ` : '';
    const step: Step = { signal: task?.signal, report: (done, total, what) => task?.progress(done, total, `${name}${what}`) };
    try {
      throwIfCancelled(step.signal);
      outcomes.push(...(await importFile(project, file, request.kind, step)));
    } catch (error) {
      if (isCancelled(error) || step.signal?.aborted) throw error; // a cancel is not this file's failure
      const message = (error as Error).message?.split('\n')[0] ?? String(error);
      outcomes.push({ path: file, status: 'failed', error: message.includes(file) ? message : `${file}: ${message}` });
    }
  }
  return outcomes;
}

/** Every .tif / .tiff below `folder`, sorted; hidden entries (.git, .aux files) skipped. */
async function findRasters(folder: string): Promise<string[]> {
  const entries = await fs.readdir(folder, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && /\.tiff?$/i.test(entry.name) && !entry.name.startsWith('.'))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .filter((file) => !path.relative(folder, file).split(path.sep).some((part) => part.startsWith('.')))
    .sort();
}

/** Where one file's import reports its steps, and what stops it. */
interface Step {
  signal: AbortSignal | undefined;
  report(done: number, total: number, what: string): void;
}

async function importFile(project: Project, file: string, forced: ImportKind | undefined, step: Step): Promise<ImportOutcome[]> {
  const sha256 = await fileSha256(file, step);
  const duplicate = findDuplicate(project, file, sha256);
  if (duplicate) return duplicate;

  const raster = await openRaster(file);
  let kind: ImportKind;
  let sample: Awaited<ReturnType<typeof sampleValues>>;
  try {
    sample = await sampleValues(raster);
    if (forced) {
      kind = forced;
    } else {
      const recognition = recognise(raster, sample);
      if (recognition.kind === 'unsure') {
        return [{ path: file, status: 'unsure', candidates: recognition.candidates, reason: recognition.reason }];
      }
      kind = recognition.kind;
    }
  } finally {
    await raster.close();
  }
  const source = { file, sha256, info: raster as RasterInfo };
  switch (kind) {
    case 'S2':
    case 'S1':
    case 'reference':
      return [await importImagery(project, source, kind, sample, step)];
    case 'mask':
      return importBinaryMask(project, source, step);
    case 'scl':
    case 'probability':
      return [await importDerivedMask(project, source, kind, sample, step)];
  }
}

interface Source {
  file: string;
  sha256: string;
  info: RasterInfo;
}

function findDuplicate(project: Project, file: string, sha256: string): ImportOutcome[] | null {
  const scene = sceneBySource(project, sha256);
  if (scene) return [{ path: file, status: 'duplicate', kind: 'scene', id: scene.id, name: scene.name }];
  const ref = refBySource(project, sha256);
  if (ref) return [{ path: file, status: 'duplicate', kind: 'ref', id: ref.id, name: ref.name }];
  const masks = masksBySource(project, sha256);
  if (masks.length) return masks.map((mask) => ({ path: file, status: 'duplicate', kind: 'mask', id: mask.id, name: mask.name }));
  return null;
}

async function importImagery(project: Project, source: Source, kind: 'S2' | 'S1' | 'reference', sample: Awaited<ReturnType<typeof sampleValues>>, step: Step): Promise<ImportOutcome> {
  const { info } = source;
  const target = await convert(project, source, FOLDERS[kind], step, 'average', true);
  try {
    const common = { name: stem(source.file), file: project.relative(target), sourcePath: source.file, sourceSha256: source.sha256, bands: catalogueBands(info, kind), grid: gridOf(info) };
    const day = sceneDate(info)?.date ?? null;
    if (kind === 'reference') {
      const record = insertRef(project, { ...common, method: 'imported', date: info.metadata.CLEARSKY_REFERENCE_DATE ?? day, sceneIds: [] });
      return { path: source.file, status: 'imported', kind: 'ref', record };
    }
    const record = project.db.transaction(() => {
      const scene = insertScene(project, {
        ...common,
        sensor: kind,
        level: kind === 'S2' ? s2Level(info) : s1Level(info),
        acquired: day,
        dataType: info.dataType,
        nodata: info.nodata,
        units: kind === 'S1' ? s1Units(info, sample) : null,
        cloudCover: kind === 'S2' ? metadataCloudCover(info) : null,
      });
      if (kind === 'S2') linkScene(project, scene.id, scene.acquired, scene.grid, scene.cloudCover);
      return scene;
    })();
    return { path: source.file, status: 'imported', kind: 'scene', record: getScene(project, record.id) };
  } catch (error) {
    await fs.rm(target, { force: true });
    throw error;
  }
}

async function importBinaryMask(project: Project, source: Source, step: Step): Promise<ImportOutcome[]> {
  const { info } = source;
  const target = await convert(project, source, FOLDERS.mask, step, 'nearest');
  const written = [target];
  try {
    const grid = gridOf(info);
    const base = target.replace(/\.tif$/, '');
    const rows: Omit<Parameters<typeof insertMask>[1], 'sceneId'>[] = [];
    for (let band = 1; band <= info.bandCount; band++) {
      const facts = { what: `outlining band ${band} of ${info.bandCount}`, ...step };
      const { cloudCover, outline } = await maskFacts({ kind: 'binary', path: target, band: info.bandCount > 1 ? band : undefined }, info, `${base}${info.bandCount > 1 ? `.b${band}` : ''}.geojson`, written, facts);
      const description = info.bandNames[band - 1]?.trim() || null;
      rows.push({
        name: info.bandCount > 1 ? (description ?? `${stem(source.file)}:${band}`) : stem(source.file),
        file: project.relative(target),
        band,
        source: 'binary',
        sourcePath: source.file,
        sourceSha256: source.sha256,
        sourceFile: null,
        acquired: (description && sceneDate({ path: description, metadata: {} })?.date) ?? (info.bandCount === 1 ? sceneDate(info)?.date ?? null : null),
        parameters: {},
        grid,
        cloudCover,
        outlineFile: project.relative(outline),
      });
    }
    const records = recordMasks(project, rows);
    return records.map((record) => ({ path: source.file, status: 'imported', kind: 'mask', record }));
  } catch (error) {
    await Promise.all(written.map((file) => fs.rm(file, { force: true })));
    throw error;
  }
}

async function importDerivedMask(project: Project, source: Source, kind: 'scl' | 'probability', sample: Awaited<ReturnType<typeof sampleValues>>, step: Step): Promise<ImportOutcome> {
  const { info } = source;
  const kept = await convert(project, source, FOLDERS[kind], step, kind === 'scl' ? 'nearest' : 'average');
  const written = [kept];
  try {
    const spec: CloudMaskSource = kind === 'scl'
      ? { kind, path: kept, classes: IMPORT_SCL_CLASSES }
      : { kind, path: kept, threshold: IMPORT_PROBABILITY_THRESHOLD, scale: probabilityScale(source, sample) };
    const maskPath = await uniquePath(project, FOLDERS.mask, `${stem(source.file)}-cloud`);
    written.push(maskPath);
    step.report(0, 1, 'deriving the cloud mask');
    const result = await writeCloudMask(maskPath, spec, { keepMask: true, metadata: { CLEARSKY_MASK_IMPORTED_FROM: path.basename(source.file) } });
    throwIfCancelled(step.signal);
    const outline = maskPath.replace(/\.tif$/, '.geojson');
    written.push(outline);
    await fs.writeFile(outline, JSON.stringify(maskOutline(result.mask!, result.grid)));
    const parameters: Record<string, unknown> = kind === 'scl' ? { classes: [...IMPORT_SCL_CLASSES] } : { threshold: spec.threshold, scale: spec.scale };
    const [record] = recordMasks(project, [{
      name: stem(source.file),
      file: project.relative(maskPath),
      band: 1,
      source: kind,
      sourcePath: source.file,
      sourceSha256: source.sha256,
      sourceFile: project.relative(kept),
      acquired: sceneDate(info)?.date ?? null,
      parameters,
      grid: gridOf(info),
      cloudCover: result.cloudFraction,
      outlineFile: project.relative(outline),
    }]);
    return { path: source.file, status: 'imported', kind: 'mask', record };
  } catch (error) {
    await Promise.all(written.map((file) => fs.rm(file, { force: true })));
    throw error;
  }
}

/** Integer probability rasters: 0–255 (Sentinel Hub CLP) or 0–100 (Sen2Cor MSK_CLDPRB), told by name or values. */
function probabilityScale(source: Source, sample: Awaited<ReturnType<typeof sampleValues>>): number {
  if (!DATA_TYPES[source.info.dataType].isInteger) return 1;
  const name = path.basename(source.file).toLowerCase();
  if (/cldprb/.test(name)) return 100;
  if (/(^|[^a-z])clp([^a-z]|$)/.test(name) || sample.max > 100) return 255;
  throw new InputError(
    source.file,
    'is an integer cloud-probability raster whose scale (0–100 or 0–255) cannot be told; make a mask with ' +
      '`clearsky mask --from-probability FILE --threshold 0.4 --scale 100|255 --out MASK.tif` and import that',
  );
}

/** Cloud cover and outline of one band of a binary mask; the outline (GeoJSON) is written to `outline`. */
async function maskFacts(spec: CloudMaskSource, grid: Pick<RasterInfo, 'crs' | 'geoTransform'>, outline: string, written: string[], step: Step & { what: string }): Promise<{ cloudCover: number; outline: string }> {
  // Read in strips of rows: the whole band as bytes (the outline needs it), never as float32 values.
  const reader = await openCloudMask(spec);
  let mask: Mask;
  let cloud = 0;
  try {
    const { width, height } = reader.grid;
    mask = createMask(width, height);
    for (let y = 0; y < height; y += MASK_STRIP_ROWS) {
      throwIfCancelled(step.signal);
      step.report(y, height, step.what);
      const strip = await reader.read({ x: 0, y, width, height: Math.min(MASK_STRIP_ROWS, height - y) });
      mask.data.set(strip.data, y * width);
      for (const value of strip.data) cloud += value;
    }
  } finally {
    await reader.close();
  }
  written.push(outline);
  await fs.writeFile(outline, JSON.stringify(maskOutline(mask, { width: mask.width, height: mask.height, crs: grid.crs, geoTransform: grid.geoTransform })));
  return { cloudCover: cloud / (mask.width * mask.height), outline };
}

const MASK_STRIP_ROWS = 512;

/** Inserts masks in one transaction, each linked to the scene of its day on its grid (when exactly one). */
function recordMasks(project: Project, rows: Omit<Parameters<typeof insertMask>[1], 'sceneId'>[]): MaskRecord[] {
  const ids = project.db.transaction(() =>
    rows.map((row) => {
      const scene = row.acquired ? sceneOfDay(project, row.acquired, row.grid) : null;
      const record = insertMask(project, { ...row, sceneId: scene?.id ?? null });
      if (scene && coverReplaceable(scene) && row.cloudCover !== null) {
        setSceneCloudCover(project, scene.id, row.cloudCover, 'mask');
        scene.cloud_cover = row.cloudCover;
        scene.cloud_cover_source = 'mask';
      }
      return record.id;
    }),
  )();
  // Re-read after the transaction: the records show the final version and scene link.
  return ids.map((id) => getMask(project, id));
}

/** The S2 scene acquired on `day` on this grid, when there is exactly one. */
function sceneOfDay(project: Project, day: string, grid: Grid): { id: number; cloud_cover: number | null; cloud_cover_source: string | null } | null {
  const rows = project.db.prepare("SELECT id, grid, cloud_cover, cloud_cover_source FROM scenes WHERE acquired = ? AND sensor = 'S2'").all(day) as { id: number; grid: string; cloud_cover: number | null; cloud_cover_source: string | null }[];
  const matches = rows.filter((row) => sameGrid(JSON.parse(row.grid) as Grid, grid));
  return matches.length === 1 ? matches[0] : null;
}

/** A new scene takes the unlinked masks of its day on its grid (and its cloud cover from them, when it has none). */
/**
 * Gives an undated scene its acquisition day (YYYY-MM-DD, a real calendar day): its file said none. Then, as at
 * import, the masks of that day on its grid are linked to it and give it its cloud cover. A scene whose file
 * has a date keeps it (one line says so).
 */
export function setSceneDate(project: Project, sceneId: number, date: string): SceneRecord {
  const scene = getScene(project, sceneId);
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const day = match && new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  if (!match || !day || day.getUTCMonth() !== Number(match[2]) - 1 || day.getUTCDate() !== Number(match[3]) || day.getUTCFullYear() < 1900) {
    throw new InputError(undefined, `${date} is not a day (YYYY-MM-DD)`);
  }
  if (scene.acquired !== null) throw new InputError(undefined, `scene ${scene.id} (${scene.name}) has its date from its file, ${scene.acquired}: it is kept`);
  project.db.transaction(() => {
    project.db.prepare('UPDATE scenes SET acquired = ? WHERE id = ? AND acquired IS NULL').run(date, sceneId);
    linkScene(project, sceneId, date, scene.grid, scene.cloudCoverSource === 'detected' ? null : scene.cloudCover);
  })();
  return getScene(project, sceneId);
}

function linkScene(project: Project, sceneId: number, day: string | null, grid: Grid, cloudCover: number | null): void {
  if (day === null) return;
  const masks = project.db.prepare('SELECT id, grid, cloud_cover FROM masks WHERE scene_id IS NULL AND acquired = ? ORDER BY id').all(day) as { id: number; grid: string; cloud_cover: number | null }[];
  const mine = masks.filter((mask) => sameGrid(JSON.parse(mask.grid) as Grid, grid));
  for (const mask of mine) linkMaskToScene(project, mask.id, sceneId);
  const cover = mine.find((mask) => mask.cloud_cover !== null)?.cloud_cover;
  if (cloudCover === null && cover !== undefined && cover !== null) setSceneCloudCover(project, sceneId, cover, 'mask');
}

/** Copies `source` into rasters/<folder>/<safe name>.tif (a COG); returns the absolute path. */
async function convert(project: Project, source: Source, folder: string, step: Step, overviews: 'average' | 'nearest' = 'average', finiteOnly = false): Promise<string> {
  const target = await uniquePath(project, folder, stem(source.file));
  await copyRaster(source.file, target, { overviews, finiteOnly, signal: step.signal, onProgress: (done, total) => step.report(done, total, 'writing tiles') });
  return target;
}

/** rasters/<folder>/<name>.tif with a name safe on every file system, numbered when taken. */
export async function uniquePath(project: Project, folder: string, name: string): Promise<string> {
  const dir = path.join(project.dir, RASTERS_FOLDER, folder);
  await fs.mkdir(dir, { recursive: true });
  const safe = name.normalize('NFKD').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, 100) || 'raster';
  const taken = (candidate: string) =>
    existsSync(candidate) || existsSync(candidate.replace(/\.tif$/, '.geojson')) ||
    ['scenes', 'refs', 'masks'].some((table) => project.db.prepare(`SELECT 1 FROM ${table} WHERE file = ? LIMIT 1`).get(project.relative(candidate)) !== undefined);
  for (let n = 1; ; n++) {
    const candidate = path.join(dir, `${safe}${n === 1 ? '' : `-${n}`}.tif`);
    if (!taken(candidate)) return candidate;
  }
}

function stem(file: string): string {
  return path.basename(file).replace(/\.tiff?$/i, '');
}

async function fileSha256(file: string, step: Step): Promise<string> {
  const hash = createHash('sha256');
  const { size } = await fs.stat(file);
  let read = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    throwIfCancelled(step.signal); // leaving the loop closes the stream
    hash.update(chunk as Buffer);
    read += (chunk as Buffer).length;
    step.report(read, size, 'checking for a duplicate');
  }
  return hash.digest('hex');
}

