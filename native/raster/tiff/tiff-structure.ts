/**
 * A structural check of a TIFF or BigTIFF file, run before geotiff.js parses anything.
 *
 * geotiff.js trusts the file: it allocates whatever a directory entry's count claims (10⁹ strip offsets
 * in a 234-byte file is 4 GB), follows next-directory pointers without end, and reads strips of any
 * claimed size. This walks the directory chain itself with small bounded reads and checks every entry
 * against the file: known field types, values inside the file, the tags an image needs, sane sizes,
 * exactly as many strips or tiles as the image size implies, each one's bytes inside the file and of a
 * plausible size. Anything wrong is an InputError naming the file; what passes can be read in bounded
 * memory (see READ_LIMITS and readBands).
 */
import { InputError } from '../../errors.ts';

const MiB = 1024 * 1024;

/** The bounds this check enforces; each one is far beyond any real Sentinel scene or mosaic. */
export const TIFF_LIMITS = {
  /** Directories in the chain (GDAL writes one per overview and mask: a few dozen at most). */
  maxDirectories: 1024,
  /** Entries in one directory (GDAL writes about 20–30). */
  maxEntries: 1024,
  /**
   * Pixels a side: 2^20 px is 10,486 km at Sentinel-2's 10 m, beyond any scene or mosaic, and keeps
   * width × height × bands exact in a double and every block count small.
   */
  maxSide: 2 ** 20,
  /** Bands (hyperspectral sensors have a few hundred). */
  maxSamples: 4096,
  /** Strips or tiles of one image: their offsets and byte counts are held in memory (≤ 32 MiB each). */
  maxBlocks: 2 ** 22,
  /** Bytes one strip or tile may decode to: one block is the smallest unit a read can decode. */
  maxBlockBytes: 64 * MiB,
  /** Bytes of all other tag values of one directory (GDAL metadata, georeferencing, colour maps…). */
  maxTagBytes: 16 * MiB,
} as const;

/** One image (directory) of the file, as far as reading its pixels needs. */
export interface TiffImageStructure {
  width: number;
  height: number;
  samplesPerPixel: number;
  bitsPerSample: number[];
  compression: number;
  planarConfiguration: 1 | 2;
  tiled: boolean;
  blockWidth: number;
  blockHeight: number;
  blocksAcross: number;
  blocksDown: number;
  blockCount: number;
  /** Bytes one full strip or tile decodes to (one band's for planar configuration 2). */
  blockBytes: number;
  /** The largest stored (compressed) size of any strip or tile. */
  maxStoredBytes: number;
}

export interface TiffStructure {
  bigTiff: boolean;
  littleEndian: boolean;
  images: TiffImageStructure[];
}

/** Reads exactly `length` bytes at `offset` (the check never asks for bytes past the end of the file). */
export type ReadAt = (offset: number, length: number) => Promise<Uint8Array>;

const TYPE_SIZES: Record<number, number> = {
  1: 1, // BYTE
  2: 1, // ASCII
  3: 2, // SHORT
  4: 4, // LONG
  5: 8, // RATIONAL
  6: 1, // SBYTE
  7: 1, // UNDEFINED
  8: 2, // SSHORT
  9: 4, // SLONG
  10: 8, // SRATIONAL
  11: 4, // FLOAT
  12: 8, // DOUBLE
  13: 4, // IFD
  16: 8, // LONG8
  17: 8, // SLONG8
  18: 8, // IFD8
};
const TYPE_NAMES: Record<number, string> = {
  1: 'BYTE', 2: 'ASCII', 3: 'SHORT', 4: 'LONG', 5: 'RATIONAL', 6: 'SBYTE', 7: 'UNDEFINED', 8: 'SSHORT',
  9: 'SLONG', 10: 'SRATIONAL', 11: 'FLOAT', 12: 'DOUBLE', 13: 'IFD', 16: 'LONG8', 17: 'SLONG8', 18: 'IFD8',
};
/** Unsigned integer types: the only ones a size, count or offset may have. */
const UNSIGNED_TYPES = new Set([1, 3, 4, 16]);

const TAG = {
  ImageWidth: 256,
  ImageLength: 257,
  BitsPerSample: 258,
  Compression: 259,
  StripOffsets: 273,
  SamplesPerPixel: 277,
  RowsPerStrip: 278,
  StripByteCounts: 279,
  PlanarConfiguration: 284,
  TileWidth: 322,
  TileLength: 323,
  TileOffsets: 324,
  TileByteCounts: 325,
  SampleFormat: 339,
} as const;
const BLOCK_TAGS = new Set<number>([TAG.StripOffsets, TAG.StripByteCounts, TAG.TileOffsets, TAG.TileByteCounts]);
/** Tags the reader interprets beyond the image layout, and the field types it can take them in. */
const TYPED_TAGS: Record<number, { name: string; types: number[] }> = {
  33550: { name: 'ModelPixelScale', types: [12] },
  33922: { name: 'ModelTiepoint', types: [12] },
  34264: { name: 'ModelTransformation', types: [12] },
  34735: { name: 'GeoKeyDirectory', types: [3] },
  34736: { name: 'GeoDoubleParams', types: [12] },
  34737: { name: 'GeoAsciiParams', types: [2] },
  42112: { name: 'GDAL_METADATA', types: [2] },
  42113: { name: 'GDAL_NODATA', types: [2] },
};

interface Entry {
  tag: number;
  name: string;
  type: number;
  count: number;
  /** Bytes of the values. */
  bytes: number;
  /** Where the values are: in the directory itself (inline) or elsewhere in the file. */
  inline: Uint8Array | null;
  offset: number;
}

/** What is wrong, for the InputError; 64-bit values past 2^53 are read as Infinity and said so. */
class Refusal extends Error {
  constructor(problem: string) {
    super(problem.replace(/\bInfinity\b/g, 'over 2^53'));
  }
}

/** Checks the container of `path`; throws an InputError naming the file and what is wrong. */
export async function checkTiffStructure(path: string, fileSize: number, readAt: ReadAt): Promise<TiffStructure> {
  try {
    return await new Walker(fileSize, readAt).walk();
  } catch (error) {
    if (error instanceof Refusal) throw new InputError(path, error.message);
    throw error;
  }
}

class Walker {
  private littleEndian = true;
  private bigTiff = false;

  constructor(
    private readonly fileSize: number,
    private readonly readAt: ReadAt,
  ) {}

  async walk(): Promise<TiffStructure> {
    if (this.fileSize < 8) throw new Refusal(`not a TIFF file (only ${this.fileSize} bytes)`);
    const header = await this.readAt(0, Math.min(16, this.fileSize));
    const order = String.fromCharCode(header[0], header[1]);
    if (order !== 'II' && order !== 'MM') throw new Refusal('not a TIFF file (it does not start with II or MM)');
    this.littleEndian = order === 'II';
    const magic = this.uint(header, 2, 2);
    if (magic !== 42 && magic !== 43) throw new Refusal(`not a TIFF file (version ${magic}, not 42 or BigTIFF's 43)`);
    this.bigTiff = magic === 43;
    if (this.bigTiff && (header.length < 16 || this.uint(header, 4, 2) !== 8)) {
      throw new Refusal('corrupt BigTIFF header (its offset size is not 8)');
    }
    let offset = this.bigTiff ? this.uint(header, 8, 8) : this.uint(header, 4, 4);
    const images: TiffImageStructure[] = [];
    const seen = new Set<number>();
    do {
      const n = images.length + 1;
      if (seen.has(offset)) throw new Refusal(`corrupt TIFF: its directory chain loops (directory ${n} points back to byte ${offset})`);
      if (images.length >= TIFF_LIMITS.maxDirectories) {
        throw new Refusal(`corrupt TIFF: more than ${TIFF_LIMITS.maxDirectories} directories (images) in one file`);
      }
      seen.add(offset);
      const { entries, next } = await this.directory(offset, n);
      images.push(await this.image(entries, n));
      offset = next;
    } while (offset !== 0);
    return { bigTiff: this.bigTiff, littleEndian: this.littleEndian, images };
  }

  private async directory(offset: number, n: number): Promise<{ entries: Map<number, Entry>; next: number }> {
    const countSize = this.bigTiff ? 8 : 2;
    const entrySize = this.bigTiff ? 20 : 12;
    const pointerSize = this.bigTiff ? 8 : 4;
    const headerSize = this.bigTiff ? 16 : 8;
    if (offset < headerSize || offset + countSize > this.fileSize) {
      throw new Refusal(`corrupt or truncated TIFF: directory ${n} would be at byte ${offset}, outside the file (${this.fileSize} bytes)`);
    }
    const entryCount = this.uint(await this.readAt(offset, countSize), 0, countSize);
    if (entryCount === 0) throw new Refusal(`corrupt TIFF: directory ${n} (at byte ${offset}) is empty`);
    if (entryCount > TIFF_LIMITS.maxEntries) {
      throw new Refusal(`corrupt TIFF: directory ${n} claims ${entryCount} entries (at most ${TIFF_LIMITS.maxEntries} are plausible)`);
    }
    const size = countSize + entryCount * entrySize + pointerSize;
    if (offset + size > this.fileSize) {
      throw new Refusal(`truncated TIFF: directory ${n} runs to byte ${offset + size} but the file has only ${this.fileSize} bytes`);
    }
    const bytes = await this.readAt(offset, size);
    const entries = new Map<number, Entry>();
    let otherTagBytes = 0;
    for (let i = 0; i < entryCount; i++) {
      const at = countSize + i * entrySize;
      const tag = this.uint(bytes, at, 2);
      const type = this.uint(bytes, at + 2, 2);
      const count = this.uint(bytes, at + 4, this.bigTiff ? 8 : 4);
      const name = tagName(tag);
      const typeSize = TYPE_SIZES[type];
      if (typeSize === undefined) throw new Refusal(`corrupt TIFF: directory ${n} entry ${name} has unknown field type ${type}`);
      const valueAt = at + (this.bigTiff ? 12 : 8);
      const valueBytes = count * typeSize;
      const inlineSize = this.bigTiff ? 8 : 4;
      let entry: Entry;
      if (valueBytes <= inlineSize) {
        entry = { tag, name, type, count, bytes: valueBytes, inline: bytes.subarray(valueAt, valueAt + valueBytes), offset: 0 };
      } else {
        const valueOffset = this.uint(bytes, valueAt, inlineSize);
        if (valueBytes > this.fileSize || valueOffset + valueBytes > this.fileSize) {
          throw new Refusal(
            `corrupt or truncated TIFF: directory ${n} entry ${name} claims ${count} values (${valueBytes} bytes) ` +
              `at byte ${valueOffset}, past the end of the file (${this.fileSize} bytes)`,
          );
        }
        entry = { tag, name, type, count, bytes: valueBytes, inline: null, offset: valueOffset };
      }
      const expected = TYPED_TAGS[tag];
      if (expected && !expected.types.includes(type)) {
        throw new Refusal(`corrupt TIFF: directory ${n} entry ${name} must be ${expected.types.map((t) => TYPE_NAMES[t]).join(' or ')}, not ${described(entry)}`);
      }
      if (!BLOCK_TAGS.has(tag)) otherTagBytes += valueBytes;
      entries.set(tag, entry);
    }
    if (otherTagBytes > TIFF_LIMITS.maxTagBytes) {
      throw new Refusal(`corrupt TIFF: directory ${n}'s tags hold ${mib(otherTagBytes)} of values (at most ${mib(TIFF_LIMITS.maxTagBytes)} are plausible)`);
    }
    const next = this.uint(bytes, countSize + entryCount * entrySize, pointerSize);
    return { entries, next };
  }

  private async image(entries: Map<number, Entry>, n: number): Promise<TiffImageStructure> {
    const where = n === 1 ? '' : ` (directory ${n})`;
    const single = async (tag: number, fallback?: number): Promise<number> => {
      const entry = entries.get(tag);
      if (!entry) {
        if (fallback === undefined) throw new Refusal(`corrupt TIFF: no ${tagName(tag)} in its directory${where}`);
        return fallback;
      }
      if (!UNSIGNED_TYPES.has(entry.type) || entry.count !== 1) {
        throw new Refusal(`corrupt TIFF: ${entry.name}${where} must be one unsigned integer, not ${described(entry)}`);
      }
      return (await this.values(entry, 0, 1))[0];
    };
    const width = await single(TAG.ImageWidth);
    const height = await single(TAG.ImageLength);
    if (width === 0 || height === 0) throw new Refusal(`corrupt TIFF: the image${where} is ${width} × ${height} px`);
    if (width > TIFF_LIMITS.maxSide || height > TIFF_LIMITS.maxSide) {
      throw new Refusal(`image${where} of ${width} × ${height} px is beyond the ${TIFF_LIMITS.maxSide} px a side Clearsky reads; the header is likely corrupt`);
    }
    const samplesPerPixel = await single(TAG.SamplesPerPixel, 1);
    if (samplesPerPixel === 0 || samplesPerPixel > TIFF_LIMITS.maxSamples) {
      throw new Refusal(`corrupt TIFF: ${samplesPerPixel} bands${where} (Clearsky reads 1 to ${TIFF_LIMITS.maxSamples})`);
    }
    const bitsEntry = entries.get(TAG.BitsPerSample);
    if (!bitsEntry) throw new Refusal(`corrupt TIFF: no BitsPerSample in its directory${where}`);
    if (!UNSIGNED_TYPES.has(bitsEntry.type) || bitsEntry.count !== samplesPerPixel) {
      throw new Refusal(`corrupt TIFF: BitsPerSample${where} must be ${samplesPerPixel} unsigned integers (one a band), not ${described(bitsEntry)}`);
    }
    const bitsPerSample = await this.values(bitsEntry, 0, samplesPerPixel);
    if (bitsPerSample.some((bits) => bits < 1 || bits > 64)) {
      throw new Refusal(`corrupt TIFF: BitsPerSample${where} of ${[...new Set(bitsPerSample)].join(', ')} (1 to 64 bits a sample)`);
    }
    const formatEntry = entries.get(TAG.SampleFormat);
    if (formatEntry && (!UNSIGNED_TYPES.has(formatEntry.type) || formatEntry.count === 0 || formatEntry.count > samplesPerPixel)) {
      throw new Refusal(`corrupt TIFF: SampleFormat${where} must be 1 to ${samplesPerPixel} unsigned integers, not ${described(formatEntry)}`);
    }
    const compression = await single(TAG.Compression, 1);
    const planar = await single(TAG.PlanarConfiguration, 1);
    if (planar !== 1 && planar !== 2) throw new Refusal(`corrupt TIFF: PlanarConfiguration${where} is ${planar} (1 or 2)`);

    const tiled = entries.has(TAG.TileWidth) || entries.has(TAG.TileLength) || entries.has(TAG.TileOffsets);
    const kind = tiled ? 'tile' : 'strip';
    let blockWidth: number;
    let blockHeight: number;
    if (tiled) {
      blockWidth = await single(TAG.TileWidth);
      blockHeight = await single(TAG.TileLength);
      if (blockWidth === 0 || blockHeight === 0) throw new Refusal(`corrupt TIFF: tiles${where} of ${blockWidth} × ${blockHeight} px`);
    } else {
      const rowsPerStrip = await single(TAG.RowsPerStrip, height);
      if (rowsPerStrip === 0) throw new Refusal(`corrupt TIFF: RowsPerStrip${where} is 0`);
      blockWidth = width;
      blockHeight = Math.min(rowsPerStrip, height);
    }
    const blocksAcross = Math.ceil(width / blockWidth);
    const blocksDown = Math.ceil(height / blockHeight);
    const planes = planar === 2 ? samplesPerPixel : 1;
    const blockCount = blocksAcross * blocksDown * planes;
    if (blockCount > TIFF_LIMITS.maxBlocks) {
      throw new Refusal(`image${where} has ${blockCount} ${kind}s (Clearsky reads at most ${TIFF_LIMITS.maxBlocks}); re-save it with larger tiles: gdal_translate -co TILED=YES -co BLOCKXSIZE=512 -co BLOCKYSIZE=512`);
    }
    const bitsOfPixel = planar === 2 ? Math.max(...bitsPerSample) : bitsPerSample.reduce((a, b) => a + b, 0);
    const rowBytes = Math.ceil((blockWidth * bitsOfPixel) / 8);
    const blockBytes = rowBytes * blockHeight;
    if (blockBytes > TIFF_LIMITS.maxBlockBytes) {
      throw new Refusal(
        `one ${kind}${where} decodes to ${mib(blockBytes)}, more than the ${mib(TIFF_LIMITS.maxBlockBytes)} a read may take; ` +
          'if the file is sound, re-save it tiled: gdal_translate -co TILED=YES',
      );
    }

    const offsetsTag = tiled ? TAG.TileOffsets : TAG.StripOffsets;
    const countsTag = tiled ? TAG.TileByteCounts : TAG.StripByteCounts;
    const blockArray = (tag: number): Entry => {
      const entry = entries.get(tag);
      if (!entry) throw new Refusal(`corrupt TIFF: no ${tagName(tag)} in its directory${where}: it does not say where the pixel data is`);
      if (!UNSIGNED_TYPES.has(entry.type) || entry.type === 1) {
        throw new Refusal(`corrupt TIFF: ${entry.name}${where} must be unsigned integers, not ${described(entry)}`);
      }
      if (entry.count !== blockCount) {
        const layout = tiled ? `tiles of ${blockWidth} × ${blockHeight} px` : `strips of ${blockHeight} rows`;
        throw new Refusal(
          `corrupt TIFF: ${entry.name}${where} lists ${entry.count} ${kind}s, but a ${width} × ${height} px image ` +
            `in ${layout}${planes > 1 ? ` and ${planes} band planes` : ''} has ${blockCount}`,
        );
      }
      return entry;
    };
    const offsetsEntry = blockArray(offsetsTag);
    const countsEntry = blockArray(countsTag);
    const maxStoredBytes = await this.checkBlocks(offsetsEntry, countsEntry, {
      kind,
      where,
      compressed: compression !== 1,
      blockBytes,
      lastStripBytes: tiled ? blockBytes : rowBytes * (height - (blocksDown - 1) * blockHeight),
      blocksDown,
      blocksAcross,
    });
    return {
      width,
      height,
      samplesPerPixel,
      bitsPerSample,
      compression,
      planarConfiguration: planar,
      tiled,
      blockWidth,
      blockHeight,
      blocksAcross,
      blocksDown,
      blockCount,
      blockBytes,
      maxStoredBytes,
    };
  }

  /** Every strip or tile's bytes inside the file and of a size its pixels could have; returns the largest. */
  private async checkBlocks(
    offsets: Entry,
    counts: Entry,
    at: { kind: string; where: string; compressed: boolean; blockBytes: number; lastStripBytes: number; blocksDown: number; blocksAcross: number },
  ): Promise<number> {
    const headerSize = this.bigTiff ? 16 : 8;
    // Deflate, LZW and PackBits expand incompressible data by well under 2×; more is a corrupt count.
    const plausible = 2 * at.blockBytes + 65536;
    let largest = 0;
    const chunk = 65536;
    for (let start = 0; start < offsets.count; start += chunk) {
      const length = Math.min(chunk, offsets.count - start);
      const starts = await this.values(offsets, start, length);
      const sizes = await this.values(counts, start, length);
      for (let i = 0; i < length; i++) {
        const size = sizes[i];
        if (size === 0) continue; // a sparse block: geotiff fills it with nodata
        const index = start + i;
        const end = starts[i] + size;
        if (starts[i] < headerSize || end > this.fileSize) {
          throw new Refusal(
            `truncated or corrupt TIFF: ${at.kind} ${index + 1}${at.where} runs from byte ${starts[i]} to ${end}, ` +
              `outside the file (${this.fileSize} bytes)`,
          );
        }
        if (size > plausible) {
          throw new Refusal(`corrupt TIFF: ${at.kind} ${index + 1}${at.where} claims ${size} bytes, implausible for ${at.blockBytes} bytes of pixels`);
        }
        // Uncompressed: the stored bytes are the pixels, so fewer than the block needs is a damaged count.
        const isLastStrip = at.kind === 'strip' && (index % (at.blocksDown * at.blocksAcross)) === at.blocksDown - 1;
        const needed = isLastStrip ? at.lastStripBytes : at.blockBytes;
        if (!at.compressed && size < needed) {
          throw new Refusal(`corrupt TIFF: uncompressed ${at.kind} ${index + 1}${at.where} has ${size} bytes but its pixels take ${needed}`);
        }
        largest = Math.max(largest, size);
      }
    }
    return largest;
  }

  /** `length` values of an unsigned-integer entry from index `start` (bounded: never more than asked). */
  private async values(entry: Entry, start: number, length: number): Promise<number[]> {
    const size = TYPE_SIZES[entry.type];
    const bytes = entry.inline
      ? entry.inline.subarray(start * size, (start + length) * size)
      : await this.readAt(entry.offset + start * size, length * size);
    const values = new Array<number>(length);
    for (let i = 0; i < length; i++) values[i] = this.uint(bytes, i * size, size);
    return values;
  }

  /** An unsigned integer of 1, 2, 4 or 8 bytes; 8-byte values past 2^53 come back as Infinity (past any file). */
  private uint(bytes: Uint8Array, at: number, size: number): number {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    switch (size) {
      case 1:
        return view.getUint8(at);
      case 2:
        return view.getUint16(at, this.littleEndian);
      case 4:
        return view.getUint32(at, this.littleEndian);
      default: {
        const value = view.getBigUint64(at, this.littleEndian);
        return value > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(value);
      }
    }
  }
}

function tagName(tag: number): string {
  return Object.entries(TAG).find(([, code]) => code === tag)?.[0] ?? TYPED_TAGS[tag]?.name ?? `tag ${tag}`;
}

function described(entry: Entry): string {
  return `${entry.count} × ${TYPE_NAMES[entry.type] ?? `type ${entry.type}`}`;
}

function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(bytes < MiB ? 2 : 0)} MiB`;
}
