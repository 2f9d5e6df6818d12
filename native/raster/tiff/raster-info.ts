/**
 * What we know about a raster file without reading its pixels: size, bands, data type, georeferencing,
 * nodata and band descriptions. Plain data, so it can be logged, stored in the catalogue, compared
 * (grid.ts) and handed to the writer as the `like` of an output.
 */
import type { RasterDataType } from './data-types.ts';

/** GDAL's affine geotransform: x = t[0] + col·t[1] + row·t[2]; y = t[3] + col·t[4] + row·t[5] (pixel corners). */
export type GeoTransform = [number, number, number, number, number, number];

/** The coordinate reference system as the file's GeoKeys state it. */
export interface Crs {
  /** EPSG code of the projected (or, for geographic files, geographic) CRS; null when user-defined. */
  epsg: number | null;
  /** Human-readable: "EPSG:32633 (WGS 84 / UTM zone 33N)", or the citation of a user-defined CRS. */
  description: string;
  /** All GeoKeys by name (GTModelTypeGeoKey, ProjectedCSTypeGeoKey, …), for comparing user-defined CRSs. */
  geoKeys: Record<string, unknown>;
}

/**
 * The GeoTIFF georeferencing tags exactly as stored. The writer copies them verbatim, so an output has the
 * input's CRS and transform bit for bit (GeoAsciiParams offsets inside GeoKeyDirectory stay valid).
 */
export interface GeoTags {
  GeoKeyDirectory?: number[];
  GeoDoubleParams?: number[];
  GeoAsciiParams?: string;
  ModelPixelScale?: number[];
  ModelTiepoint?: number[];
  ModelTransformation?: number[];
}

/** How the pixels are stored: useful for diagnostics and for choosing read windows (block-aligned). */
export interface StorageLayout {
  /** TIFF compression code (1 none, 5 LZW, 8/32946 Deflate, …) and its name. */
  compression: number;
  compressionName: string;
  tiled: boolean;
  /** Tile size, or for strips the image width × rows per strip. */
  blockWidth: number;
  blockHeight: number;
  /** 1 = pixel-interleaved, 2 = band-separate. */
  planarConfiguration: number;
}

export interface RasterInfo {
  /** The path the raster was opened from; every error about it names this path. */
  path: string;
  width: number;
  height: number;
  bandCount: number;
  dataType: RasterDataType;
  /** null when the file carries no GeoKeys. */
  crs: Crs | null;
  /** null when the file has no affine georeferencing (plain TIFF). */
  geoTransform: GeoTransform | null;
  /** GDAL_NODATA (one value for all bands, as GDAL's GeoTIFF driver stores it); NaN allowed; null if none. */
  nodata: number | null;
  /** Band descriptions (GDAL_METADATA role="description"), one per band; null where a band has none. */
  bandNames: (string | null)[];
  /** Dataset-level GDAL metadata items (name → value), e.g. provenance written by Clearsky. */
  metadata: Record<string, string>;
  geoTags: GeoTags;
  layout: StorageLayout;
}

/** A pixel window: `width × height` pixels whose top-left pixel is (x, y). */
export interface Window {
  x: number;
  y: number;
  width: number;
  height: number;
}
