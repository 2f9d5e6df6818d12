/**
 * A folder of reconstructed tiles: one small Float32 GeoTIFF per tile, written atomically the moment the tile
 * is done. A run that is stopped or killed keeps every finished tile (and can resume from them), the mosaic
 * reads them back window by window instead of holding a whole scene in memory, and each tile opens in QGIS
 * in place (it is georeferenced at its position in the scene).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Image } from '../../dip/image.ts';
import { readBands, withRaster } from '../tiff/geotiff-reader.ts';
import { writeGeoTiff } from '../tiff/geotiff-writer.ts';
import type { TileResults } from './mosaic.ts';
import type { RasterInfo } from '../tiff/raster-info.ts';
import type { Tile, TilePlan } from './tiling.ts';

export class TileResultFolder implements TileResults {
  private readonly done = new Set<number>();
  private readonly cache = new Map<number, Image>();
  private readonly cacheLimit: number;

  private constructor(
    readonly folder: string,
    private readonly plan: TilePlan,
    private readonly like: Pick<RasterInfo, 'geoTags'>,
    private readonly origin: { x: number; y: number },
  ) {
    // The mosaic walks the scene in rows of output blocks; three rows of tiles cover any block row.
    this.cacheLimit = 3 * plan.cols + 3;
  }

  /**
   * Opens (creating if needed) the folder and notes the tiles already in it. `like` is the scene the plan's
   * area lies in, `origin` the area's top-left pixel there: tile files are georeferenced in the scene.
   */
  static async open(folder: string, plan: TilePlan, like: Pick<RasterInfo, 'geoTags'>, origin = { x: 0, y: 0 }): Promise<TileResultFolder> {
    await fs.mkdir(folder, { recursive: true });
    const results = new TileResultFolder(folder, plan, like, origin);
    const names = new Set(await fs.readdir(folder));
    for (const tile of plan.tiles) if (names.has(TileResultFolder.fileName(tile))) results.done.add(tile.index);
    return results;
  }

  has(index: number): boolean {
    return this.done.has(index);
  }

  get count(): number {
    return this.done.size;
  }

  /** `metadata`: the tile's own provenance (which tile its network started from). */
  async write(tile: Tile, image: Image, bandNames?: string[], metadata?: Record<string, string>): Promise<void> {
    await writeGeoTiff(this.pathOf(tile), image, {
      metadata,
      dataType: 'float32',
      like: this.like,
      pixelOffset: { x: this.origin.x + tile.window.x, y: this.origin.y + tile.window.y },
      bandNames,
      deflateLevel: 1,
      overviews: 'none', // read back whole by the mosaic, never viewed zoomed out
    });
    this.done.add(tile.index);
  }

  async read(index: number): Promise<Image> {
    const cached = this.cache.get(index);
    if (cached) {
      this.cache.delete(index); // re-inserted below: Map order is the recency order
      this.cache.set(index, cached);
      return cached;
    }
    const tile = this.plan.tiles[index];
    const image = await withRaster(this.pathOf(tile), (raster) => readBands(raster, raster.bandNames.map((_, band) => band)));
    this.cache.set(index, image);
    if (this.cache.size > this.cacheLimit) this.cache.delete(this.cache.keys().next().value!);
    return image;
  }

  async remove(): Promise<void> {
    await fs.rm(this.folder, { recursive: true, force: true });
  }

  private pathOf(tile: Tile): string {
    return path.join(this.folder, TileResultFolder.fileName(tile));
  }

  /** The file name of a tile's result inside the folder. */
  static fileName(tile: Pick<Tile, 'row' | 'col'>): string {
    return `tile-r${tile.row}-c${tile.col}.tif`;
  }
}
