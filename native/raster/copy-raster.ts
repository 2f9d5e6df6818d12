/**
 * Copying a raster into Clearsky's own layout (tiled, DEFLATE, overviews, band descriptions), window by
 * window: what importing a scene into a project does, whatever layout it arrived in (striped, LZW,
 * uncompressed). Values, data type, georeferencing, nodata, band names and metadata are kept.
 */
import { readBands, withRaster } from './geotiff-reader.ts';
import { writeGeoTiffFromBlocks } from './geotiff-writer.ts';

export interface CopyRasterOptions {
  /** 0-based bands to keep, in this order; default all. */
  bands?: number[];
  /** How overviews are made: 'average' (default, imagery) or 'nearest' (masks, classes). */
  overviews?: 'average' | 'nearest';
}

export async function copyRaster(from: string, to: string, options: CopyRasterOptions = {}): Promise<void> {
  await withRaster(from, async (raster) => {
    const bands = options.bands ?? raster.bandNames.map((_, band) => band);
    await writeGeoTiffFromBlocks(
      to,
      { width: raster.width, height: raster.height, bands: bands.length, read: async (window) => (await readBands(raster, bands, window)).data },
      { dataType: raster.dataType, like: raster, bandNames: bands.map((band) => raster.bandNames[band]), nodata: raster.nodata, metadata: raster.metadata, overviews: options.overviews },
    );
  });
}
