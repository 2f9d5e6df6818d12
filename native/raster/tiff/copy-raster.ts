/**
 * Copying a raster into Clearsky's own layout (tiled, DEFLATE, overviews, band descriptions), window by
 * window: what importing a scene into a project does, whatever layout it arrived in (striped, LZW,
 * uncompressed). Values, data type, georeferencing, nodata, band names and metadata are kept.
 */
import type { Image } from '../../dip/image.ts';
import { InputError } from '../../errors.ts';
import { DATA_TYPES, nodataTest } from './data-types.ts';
import { readBands, withRaster, type Raster } from './geotiff-reader.ts';
import { writeGeoTiffFromBlocks } from './geotiff-writer.ts';
import type { Window } from './raster-info.ts';

export interface CopyRasterOptions {
  /** 0-based bands to keep, in this order; default all. */
  bands?: number[];
  /** How overviews are made: 'average' (default, imagery) or 'nearest' (masks, classes). */
  overviews?: 'average' | 'nearest';
  /**
   * Refuse NaN and infinite values (other than the file's nodata) with an InputError naming the band: imagery
   * with them would import, then fail every tile of every run.
   */
  finiteOnly?: boolean;
  /** Stops the copy between rows of tiles (CancelledError; nothing is left at `to`). */
  signal?: AbortSignal;
  /** Tiles written so far, of all of them. */
  onProgress?: (done: number, total: number) => void;
}

export async function copyRaster(from: string, to: string, options: CopyRasterOptions = {}): Promise<void> {
  await withRaster(from, async (raster) => {
    const bands = options.bands ?? raster.bandNames.map((_, band) => band);
    const read = raster.layout.tiled ? async (window: Window) => (await readBands(raster, bands, window)).data : stripReader(raster, bands);
    await writeGeoTiffFromBlocks(
      to,
      { width: raster.width, height: raster.height, bands: bands.length, read: options.finiteOnly && !DATA_TYPES[raster.dataType].isInteger ? finiteReader(raster, bands, read) : read },
      { dataType: raster.dataType, like: raster, bandNames: bands.map((band) => raster.bandNames[band]), nodata: raster.nodata, metadata: raster.metadata, overviews: options.overviews, signal: options.signal, onProgress: options.onProgress },
    );
  });
}

/** `read`, throwing at the first window with a NaN or infinite value that is not the nodata value. */
function finiteReader(raster: Raster, bands: number[], read: (window: Window) => Promise<Float32Array>): (window: Window) => Promise<Float32Array> {
  const isNodata = nodataTest(raster.nodata);
  return async (window) => {
    const values = await read(window);
    for (let i = 0; i < values.length; i++) {
      if (Number.isFinite(values[i]) || isNodata(values[i])) continue;
      const band = bands[i % bands.length];
      const pixel = Math.floor(i / bands.length);
      const where = `column ${window.x + (pixel % window.width)}, row ${window.y + Math.floor(pixel / window.width)}`;
      const name = raster.bandNames[band] ? ` (${raster.bandNames[band]})` : '';
      throw new InputError(raster.path, `band ${band + 1}${name} has ${Number.isNaN(values[i]) ? 'NaN' : 'infinite'} values (first at ${where}) and no nodata value saying so; fill them (e.g. gdal_fillnodata) or set the nodata value, then import again`);
    }
    return values;
  };
}

/**
 * The writer asks for one tile after another along a row of tiles. A striped file stores whole rows, so reading
 * tile by tile would decode every strip once per tile across (43 times for a 10980-px scene): read each band of
 * rows across the full width once, and cut the tiles from it.
 */
function stripReader(raster: Raster, bands: number[]): (window: Window) => Promise<Float32Array> {
  let rows: { y: number; height: number; image: Image } | undefined;
  return async (window) => {
    if (!rows || window.y < rows.y || window.y + window.height > rows.y + rows.height) {
      const height = Math.min(raster.height - window.y, Math.max(window.height, 256));
      rows = { y: window.y, height, image: await readBands(raster, bands, { x: 0, y: window.y, width: raster.width, height }) };
    }
    const { image } = rows;
    const out = new Float32Array(window.width * window.height * bands.length);
    const rowValues = window.width * bands.length;
    for (let row = 0; row < window.height; row++) {
      const from = ((window.y - rows.y + row) * image.width + window.x) * bands.length;
      out.set(image.data.subarray(from, from + rowValues), row * rowValues);
    }
    return out;
  };
}
