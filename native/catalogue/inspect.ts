/**
 * The pixel inspector: the values of every band at one map coordinate, in the scene and in the rasters the
 * user compares it with (a reference, a run's results and its mask, a Sentinel-1 scene). Each raster is read as a 1×1 window at
 * its own pixel under the coordinate (results of a run over an area are smaller than the scene), never whole.
 */
import type { InspectPixelRequest, PixelValues } from '../api/contract.ts';
import { InputError } from '../errors.ts';
import type { RunStore } from '../jobs/run-store.ts';
import { withRaster } from '../raster/tiff/geotiff-reader.ts';
import { readBands } from '../raster/tiff/geotiff-reader.ts';
import { mapToPixel } from '../raster/geo/rasterise.ts';
import { getMask } from './masks.ts';
import type { Project } from './project.ts';
import { assertFilePresent } from './records.ts';
import { getRef } from './refs.ts';
import { getScene } from './scenes.ts';

type Layer = PixelValues['layers'][number];

export async function inspectPixel(project: Project, runs: RunStore, request: InspectPixelRequest): Promise<PixelValues> {
  const scene = getScene(project, request.sceneId);
  const [x, y] = request.coordinate;
  const [px, py] = mapToPixel(scene.grid.geoTransform)([x, y]);
  const column = Math.floor(px);
  const row = Math.floor(py);
  if (!(column >= 0 && row >= 0 && column < scene.grid.width && row < scene.grid.height)) {
    throw new InputError(undefined, `the point (${x}, ${y}) is outside the scene ${scene.id} (${scene.name}), which is ${scene.grid.width}×${scene.grid.height} pixels${scene.grid.bounds ? ` over (${scene.grid.bounds.join(', ')})` : ''}`);
  }
  // Looked up before anything is read: an unknown reference or run is an InputError.
  const ref = request.refId !== undefined ? getRef(project, request.refId) : undefined;
  const run = request.runId !== undefined ? runs.record(request.runId) : undefined;
  const sarId = request.sarSceneId ?? run?.request.sarSceneId;
  const sar = sarId !== undefined ? getScene(project, sarId) : undefined;

  const layers: Layer[] = [await layerAt(project, scene.file, [x, y], 'scene', scene.name, scene.bands)];
  if (ref) layers.push(await layerAt(project, ref.file, [x, y], 'reference', ref.name, ref.bands));
  if (sar) layers.push(await layerAt(project, sar.file, [x, y], 'sar', `${sar.name}${sar.units ? ` (${sar.units})` : ''}`, sar.bands));
  if (run) {
    for (const result of run.results) {
      if (result.kind !== 'reconstruction' && result.kind !== 'uncertainty') continue;
      layers.push(await layerAt(project, result.file, [x, y], result.kind, `run ${run.id}${run.name ? ` (${run.name})` : ''} ${result.kind}`));
    }
    const mask = getMask(project, run.request.maskId);
    layers.push(await layerAt(project, mask.file, [x, y], 'mask', `run ${run.id} mask: ${mask.name}`, [mask.source === 'drawn' ? 'cloud (drawn)' : 'cloud'], mask.band));
  }
  return { column, row, layers };
}

/**
 * One raster's values at the coordinate: all its bands (or the one 1-based `band`), null where the point is
 * outside it or the value is its nodata. Names from the catalogue record when given, else the file's.
 */
async function layerAt(project: Project, relative: string, coordinate: [number, number], kind: Layer['kind'], label: string, names?: (string | null)[], band?: number): Promise<Layer> {
  return withRaster(assertFilePresent(project, relative), async (raster) => {
    const indexes = band !== undefined ? [band - 1] : Array.from({ length: raster.bandCount }, (_, i) => i);
    const nameOf = (position: number) => names?.[position] ?? raster.bandNames[indexes[position]] ?? `band ${indexes[position] + 1}`;
    const [px, py] = mapToPixel(raster.geoTransform)(coordinate);
    const col = Math.floor(px);
    const row = Math.floor(py);
    if (!(col >= 0 && row >= 0 && col < raster.width && row < raster.height)) return { kind, label, bands: indexes.map((_, i) => ({ name: nameOf(i), value: null })) };
    const values = await readBands(raster, indexes, { x: col, y: row, width: 1, height: 1 });
    return {
      kind,
      label,
      bands: indexes.map((_, i) => {
        const value = values.data[i];
        return { name: nameOf(i), value: Number.isNaN(value) || (raster.nodata !== null && value === raster.nodata) ? null : value };
      }),
    };
  });
}
