/** The raster package's public surface: GeoTIFF in and out, band lookup, grid checks, preprocessing, masks. */
export type { Crs, GeoTags, GeoTransform, RasterInfo, StorageLayout, Window } from './raster-info.ts';
export { DATA_TYPES, type RasterDataType } from './data-types.ts';
export { openRaster, readBands, readRasterInfo, withRaster, type Raster } from './geotiff-reader.ts';
export { writeGeoTiff, writeGeoTiffFromBlocks, type BlockSource, type WriteGeoTiffOptions } from './geotiff-writer.ts';
export { canonicalS2BandName, parseBandList, resolveBands, S2_BAND_ORDER, standardName } from './bands.ts';
export { assertSameGrid, gridDifferences, type GridInfo } from './grid.ts';
export {
  assertFinite,
  denormaliseS2,
  detectSarUnits,
  normaliseS1,
  normaliseS2,
  nodataTest,
  resolveSarBands,
  S2_SCALE,
  SAR_DB_FLOOR,
  type SarBands,
  type SarUnits,
} from './preprocess.ts';
export { assertHasClearPixels, nodataMask, readMask, readMaskBand, type ReadMaskOptions } from './mask.ts';
export { readS1, readS2, readS2Mean, type ReadS1Options } from './sources.ts';
export {
  AGE_NODATA,
  MeanAccumulator,
  openReference,
  parseDay,
  parseMaskChoice,
  sceneDate,
  type MaskChoice,
  type Reference,
  type ReferenceMethod,
  type ReferenceScene,
  type ReferenceSpec,
  type ReferenceStats,
} from './reference.ts';
export { coordinateTransform, crsDefinition, proj4Definition, sameCrs } from './crs.ts';
export { coversGrid, readBandsOnGrid, RESAMPLE_METHODS, type ResampleMethod } from './resample.ts';
export {
  DEFAULT_SCL_CLASSES,
  openCloudMask,
  readCloudMask,
  writeCloudMask,
  type CloudMaskKind,
  type CloudMaskOptions,
  type CloudMaskReader,
  type CloudMaskSource,
  type WrittenCloudMask,
} from './cloud-masks.ts';
export { maskOutline, type OutlineFeatureCollection, type OutlineOptions } from './outline.ts';
