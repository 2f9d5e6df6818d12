/**
 * A mask edited on the map: polygons added as cloud and erased to clear, burnt onto the mask's grid (pixel
 * centres, even-odd rule), saved as a new single-band mask GeoTIFF with its outline and catalogued as a new
 * mask record ('drawn', the next version). The mask edited stays as it was: nothing the user made is lost.
 */
import fs from 'node:fs/promises';
import { EditMaskRequest, type EditMaskRequestInput, type MaskRecord } from '../api.ts';
import { createImage, type Mask } from '../dip/image.ts';
import { InputError } from '../errors.ts';
import { withRaster } from '../raster/geotiff-reader.ts';
import { writeGeoTiff } from '../raster/geotiff-writer.ts';
import { readMaskBand } from '../raster/mask.ts';
import { maskOutline } from '../raster/outline.ts';
import { burnPolygon, mapToPixel, type PolygonRings } from '../raster/rasterise.ts';
import { writeFileAtomically } from '../raster/atomic-file.ts';
import { FOLDERS, uniquePath } from './import.ts';
import { getMask, insertMask, maskFile } from './masks.ts';
import type { Project } from './project.ts';

export async function editMask(project: Project, input: EditMaskRequestInput): Promise<MaskRecord> {
  const request = EditMaskRequest.parse(input);
  const parent = getMask(project, request.maskId); // an unknown id is an InputError
  const { file, band } = maskFile(project, request.maskId);
  const { mask, info } = await withRaster(file, async (raster) => ({ mask: await readMaskBand(raster, band - 1), info: raster }));
  const { width, height } = mask;
  const toPixel = mapToPixel(info.geoTransform);
  const burn = (polygons: PolygonRings[], value: number, what: 'add' | 'erase'): void => {
    for (const [i, polygon] of polygons.entries()) {
      const { touchesGrid } = burnPolygon(mask.data, width, height, polygon.map((ring) => ring.map(toPixel)), value);
      if (!touchesGrid) {
        const extent = parent.grid.bounds ? ` (${parent.grid.bounds.join(', ')})` : '';
        throw new InputError(undefined, `${what} polygon ${i + 1} lies entirely outside the ${width}×${height} grid of mask ${parent.id} (${parent.name})${extent}; its coordinates must be in the mask's CRS${parent.grid.epsg ? ` (EPSG:${parent.grid.epsg})` : ''}`);
      }
    }
  };
  // Added first, then erased: where an added and an erased polygon overlap, the pixels end up clear.
  burn(request.add, 1, 'add');
  burn(request.erase, 0, 'erase');

  const version = parent.version + 1;
  const target = await uniquePath(project, FOLDERS.mask, `${stemOf(parent.file)}-v${version}`);
  const outline = target.replace(/\.tif$/, '.geojson');
  let cloud = 0;
  for (const value of mask.data) cloud += value;
  try {
    await writeGeoTiff(target, asImage(mask), {
      dataType: 'uint8',
      like: info,
      bandNames: ['cloud mask'],
      overviews: 'nearest',
      metadata: { CLEARSKY_LAYER: 'cloud mask: 1 = cloud, 0 = clear', CLEARSKY_MASK_EDITED_FROM: `${parent.file}:${parent.band} (mask ${parent.id}, version ${parent.version})` },
    });
    const geojson = JSON.stringify(maskOutline(mask, { width, height, crs: info.crs, geoTransform: info.geoTransform }));
    await writeFileAtomically(outline, (handle) => handle.writeFile(geojson));
    return insertMask(project, {
      name: `${parent.name} (edited, v${version})`,
      file: project.relative(target),
      band: 1,
      source: 'drawn',
      sourcePath: null,
      sourceSha256: null,
      sourceFile: null,
      sceneId: parent.sceneId,
      acquired: parent.acquired,
      version,
      parameters: { parentMaskId: parent.id, parentVersion: parent.version, add: request.add, erase: request.erase },
      grid: parent.grid,
      cloudCover: cloud / (width * height),
      outlineFile: project.relative(outline),
    });
  } catch (error) {
    await Promise.all([fs.rm(target, { force: true }), fs.rm(outline, { force: true })]);
    throw error;
  }
}

function asImage(mask: Mask) {
  const image = createImage(mask.width, mask.height, 1);
  image.data.set(mask.data);
  return image;
}

function stemOf(file: string): string {
  return (file.split('/').pop() ?? 'mask').replace(/\.tiff?$/i, '').replace(/-v\d+$/, '');
}
