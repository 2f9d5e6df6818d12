/**
 * A small real project for run tests: a 200×100 crop of the real T33UUU scene and one rectangular cloud mask,
 * catalogued by hand (no import), so runs on it take seconds.
 */
import path from 'node:path';
import { createProject, type Project } from '../../native/catalogue/project.ts';
import { readRasterInfo } from '../../native/raster/tiff/geotiff-reader.ts';
import { writeGeoTiff } from '../../native/raster/tiff/geotiff-writer.ts';
import { dataFile } from './data.ts';
import { gdalTranslate } from './gdal.ts';

const SCENE = dataFile('T33UUU-20170216', 'S2L1C_T33UUU_20170216_10m.tif');

/** Cloud (mask = 1) over x0 ≤ x < x1, y0 ≤ y < y1 of the crop. */
export interface CloudBox {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

export async function projectWithScene(folder: string, cloud: CloudBox = { x0: 10, x1: 100, y0: 20, y1: 70 }): Promise<{ project: Project; sceneId: number; maskId: number; scene: string; mask: string }> {
  const project = createProject(folder);
  const scene = path.join(project.dir, 'rasters', 'scene.tif');
  gdalTranslate(['-srcwin', '200', '300', '200', '100', SCENE, scene]);
  const info = await readRasterInfo(scene);
  const data = new Float32Array(info.width * info.height);
  for (let y = cloud.y0; y < cloud.y1; y++) data.fill(1, y * info.width + cloud.x0, y * info.width + cloud.x1);
  const mask = path.join(project.dir, 'rasters', 'mask.tif');
  await writeGeoTiff(mask, { width: info.width, height: info.height, bands: 1, data }, { dataType: 'uint8', like: info });
  const now = new Date().toISOString();
  const grid = JSON.stringify({ width: info.width, height: info.height });
  const sceneId = Number(project.db.prepare(`INSERT INTO scenes (name, file, sensor, bands, grid, data_type, imported_at) VALUES ('scene', 'rasters/scene.tif', 'S2', '[]', ?, 'uint16', ?)`).run(grid, now).lastInsertRowid);
  const maskId = Number(project.db.prepare(`INSERT INTO masks (name, file, source, grid, created_at) VALUES ('mask', 'rasters/mask.tif', 'binary', ?, ?)`).run(grid, now).lastInsertRowid);
  return { project, sceneId, maskId, scene, mask };
}
