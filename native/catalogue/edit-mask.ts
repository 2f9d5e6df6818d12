/**
 * A mask edited or drawn on the map: polygons added as cloud and erased to clear, burnt onto the mask's grid
 * (pixel centres, even-odd rule), saved as a new single-band mask GeoTIFF with its outline and catalogued as a
 * new mask record ('drawn'). An edit starts from an existing mask and becomes its next version; the mask edited
 * stays as it was, so nothing the user made is lost. A drawing starts from an all-clear mask on a scene's grid
 * (for a scene that has no mask yet) and becomes the scene's next mask version.
 */
import fs from 'node:fs/promises';
import { EditMaskRequest, type EditMaskRequestInput, type Grid, type MaskRecord } from '../api/contract.ts';
import { createImage, createMask, type Mask } from '../dip/image.ts';
import { InputError } from '../errors.ts';
import { readRasterInfo, withRaster } from '../raster/tiff/geotiff-reader.ts';
import { writeGeoTiff } from '../raster/tiff/geotiff-writer.ts';
import { readMaskBand } from '../raster/sentinel/mask.ts';
import { maskOutline } from '../raster/geo/outline.ts';
import type { RasterInfo } from '../raster/tiff/raster-info.ts';
import { burnPolygon, mapToPixel, type PolygonRings } from '../raster/geo/rasterise.ts';
import { writeFileAtomically } from '../raster/tiff/atomic-file.ts';
import { FOLDERS, uniquePath } from './import.ts';
import { getMask, insertMask, maskFile, type NewMask } from './masks.ts';
import type { Project } from './project.ts';
import { getScene, sceneFile, setSceneCloudCover } from './scenes.ts';

/** Where the edit starts: the pixels and georeferencing it is burnt onto, and what the new record says. */
interface Start {
  mask: Mask;
  info: Pick<RasterInfo, 'crs' | 'geoTransform' | 'geoTags'>;
  grid: Grid;
  /** Names the grid in messages: "mask 3 (name)", "scene 2 (name)". */
  label: string;
  /** Whose CRS the polygons must be in, for messages. */
  owner: 'mask' | 'scene';
  /** The new file's name, without the folder and .tif. */
  fileStem: string;
  /** Says in the file where the mask came from. */
  origin: Record<string, string>;
  /** Why an all-clear result is refused. */
  noCloud: string;
  record: Pick<NewMask, 'name' | 'sceneId' | 'acquired' | 'version' | 'parameters'>;
}

export async function editMask(project: Project, input: EditMaskRequestInput): Promise<MaskRecord> {
  const request = EditMaskRequest.parse(input);
  const start = request.maskId !== undefined ? await fromMask(project, request.maskId) : await fromScene(project, request.sceneId!);
  const { mask, info } = start;
  const { width, height } = mask;
  const toPixel = mapToPixel(info.geoTransform);
  const burn = (polygons: PolygonRings[], value: number, what: 'add' | 'erase'): void => {
    for (const [i, polygon] of polygons.entries()) {
      const { touchesGrid } = burnPolygon(mask.data, width, height, polygon.map((ring) => ring.map(toPixel)), value);
      if (!touchesGrid) {
        const extent = start.grid.bounds ? ` (${start.grid.bounds.join(', ')})` : '';
        throw new InputError(undefined, `${what} polygon ${i + 1} lies entirely outside the ${width}×${height} grid of ${start.label}${extent}; its coordinates must be in the ${start.owner}'s CRS${start.grid.epsg ? ` (EPSG:${start.grid.epsg})` : ''}`);
      }
    }
  };
  // Added first, then erased: where an added and an erased polygon overlap, the pixels end up clear.
  burn(request.add, 1, 'add');
  burn(request.erase, 0, 'erase');
  let cloud = 0;
  for (const value of mask.data) cloud += value;
  // A mask without cloud is of no use: a run would have nothing to reconstruct.
  if (cloud === 0) throw new InputError(undefined, start.noCloud);

  const target = await uniquePath(project, FOLDERS.mask, start.fileStem);
  const outline = target.replace(/\.tif$/, '.geojson');
  try {
    await writeGeoTiff(target, asImage(mask), {
      dataType: 'uint8',
      like: info,
      bandNames: ['cloud mask'],
      overviews: 'nearest',
      metadata: { CLEARSKY_LAYER: 'cloud mask: 1 = cloud, 0 = clear', ...start.origin },
    });
    const geojson = JSON.stringify(maskOutline(mask, { width, height, crs: info.crs, geoTransform: info.geoTransform }));
    await writeFileAtomically(outline, (handle) => handle.writeFile(geojson));
    const record = insertMask(project, {
      ...start.record,
      file: project.relative(target),
      band: 1,
      source: 'drawn',
      sourcePath: null,
      sourceSha256: null,
      sourceFile: null,
      parameters: { ...start.record.parameters, add: request.add, erase: request.erase },
      grid: start.grid,
      cloudCover: cloud / (width * height),
      outlineFile: project.relative(outline),
    });
    // A scene's first mask gives it its cloud cover, as an imported mask does.
    if (start.owner === 'scene' && record.sceneId !== null && getScene(project, record.sceneId).cloudCover === null) setSceneCloudCover(project, record.sceneId, record.cloudCover!);
    return record;
  } catch (error) {
    await Promise.all([fs.rm(target, { force: true }), fs.rm(outline, { force: true })]);
    throw error;
  }
}

/** An edit of a mask: its pixels; the result is its next version. */
async function fromMask(project: Project, maskId: number): Promise<Start> {
  const parent = getMask(project, maskId); // an unknown id is an InputError
  const { file, band } = maskFile(project, maskId);
  const { mask, info } = await withRaster(file, async (raster) => ({ mask: await readMaskBand(raster, band - 1), info: raster }));
  const version = parent.version + 1;
  const label = `mask ${parent.id} (${parent.name})`;
  return {
    mask,
    info,
    grid: parent.grid,
    label,
    owner: 'mask',
    fileStem: `${stemOf(parent.file)}-v${version}`,
    origin: { CLEARSKY_MASK_EDITED_FROM: `${parent.file}:${parent.band} (mask ${parent.id}, version ${parent.version})` },
    noCloud: `the edit would leave no cloud on ${label}, and a mask without cloud is of no use: erase less`,
    record: {
      name: `${parent.name} (edited, v${version})`,
      sceneId: parent.sceneId,
      acquired: parent.acquired,
      version,
      parameters: { parentMaskId: parent.id, parentVersion: parent.version },
    },
  };
}

/** A new mask drawn on a scene: all clear on the scene's grid; the result is the scene's next mask version. */
async function fromScene(project: Project, sceneId: number): Promise<Start> {
  const scene = getScene(project, sceneId); // an unknown id is an InputError
  const info = await readRasterInfo(sceneFile(project, sceneId));
  const label = `scene ${scene.id} (${scene.name})`;
  return {
    mask: createMask(info.width, info.height),
    info,
    grid: scene.grid,
    label,
    owner: 'scene',
    fileStem: `${stemOf(scene.file)}-drawn`,
    origin: { CLEARSKY_MASK_DRAWN_ON: `${scene.file} (scene ${scene.id})` },
    noCloud: `a new mask on ${label} needs cloud: draw at least one cloud polygon over the scene (erasing on an empty mask leaves nothing)`,
    record: { name: `${scene.name} · drawn`, sceneId: scene.id, acquired: scene.acquired, parameters: {} },
  };
}

function asImage(mask: Mask) {
  const image = createImage(mask.width, mask.height, 1);
  image.data.set(mask.data);
  return image;
}

function stemOf(file: string): string {
  return (file.split('/').pop() ?? 'mask').replace(/\.tiff?$/i, '').replace(/-v\d+$/, '');
}
