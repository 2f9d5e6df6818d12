/**
 * Writing georeferenced GeoTIFFs that GDAL and QGIS read as the input's twin: same CRS and transform (the
 * GeoTIFF tags are copied verbatim), band descriptions and provenance in GDAL_METADATA, GDAL_NODATA; tiled,
 * DEFLATE-compressed (with horizontal differencing for integers), pixel-interleaved, little-endian classic TIFF.
 *
 * Our own writer, because geotiff.js writes only uncompressed strips with a fixed tag set and a 1000-byte
 * header. Pixels come from a `BlockSource` one tile at a time, so whole scenes stream through bounded memory;
 * the directory is reserved at the start of the file and filled in once the tile offsets are known.
 * The file appears atomically (temporary file + rename); a failed write leaves nothing at the output path.
 * Not yet: overviews (a second IFD chained from the first, see tiff-encoder.ts) and BigTIFF beyond 4 GB.
 */
import os from 'node:os';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { Image } from '../dip/image.ts';
import { writeFileAtomically } from './atomic-file.ts';
import { DATA_TYPES, fitToDataType, type RasterDataType } from './data-types.ts';
import { buildGdalMetadata } from './gdal-metadata.ts';
import type { GeoTags, RasterInfo, Window } from './raster-info.ts';
import {
  CLASSIC_TIFF_MAX_BYTES,
  encodeHeader,
  encodeIfd,
  ifdByteLength,
  Tag,
  TIFF_HEADER_BYTES,
  type TiffField,
} from './tiff-encoder.ts';

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
  /** zlib level 1 (fast) … 9 (small); default 6. */
  deflateLevel?: number;
}

/** Where the writer gets pixels from: values (in output units) of a window, pixel-interleaved. */
export interface BlockSource {
  width: number;
  height: number;
  bands: number;
  read(window: Window): Float32Array | Promise<Float32Array>;
}

if (os.endianness() !== 'LE') throw new Error('geotiff-writer writes typed arrays as little-endian TIFF; this host is big-endian');

/** Writes an in-memory image (values already in output units, e.g. digital numbers). */
export async function writeGeoTiff(path: string, image: Image, options: WriteGeoTiffOptions): Promise<void> {
  if (image.data.length !== image.width * image.height * image.bands) {
    throw new RangeError(`writeGeoTiff: image data has ${image.data.length} values, not ${image.width}×${image.height}×${image.bands}`);
  }
  await writeGeoTiffFromBlocks(path, imageBlocks(image), options);
}

/** Writes a raster whose pixels `source` supplies tile by tile. */
export async function writeGeoTiffFromBlocks(path: string, source: BlockSource, options: WriteGeoTiffOptions): Promise<void> {
  const settings = checkedSettings(source, options);
  const tilesAcross = Math.ceil(source.width / settings.tileSize);
  const tileCount = tilesAcross * Math.ceil(source.height / settings.tileSize);
  const placeholder = new Array<number>(tileCount).fill(0);
  const ifdOffset = TIFF_HEADER_BYTES;
  const firstTileOffset = ifdOffset + ifdByteLength(directoryFields(source, options, settings, placeholder, placeholder));

  await writeFileAtomically(path, async (file) => {
    const offsets: number[] = [];
    const counts: number[] = [];
    let cursor = firstTileOffset;
    await forEachEncodedTile(tileCount, (index) => encodeTile(source, settings, index, tilesAcross), async (bytes) => {
      if (cursor + bytes.length > CLASSIC_TIFF_MAX_BYTES) {
        throw new RangeError(`${path}: output exceeds 4 GB, which needs BigTIFF (not supported yet)`);
      }
      await file.write(bytes, 0, bytes.length, cursor);
      offsets.push(cursor);
      counts.push(bytes.length);
      cursor += bytes.length;
    });
    const ifd = encodeIfd(directoryFields(source, options, settings, offsets, counts), ifdOffset);
    await file.write(encodeHeader(ifdOffset), 0, TIFF_HEADER_BYTES, 0);
    await file.write(ifd, 0, ifd.length, ifdOffset);
  });
}

interface Settings {
  dataType: RasterDataType;
  tileSize: number;
  deflateLevel: number;
  predictor: 1 | 2;
  /** Value for NaN in integer outputs (the nodata value), or undefined when NaN is an error. */
  nanValue: number | undefined;
  /** Value for the unused part of edge tiles. */
  padValue: number;
}

function checkedSettings(source: BlockSource, options: WriteGeoTiffOptions): Settings {
  const { width, height, bands } = source;
  if (![width, height, bands].every((n) => Number.isInteger(n) && n > 0)) {
    throw new RangeError(`writeGeoTiff: bad raster shape ${width}×${height}×${bands}`);
  }
  const tileSize = options.tileSize ?? 256;
  if (!Number.isInteger(tileSize) || tileSize <= 0 || tileSize % 16 !== 0) {
    throw new RangeError(`writeGeoTiff: tile size ${tileSize} is not a positive multiple of 16`);
  }
  if (options.bandNames && options.bandNames.length !== bands) {
    throw new RangeError(`writeGeoTiff: ${options.bandNames.length} band names for ${bands} bands`);
  }
  const type = DATA_TYPES[options.dataType];
  const nodata = options.nodata ?? null;
  if (type.isInteger && nodata !== null && fitToDataType(nodata, options.dataType) !== nodata) {
    throw new RangeError(`writeGeoTiff: nodata ${nodata} is not a ${options.dataType} value`);
  }
  return {
    dataType: options.dataType,
    tileSize,
    deflateLevel: options.deflateLevel ?? 6,
    predictor: type.isInteger ? 2 : 1,
    nanValue: type.isInteger ? (nodata ?? undefined) : NaN,
    padValue: nodata ?? 0,
  };
}

function directoryFields(
  source: BlockSource,
  options: WriteGeoTiffOptions,
  settings: Settings,
  tileOffsets: readonly number[],
  tileByteCounts: readonly number[],
): TiffField[] {
  const type = DATA_TYPES[settings.dataType];
  const perBand = (value: number): number[] => new Array<number>(source.bands).fill(value);
  const fields: TiffField[] = [
    { tag: Tag.ImageWidth, type: 'long', values: [source.width] },
    { tag: Tag.ImageLength, type: 'long', values: [source.height] },
    { tag: Tag.BitsPerSample, type: 'short', values: perBand(type.bitsPerSample) },
    { tag: Tag.Compression, type: 'short', values: [8] }, // Deflate
    { tag: Tag.PhotometricInterpretation, type: 'short', values: [1] }, // min-is-black
    { tag: Tag.SamplesPerPixel, type: 'short', values: [source.bands] },
    { tag: Tag.PlanarConfiguration, type: 'short', values: [1] }, // pixel-interleaved
    { tag: Tag.TileWidth, type: 'short', values: [settings.tileSize] },
    { tag: Tag.TileLength, type: 'short', values: [settings.tileSize] },
    { tag: Tag.TileOffsets, type: 'long', values: tileOffsets },
    { tag: Tag.TileByteCounts, type: 'long', values: tileByteCounts },
    { tag: Tag.SampleFormat, type: 'short', values: perBand(type.sampleFormat) },
  ];
  if (settings.predictor !== 1) fields.push({ tag: Tag.Predictor, type: 'short', values: [settings.predictor] });
  // Bands beyond the first are "unspecified extra samples" of a grey image, as GDAL writes them.
  if (source.bands > 1) fields.push({ tag: Tag.ExtraSamples, type: 'short', values: new Array<number>(source.bands - 1).fill(0) });
  if (options.like) fields.push(...geoFields(options.like.geoTags, options.pixelOffset));
  const metadata = options.metadata ?? {};
  const bandNames = options.bandNames ?? [];
  if (Object.keys(metadata).length > 0 || bandNames.some((name) => name)) {
    fields.push({ tag: Tag.GdalMetadata, type: 'ascii', values: buildGdalMetadata(metadata, bandNames) });
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

/** Encodes tiles a few at a time (zlib runs on the libuv thread pool, so several cores work) and hands them over in order. */
async function forEachEncodedTile(
  count: number,
  encode: (index: number) => Promise<Buffer>,
  consume: (bytes: Buffer, index: number) => Promise<void>,
): Promise<void> {
  const depth = Math.max(2, os.availableParallelism());
  const pending: Promise<Buffer>[] = [];
  let next = 0;
  const refill = (): void => {
    while (pending.length < depth && next < count) {
      const promise = encode(next++);
      promise.catch(() => undefined); // awaited below in order; this only stops an early rejection counting as unhandled
      pending.push(promise);
    }
  };
  try {
    for (let index = 0; index < count; index++) {
      refill();
      await consume(await pending.shift()!, index);
    }
  } finally {
    await Promise.allSettled(pending); // no encoder keeps running after we return or throw
  }
}

async function encodeTile(source: BlockSource, settings: Settings, index: number, tilesAcross: number): Promise<Buffer> {
  const { tileSize: size, dataType } = settings;
  const bands = source.bands;
  const x = (index % tilesAcross) * size;
  const y = Math.floor(index / tilesAcross) * size;
  const width = Math.min(size, source.width - x);
  const height = Math.min(size, source.height - y);
  const values = await source.read({ x, y, width, height });
  if (values.length !== width * height * bands) {
    throw new RangeError(`writeGeoTiff: block source returned ${values.length} values for a ${width}×${height}×${bands} window`);
  }
  const tile = new DATA_TYPES[dataType].ArrayType(size * size * bands);
  if (settings.padValue !== 0) tile.fill(settings.padValue);
  const integer = DATA_TYPES[dataType].isInteger;
  const rowValues = width * bands;
  for (let row = 0; row < height; row++) {
    const from = row * rowValues;
    const to = row * size * bands;
    for (let i = 0; i < rowValues; i++) {
      const value = values[from + i];
      tile[to + i] = integer ? integerValue(value, settings) : value;
    }
  }
  if (settings.predictor === 2) differenceRows(tile, size, bands);
  return deflate(new Uint8Array(tile.buffer), { level: settings.deflateLevel });
}

function integerValue(value: number, settings: Settings): number {
  if (Number.isNaN(value)) {
    if (settings.nanValue === undefined) {
      throw new RangeError(`writeGeoTiff: NaN cannot be written as ${settings.dataType} without a nodata value`);
    }
    return settings.nanValue;
  }
  return fitToDataType(value, settings.dataType);
}

/** TIFF predictor 2: each sample minus the same band's sample to its left, per row (wrapping like the integer type). */
function differenceRows(tile: { length: number; [i: number]: number }, size: number, bands: number): void {
  const rowLength = size * bands;
  for (let rowStart = 0; rowStart < tile.length; rowStart += rowLength) {
    for (let i = rowStart + rowLength - 1; i >= rowStart + bands; i--) tile[i] -= tile[i - bands];
  }
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
