/**
 * Multi-temporal references built from whole scenes, streamed window by window so that scenes of any size
 * (10980² × 13 bands) pass through bounded memory:
 * - static: the per-pixel mean of the scenes' clear observations (the paper's reference);
 * - dynamic: at each pixel, the latest observation before a date that is clear there.
 * An observation is clear when its cloud mask (if given; any non-zero value = cloud) is 0 there and it is
 * not nodata. `openReference` checks every input (grids, bands, masks, dates) before a pixel is read and
 * returns a `BlockSource` for the GeoTIFF writer: values in the scenes' own digital numbers, the output
 * nodata value where no scene is clear.
 */
import path from 'node:path';
import { InputError } from '../../errors.ts';
import { resolveBands, standardName } from './bands.ts';
import { DATA_TYPES, type RasterDataType } from '../tiff/data-types.ts';
import { openRaster, readBands, type Raster } from '../tiff/geotiff-reader.ts';
import type { BlockSource } from '../tiff/geotiff-writer.ts';
import { assertSameGrid } from '../geo/grid.ts';
import { readMaskBand } from './mask.ts';
import type { RasterInfo, Window } from '../tiff/raster-info.ts';

export type ReferenceMethod = 'static' | 'dynamic';

/** A cloud mask for one scene: a band of a raster on the scenes' grid, chosen by number or by the date it describes. */
export interface MaskChoice {
  path: string;
  /** 1-based band number; default: the only band (a multi-band mask needs a choice). */
  band?: number;
  /** YYYY-MM-DD: the band whose description is this date (e.g. s2cloudless stacks, one band per acquisition). */
  date?: string;
}

export interface ReferenceSpec {
  /** The scenes, all on the grid of the first. */
  scenes: readonly string[];
  /** One mask per scene, in the same order ("M.tif", "M.tif:4", "M.tif:2015-08-30" or a MaskChoice). */
  masks?: readonly (string | MaskChoice)[];
  /** Band names (B04, B8A…); default: every band of the first scene, found by name in the others. */
  bands?: readonly string[];
  /** Default 'static'. */
  method?: ReferenceMethod;
  /** YYYY-MM-DD, dynamic only: only scenes acquired strictly before this day are used. */
  date?: string;
}

export interface ReferenceScene {
  path: string;
  /** Acquisition day (YYYY-MM-DD), or null when neither the metadata nor the file name gives one. */
  date: string | null;
  /** Where the date came from: "metadata ACQUISITION_DATE", "file name". */
  dateSource: string | null;
  mask: { path: string; band: number } | null;
  /** False for a dynamic reference's scenes on or after its date. */
  used: boolean;
}

/** What a finished reference looked like, counted over the distinct windows read. */
export interface ReferenceStats {
  pixels: number;
  /** Pixels where no scene is clear (written as nodata). */
  noClearObservation: number;
  /** Dynamic: pixels taken from each scene (same order as `scenes`); static: pixels each scene contributed to. */
  pixelsPerScene: number[];
}

export interface Reference extends BlockSource {
  method: ReferenceMethod;
  /** The dynamic reference's date (YYYY-MM-DD); null for static. */
  date: string | null;
  /** The first scene: the output's grid, georeferencing and data type. */
  like: RasterInfo;
  dataType: RasterDataType;
  bandNames: (string | null)[];
  /** The output's nodata value: the first scene's, else 0 for integer types and NaN for floats. */
  nodata: number;
  scenes: ReferenceScene[];
  /** Provenance items describing how the reference was made (CLEARSKY_REFERENCE_*). */
  metadata: Record<string, string>;
  /** Dynamic only: one band, days between the chosen observation and `date`; 0 where there is none. */
  age: BlockSource | null;
  stats(): ReferenceStats;
  close(): Promise<void>;
}

/** Nodata value of the age raster: ages are at least 1 day, as only scenes before the date are used. */
export const AGE_NODATA = 0;

/** Dataset metadata keys that hold an acquisition time, most specific first (compared case-insensitively). */
const DATE_KEYS = [
  'ACQUISITION_DATE',
  'ACQUISITION_TIME',
  'DATATAKE_1_DATATAKE_SENSING_START',
  'DATATAKE_SENSING_START',
  'SENSING_TIME',
  'SENSING_START',
  'SENSING_DATE',
  'PRODUCT_START_TIME',
  'DATE_ACQUIRED',
  'ACQUISITIONDATE',
];

interface OpenScene {
  info: ReferenceScene;
  raster: Raster;
  bandIndexes: number[];
  /** The value that is no observation (see `missingValue`); NaN when there is none. */
  missing: number;
  mask: { raster: Raster; band: number } | null;
  /** Milliseconds since the epoch, for ordering scenes of the same day. */
  time: number;
  /** Dynamic: days between this scene's day and the reference date. */
  ageDays: number;
}

/**
 * Opens the scenes and masks and checks them (grids, bands, mask choices and counts, dates); the caller must
 * `close()` the result. Every problem a user can cause is an InputError naming the file.
 */
export async function openReference(spec: ReferenceSpec): Promise<Reference> {
  const method = spec.method ?? 'static';
  if (spec.scenes.length === 0) throw new InputError(undefined, 'no scenes given: a reference needs at least one scene');
  if (spec.masks && spec.masks.length !== spec.scenes.length) {
    throw new InputError(undefined, `${spec.masks.length} mask${spec.masks.length === 1 ? '' : 's'} for ${spec.scenes.length} scenes: give one mask per scene, in the same order`);
  }
  const date = method === 'dynamic' ? parseDay(spec.date, '--date') : null;
  if (method === 'static' && spec.date !== undefined) throw new InputError(undefined, '--date is for a dynamic reference (--dynamic)');

  const opened = new Map<string, Raster>();
  const open = async (file: string): Promise<Raster> => {
    let raster = opened.get(file);
    if (!raster) {
      raster = await openRaster(file);
      opened.set(file, raster);
    }
    return raster;
  };
  const close = async () => {
    await Promise.all([...opened.values()].map((raster) => raster.close()));
    opened.clear();
  };
  try {
    const first = await open(spec.scenes[0]);
    const bands = referenceBands(first, spec.bands);
    const scenes: OpenScene[] = [];
    for (const [index, file] of spec.scenes.entries()) {
      const raster = await open(file);
      if (raster !== first) assertSameGrid(first, raster);
      const found = sceneDate(raster);
      const maskSpec = spec.masks?.[index];
      const mask = maskSpec === undefined ? null : await openMask(typeof maskSpec === 'string' ? parseMaskChoice(maskSpec) : maskSpec, first, raster, found?.date ?? null, open);
      scenes.push({
        info: { path: file, date: found?.date ?? null, dateSource: found?.source ?? null, mask: mask && { path: mask.raster.path, band: mask.band + 1 }, used: true },
        raster,
        bandIndexes: raster === first ? bands.indexes : sceneBands(raster, first, bands),
        missing: missingValue(raster),
        mask,
        time: found?.time ?? 0,
        ageDays: 0,
      });
    }
    const used = date === null ? scenes : datedScenes(scenes, date);
    const dataType = first.dataType;
    const nodata = first.nodata ?? (DATA_TYPES[dataType].isInteger ? 0 : NaN);
    const counter = new StatsCounter(scenes.length, first.width * first.height);
    const bandCount = bands.indexes.length;
    const compute = (window: Window) =>
      date === null ? staticWindow(scenes, window, bandCount, nodata) : dynamicWindow(used, window, bandCount, nodata);
    const indexOf = new Map(scenes.map((scene, index) => [scene, index]));
    const read = async (window: Window): Promise<Float32Array> => {
      const result = await compute(window);
      counter.add(window, result.empty, result.perScene.map((count, i) => [indexOf.get((date === null ? scenes : used)[i])!, count]));
      return result.values;
    };
    const reference: Reference = {
      width: first.width,
      height: first.height,
      bands: bandCount,
      read,
      method,
      date,
      like: { ...first },
      dataType,
      bandNames: bands.names,
      nodata,
      scenes: scenes.map((scene) => scene.info),
      metadata: referenceMetadata(method, date, used.map((scene) => scene.info)),
      age:
        date === null
          ? null
          : {
              width: first.width,
              height: first.height,
              bands: 1,
              read: async (window) => (await dynamicWindow(used, window, bandCount, nodata)).age,
            },
      stats: () => counter.stats(),
      close,
    };
    return reference;
  } catch (error) {
    await close();
    throw error;
  }
}

/** "M.tif" → the whole file; "M.tif:4" → band 4; "M.tif:2015-08-30" → the band described as that day. */
export function parseMaskChoice(text: string): MaskChoice {
  const match = /^(.+):(\d+|\d{4}-\d{2}-\d{2})$/.exec(text);
  if (!match) return { path: text };
  return /^\d+$/.test(match[2]) ? { path: match[1], band: Number(match[2]) } : { path: match[1], date: match[2] };
}

/**
 * A scene's acquisition day: from its metadata (ACQUISITION_DATE, SENSING_TIME,
 * DATATAKE_1_DATATAKE_SENSING_START, …), else from a YYYYMMDD or YYYY-MM-DD date in its file name. Null if
 * neither has one.
 */
export function sceneDate(info: Pick<RasterInfo, 'path' | 'metadata'>): { date: string; time: number; source: string } | null {
  const byKey = new Map(Object.entries(info.metadata).map(([key, value]) => [key.toUpperCase(), { key, value }]));
  for (const key of DATE_KEYS) {
    const item = byKey.get(key);
    const parsed = item && parseDateTime(item.value.trim(), true);
    if (parsed) return { ...parsed, source: `metadata ${item.key}` };
  }
  const name = path.basename(info.path);
  for (const match of name.matchAll(/(?<!\d)(\d{4})(-?)(\d{2})\2(\d{2})(?!\d)/g)) {
    const day = validDay(match[1], match[3], match[4]);
    if (day) return { date: day, time: Date.parse(`${day}T00:00:00Z`), source: 'file name' };
  }
  return null;
}

/** "YYYY-MM-DD" → the same string, checked; anything else is an InputError mentioning `flag`. */
export function parseDay(text: string | undefined, flag: string): string {
  if (text === undefined || text === '') throw new InputError(undefined, `${flag} YYYY-MM-DD is required for a dynamic reference`);
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim());
  const day = match && validDay(match[1], match[2], match[3]);
  if (!day) throw new InputError(undefined, `${flag} must be a date as YYYY-MM-DD, not '${text}'`);
  return day;
}

/**
 * Per-value mean of several images' values, leaving out missing values and, when a cloud mask is given,
 * every value of its cloudy pixels. Shared by the streamed reference and the in-memory `readS2Mean`.
 */
export class MeanAccumulator {
  private readonly sum: Float64Array;
  private readonly count: Uint16Array;

  constructor(
    readonly pixels: number,
    readonly bands: number,
  ) {
    this.sum = new Float64Array(pixels * bands);
    this.count = new Uint16Array(pixels * bands);
  }

  /**
   * Adds one image (pixel-interleaved, `pixels × bands`), leaving out values equal to `missing` and NaN or
   * infinite ones; returns how many of its pixels contributed.
   */
  add(values: Float32Array, missing: number | null, cloud?: Uint8Array): number {
    if (values.length !== this.sum.length) throw new RangeError(`MeanAccumulator: ${values.length} values, expected ${this.sum.length}`);
    const { bands, sum, count } = this;
    const skip = missing ?? NaN; // NaN equals nothing: non-finite values are caught by v - v !== 0
    let contributed = 0;
    for (let pixel = 0; pixel < this.pixels; pixel++) {
      if (cloud && cloud[pixel] !== 0) continue;
      let any = false;
      for (let i = pixel * bands, end = i + bands; i < end; i++) {
        const value = values[i];
        if (value === skip || value - value !== 0) continue;
        sum[i] += value;
        count[i]++;
        any = true;
      }
      if (any) contributed++;
    }
    return contributed;
  }

  /** The means, `fill` where nothing was added. */
  mean(fill: number): Float32Array {
    const out = new Float32Array(this.sum.length);
    for (let i = 0; i < out.length; i++) out[i] = this.count[i] > 0 ? this.sum[i] / this.count[i] : fill;
    return out;
  }

  /** Pixels where no value at all was added. */
  emptyPixels(): number {
    let empty = 0;
    for (let pixel = 0; pixel < this.pixels; pixel++) {
      let any = false;
      for (let i = pixel * this.bands, end = i + this.bands; i < end && !any; i++) any = this.count[i] > 0;
      if (!any) empty++;
    }
    return empty;
  }
}

interface WindowResult {
  values: Float32Array;
  age: Float32Array;
  empty: number;
  perScene: number[];
}

async function staticWindow(scenes: OpenScene[], window: Window, bands: number, nodata: number): Promise<WindowResult> {
  const pixels = window.width * window.height;
  const mean = new MeanAccumulator(pixels, bands);
  const perScene: number[] = [];
  for (const scene of scenes) {
    const image = await readBands(scene.raster, scene.bandIndexes, window);
    const cloud = scene.mask ? (await readMaskBand(scene.mask.raster, scene.mask.band, window)).data : undefined;
    perScene.push(mean.add(image.data, scene.missing, cloud));
  }
  return { values: mean.mean(nodata), age: new Float32Array(0), empty: mean.emptyPixels(), perScene };
}

/** `scenes` latest first: each pixel takes the first scene that is clear there with no band missing. */
async function dynamicWindow(scenes: OpenScene[], window: Window, bands: number, nodata: number): Promise<WindowResult> {
  const pixels = window.width * window.height;
  const values = new Float32Array(pixels * bands).fill(nodata);
  const age = new Float32Array(pixels).fill(AGE_NODATA);
  const perScene = new Array<number>(scenes.length).fill(0);
  let remaining = pixels;
  for (const [index, scene] of scenes.entries()) {
    if (remaining === 0) break; // older scenes are not even read
    const image = await readBands(scene.raster, scene.bandIndexes, window);
    const cloud = scene.mask ? (await readMaskBand(scene.mask.raster, scene.mask.band, window)).data : undefined;
    const data = image.data;
    for (let pixel = 0; pixel < pixels; pixel++) {
      if (age[pixel] !== AGE_NODATA || (cloud && cloud[pixel] !== 0)) continue;
      const start = pixel * bands;
      let complete = true;
      for (let i = start; i < start + bands && complete; i++) complete = data[i] !== scene.missing && data[i] - data[i] === 0;
      if (!complete) continue;
      values.set(data.subarray(start, start + bands), start);
      age[pixel] = scene.ageDays;
      perScene[index]++;
      remaining--;
    }
  }
  return { values, age, empty: remaining, perScene };
}

/** Counts each distinct window once, however often the writer asks for it. */
class StatsCounter {
  private readonly seen = new Set<string>();
  private empty = 0;
  private counted = 0;
  private readonly perScene: number[];

  constructor(
    scenes: number,
    private readonly pixels: number,
  ) {
    this.perScene = new Array<number>(scenes).fill(0);
  }

  add(window: Window, empty: number, perScene: [number, number][]): void {
    const key = `${window.x},${window.y},${window.width},${window.height}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.counted += window.width * window.height;
    this.empty += empty;
    for (const [scene, count] of perScene) this.perScene[scene] += count;
  }

  stats(): ReferenceStats {
    return { pixels: Math.min(this.counted, this.pixels), noClearObservation: this.empty, pixelsPerScene: [...this.perScene] };
  }
}

interface BandChoice {
  /** 0-based indexes in the first scene. */
  indexes: number[];
  names: (string | null)[];
  /** Whether the other scenes' bands are found by name (else by position). */
  byName: boolean;
}

function referenceBands(first: Raster, asked: readonly string[] | undefined): BandChoice {
  if (asked) {
    const indexes = resolveBands(first, asked);
    return { indexes, names: indexes.map((index, i) => first.bandNames[index] ?? standardName(first, index) ?? asked[i]), byName: true };
  }
  const indexes = first.bandNames.map((_, index) => index);
  const names = indexes.map((index) => first.bandNames[index] ?? standardName(first, index));
  return { indexes, names, byName: names.every((name) => name !== null && name !== '') };
}

/** The first scene's bands in another scene: by name (InputError naming the scene and the band it lacks) or position. */
function sceneBands(raster: Raster, first: Raster, bands: BandChoice): number[] {
  if (bands.byName) return resolveBands(raster, bands.names as string[]);
  if (raster.bandCount !== first.bandCount) {
    throw new InputError(raster.path, `has ${raster.bandCount} bands, not ${first.bandCount} like ${first.path}, and the bands have no names to match them by; choose them with --bands`);
  }
  return bands.indexes;
}

/**
 * Values that are no observation: the scene's nodata value; for integer scenes that declare none, 0 (the
 * Sentinel-2 fill value, and the reference's own nodata). NaN and infinities are always left out.
 */
function missingValue(raster: Raster): number {
  return raster.nodata ?? (DATA_TYPES[raster.dataType].isInteger ? 0 : NaN);
}

async function openMask(
  choice: MaskChoice,
  first: Raster,
  scene: Raster,
  sceneDay: string | null,
  open: (file: string) => Promise<Raster>,
): Promise<{ raster: Raster; band: number }> {
  const raster = await open(choice.path);
  assertSameGrid(first, raster);
  let band: number;
  if (choice.band !== undefined) {
    if (!Number.isInteger(choice.band) || choice.band < 1 || choice.band > raster.bandCount) {
      throw new InputError(raster.path, `has no band ${choice.band} (it has ${raster.bandCount})`);
    }
    band = choice.band - 1;
  } else if (choice.date !== undefined) {
    const matches = raster.bandNames.flatMap((name, index) => (name !== null && describedDay(name) === choice.date ? [index] : []));
    if (matches.length !== 1) {
      throw new InputError(raster.path, matches.length === 0 ? `has no band described as ${choice.date}` : `bands ${matches.map((m) => m + 1).join(', ')} are all described as ${choice.date}; choose one by number (${path.basename(raster.path)}:N)`);
    }
    band = matches[0];
  } else if (raster.bandCount === 1) {
    band = 0;
  } else {
    throw new InputError(raster.path, `has ${raster.bandCount} bands; say which is the mask of ${path.basename(scene.path)} by appending :BAND (1-based) or :YYYY-MM-DD (the band described as that day) to the mask's path`);
  }
  // A band that says which day it masks must mask this scene's day: catches a shifted band list.
  const maskDay = describedDay(raster.bandNames[band]);
  if (maskDay !== null && sceneDay !== null && maskDay !== sceneDay) {
    throw new InputError(raster.path, `band ${band + 1} is the mask of ${maskDay}, but ${scene.path} was acquired ${sceneDay}; give the band of that day (${path.basename(raster.path)}:${sceneDay})`);
  }
  return { raster, band };
}

/** The day a band description names when it is nothing but a date or date-time; else null. */
function describedDay(description: string | null): string | null {
  return description === null ? null : (parseDateTime(description.trim(), false)?.date ?? null);
}

/** ISO date or date-time (or TIFF's "YYYY:MM:DD HH:MM:SS"); `prefix` also accepts trailing text (fractions, zones). */
function parseDateTime(text: string, prefix: boolean): { date: string; time: number } | null {
  const match = /^(\d{4})[-:]?(\d{2})[-:]?(\d{2})(?:[T ](\d{2}):?(\d{2})(?::?(\d{2}))?)?/.exec(text);
  if (!match) return null;
  if (!prefix && !/^(?:[T ]\d{2}:?\d{2}(?::?\d{2}(?:\.\d+)?)?Z?)?$/.test(text.slice(match[0].length))) return null;
  const day = validDay(match[1], match[2], match[3]);
  if (!day) return null;
  const time = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]), Number(match[4] ?? 0), Number(match[5] ?? 0), Number(match[6] ?? 0));
  return { date: day, time };
}

function validDay(year: string, month: string, day: string): string | null {
  const y = Number(year);
  const m = Number(month);
  const d = Number(day);
  if (y < 1900 || y > 2199 || m < 1 || m > 12 || d < 1) return null;
  if (d > new Date(Date.UTC(y, m, 0)).getUTCDate()) return null;
  return `${year}-${month}-${day}`;
}

/** The scenes before `date`, latest first (a later argument wins a tie); every scene must have a date. */
function datedScenes(scenes: OpenScene[], date: string): OpenScene[] {
  for (const scene of scenes) {
    if (scene.info.date === null) {
      throw new InputError(
        scene.info.path,
        'has no acquisition date: none in its metadata (ACQUISITION_DATE, SENSING_TIME, DATATAKE_1_DATATAKE_SENSING_START) ' +
          'nor in its file name; rename it to include the date (e.g. S2L1C_20150830.tif) or set one with gdal_edit -mo ACQUISITION_DATE=YYYY-MM-DD',
      );
    }
  }
  const limit = Date.parse(`${date}T00:00:00Z`);
  const before = scenes.filter((scene) => scene.info.date! < date);
  for (const scene of scenes) scene.info.used = before.includes(scene);
  if (before.length === 0) {
    throw new InputError(undefined, `no scene was acquired before ${date}: ${scenes.map((s) => `${path.basename(s.info.path)} is ${s.info.date}`).join(', ')}`);
  }
  for (const scene of before) scene.ageDays = Math.round((limit - Date.parse(`${scene.info.date}T00:00:00Z`)) / 86_400_000);
  const order = new Map(scenes.map((scene, index) => [scene, index]));
  return [...before].sort((a, b) => b.time - a.time || order.get(b)! - order.get(a)!);
}

function referenceMetadata(method: ReferenceMethod, date: string | null, used: ReferenceScene[]): Record<string, string> {
  const metadata: Record<string, string> = {
    CLEARSKY_REFERENCE_METHOD:
      method === 'static' ? 'static: per-pixel mean of the clear observations' : `dynamic: latest clear observation before ${date}`,
    CLEARSKY_REFERENCE_SCENES: used.map((scene) => path.basename(scene.path)).join(','),
  };
  if (used.every((scene) => scene.date !== null)) metadata.CLEARSKY_REFERENCE_SCENE_DATES = used.map((scene) => scene.date).join(',');
  if (used.some((scene) => scene.mask)) {
    metadata.CLEARSKY_REFERENCE_MASKS = used.map((scene) => (scene.mask ? `${path.basename(scene.mask.path)}:${scene.mask.band}` : 'none')).join(',');
  }
  if (date !== null) metadata.CLEARSKY_REFERENCE_DATE = date;
  return metadata;
}
