/**
 * Encoding a classic (32-bit offset, little-endian) TIFF image file directory. The byte length of an IFD
 * depends only on its fields' types and counts, not on their values, so a writer can reserve room for it
 * before the pixel data, stream the data, then fill in the block offsets (the layout COG readers like:
 * directory first, data after). A chain of IFDs (overviews) links through `nextIfdOffset`.
 */

export const TIFF_HEADER_BYTES = 8;
/** Largest offset a classic TIFF can address; past it a file must be BigTIFF. */
export const CLASSIC_TIFF_MAX_BYTES = 2 ** 32 - 1;

export const Tag = {
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

export type FieldType = 'ascii' | 'short' | 'long' | 'double';

const TYPE_CODE: Record<FieldType, number> = { ascii: 2, short: 3, long: 4, double: 12 };
const TYPE_BYTES: Record<FieldType, number> = { ascii: 1, short: 2, long: 4, double: 8 };

export interface TiffField {
  tag: number;
  type: FieldType;
  /** Numbers for numeric types; a string for ASCII (a terminating NUL is added unless present). */
  values: readonly number[] | string;
}

const ENTRY_BYTES = 12;

/** The header: byte order "II", magic 42, offset of the first IFD. */
export function encodeHeader(firstIfdOffset: number): Buffer {
  const header = Buffer.alloc(TIFF_HEADER_BYTES);
  header.write('II', 0, 'latin1');
  header.writeUInt16LE(42, 2);
  header.writeUInt32LE(firstIfdOffset, 4);
  return header;
}

/** Bytes the IFD (entries plus out-of-line values) will take. */
export function ifdByteLength(fields: readonly TiffField[]): number {
  let length = 2 + fields.length * ENTRY_BYTES + 4;
  for (const field of fields) {
    const size = valueBytes(field);
    if (size > 4) length += size + (size % 2); // values start on a word boundary
  }
  return length;
}

/** The IFD as it will sit at `ifdOffset` in the file, with its out-of-line values right after the entries. */
export function encodeIfd(fields: readonly TiffField[], ifdOffset: number, nextIfdOffset = 0): Buffer {
  const sorted = [...fields].sort((a, b) => a.tag - b.tag); // TIFF requires ascending tags
  const buffer = Buffer.alloc(ifdByteLength(sorted));
  buffer.writeUInt16LE(sorted.length, 0);
  let valuesAt = 2 + sorted.length * ENTRY_BYTES + 4;
  sorted.forEach((field, index) => {
    const entry = 2 + index * ENTRY_BYTES;
    const size = valueBytes(field);
    buffer.writeUInt16LE(field.tag, entry);
    buffer.writeUInt16LE(TYPE_CODE[field.type], entry + 2);
    buffer.writeUInt32LE(size / TYPE_BYTES[field.type], entry + 4);
    if (size <= 4) {
      writeValues(buffer, entry + 8, field);
    } else {
      buffer.writeUInt32LE(ifdOffset + valuesAt, entry + 8);
      writeValues(buffer, valuesAt, field);
      valuesAt += size + (size % 2);
    }
  });
  buffer.writeUInt32LE(nextIfdOffset, 2 + sorted.length * ENTRY_BYTES);
  return buffer;
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
    else buffer.writeDoubleLE(value, at + i * size);
  });
}
