/**
 * The public evaluation sets `clearsky eval --set` knows: where each one's files are under the data folder
 * (data-folder.ts), which masks, which reference and which truth. Every file is checked before any work, and a
 * missing folder or file is refused naming its path.
 *
 * - slovenia: the paper's protocol. Real s2cloudless masks of other dates pasted on the clear 2015-09-09 scene
 *   (its own pixels under them are the truth); reference = mean of the clear 0820 and 0830 scenes (0711 is a
 *   cloud; the file names are labels).
 * - sen12mscr: real clouds. The cloudy image is the target, the cloud-free image of a nearby date the truth
 *   (approximate: another day), the mask from the cloud detector at its defaults; scored only where the truth
 *   is valid. SAR where the folder holds the pair's S1 (`s1/`, SEN12MS-CR's naming).
 * - t33uuu: a 768 × 512 crop of the T33UUU scene in 256-px tiles under the Scotland cloud mask, enlarged 3×
 *   (nearest neighbour) so that its clouds cross tile edges, run through the project's tiled pipeline.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.ts';
import type { Window } from '../raster/tiff/raster-info.ts';

export const EVAL_SETS = ['slovenia', 'sen12mscr', 't33uuu'] as const;
export type EvalSetName = (typeof EVAL_SETS)[number];

/** The real masks of the Slovenia stack used as clouds (10–47 % cover), as in docs/measurements.md. */
export const SLOVENIA_MASK_BANDS = [14, 19, 21, 35, 37, 41, 48, 50, 51];
const RGB = ['B04', 'B03', 'B02'];

interface SetBase {
  name: EvalSetName;
  /** Where the clouds come from, for the table's header. */
  maskSource: string;
  /** What the reconstruction is scored against. */
  truth: string;
  bands: string[];
}

export interface PastedSet extends SetBase {
  kind: 'pasted';
  target: string;
  masks: string;
  maskBands: number[];
  references: string[];
}

export interface Pair {
  name: string;
  cloudy: string;
  clear: string;
  sar?: string;
}

export interface PairsSet extends SetBase {
  kind: 'pairs';
  pairs: Pair[];
}

export interface TiledSet extends SetBase {
  kind: 'tiled';
  target: string;
  area: Window;
  tileSize: number;
  overlap: number;
  /** A real cloud mask (band 1), enlarged `maskScale` times by nearest neighbour onto the area. */
  maskFile: string;
  maskScale: number;
}

export type EvalSet = PastedSet | PairsSet | TiledSet;

/** Which sources a set gives the methods (defaultMethod's input). */
export function setSources(set: EvalSet): { reference: boolean; sar: boolean } {
  if (set.kind === 'pasted') return { reference: set.references.length > 0, sar: false };
  if (set.kind === 'pairs') return { reference: false, sar: set.pairs.length > 0 && set.pairs.every((p) => p.sar) };
  return { reference: false, sar: false };
}

/** Every file a set reads (what its outputs must never land on). */
export function setFiles(set: EvalSet): string[] {
  if (set.kind === 'pasted') return [set.target, set.masks, ...set.references];
  if (set.kind === 'pairs') return set.pairs.flatMap((p) => [p.cloudy, p.clear, ...(p.sar ? [p.sar] : [])]);
  return [set.target, set.maskFile];
}

/** `all`, one name or a comma-separated list. */
export function parseSetNames(text: string): EvalSetName[] {
  const names = text.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  if (names.includes('all')) return [...EVAL_SETS];
  for (const name of names) if (!EVAL_SETS.includes(name as EvalSetName)) throw new InputError(undefined, `unknown set '${name}' (expected ${EVAL_SETS.join(', ')} or all)`);
  if (names.length === 0) throw new InputError(undefined, `--set needs a set (${EVAL_SETS.join(', ')} or all)`);
  return [...new Set(names)] as EvalSetName[];
}

/** The sets' files under `dataDir`, each checked to exist. */
export function resolveEvalSets(names: EvalSetName[], dataDir: string): EvalSet[] {
  if (!existsSync(dataDir) || !statSync(dataDir).isDirectory()) {
    throw new InputError(dataDir, 'no such data folder: the public sets are read from it (give --data DIR or set CLEARSKY_DATA)');
  }
  const file = (...parts: string[]): string => {
    const found = path.join(dataDir, ...parts);
    if (!existsSync(found)) throw new InputError(found, `is missing from the data folder ${dataDir} (its README.md lists the sets)`);
    return found;
  };
  return names.map((name): EvalSet => {
    if (name === 'slovenia') {
      return {
        kind: 'pasted',
        name,
        target: file('slovenia-2015', 'S2L1C_20150909.tif'),
        masks: file('slovenia-2015', 'cloudmasks_s2cloudless_2015-2017.tif'),
        maskBands: SLOVENIA_MASK_BANDS,
        references: [file('slovenia-2015', 'S2L1C_20150820.tif'), file('slovenia-2015', 'S2L1C_20150830.tif')],
        bands: RGB,
        maskSource: `real s2cloudless masks of other dates (bands ${SLOVENIA_MASK_BANDS.join(', ')}) pasted on 20150909`,
        truth: '20150909 itself under the masks; reference = mean of 20150820 and 20150830',
      };
    }
    if (name === 'sen12mscr') {
      const manifest = file('sen12mscr-pairs', 'manifest.csv');
      const [header, ...lines] = readFileSync(manifest, 'utf8').split(/\r?\n/).filter((l) => l.trim());
      const columns = header.split(',');
      const cloudyAt = columns.indexOf('cloudy');
      const clearAt = columns.indexOf('clear');
      if (cloudyAt < 0 || clearAt < 0) throw new InputError(manifest, 'has no cloudy and clear columns');
      const pairs = lines.map((line): Pair => {
        const cells = line.split(',');
        const cloudy = file('sen12mscr-pairs', cells[cloudyAt]);
        // SEN12MS-CR names the S1 patch of ROIs1158_spring_s2_39_p100 ROIs1158_spring_s1_39_p100, in s1/.
        const s1 = path.join(dataDir, 'sen12mscr-pairs', 's1', path.basename(cells[clearAt]).replace('_s2_', '_s1_'));
        return { name: path.basename(cells[cloudyAt], '.tif').replace('_s2_cloudy', ''), cloudy, clear: file('sen12mscr-pairs', cells[clearAt]), ...(existsSync(s1) ? { sar: s1 } : {}) };
      });
      if (pairs.length === 0) throw new InputError(manifest, 'lists no pairs');
      return {
        kind: 'pairs',
        name,
        pairs,
        bands: RGB,
        maskSource: 'the cloud detector at its defaults on each cloudy image (clearsky mask --detect: cloud + shadow)',
        truth: 'the cloud-free image of a nearby date (approximate), where it is valid: not nodata, nothing detected on it',
      };
    }
    return {
      kind: 'tiled',
      name,
      target: file('T33UUU-20170216', 'S2L1C_T33UUU_20170216_10m.tif'),
      area: { x: 0, y: 0, width: 768, height: 512 },
      tileSize: 256,
      overlap: 32,
      maskFile: file('scotland-2020', 'cloudmask.tif'),
      maskScale: 3,
      bands: RGB,
      maskSource: 'the Scotland cloud + shadow mask enlarged 3× (nearest) on a 768×512 crop, 256-px tiles (the project pipeline, stitched)',
      truth: 'the crop itself under the mask (ground-truth run)',
    };
  });
}
