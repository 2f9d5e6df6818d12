/**
 * Reading GeoTIFFs: `openRaster` parses the header into a plain `RasterInfo` (size, bands, data type,
 * georeferencing, nodata, band names) and checks that the pixels can be read; `readBands` then reads any
 * window of any bands as a float32 HWC `Image`. Every failure a user can cause is an InputError naming the file.
 */
import { GeoTIFF, type GeoTIFFImage, type ImageFileDirectory } from 'geotiff';
import { InputError } from '../../errors.ts';
import type { Image } from '../../dip/image.ts';
import { dataTypeFromTiff } from './data-types.ts';
import { LocalFileSource, NotAFileError } from './file-source.ts';
import { bandDescriptions, datasetMetadata, parseGdalMetadata } from './gdal-metadata.ts';
import { crsFromGeoKeys, geoTransformFromTags } from './georeferencing.ts';
import type { GeoTags, RasterInfo, StorageLayout, Window } from './raster-info.ts';
import { checkTiffStructure, TIFF_LIMITS, type TiffImageStructure } from './tiff-structure.ts';
import { useZlibForDeflate } from './zlib-deflate-decoder.ts';

useZlibForDeflate();

/** An open raster: its info plus `close()`, which releases the file. Pass it to `readBands`. */
export interface Raster extends RasterInfo {
  close(): Promise<void>;
}

interface OpenFile {
  source: LocalFileSource;
  image: GeoTIFFImage;
  structure: TiffImageStructure;
}

/**
 * Bytes of strips/tiles (stored plus decoded) one read holds at a time: a larger window is read in
 * block-aligned chunks. A single block is at most TIFF_LIMITS.maxBlockBytes decoded and twice that
 * stored, so one always fits.
 */
export const READ_BUDGET_BYTES = 4 * TIFF_LIMITS.maxBlockBytes;
/** geotiff's promises, views and slices for one block, beside its bytes (measured: about 12 KiB on 16 × 16 px tiles). */
const BLOCK_OVERHEAD_BYTES = 32 * 1024;

// Kept beside, not inside, the info so that a Raster stays plain data (loggable, JSON-serialisable).
const openFiles = new WeakMap<RasterInfo, OpenFile>();

/** Compression codes geotiff.js decodes, and names for the ones it does not (for the error message). */
const DECODABLE_COMPRESSIONS: Record<number, string> = {
  1: 'none',
  5: 'LZW',
  7: 'JPEG',
  8: 'Deflate',
  32946: 'Deflate',
  32773: 'PackBits',
  34887: 'LERC',
  50000: 'ZSTD',
  50001: 'WebP',
};
const OTHER_COMPRESSIONS: Record<number, string> = {
  2: 'CCITT RLE',
  3: 'CCITT Group 3',
  4: 'CCITT Group 4',
  6: 'old-style JPEG',
  34712: 'JPEG 2000',
  34925: 'LZMA',
  50002: 'JPEG XL',
  52546: 'JPEG XL',
};

/** Opens a GeoTIFF and reads its header. The caller must `close()` it (or use `withRaster`). */
export async function openRaster(path: string): Promise<Raster> {
  const source = await openSource(path);
  try {
    // Before geotiff parses anything: it trusts counts and offsets and would allocate whatever they claim.
    const structure = (await checkTiffStructure(path, source.size, (offset, length) => source.readAt(offset, length))).images[0];
    const image = await firstImage(path, source);
    const info = await describe(path, image);
    const raster: Raster = {
      ...info,
      close: () => {
        openFiles.delete(raster);
        return source.close();
      },
    };
    Object.defineProperty(raster, 'close', { enumerable: false });
    openFiles.set(raster, { source, image, structure });
    return raster;
  } catch (error) {
    await source.close();
    throw error;
  }
}

/** Opens `path`, runs `use`, and closes the file whatever happens. */
export async function withRaster<T>(path: string, use: (raster: Raster) => Promise<T>): Promise<T> {
  const raster = await openRaster(path);
  try {
    return await use(raster);
  } finally {
    await raster.close();
  }
}

/** The header of a raster file, without keeping it open. */
export async function readRasterInfo(path: string): Promise<RasterInfo> {
  return withRaster(path, async (raster) => ({ ...raster }));
}

/**
 * Reads bands (0-based indexes, in the order given) of a window (default: the whole raster) as float32,
 * pixel-interleaved. Values are the file's own (digital numbers, dB…): preprocessing is a separate step.
 * Memory: the window as float32, plus at most `budgetBytes` (default READ_BUDGET_BYTES) of strips/tiles
 * and their pixels in the file's own type at a time; a larger window is read in block-aligned chunks.
 */
export async function readBands(
  raster: Raster,
  bandIndexes: readonly number[],
  window?: Window,
  options: { budgetBytes?: number } = {},
): Promise<Image> {
  const file = openFiles.get(raster);
  if (!file) throw new Error(`readBands: ${raster.path} is not open (closed already, or not from openRaster)`);
  for (const band of bandIndexes) {
    if (!Number.isInteger(band) || band < 0 || band >= raster.bandCount) {
      throw new InputError(raster.path, `has no band ${band + 1} (it has ${raster.bandCount})`);
    }
  }
  if (bandIndexes.length === 0) throw new RangeError('readBands: no bands requested');
  const area = window ?? { x: 0, y: 0, width: raster.width, height: raster.height };
  assertWindowInside(raster, area);
  const chunks = readChunks(file.structure, area, bandIndexes.length, options.budgetBytes);
  if (chunks.length === 1) {
    const values = await decode(raster.path, file.image, area, bandIndexes);
    // The typed-array constructor converts in native code; Float32Array.from would iterate value by value.
    const data = values instanceof Float32Array ? values : new Float32Array(values);
    return { width: area.width, height: area.height, bands: bandIndexes.length, data };
  }
  const bands = bandIndexes.length;
  const data = new Float32Array(area.width * area.height * bands);
  for (const chunk of chunks) {
    const values = await decode(raster.path, file.image, chunk, bandIndexes);
    const rowLength = chunk.width * bands;
    for (let row = 0; row < chunk.height; row++) {
      const from = row * rowLength;
      const to = ((chunk.y - area.y + row) * area.width + (chunk.x - area.x)) * bands;
      data.set(subarray(values, from, from + rowLength), to);
    }
  }
  return { width: area.width, height: area.height, bands, data };
}

async function decode(path: string, image: GeoTIFFImage, area: Window, bandIndexes: readonly number[]): Promise<ArrayLike<number>> {
  try {
    return await image.readRasters({
      window: [area.x, area.y, area.x + area.width, area.y + area.height],
      samples: [...bandIndexes],
      interleave: true,
    });
  } catch (error) {
    throw new InputError(path, `cannot decode its pixels (${messageOf(error)}); the file may be corrupt`);
  }
}

function subarray(values: ArrayLike<number>, from: number, to: number): ArrayLike<number> {
  const typed = values as ArrayLike<number> & { subarray?: (a: number, b: number) => ArrayLike<number> };
  return typed.subarray ? typed.subarray(from, to) : Array.prototype.slice.call(values, from, to);
}

/**
 * Splits a window into block-aligned chunks whose strips/tiles (stored + decoded) fit READ_BUDGET_BYTES:
 * geotiff fetches and decodes all blocks of one readRasters call at once. Whole rows of blocks when they
 * fit, so that an ordinary read stays one call.
 */
export function readChunks(s: TiffImageStructure, area: Window, bandCount: number, budgetBytes = READ_BUDGET_BYTES): Window[] {
  const perBlock = (s.blockBytes + s.maxStoredBytes + BLOCK_OVERHEAD_BYTES) * (s.planarConfiguration === 2 ? bandCount : 1);
  const blocksAtOnce = Math.max(1, Math.floor(budgetBytes / Math.max(1, perBlock)));
  const bx0 = Math.floor(area.x / s.blockWidth);
  const bx1 = Math.ceil((area.x + area.width) / s.blockWidth);
  const by0 = Math.floor(area.y / s.blockHeight);
  const by1 = Math.ceil((area.y + area.height) / s.blockHeight);
  const across = Math.min(bx1 - bx0, blocksAtOnce);
  const down = Math.max(1, Math.floor(blocksAtOnce / across));
  const chunks: Window[] = [];
  for (let by = by0; by < by1; by += down) {
    for (let bx = bx0; bx < bx1; bx += across) {
      const x = Math.max(area.x, bx * s.blockWidth);
      const y = Math.max(area.y, by * s.blockHeight);
      const right = Math.min(area.x + area.width, (bx + across) * s.blockWidth);
      const bottom = Math.min(area.y + area.height, (by + down) * s.blockHeight);
      chunks.push({ x, y, width: right - x, height: bottom - y });
    }
  }
  return chunks;
}

/** A RangeError (a caller's bug, not the user's) unless the window lies inside the raster or grid. */
export function assertWindowInside(raster: Pick<RasterInfo, 'path' | 'width' | 'height'>, w: Window): void {
  const inside =
    [w.x, w.y, w.width, w.height].every(Number.isInteger) &&
    w.x >= 0 &&
    w.y >= 0 &&
    w.width > 0 &&
    w.height > 0 &&
    w.x + w.width <= raster.width &&
    w.y + w.height <= raster.height;
  if (!inside) {
    throw new RangeError(
      `window ${JSON.stringify(w)} is not inside ${raster.path} (${raster.width}×${raster.height})`,
    );
  }
}

async function openSource(path: string): Promise<LocalFileSource> {
  try {
    return await LocalFileSource.open(path);
  } catch (error) {
    if (error instanceof NotAFileError) throw new InputError(path, `is ${error.kind}, not a GeoTIFF file`);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError(path, 'file not found');
    if (code === 'EACCES' || code === 'EPERM') throw new InputError(path, 'permission denied');
    throw new InputError(path, `cannot open (${messageOf(error)})`);
  }
}

async function firstImage(path: string, source: LocalFileSource): Promise<GeoTIFFImage> {
  if (source.size < 8) throw new InputError(path, `not a TIFF file (only ${source.size} bytes)`);
  let tiff: GeoTIFF;
  try {
    tiff = await GeoTIFF.fromSource(source);
  } catch (error) {
    throw new InputError(path, `not a TIFF file (${messageOf(error)})`);
  }
  try {
    return await tiff.getImage(0);
  } catch (error) {
    throw new InputError(path, `corrupt or truncated TIFF: cannot read its directory (${messageOf(error)})`);
  }
}

async function describe(path: string, image: GeoTIFFImage): Promise<RasterInfo> {
  const ifd = image.getFileDirectory();
  const width = await load<number>(ifd, 'ImageWidth');
  const height = await load<number>(ifd, 'ImageLength');
  if (!width || !height) throw new InputError(path, 'corrupt or truncated TIFF: no image size in its directory');
  const bandCount = image.getSamplesPerPixel();
  const layout = await storageLayout(path, ifd, width, height);
  const dataType = await uniformDataType(path, ifd, bandCount);

  const geoTags = await readGeoTags(ifd);
  let geoKeys: Record<string, unknown> | null;
  try {
    geoKeys = ifd.parseGeoKeyDirectory() as Record<string, unknown> | null;
  } catch (error) {
    throw new InputError(path, `corrupt GeoTIFF keys (${messageOf(error)})`);
  }
  const metadataXml = await load<string>(ifd, 'GDAL_METADATA');
  const items = metadataXml ? parseGdalMetadata(metadataXml) : [];
  return {
    path,
    width,
    height,
    bandCount,
    dataType,
    crs: crsFromGeoKeys(geoKeys),
    geoTransform: geoTransformFromTags(geoTags, geoKeys),
    nodata: parseNodata(await load<string>(ifd, 'GDAL_NODATA')),
    bandNames: bandDescriptions(items, bandCount),
    metadata: datasetMetadata(items),
    geoTags,
    layout,
  };
}

async function storageLayout(path: string, ifd: ImageFileDirectory, width: number, height: number): Promise<StorageLayout> {
  const compression = (await load<number>(ifd, 'Compression')) ?? 1;
  const compressionName = DECODABLE_COMPRESSIONS[compression];
  if (compressionName === undefined) {
    const name = OTHER_COMPRESSIONS[compression] ?? 'unknown';
    throw new InputError(
      path,
      `unsupported compression ${name} (TIFF code ${compression}); re-save it with ` +
        `gdal_translate -co COMPRESS=DEFLATE (readable: ${[...new Set(Object.values(DECODABLE_COMPRESSIONS))].join(', ')})`,
    );
  }
  const tiled = ifd.hasTag('TileWidth');
  return {
    compression,
    compressionName,
    tiled,
    blockWidth: tiled ? ((await load<number>(ifd, 'TileWidth')) ?? width) : width,
    blockHeight: tiled
      ? ((await load<number>(ifd, 'TileLength')) ?? height)
      : Math.min((await load<number>(ifd, 'RowsPerStrip')) ?? height, height),
    planarConfiguration: (await load<number>(ifd, 'PlanarConfiguration')) ?? 1,
  };
}

async function uniformDataType(path: string, ifd: ImageFileDirectory, bandCount: number): Promise<RasterInfo['dataType']> {
  const formats = arrayOf(await load(ifd, 'SampleFormat'), bandCount, 1);
  const bits = arrayOf(await load(ifd, 'BitsPerSample'), bandCount, 1);
  const types = formats.map((format, band) => dataTypeFromTiff(format, bits[band]));
  const first = types[0];
  if (first === null || types.some((type) => type !== first)) {
    const described = formats.map((format, band) => `${['', 'uint', 'int', 'float', 'void', 'complex int', 'complex float'][format] ?? `format ${format} `}${bits[band]}`);
    throw new InputError(
      path,
      `unsupported pixel type (${[...new Set(described)].join(', ')}); ` +
        'readable: 8/16/32-bit integers, 32/64-bit floats, the same for all bands',
    );
  }
  return first;
}

async function readGeoTags(ifd: ImageFileDirectory): Promise<GeoTags> {
  const tags: GeoTags = {};
  for (const name of ['GeoKeyDirectory', 'GeoDoubleParams', 'ModelPixelScale', 'ModelTiepoint', 'ModelTransformation'] as const) {
    const value = await load<ArrayLike<number>>(ifd, name);
    if (value !== undefined) tags[name] = Array.from(value, Number);
  }
  const ascii = await load<string>(ifd, 'GeoAsciiParams');
  if (ascii !== undefined) tags.GeoAsciiParams = ascii;
  return tags;
}

/** GDAL writes the nodata value as text ("0", "-9999", "nan"); NaN is a legitimate nodata value. */
export function parseNodata(text: string | undefined): number | null {
  if (text === undefined) return null;
  const trimmed = text.replace(/\0/g, '').trim();
  if (trimmed === '') return null;
  if (/^[-+]?nan$/i.test(trimmed)) return NaN;
  if (/^[-+]?inf(inity)?$/i.test(trimmed)) return trimmed.startsWith('-') ? -Infinity : Infinity;
  const value = Number(trimmed);
  return Number.isNaN(value) ? null : value;
}

async function load<T = unknown>(ifd: ImageFileDirectory, tag: string): Promise<T | undefined> {
  if (!ifd.hasTag(tag as never)) return undefined;
  return (await ifd.loadValue(tag as never)) as T | undefined;
}

function arrayOf(value: unknown, length: number, fallback: number): number[] {
  if (value === undefined || value === null) return new Array<number>(length).fill(fallback);
  if (typeof value === 'number') return new Array<number>(length).fill(value);
  const values = Array.from(value as ArrayLike<number>, Number);
  while (values.length < length) values.push(values[values.length - 1] ?? fallback);
  return values;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
