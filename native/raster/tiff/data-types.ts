/**
 * Pixel data types: how each maps to TIFF's SampleFormat/BitsPerSample, to a JS typed array, and to GDAL's
 * names (what `gdalinfo` prints), plus the value range an integer type can hold and the test for a file's nodata value.
 */

export type RasterDataType = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64';

type TypedArrayConstructor =
  | Uint8ArrayConstructor
  | Int8ArrayConstructor
  | Uint16ArrayConstructor
  | Int16ArrayConstructor
  | Uint32ArrayConstructor
  | Int32ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor;

export interface DataTypeInfo {
  /** TIFF SampleFormat: 1 unsigned integer, 2 signed integer, 3 IEEE float. */
  sampleFormat: 1 | 2 | 3;
  bitsPerSample: number;
  bytesPerSample: number;
  isInteger: boolean;
  /** Smallest and largest representable value (for floats: ±Infinity, no clipping needed). */
  min: number;
  max: number;
  gdalName: string;
  ArrayType: TypedArrayConstructor;
}

export const DATA_TYPES: Record<RasterDataType, DataTypeInfo> = {
  uint8: { sampleFormat: 1, bitsPerSample: 8, bytesPerSample: 1, isInteger: true, min: 0, max: 255, gdalName: 'Byte', ArrayType: Uint8Array },
  int8: { sampleFormat: 2, bitsPerSample: 8, bytesPerSample: 1, isInteger: true, min: -128, max: 127, gdalName: 'Int8', ArrayType: Int8Array },
  uint16: { sampleFormat: 1, bitsPerSample: 16, bytesPerSample: 2, isInteger: true, min: 0, max: 65535, gdalName: 'UInt16', ArrayType: Uint16Array },
  int16: { sampleFormat: 2, bitsPerSample: 16, bytesPerSample: 2, isInteger: true, min: -32768, max: 32767, gdalName: 'Int16', ArrayType: Int16Array },
  uint32: { sampleFormat: 1, bitsPerSample: 32, bytesPerSample: 4, isInteger: true, min: 0, max: 4294967295, gdalName: 'UInt32', ArrayType: Uint32Array },
  int32: { sampleFormat: 2, bitsPerSample: 32, bytesPerSample: 4, isInteger: true, min: -2147483648, max: 2147483647, gdalName: 'Int32', ArrayType: Int32Array },
  float32: { sampleFormat: 3, bitsPerSample: 32, bytesPerSample: 4, isInteger: false, min: -Infinity, max: Infinity, gdalName: 'Float32', ArrayType: Float32Array },
  float64: { sampleFormat: 3, bitsPerSample: 64, bytesPerSample: 8, isInteger: false, min: -Infinity, max: Infinity, gdalName: 'Float64', ArrayType: Float64Array },
};

/** The data type for a TIFF (SampleFormat, BitsPerSample) pair, or null if we do not read it (1-bit, 12-bit, complex, float16…). */
export function dataTypeFromTiff(sampleFormat: number, bitsPerSample: number): RasterDataType | null {
  for (const [name, info] of Object.entries(DATA_TYPES) as [RasterDataType, DataTypeInfo][]) {
    if (info.sampleFormat === sampleFormat && info.bitsPerSample === bitsPerSample) return name;
  }
  return null;
}

/** Rounds (integers only) and clamps a value into what `dataType` can hold. NaN is returned unchanged. */
export function fitToDataType(value: number, dataType: RasterDataType): number {
  const info = DATA_TYPES[dataType];
  if (!info.isInteger) return value;
  const rounded = Math.round(value);
  return rounded < info.min ? info.min : rounded > info.max ? info.max : rounded;
}

/** Whether a value is the nodata value (NaN matches NaN); never true when there is none. */
export function nodataTest(nodata: number | null): (value: number) => boolean {
  if (nodata === null) return () => false;
  return Number.isNaN(nodata) ? (value) => Number.isNaN(value) : (value) => value === nodata;
}
