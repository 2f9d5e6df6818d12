/**
 * A scene as a map layer: OpenLayers' GeoTIFF source reading `/rasters/<file>` in pieces (HTTP Range requests,
 * the file is a tiled COG with overviews) into a WebGL tile layer, shown as a true-colour composite
 * (B04/B03/B02, found by the scene's band names) with a 2–98 % cumulative-cut stretch per band (stretch.ts).
 * Nodata pixels are transparent.
 */
import WebGLTileLayer from 'ol/layer/WebGLTile.js';
import GeoTIFF from 'ol/source/GeoTIFF.js';
import type { SceneRecord } from '../../../native/api.ts';
import { rasterUrl } from '../transport.ts';
import { registerEpsg } from './projection.ts';
import { computeStretch, type BandStretch } from './stretch.ts';

export const TRUE_COLOUR = ['B04', 'B03', 'B02'] as const;

/** The 1-based band numbers of red, green and blue: B04/B03/B02 when the scene has them, else its first bands. */
export function trueColourBands(bandNames: (string | null)[]): number[] {
  const found = TRUE_COLOUR.map((name) => bandNames.findIndex((band) => band?.toUpperCase() === name) + 1);
  if (found.every((band) => band > 0)) return found;
  if (bandNames.length >= 3) return [1, 2, 3];
  return [1, 1, 1];
}

export interface SceneLayer {
  layer: WebGLTileLayer;
  source: GeoTIFF;
  bands: number[];
  stretch: BandStretch[];
}

function waitReady(source: GeoTIFF): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const state = source.getState();
      if (state === 'ready') resolve();
      else if (state === 'error') reject(source.getError() ?? new Error('the scene could not be read'));
      else return false;
      return true;
    };
    if (check()) return;
    const listener = (): void => {
      if (check()) source.un('change', listener);
    };
    source.on('change', listener);
  });
}

/** Builds the layer of `scene` once its stretch is known and its header read. */
export async function createSceneLayer(scene: SceneRecord, signal?: AbortSignal): Promise<SceneLayer> {
  if (scene.grid.epsg !== null) registerEpsg(scene.grid.epsg);
  const url = rasterUrl(scene.file);
  const bands = trueColourBands(scene.bands);
  // The stretch first (from the smallest useful overview), then the source: OpenLayers scales each band's
  // [min, max] to 0–255 as it decodes tiles (normalize), so the GPU gets 8-bit textures, which every WebGL
  // implementation supports (float textures are not reliable without a GPU).
  const stretch = await computeStretch(url, bands, scene.nodata, signal);
  const perFileBand = (pick: (s: BandStretch) => number): (number | undefined)[] => {
    const values: (number | undefined)[] = new Array(Math.max(scene.bands.length, ...bands)).fill(undefined);
    bands.forEach((band, i) => (values[band - 1] = pick(stretch[i])));
    return values;
  };
  const source = new GeoTIFF({
    sources: [{ url, bands, min: perFileBand((s) => s.min) as number[], max: perFileBand((s) => s.max) as number[] }],
    normalize: true,
    interpolate: false,
    sourceOptions: { allowFullFile: false },
  });
  await waitReady(source);
  // With a nodata value the source adds an alpha band after the colour bands (0 where any band is nodata).
  const alpha = source.bandCount > bands.length ? ['band', source.bandCount] : 1;
  const layer = new WebGLTileLayer({
    source,
    style: { color: ['array', ['band', 1], ['band', 2], ['band', 3], alpha] },
    properties: { sceneId: scene.id, name: scene.name },
  });
  return { layer, source, bands, stretch };
}
