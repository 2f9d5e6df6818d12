/**
 * Encoding TIFF image file directories, classic (32-bit offsets, 12-byte entries) or BigTIFF (64-bit
 * offsets, 20-byte entries), little-endian. The byte length of an IFD depends only on its fields' types and
 * counts, not on their values, so a writer can reserve room for all directories before the pixel data and
 * fill in the block offsets once it knows them (the layout COG readers like: directories first, data after).
 * A chain of IFDs (full resolution, then overviews) links through `nextIfdOffset`.
 */

export const TIFF_HEADER_BYTES = 8;
export const BIGTIFF_HEADER_BYTES = 16;
/** Largest offset a classic TIFF can address; past it a file must be BigTIFF. */
export const CLASSIC_TIFF_MAX_BYTES = 2 ** 32 - 1;

export const Tag = {
  NewSubfileType: 254,
  ImageWidth: 256,
  ImageLength: 257,
  BitsPerSample: 258,
  Compression: 259,
  PhotometricInterpretation: 262,
  SamplesPerPixel: 277,
  PlanarConfiguration: 284,
  Predictor: 317,
  TileWidth: 322,
  TileLength: 323,
  TileOffsets: 324,
  TileByteCounts: 325,
  ExtraSamples: 338,
  SampleFormat: 339,
  ModelPixelScale: 33550,
  ModelTiepoint: 33922,
  ModelTransformation: 34264,
  GeoKeyDirectory: 34735,
  GeoDoubleParams: 34736,
  GeoAsciiParams: 34737,
  GdalMetadata: 42112,
  GdalNodata: 42113,
} as const;

/** `long8` (TIFF type 16, unsigned 64-bit) exists only in BigTIFF. */
export type FieldType = 'ascii' | 'short' | 'long' | 'double' | 'long8';

const TYPE_CODE: Record<FieldType, number> = { ascii: 2, short: 3, long: 4, double: 12, long8: 16 };
const TYPE_BYTES: Record<FieldType, number> = { ascii: 1, short: 2, long: 4, double: 8, long8: 8 };

export interface TiffField {
  tag: number;
  type: FieldType;
  /** Numbers for numeric types; a string for ASCII (a terminating NUL is added unless present). */
  values: readonly number[] | string;
}

/** Sizes that differ between classic TIFF and BigTIFF. */
interface Format {
  /** Bytes of the entry count, of one entry, of the next-IFD offset; and how many value bytes fit in an entry. */
  countBytes: number;
  entryBytes: number;
  offsetBytes: number;
  inlineBytes: number;
}

const CLASSIC: Format = { countBytes: 2, entryBytes: 12, offsetBytes: 4, inlineBytes: 4 };
const BIG: Format = { countBytes: 8, entryBytes: 20, offsetBytes: 8, inlineBytes: 8 };

/** The header: byte order "II", magic 42 (classic) or 43 (BigTIFF: then offset size 8, padding 0), offset of the first IFD. */
export function encodeHeader(firstIfdOffset: number, bigTiff = false): Buffer {
  if (!bigTiff) {
    const header = Buffer.alloc(TIFF_HEADER_BYTES);
    header.write('II', 0, 'latin1');
    header.writeUInt16LE(42, 2);
    header.writeUInt32LE(firstIfdOffset, 4);
    return header;
  }
  const header = Buffer.alloc(BIGTIFF_HEADER_BYTES);
  header.write('II', 0, 'latin1');
  header.writeUInt16LE(43, 2);
  header.writeUInt16LE(8, 4);
  header.writeUInt16LE(0, 6);
  header.writeBigUInt64LE(BigInt(firstIfdOffset), 8);
  return header;
}

/** Bytes the IFD (entries plus out-of-line values) will take. */
export function ifdByteLength(fields: readonly TiffField[], bigTiff = false): number {
  const format = bigTiff ? BIG : CLASSIC;
  let length = format.countBytes + fields.length * format.entryBytes + format.offsetBytes;
  for (const field of fields) {
    const size = valueBytes(field);
    if (size > format.inlineBytes) length += size + (size % 2); // values start on a word boundary
  }
  return length;
}

/** The IFD as it will sit at `ifdOffset` in the file, with its out-of-line values right after the entries. */
export function encodeIfd(fields: readonly TiffField[], ifdOffset: number, nextIfdOffset = 0, bigTiff = false): Buffer {
  const format = bigTiff ? BIG : CLASSIC;
  const sorted = [...fields].sort((a, b) => a.tag - b.tag); // TIFF requires ascending tags
  for (const field of sorted) {
    if (field.type === 'long8' && !bigTiff) throw new RangeError(`tag ${field.tag}: LONG8 values need BigTIFF`);
  }
  const buffer = Buffer.alloc(ifdByteLength(sorted, bigTiff));
  writeUnsigned(buffer, 0, sorted.length, format.countBytes);
  let valuesAt = format.countBytes + sorted.length * format.entryBytes + format.offsetBytes;
  sorted.forEach((field, index) => {
    const entry = format.countBytes + index * format.entryBytes;
    const size = valueBytes(field);
    buffer.writeUInt16LE(field.tag, entry);
    buffer.writeUInt16LE(TYPE_CODE[field.type], entry + 2);
    writeUnsigned(buffer, entry + 4, size / TYPE_BYTES[field.type], format.offsetBytes);
    const valueField = entry + 4 + format.offsetBytes;
    if (size <= format.inlineBytes) {
      writeValues(buffer, valueField, field);
    } else {
      writeUnsigned(buffer, valueField, ifdOffset + valuesAt, format.offsetBytes);
      writeValues(buffer, valuesAt, field);
      valuesAt += size + (size % 2);
    }
  });
  writeUnsigned(buffer, format.countBytes + sorted.length * format.entryBytes, nextIfdOffset, format.offsetBytes);
  return buffer;
}

function writeUnsigned(buffer: Buffer, at: number, value: number, bytes: number): void {
  if (bytes === 2) buffer.writeUInt16LE(value, at);
  else if (bytes === 4) buffer.writeUInt32LE(value, at);
  else buffer.writeBigUInt64LE(BigInt(value), at);
}

function asciiBytes(text: string): Buffer {
  return Buffer.from(text.endsWith('\0') ? text : `${text}\0`, 'utf8'); // GDAL writes UTF-8 here too
}

function valueBytes(field: TiffField): number {
  if (field.type === 'ascii') return asciiBytes(String(field.values)).length;
  return (field.values as readonly number[]).length * TYPE_BYTES[field.type];
}

function writeValues(buffer: Buffer, at: number, field: TiffField): void {
  if (field.type === 'ascii') {
    asciiBytes(String(field.values)).copy(buffer, at);
    return;
  }
  const values = field.values as readonly number[];
  const size = TYPE_BYTES[field.type];
  values.forEach((value, i) => {
    if (field.type === 'short') buffer.writeUInt16LE(value, at + i * size);
    else if (field.type === 'long') buffer.writeUInt32LE(value, at + i * size);
    else if (field.type === 'long8') buffer.writeBigUInt64LE(BigInt(value), at + i * size);
    else buffer.writeDoubleLE(value, at + i * size);
  });
}
