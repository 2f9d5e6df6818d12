/**
 * A corpus of malformed TIFFs, made at test time: small valid GeoTIFFs cut from the real data by GDAL (tiled,
 * striped, band-separate big-endian, BigTIFF), then truncated at many offsets, with a byte changed in every
 * field of every directory entry (type, count, value/offset), three random directory bytes changed at once
 * (fixed seed), broken directory counts and chains; plus
 * hand-built headers from the issue (10⁹ strips in 234 bytes, 100000 × 100000 px, RowsPerStrip typed FLOAT
 * or with 33 values, zero strips, strips past the end, directory loops), classic and BigTIFF.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { gdalTranslate } from './gdal.ts';

export interface CorpusFile {
  name: string;
  path: string;
}

/** GDAL variants of a 40 × 30 px, 3-band cut of a real scene: one per container layout worth breaking. */
const BASES: Record<string, string[]> = {
  tiled: ['-co', 'TILED=YES', '-co', 'BLOCKXSIZE=16', '-co', 'BLOCKYSIZE=16', '-co', 'COMPRESS=DEFLATE'],
  striped: ['-co', 'TILED=NO', '-co', 'BLOCKYSIZE=8', '-co', 'COMPRESS=NONE'],
  planarBigEndian: ['-co', 'TILED=NO', '-co', 'BLOCKYSIZE=7', '-co', 'INTERLEAVE=BAND', '-co', 'ENDIANNESS=BIG', '-co', 'COMPRESS=LZW'],
  bigtiff: ['-co', 'BIGTIFF=YES', '-co', 'TILED=YES', '-co', 'BLOCKXSIZE=16', '-co', 'BLOCKYSIZE=16', '-co', 'COMPRESS=DEFLATE'],
};

/** Makes the valid bases from `source` (a real GeoTIFF) in `dir`. */
export async function makeBases(source: string, dir: string): Promise<CorpusFile[]> {
  await fs.mkdir(dir, { recursive: true });
  return Object.entries(BASES).map(([name, options]) => {
    const file = path.join(dir, `base-${name}.tif`);
    gdalTranslate(['-srcwin', '10', '20', '40', '30', '-b', '2', '-b', '3', '-b', '4', ...options, source, file]);
    return { name: `base-${name}`, path: file };
  });
}

/** Writes every malformed variant of the bases, and the hand-built headers, into `dir`. */
export async function makeCorpus(bases: CorpusFile[], dir: string): Promise<CorpusFile[]> {
  await fs.mkdir(dir, { recursive: true });
  const files: CorpusFile[] = [];
  const add = async (name: string, bytes: Uint8Array): Promise<void> => {
    const file = path.join(dir, `${name}.tif`);
    await fs.writeFile(file, bytes);
    files.push({ name, path: file });
  };
  for (const base of bases) {
    const bytes = new Uint8Array(await fs.readFile(base.path));
    for (const [name, variant] of mutations(bytes)) await add(`${base.name}-${name}`, variant);
  }
  for (const [name, bytes] of handBuilt()) await add(name, bytes);
  return files;
}

/** Positions of the first directory's fields in a well-formed (GDAL-written) file. */
interface Layout {
  little: boolean;
  big: boolean;
  firstIfdAt: number;
  ifd: number;
  entryCount: number;
  entries: { tag: number; at: number }[];
  nextAt: number;
}

function layoutOf(bytes: Uint8Array): Layout {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const little = bytes[0] === 0x49;
  const big = view.getUint16(2, little) === 43;
  const ifd = big ? Number(view.getBigUint64(8, little)) : view.getUint32(4, little);
  const entryCount = big ? Number(view.getBigUint64(ifd, little)) : view.getUint16(ifd, little);
  const first = ifd + (big ? 8 : 2);
  const size = big ? 20 : 12;
  const entries = Array.from({ length: entryCount }, (_, i) => ({ tag: view.getUint16(first + i * size, little), at: first + i * size }));
  return { little, big, firstIfdAt: big ? 8 : 4, ifd, entryCount, entries, nextAt: first + entryCount * size };
}

function* mutations(original: Uint8Array): Generator<[string, Uint8Array]> {
  const l = layoutOf(original);
  const edit = (change: (view: DataView, bytes: Uint8Array) => void): Uint8Array => {
    const bytes = original.slice();
    change(new DataView(bytes.buffer), bytes);
    return bytes;
  };
  const setUint = (view: DataView, at: number, size: number, value: number | bigint): void => {
    if (size === 2) view.setUint16(at, Number(value), l.little);
    else if (size === 4) view.setUint32(at, Number(value), l.little);
    else view.setBigUint64(at, BigInt(value), l.little);
  };
  const countSize = l.big ? 8 : 4;
  const pointerSize = l.big ? 8 : 4;

  // Truncations: inside the header, inside and just after the directory, and through the pixel data.
  const cuts = new Set([0, 1, 4, 7, 8, 12, 15, l.ifd + 1, l.nextAt - 3, l.nextAt + 2]);
  for (let i = 1; i < 16; i++) cuts.add(Math.floor((original.length * i) / 16));
  cuts.add(original.length - 1);
  for (const cut of cuts) if (cut < original.length) yield [`cut-${cut}`, original.slice(0, cut)];

  // Every field of every entry.
  for (const { tag, at } of l.entries) {
    const countAt = at + 4;
    const valueAt = at + 4 + countSize;
    const count = l.big ? new DataView(original.buffer).getBigUint64(countAt, l.little) : BigInt(new DataView(original.buffer).getUint32(countAt, l.little));
    const changes: Record<string, (view: DataView, bytes: Uint8Array) => void> = {
      'type-0': (v) => v.setUint16(at + 2, 0, l.little),
      'type-float': (v) => v.setUint16(at + 2, 11, l.little),
      'type-double': (v) => v.setUint16(at + 2, 12, l.little),
      'type-byte': (v) => v.setUint16(at + 2, 1, l.little),
      'type-long8': (v) => v.setUint16(at + 2, 16, l.little),
      'type-flip': (v) => v.setUint16(at + 2, v.getUint16(at + 2, l.little) ^ 0x0100, l.little),
      'count-0': (v) => setUint(v, countAt, countSize, 0),
      'count-plus-1': (v) => setUint(v, countAt, countSize, count + 1n),
      'count-33': (v) => setUint(v, countAt, countSize, 33),
      'count-huge': (v) => setUint(v, countAt, countSize, l.big ? 0x0000_4000_0000_0000n : 0x4000_0000),
      'count-max': (v) => setUint(v, countAt, countSize, l.big ? 0xffff_ffff_ffff_ffffn : 0xffff_ffff),
      'count-flip': (_v, b) => { b[countAt + (l.little ? 2 : countSize - 3)] ^= 0x10; },
      'value-0': (v) => setUint(v, valueAt, pointerSize, 0),
      'value-max': (v) => setUint(v, valueAt, pointerSize, l.big ? 0xffff_ffff_ffff_ffffn : 0xffff_ffff),
      'value-high-flip': (_v, b) => { b[valueAt + (l.little ? pointerSize - 1 : 0)] ^= 0x40; },
      'value-mid-flip': (_v, b) => { b[valueAt + (l.little ? 1 : pointerSize - 2)] ^= 0x04; },
      'value-low-flip': (_v, b) => { b[valueAt + (l.little ? 0 : pointerSize - 1)] ^= 0x01; },
      'tag-flip': (v) => v.setUint16(at, tag ^ 0x0004, l.little),
    };
    for (const [name, change] of Object.entries(changes)) yield [`tag${tag}-${name}`, edit(change)];
  }

  // The directory itself and the chain.
  const entryCountSize = l.big ? 8 : 2;
  yield ['entries-0', edit((v) => setUint(v, l.ifd, entryCountSize, 0))];
  yield ['entries-plus-1', edit((v) => setUint(v, l.ifd, entryCountSize, l.entryCount + 1))];
  yield ['entries-max', edit((v) => setUint(v, l.ifd, entryCountSize, l.big ? 0xffff_ffffn : 0xffff))];
  yield ['next-loops-to-itself', edit((v) => setUint(v, l.nextAt, pointerSize, l.ifd))];
  yield ['next-past-end', edit((v) => setUint(v, l.nextAt, pointerSize, original.length + 100))];
  yield ['next-into-header', edit((v) => setUint(v, l.nextAt, pointerSize, 2))];
  yield ['first-ifd-past-end', edit((v) => setUint(v, l.firstIfdAt, pointerSize, original.length * 4))];
  yield ['first-ifd-0', edit((v) => setUint(v, l.firstIfdAt, pointerSize, 0))];
  yield ['first-ifd-odd', edit((v) => setUint(v, l.firstIfdAt, pointerSize, l.ifd + 1))];
  // Three random bytes of the directory changed at once (as in the issue), from a fixed seed: the same files each run.
  let seed = 0x9e3779b9 ^ original.length;
  const random = (n: number): number => {
    seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return seed % n;
  };
  for (let i = 0; i < 50; i++) {
    yield [`three-bytes-${i}`, edit((_v, b) => {
      for (let k = 0; k < 3; k++) b[l.ifd + random(l.nextAt + pointerSize - l.ifd)] ^= 1 + random(255);
    })];
  }
  yield ['byte-order', edit((_v, b) => { b[0] = b[1] = 0x4a; })];
  yield ['magic', edit((v) => v.setUint16(2, 44, l.little))];
}

/** One directory entry for the hand-built files: a value (inline if it fits) or values at an offset. */
interface HandEntry {
  tag: number;
  type: number;
  count: number;
  /** Values to store; absent = the entry points at `at` (or past everything) without data. */
  values?: number[];
  at?: number;
}

const SIZES: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 11: 4, 12: 8, 16: 8 };

/** A little-endian TIFF (or BigTIFF) with one directory per entry list; `nextOf[i]` overrides directory i's next pointer. */
export function buildTiff(directories: HandEntry[][], options: { big?: boolean; nextOf?: (number | undefined)[]; tail?: number } = {}): Uint8Array {
  const big = options.big ?? false;
  const header = big ? 16 : 8;
  const entrySize = big ? 20 : 12;
  const inline = big ? 8 : 4;
  const dirSize = (n: number): number => (big ? 8 : 2) + n * entrySize + (big ? 8 : 4);
  const dirAt: number[] = [];
  let end = header;
  for (const entries of directories) {
    dirAt.push(end);
    end += dirSize(entries.length);
  }
  // Out-of-line values follow the directories.
  const extra: { at: number; type: number; values: number[] }[] = [];
  for (const entries of directories) {
    for (const e of entries) {
      if (e.values && e.values.length * SIZES[e.type] > inline) {
        extra.push({ at: end, type: e.type, values: e.values });
        e.at = end;
        end += e.values.length * SIZES[e.type];
      }
    }
  }
  const bytes = new Uint8Array(end + (options.tail ?? 0));
  const view = new DataView(bytes.buffer);
  const put = (at: number, type: number, value: number): void => {
    if (type === 1) view.setUint8(at, value);
    else if (type === 3) view.setUint16(at, value, true);
    else if (type === 4) view.setUint32(at, value, true);
    else if (type === 11) view.setFloat32(at, value, true);
    else if (type === 12) view.setFloat64(at, value, true);
    else view.setBigUint64(at, BigInt(value), true);
  };
  bytes[0] = bytes[1] = 0x49;
  if (big) {
    view.setUint16(2, 43, true);
    view.setUint16(4, 8, true);
    view.setBigUint64(8, BigInt(dirAt[0]), true);
  } else {
    view.setUint16(2, 42, true);
    view.setUint32(4, dirAt[0], true);
  }
  directories.forEach((entries, d) => {
    let at = dirAt[d];
    if (big) view.setBigUint64(at, BigInt(entries.length), true);
    else view.setUint16(at, entries.length, true);
    at += big ? 8 : 2;
    for (const e of [...entries].sort((a, b) => a.tag - b.tag)) {
      view.setUint16(at, e.tag, true);
      view.setUint16(at + 2, e.type, true);
      if (big) view.setBigUint64(at + 4, BigInt(e.count), true);
      else view.setUint32(at + 4, e.count, true);
      const valueAt = at + (big ? 12 : 8);
      if (e.values && e.values.length * SIZES[e.type] <= inline) e.values.forEach((v, i) => put(valueAt + i * SIZES[e.type], e.type, v));
      else if (big) view.setBigUint64(valueAt, BigInt(e.at ?? 0), true);
      else view.setUint32(valueAt, e.at ?? 0, true);
      at += entrySize;
    }
    const next = options.nextOf?.[d] ?? dirAt[d + 1] ?? 0;
    if (big) view.setBigUint64(at, BigInt(next), true);
    else view.setUint32(at, next, true);
  });
  for (const { at, type, values } of extra) values.forEach((v, i) => put(at + i * SIZES[type], type, v));
  return bytes;
}

const SHORT = 3;
const LONG = 4;
const FLOAT = 11;
const LONG8 = 16;

/** A striped 1-band uint8 image's directory, with `overrides` replacing or adding entries. */
function stripedImage(width: number, height: number, rowsPerStrip: number, strips: { offsets: number[]; counts: number[] }, overrides: HandEntry[] = []): HandEntry[] {
  const entries: HandEntry[] = [
    { tag: 256, type: LONG, count: 1, values: [width] },
    { tag: 257, type: LONG, count: 1, values: [height] },
    { tag: 258, type: SHORT, count: 1, values: [8] },
    { tag: 259, type: SHORT, count: 1, values: [1] },
    { tag: 262, type: SHORT, count: 1, values: [1] },
    { tag: 273, type: LONG, count: strips.offsets.length, values: strips.offsets },
    { tag: 277, type: SHORT, count: 1, values: [1] },
    { tag: 278, type: LONG, count: 1, values: [rowsPerStrip] },
    { tag: 279, type: LONG, count: strips.counts.length, values: strips.counts },
  ];
  for (const o of overrides) {
    const i = entries.findIndex((e) => e.tag === o.tag);
    if (i >= 0) entries[i] = o;
    else entries.push(o);
  }
  return entries;
}

function* handBuilt(): Generator<[string, Uint8Array]> {
  // A valid 16 × 16 image (two strips of 8 rows at the end of the file) to break one thing at a time.
  const pixelsAt = 400;
  const ok = { offsets: [pixelsAt, pixelsAt + 128], counts: [128, 128] };
  const valid = (overrides: HandEntry[] = [], options: { big?: boolean; nextOf?: number[] } = {}): Uint8Array =>
    buildTiff([stripedImage(16, 16, 8, ok, overrides)], { ...options, tail: pixelsAt + 256 });
  yield ['hand-valid', valid()];
  yield ['hand-valid-bigtiff', valid([], { big: true })];
  // The 234-byte header claiming 10⁹ strips (one row each), classic and BigTIFF.
  const billion = 1_000_000_000;
  for (const big of [false, true]) {
    const name = big ? 'hand-billion-strips-bigtiff' : 'hand-billion-strips';
    const entries = stripedImage(1000, billion, 1, { offsets: [], counts: [] }, [
      { tag: 273, type: big ? LONG8 : LONG, count: billion, at: 200 },
      { tag: 279, type: big ? LONG8 : LONG, count: billion, at: 216 },
    ]);
    yield [name, buildTiff([entries], { big, tail: 234 }).slice(0, 234)];
  }
  // Sane height, 10⁹ strip offsets anyway.
  yield ['hand-strip-count-billion', valid([{ tag: 273, type: LONG, count: billion, at: 300 }])];
  // 100000 × 100000 px in one strip, in a few hundred bytes.
  yield ['hand-100000-square', buildTiff([stripedImage(100_000, 100_000, 100_000, { offsets: [200], counts: [20] })], { tail: 234 })];
  yield ['hand-100000-square-tiled', buildTiff([stripedImage(100_000, 100_000, 0, { offsets: [], counts: [] }, [
    { tag: 278, type: LONG, count: 0 },
    { tag: 322, type: LONG, count: 1, values: [256] },
    { tag: 323, type: LONG, count: 1, values: [256] },
    { tag: 324, type: LONG, count: 152_881, at: 200 },
    { tag: 325, type: LONG, count: 152_881, at: 200 },
  ])], { tail: 400 })];
  yield ['hand-rows-per-strip-float', valid([{ tag: 278, type: FLOAT, count: 1, values: [8] }])];
  yield ['hand-rows-per-strip-float-tiny', valid([{ tag: 278, type: FLOAT, count: 1, values: [1e-30] }])];
  yield ['hand-rows-per-strip-33', valid([{ tag: 278, type: LONG, count: 33, values: Array.from({ length: 33 }, () => 8) }])];
  yield ['hand-rows-per-strip-0', valid([{ tag: 278, type: LONG, count: 1, values: [0] }])];
  yield ['hand-zero-strips', valid([{ tag: 273, type: LONG, count: 0 }, { tag: 279, type: LONG, count: 0 }])];
  yield ['hand-strip-past-end', valid([{ tag: 273, type: LONG, count: 2, values: [pixelsAt, 1_000_000] }])];
  yield ['hand-strip-count-past-end', valid([{ tag: 279, type: LONG, count: 2, values: [128, 4_000_000_000] }])];
  yield ['hand-strip-too-short', valid([{ tag: 279, type: LONG, count: 2, values: [128, 5] }])];
  yield ['hand-no-strip-offsets', buildTiff([stripedImage(16, 16, 8, ok).filter((e) => e.tag !== 273)], { tail: pixelsAt + 256 })];
  yield ['hand-no-width', buildTiff([stripedImage(16, 16, 8, ok).filter((e) => e.tag !== 256)], { tail: pixelsAt + 256 })];
  yield ['hand-width-2097152', valid([{ tag: 256, type: LONG, count: 1, values: [2 ** 21] }])];
  yield ['hand-width-0', valid([{ tag: 256, type: LONG, count: 1, values: [0] }])];
  yield ['hand-bits-0', valid([{ tag: 258, type: SHORT, count: 1, values: [0] }])];
  yield ['hand-bits-4096', valid([{ tag: 258, type: SHORT, count: 1, values: [4096] }])];
  yield ['hand-samples-65535', valid([{ tag: 277, type: SHORT, count: 1, values: [65535] }])];
  yield ['hand-planar-7', valid([{ tag: 284, type: SHORT, count: 1, values: [7] }])];
  yield ['hand-one-row-strips-wide', buildTiff([stripedImage(1_000_000, 16, 1, { offsets: [], counts: [] }, [
    { tag: 273, type: LONG, count: 16, at: 8 },
    { tag: 279, type: LONG, count: 16, at: 8 },
  ])], { tail: 400 })];
  // Directory chains: two images pointing at each other, one pointing at itself, BigTIFF too.
  for (const big of [false, true]) {
    const suffix = big ? '-bigtiff' : '';
    const two = [stripedImage(16, 16, 8, ok), stripedImage(16, 16, 8, ok)];
    yield [`hand-loop-two${suffix}`, buildTiff(two, { big, nextOf: [undefined, big ? 16 : 8], tail: pixelsAt + 256 })];
    yield [`hand-loop-self${suffix}`, buildTiff([stripedImage(16, 16, 8, ok)], { big, nextOf: [big ? 16 : 8], tail: pixelsAt + 256 })];
  }
  // Many directories: a chain of 3000 tiny valid ones.
  const many = Array.from({ length: 3000 }, () => stripedImage(16, 16, 16, { offsets: [8], counts: [256] }));
  yield ['hand-3000-directories', buildTiff(many, { tail: 0 })];
}
