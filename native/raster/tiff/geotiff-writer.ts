/**
 * Writing georeferenced GeoTIFFs that GDAL and QGIS read as the input's twin: same CRS and transform (the
 * GeoTIFF tags are copied verbatim), band descriptions and provenance in GDAL_METADATA, GDAL_NODATA; tiled,
 * DEFLATE-compressed (with horizontal differencing for integers), pixel-interleaved, little-endian; with
 * overviews, in the layout of a Cloud Optimized GeoTIFF as GDAL's COG driver writes it; BigTIFF past 4 GB.
 *
 * Our own writer, because geotiff.js writes only uncompressed strips with a fixed tag set and a 1000-byte
 * header. How a file is made, in bounded memory whatever the scene size:
 *
 * 1. Pixels come from a `BlockSource` one tile at a time, in row-major order, into a strip buffer of one row
 *    of tiles (tileSize rows × full width) in the output data type. A finished strip is cut into tiles, which
 *    are compressed on the libuv thread pool (zlib), several at once; then the strip is halved (overviews.ts)
 *    into the next level's strip buffer, and so on down the levels as their strips fill. No level is ever
 *    held whole: memory is about two full-width strips of the output type, whatever the scene height.
 * 2. Each level's compressed tiles go, in order, to a store (tile-store.ts): a temporary file beside the
 *    output for large levels, memory for small ones.
 * 3. With every tile encoded, the exact file size is known, so the writer picks classic TIFF or BigTIFF,
 *    and assembles the COG layout: header; GDAL's "ghost area" of structural metadata; every IFD (full
 *    resolution, then overviews from largest to smallest, each with its tile offsets); then tile data of
 *    the smallest overview first and the full resolution last, each tile with a size leader and a trailer.
 *
 * The file appears atomically (temporary file + rename); a failed write (a full disk included) leaves
 * nothing at the output path and removes every temporary file.
 */
import { randomBytes } from 'node:crypto';
import type fs from 'node:fs/promises';
import os from 'node:os';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { Image } from '../../dip/image.ts';
import { InputError, throwIfCancelled } from '../../errors.ts';
import { writeFileAtomically } from './atomic-file.ts';
import { DATA_TYPES, fitToDataType, type RasterDataType } from './data-types.ts';
import { buildGdalMetadata } from './gdal-metadata.ts';
import { downsampleRows, levelShapes, type DownsampleSpec, type LevelShape } from './overviews.ts';
import type { GeoTags, RasterInfo, Window } from './raster-info.ts';
import {
  BIGTIFF_HEADER_BYTES,
  CLASSIC_TIFF_MAX_BYTES,
  encodeHeader,
  encodeIfd,
  ifdByteLength,
  Tag,
  TIFF_HEADER_BYTES,
  type TiffField,
} from './tiff-encoder.ts';
import { FileTileStore, MemoryTileStore, writeFully, type TileStore } from './tile-store.ts';

const deflate = promisify(zlib.deflate);

export interface WriteGeoTiffOptions {
  /** Pixel type of the file; values are rounded and clipped to it (integers). */
  dataType: RasterDataType;
  /** The raster whose georeferencing (CRS, transform) the output takes; none for a plain TIFF. */
  like?: Pick<RasterInfo, 'geoTags'> | null;
  /** Where the output's top-left pixel lies in `like`'s grid (for writing a window of it); default (0, 0). */
  pixelOffset?: { x: number; y: number };
  /** One description per band (GDAL band description; QGIS shows it). */
  bandNames?: readonly (string | null)[];
  /** GDAL_NODATA; for integer types NaN values in the image are written as this value. */
  nodata?: number | null;
  /** Dataset-level metadata items (provenance): name → value. */
  metadata?: Record<string, string>;
  /** Tile edge in pixels, a multiple of 16; default 256. */
  tileSize?: number;
  /** zlib level 1 (fast) … 9 (small); default 4 (on Sentinel-2 UInt16 tiles about 2 % larger than 6, and 3–5 times faster). */
  deflateLevel?: number;
  /**
   * Overviews (levels 2, 4, 8 … until one fits in a tile), how their pixels are made: 'average' (default;
   * the mean of each 2×2 block's valid pixels, nodata and NaN left out), 'nearest' (for masks and classes:
   * the block's top-left pixel), or 'none'.
   */
  overviews?: 'average' | 'nearest' | 'none';
  /** 'auto' (default): classic TIFF unless the file would pass 4 GB, then BigTIFF; 'always'; 'never' (fail past 4 GB). */
  bigTiff?: 'auto' | 'always' | 'never';
  /** Checked between rows of tiles: once aborted, the write stops with a CancelledError and leaves no file. */
  signal?: AbortSignal;
  /** Told after each row of full-resolution tiles: tiles read and encoded so far, of all of them. */
  onProgress?: (done: number, total: number) => void;
}

/** Where the writer gets pixels from: values (in output units) of a window, pixel-interleaved. */
export interface BlockSource {
  width: number;
  height: number;
  bands: number;
  read(window: Window): Float32Array | Promise<Float32Array>;
}

if (os.endianness() !== 'LE') throw new Error('geotiff-writer writes typed arrays as little-endian TIFF; this host is big-endian');

/** Levels whose raw pixels take at most this many bytes keep their compressed tiles in memory, not in a temporary file. */
const MEMORY_STORE_MAX_RAW_BYTES = 16 * 1024 * 1024;

/**
 * GDAL's structural metadata, "hidden" between the TIFF header and the first IFD. We claim only what is
 * true of our files: IFDs before data; tiles of each level in row-major order; a 4-byte size before and the
 * last 4 bytes repeated after each tile. GDAL then reports LAYOUT=COG and may skip reading the byte counts.
 */
const GHOST_BODY =
  'LAYOUT=IFDS_BEFORE_DATA\nBLOCK_ORDER=ROW_MAJOR\nBLOCK_LEADER=SIZE_AS_UINT4\n' +
  'BLOCK_TRAILER=LAST_4_BYTES_REPEATED\nKNOWN_INCOMPATIBLE_EDITION=NO\n ';
const GHOST_AREA = Buffer.from(`GDAL_STRUCTURAL_METADATA_SIZE=${String(GHOST_BODY.length).padStart(6, '0')} bytes\n${GHOST_BODY}`, 'latin1');

/** Writes an in-memory image (values already in output units, e.g. digital numbers). */
export async function writeGeoTiff(path: string, image: Image, options: WriteGeoTiffOptions): Promise<void> {
  if (image.data.length !== image.width * image.height * image.bands) {
    throw new RangeError(`writeGeoTiff: image data has ${image.data.length} values, not ${image.width}×${image.height}×${image.bands}`);
  }
  await writeGeoTiffFromBlocks(path, imageBlocks(image), options);
}

/** Writes a raster whose pixels `source` supplies tile by tile (each window read once, in row-major order). */
export async function writeGeoTiffFromBlocks(path: string, source: BlockSource, options: WriteGeoTiffOptions): Promise<void> {
  const settings = checkedSettings(source, options);
  const levels = levelShapes(source.width, source.height, settings.tileSize, settings.overviews !== 'none');
  const bytesPerSample = DATA_TYPES[settings.dataType].bytesPerSample;
  await writeFileAtomically(path, async (file) => {
    const stores: TileStore[] = [];
    try {
      const scratch = `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}`;
      for (const [index, level] of levels.entries()) {
        const rawBytes = level.width * level.height * source.bands * bytesPerSample;
        stores.push(
          rawBytes <= MEMORY_STORE_MAX_RAW_BYTES
            ? new MemoryTileStore()
            : await FileTileStore.create(join(dirname(path), `${scratch}.level${index}.tmp`)),
        );
      }
      await encodeLevels(source, settings, levels, stores, options);
      throwIfCancelled(options.signal);
      await assemble(path, file, source, options, settings, levels, stores);
    } finally {
      await Promise.all(stores.map((store) => store.dispose().catch(() => undefined)));
    }
  });
}

interface Settings {
  dataType: RasterDataType;
  bands: number;
  tileSize: number;
  deflateLevel: number;
  predictor: 1 | 2;
  /** Value for NaN in integer outputs (the nodata value), or undefined when NaN is an error. */
  nanValue: number | undefined;
  /** Value for the unused part of edge tiles. */
  padValue: number;
  overviews: 'average' | 'nearest' | 'none';
  bigTiff: 'auto' | 'always' | 'never';
  downsample: DownsampleSpec;
}

function checkedSettings(source: BlockSource, options: WriteGeoTiffOptions): Settings {
  const { width, height, bands } = source;
  if (![width, height, bands].every((n) => Number.isInteger(n) && n > 0)) {
    throw new RangeError(`writeGeoTiff: bad raster shape ${width}×${height}×${bands}`);
  }
  const tileSize = options.tileSize ?? 256;
  if (!Number.isInteger(tileSize) || tileSize <= 0 || tileSize % 16 !== 0 || tileSize > 65520) {
    throw new RangeError(`writeGeoTiff: tile size ${tileSize} is not a positive multiple of 16 (at most 65520)`);
  }
  if (options.bandNames && options.bandNames.length !== bands) {
    throw new RangeError(`writeGeoTiff: ${options.bandNames.length} band names for ${bands} bands`);
  }
  const overviews = options.overviews ?? 'average';
  if (!['average', 'nearest', 'none'].includes(overviews)) {
    throw new RangeError(`writeGeoTiff: overviews must be 'average', 'nearest' or 'none', not ${JSON.stringify(overviews)}`);
  }
  const bigTiff = options.bigTiff ?? 'auto';
  if (!['auto', 'always', 'never'].includes(bigTiff)) {
    throw new RangeError(`writeGeoTiff: bigTiff must be 'auto', 'always' or 'never', not ${JSON.stringify(bigTiff)}`);
  }
  const type = DATA_TYPES[options.dataType];
  const nodata = options.nodata ?? null;
  if (type.isInteger && nodata !== null && fitToDataType(nodata, options.dataType) !== nodata) {
    throw new RangeError(`writeGeoTiff: nodata ${nodata} is not a ${options.dataType} value`);
  }
  return {
    dataType: options.dataType,
    bands,
    tileSize,
    deflateLevel: options.deflateLevel ?? 4,
    predictor: type.isInteger ? 2 : 1,
    nanValue: type.isInteger ? (nodata ?? undefined) : NaN,
    padValue: nodata ?? 0,
    overviews,
    bigTiff,
    downsample: {
      resampling: overviews === 'nearest' ? 'nearest' : 'average',
      bands,
      nodata,
      integer: type.isInteger,
      min: type.min,
      max: type.max,
    },
  };
}

type SampleArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;

interface Strip {
  /** tileSize rows of the level, full width, pixel-interleaved, in the output type. */
  data: SampleArray;
  /** Which row of tiles it is, and how many of its rows are filled so far. */
  index: number;
  rows: number;
}

interface SourceTile {
  x: number;
  width: number;
  height: number;
  values: Float32Array;
}

/** Streams the full resolution strip by strip; encodes every level's tiles into its store (see the file comment). */
async function encodeLevels(source: BlockSource, settings: Settings, levels: LevelShape[], stores: TileStore[], { signal, onProgress }: WriteGeoTiffOptions): Promise<void> {
  const { tileSize, bands } = settings;
  const ArrayType = DATA_TYPES[settings.dataType].ArrayType;
  const strips: Strip[] = levels.map((level) => ({ data: new ArrayType(tileSize * level.width * bands), index: 0, rows: 0 }));
  // zlib runs on the libuv thread pool: keep it busy while this thread converts, downsamples and stores.
  const depth = Math.max(4, 2 * os.availableParallelism());
  const full = levels[0];
  const reads = new Prefetch(full.tilesAcross * full.tilesDown, (index) => readTile(source, full, tileSize, index), depth);
  const encodes = new EncodeQueue(depth);

  const finishStrip = async (k: number): Promise<void> => {
    const level = levels[k];
    const strip = strips[k];
    for (let col = 0; col < level.tilesAcross; col++) {
      await encodes.submit(stores[k], encodeTile(strip, level.width, col, settings));
    }
    if (k + 1 < levels.length) {
      const next = strips[k + 1];
      next.rows += downsampleRows(strip.data, level.width, strip.rows, next.data, next.rows, settings.downsample);
      if (next.rows === stripRows(levels[k + 1], next.index, tileSize)) await finishStrip(k + 1);
    }
    strip.rows = 0;
    strip.index++;
  };

  try {
    const total = full.tilesAcross * full.tilesDown;
    onProgress?.(0, total);
    for (let row = 0; row < full.tilesDown; row++) {
      throwIfCancelled(signal);
      for (let col = 0; col < full.tilesAcross; col++) putTile(strips[0], full.width, await reads.take(), settings);
      strips[0].rows = stripRows(full, row, tileSize);
      await finishStrip(0);
      onProgress?.((row + 1) * full.tilesAcross, total);
    }
    await encodes.drain();
  } finally {
    await reads.settle(); // no read or encoder keeps running after we return or throw
    await encodes.settle();
  }
  levels.forEach((level, k) => {
    if (strips[k].index !== level.tilesDown || stores[k].counts.length !== level.tilesAcross * level.tilesDown) {
      throw new Error(`writeGeoTiff: internal error, level ${k} got ${stores[k].counts.length} tiles of ${level.tilesAcross * level.tilesDown}`);
    }
  });
}

/** Rows in strip `index` of a level: a tile's height, less at the bottom edge. */
function stripRows(level: LevelShape, index: number, tileSize: number): number {
  return Math.min(tileSize, level.height - index * tileSize);
}

async function readTile(source: BlockSource, level: LevelShape, tileSize: number, index: number): Promise<SourceTile> {
  const x = (index % level.tilesAcross) * tileSize;
  const y = Math.floor(index / level.tilesAcross) * tileSize;
  const width = Math.min(tileSize, level.width - x);
  const height = Math.min(tileSize, level.height - y);
  const values = await source.read({ x, y, width, height });
  if (values.length !== width * height * source.bands) {
    throw new RangeError(`writeGeoTiff: block source returned ${values.length} values for a ${width}×${height}×${source.bands} window`);
  }
  return { x, width, height, values };
}

/** Copies a tile from the source into the strip, rounded and clipped to the output type (NaN → nodata for integers). */
function putTile(strip: Strip, stripWidth: number, tile: SourceTile, settings: Settings): void {
  const { bands } = settings;
  const { values } = tile;
  const rowValues = tile.width * bands;
  const { isInteger, min, max } = DATA_TYPES[settings.dataType];
  const data = strip.data;
  for (let row = 0; row < tile.height; row++) {
    const from = row * rowValues;
    const to = (row * stripWidth + tile.x) * bands;
    if (!isInteger) {
      data.set(values.subarray(from, from + rowValues), to);
      continue;
    }
    for (let i = 0; i < rowValues; i++) {
      const value = values[from + i];
      if (value !== value) {
        if (settings.nanValue === undefined) {
          throw new RangeError(`writeGeoTiff: NaN cannot be written as ${settings.dataType} without a nodata value`);
        }
        data[to + i] = settings.nanValue;
      } else {
        const rounded = Math.round(value);
        data[to + i] = rounded < min ? min : rounded > max ? max : rounded;
      }
    }
  }
}

/** Cuts tile `col` out of a finished strip (padding the edges) and compresses it on the thread pool. */
function encodeTile(strip: Strip, levelWidth: number, col: number, settings: Settings): Promise<Buffer> {
  const { tileSize: size, bands } = settings;
  const x = col * size;
  const width = Math.min(size, levelWidth - x);
  const tile = new DATA_TYPES[settings.dataType].ArrayType(size * size * bands);
  if (settings.padValue !== 0) tile.fill(settings.padValue);
  for (let row = 0; row < strip.rows; row++) {
    const from = (row * levelWidth + x) * bands;
    tile.set(strip.data.subarray(from, from + width * bands), row * size * bands);
  }
  if (settings.predictor === 2) differenceRows(tile, size, bands);
  return deflate(new Uint8Array(tile.buffer), { level: settings.deflateLevel });
}

/** TIFF predictor 2: each sample minus the same band's sample to its left, per row (wrapping like the integer type). */
function differenceRows(tile: { length: number; [i: number]: number }, size: number, bands: number): void {
  const rowLength = size * bands;
  for (let rowStart = 0; rowStart < tile.length; rowStart += rowLength) {
    for (let i = rowStart + rowLength - 1; i >= rowStart + bands; i--) tile[i] -= tile[i - bands];
  }
}

/** Up to `depth` reads ahead, handed over in order. */
class Prefetch<T> {
  private readonly pending: Promise<T>[] = [];
  private next = 0;

  constructor(
    private readonly count: number,
    private readonly produce: (index: number) => Promise<T>,
    private readonly depth: number,
  ) {}

  async take(): Promise<T> {
    this.refill();
    const promise = this.pending.shift();
    if (!promise) throw new Error('writeGeoTiff: internal error, read past the last tile');
    const value = await promise;
    this.refill();
    return value;
  }

  async settle(): Promise<void> {
    await Promise.allSettled(this.pending);
  }

  private refill(): void {
    while (this.pending.length < this.depth && this.next < this.count) {
      const promise = this.produce(this.next++);
      promise.catch(() => undefined); // awaited in take(); this only stops an early rejection counting as unhandled
      this.pending.push(promise);
    }
  }
}

/** Compressions in flight, at most `depth`; each lands in its level's store in the order submitted. */
class EncodeQueue {
  private readonly pending: { bytes: Promise<Buffer>; store: TileStore }[] = [];

  constructor(private readonly depth: number) {}

  async submit(store: TileStore, bytes: Promise<Buffer>): Promise<void> {
    bytes.catch(() => undefined); // awaited in order below
    this.pending.push({ bytes, store });
    while (this.pending.length > this.depth) await this.storeOldest();
  }

  async drain(): Promise<void> {
    while (this.pending.length > 0) await this.storeOldest();
  }

  async settle(): Promise<void> {
    await Promise.allSettled(this.pending.map((entry) => entry.bytes));
  }

  private async storeOldest(): Promise<void> {
    const { bytes, store } = this.pending[0];
    const tile = await bytes;
    this.pending.shift();
    await store.append(tile);
  }
}

/** Byte positions of everything in the file, for classic TIFF or BigTIFF. */
interface FilePlan {
  bigTiff: boolean;
  headerBytes: number;
  ifdOffsets: number[];
  /** Where each level's tile store starts (smallest overview first in the file, full resolution last). */
  storeStarts: number[];
  dataStart: number;
  end: number;
}

async function assemble(
  target: string,
  file: fs.FileHandle,
  source: BlockSource,
  options: WriteGeoTiffOptions,
  settings: Settings,
  levels: LevelShape[],
  stores: TileStore[],
): Promise<void> {
  const fieldsOf = (k: number, bigTiff: boolean, storeStart: number): TiffField[] => {
    const store = stores[k];
    return levelFields(levels[k], k, source, options, settings, {
      type: bigTiff ? 'long8' : 'long',
      offsets: store.offsets.map((offset) => storeStart + offset),
      counts: store.counts,
    });
  };
  const plan = (bigTiff: boolean): FilePlan => {
    const headerBytes = bigTiff ? BIGTIFF_HEADER_BYTES : TIFF_HEADER_BYTES;
    let at = headerBytes + GHOST_AREA.length;
    at += at % 2; // the first IFD on a word boundary
    const ifdOffsets: number[] = [];
    for (let k = 0; k < levels.length; k++) {
      ifdOffsets.push(at);
      at += ifdByteLength(fieldsOf(k, bigTiff, 0), bigTiff);
    }
    const dataStart = at;
    const storeStarts: number[] = new Array<number>(levels.length);
    for (let k = levels.length - 1; k >= 0; k--) {
      storeStarts[k] = at;
      at += stores[k].size;
    }
    return { bigTiff, headerBytes, ifdOffsets, storeStarts, dataStart, end: at };
  };

  let layout = plan(settings.bigTiff === 'always');
  if (!layout.bigTiff && layout.end > CLASSIC_TIFF_MAX_BYTES) {
    if (settings.bigTiff === 'never') {
      throw new InputError(
        target,
        `the file would take ${(layout.end / 2 ** 30).toFixed(2)} GiB, more than the 4 GiB a classic TIFF can address; ` +
          "let the writer use BigTIFF (bigTiff 'auto' or 'always')",
      );
    }
    layout = plan(true);
  }

  const head = Buffer.alloc(layout.dataStart);
  encodeHeader(layout.ifdOffsets[0], layout.bigTiff).copy(head, 0);
  GHOST_AREA.copy(head, layout.headerBytes);
  for (let k = 0; k < levels.length; k++) {
    const next = k + 1 < levels.length ? layout.ifdOffsets[k + 1] : 0;
    const ifd = encodeIfd(fieldsOf(k, layout.bigTiff, layout.storeStarts[k]), layout.ifdOffsets[k], next, layout.bigTiff);
    ifd.copy(head, layout.ifdOffsets[k]);
  }
  await writeFully(file, head, 0);
  for (let k = levels.length - 1; k >= 0; k--) await stores[k].copyTo(file, layout.storeStarts[k]);
}

function levelFields(
  level: LevelShape,
  index: number,
  source: BlockSource,
  options: WriteGeoTiffOptions,
  settings: Settings,
  tiles: { type: 'long' | 'long8'; offsets: readonly number[]; counts: readonly number[] },
): TiffField[] {
  const type = DATA_TYPES[settings.dataType];
  const perBand = (value: number): number[] => new Array<number>(source.bands).fill(value);
  const fields: TiffField[] = [
    { tag: Tag.ImageWidth, type: 'long', values: [level.width] },
    { tag: Tag.ImageLength, type: 'long', values: [level.height] },
    { tag: Tag.BitsPerSample, type: 'short', values: perBand(type.bitsPerSample) },
    { tag: Tag.Compression, type: 'short', values: [8] }, // Deflate
    { tag: Tag.PhotometricInterpretation, type: 'short', values: [1] }, // min-is-black
    { tag: Tag.SamplesPerPixel, type: 'short', values: [source.bands] },
    { tag: Tag.PlanarConfiguration, type: 'short', values: [1] }, // pixel-interleaved
    { tag: Tag.TileWidth, type: 'short', values: [settings.tileSize] },
    { tag: Tag.TileLength, type: 'short', values: [settings.tileSize] },
    { tag: Tag.TileOffsets, type: tiles.type, values: tiles.offsets },
    { tag: Tag.TileByteCounts, type: tiles.type, values: tiles.counts },
    { tag: Tag.SampleFormat, type: 'short', values: perBand(type.sampleFormat) },
  ];
  if (index > 0) fields.push({ tag: Tag.NewSubfileType, type: 'long', values: [1] }); // a reduced-resolution image
  if (settings.predictor !== 1) fields.push({ tag: Tag.Predictor, type: 'short', values: [settings.predictor] });
  // Bands beyond the first are "unspecified extra samples" of a grey image, as GDAL writes them.
  if (source.bands > 1) fields.push({ tag: Tag.ExtraSamples, type: 'short', values: new Array<number>(source.bands - 1).fill(0) });
  if (index === 0) {
    // Georeferencing and metadata belong to the full resolution only (GDAL's overview IFDs carry just nodata).
    if (options.like) fields.push(...geoFields(options.like.geoTags, options.pixelOffset));
    const metadata = options.metadata ?? {};
    const bandNames = options.bandNames ?? [];
    if (Object.keys(metadata).length > 0 || bandNames.some((name) => name)) {
      fields.push({ tag: Tag.GdalMetadata, type: 'ascii', values: buildGdalMetadata(metadata, bandNames) });
    }
  }
  if (options.nodata !== undefined && options.nodata !== null) {
    fields.push({ tag: Tag.GdalNodata, type: 'ascii', values: Number.isNaN(options.nodata) ? 'nan' : String(options.nodata) });
  }
  return fields;
}

/** The input's georeferencing tags, shifted when the output starts `offset` pixels into the input's grid. */
function geoFields(tags: GeoTags, offset = { x: 0, y: 0 }): TiffField[] {
  const fields: TiffField[] = [];
  const { x: dx, y: dy } = offset;
  if (tags.ModelTransformation) {
    const m = [...tags.ModelTransformation];
    m[3] += m[0] * dx + m[1] * dy;
    m[7] += m[4] * dx + m[5] * dy;
    fields.push({ tag: Tag.ModelTransformation, type: 'double', values: m });
  }
  if (tags.ModelTiepoint) {
    const tiepoint = [...tags.ModelTiepoint];
    if (dx !== 0 || dy !== 0) {
      if (tiepoint.length !== 6 || !tags.ModelPixelScale) {
        throw new RangeError('writeGeoTiff: pixelOffset needs an affine transform (one tie point and a pixel scale)');
      }
      tiepoint[3] += dx * tags.ModelPixelScale[0];
      tiepoint[4] -= dy * tags.ModelPixelScale[1];
    }
    fields.push({ tag: Tag.ModelTiepoint, type: 'double', values: tiepoint });
  }
  if (tags.ModelPixelScale) fields.push({ tag: Tag.ModelPixelScale, type: 'double', values: tags.ModelPixelScale });
  if (tags.GeoKeyDirectory) fields.push({ tag: Tag.GeoKeyDirectory, type: 'short', values: tags.GeoKeyDirectory });
  if (tags.GeoDoubleParams) fields.push({ tag: Tag.GeoDoubleParams, type: 'double', values: tags.GeoDoubleParams });
  if (tags.GeoAsciiParams !== undefined) fields.push({ tag: Tag.GeoAsciiParams, type: 'ascii', values: tags.GeoAsciiParams });
  return fields;
}

function imageBlocks(image: Image): BlockSource {
  return {
    width: image.width,
    height: image.height,
    bands: image.bands,
    read: ({ x, y, width, height }) => {
      const rowValues = width * image.bands;
      const block = new Float32Array(rowValues * height);
      for (let row = 0; row < height; row++) {
        const start = ((y + row) * image.width + x) * image.bands;
        block.set(image.data.subarray(start, start + rowValues), row * rowValues);
      }
      return block;
    },
  };
}
