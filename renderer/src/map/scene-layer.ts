/**
 * A raster as a map layer: OpenLayers' GeoTIFF source reading `/rasters/<file>` in pieces (HTTP Range
 * requests; scenes are tiled COGs with overviews) into a WebGL tile layer. Scenes, references and
 * reconstructions are shown as a true-colour composite (B04/B03/B02, found by the band names) with a 2–98 %
 * cumulative-cut stretch per band (stretch.ts); an uncertainty map (the per-pixel spread across seeds) as the
 * mean spread of its true-colour bands on one scale, from dark purple to yellow, transparent where it is 0
 * (nothing reconstructed). Nodata pixels are transparent.
 */
import type { ExpressionValue } from 'ol/expr/expression.js';
import WebGLTileLayer from 'ol/layer/WebGLTile.js';
import GeoTIFF from 'ol/source/GeoTIFF.js';
import type { SceneRecord } from '../../../native/api.ts';
import type { RasterOverlay } from './overlays.ts';
import { rasterUrl } from '../transport.ts';
import { registerEpsg } from './projection.ts';
import { readRasterFacts, type BandStretch } from './stretch.ts';

export const TRUE_COLOUR = ['B04', 'B03', 'B02'] as const;

/** The 1-based band numbers of red, green and blue: B04/B03/B02 when the scene has them, else its first bands. */
export function trueColourBands(bandNames: (string | null)[]): number[] {
  const found = TRUE_COLOUR.map((name) => bandNames.findIndex((band) => band?.toUpperCase() === name) + 1);
  if (found.every((band) => band > 0)) return found;
  if (bandNames.length >= 3) return [1, 2, 3];
  return [1, 1, 1];
}

export interface RasterLayer {
  layer: WebGLTileLayer;
  source: GeoTIFF;
  /** The 1-based bands of the file on display. */
  bands: number[];
  stretch: BandStretch[];
  /** The file's EPSG code (null: none known). */
  epsg: number | null;
}
export type SceneLayer = RasterLayer;

function waitReady(source: GeoTIFF, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const state = source.getState();
      if (state === 'ready') resolve();
      else if (state === 'error') reject(source.getError() ?? new Error('the raster could not be read'));
      else if (signal?.aborted) reject(signal.reason ?? new Error('aborted'));
      else return false;
      return true;
    };
    if (check()) return;
    const listener = (): void => {
      if (check()) source.un('change', listener);
    };
    source.on('change', listener);
    signal?.addEventListener('abort', listener, { once: true });
  });
}

/** What to draw: a catalogue file, its band names, and how to show it. */
export interface RasterLayerSpec {
  file: string;
  bandNames: (string | null)[];
  kind: RasterOverlay['kind'];
  /** Known nodata value; else the file's own (GDAL_NODATA) is used. */
  nodata?: number | null;
  /** Known EPSG code (registered before the source reads the file); else the file's GeoKeys' is. */
  epsg?: number | null;
  /** Set on the layer (e.g. sceneId, overlayKey, name). */
  properties?: Record<string, unknown>;
  /**
   * Stretches to use for bands of these names (upper case) instead of the file's own: a reconstruction or a
   * reference drawn with the scene's stretch looks like the scene where it is the scene, so the swipe and the
   * visibility toggle compare pixels, not stretches.
   */
  stretchByName?: Map<string, BandStretch>;
}

/** The stretch of each shown band of a layer, by band name (upper case); unnamed bands are left out. */
export function stretchByBandName(bandNames: (string | null)[], raster: Pick<RasterLayer, 'bands' | 'stretch'>): Map<string, BandStretch> {
  const byName = new Map<string, BandStretch>();
  raster.bands.forEach((band, i) => {
    const name = bandNames[band - 1];
    if (name) byName.set(name.toUpperCase(), raster.stretch[i]);
  });
  return byName;
}

/** Dark purple → teal → yellow (viridis' ends and middle), for uncertainty. */
const SPREAD_RAMP = [0, [68, 1, 84, 1], 0.5, [33, 145, 140, 1], 1, [253, 231, 37, 1]];

/** Builds the layer of a raster once its stretch is known and its header read. */
export async function createRasterLayer(spec: RasterLayerSpec, signal?: AbortSignal): Promise<RasterLayer> {
  if (spec.epsg != null) registerEpsg(spec.epsg);
  const url = rasterUrl(spec.file);
  const bands = trueColourBands(spec.bandNames);
  const spread = spec.kind === 'uncertainty';
  // The stretch first (from the smallest useful overview), then the source: OpenLayers scales each band's
  // [min, max] to 0–255 as it decodes tiles (normalize), so the GPU gets 8-bit textures, which every WebGL
  // implementation supports (float textures are not reliable without a GPU).
  const facts = await readRasterFacts(url, bands, spec.nodata ?? null, signal, spread);
  if (spec.epsg == null && facts.epsg !== null) registerEpsg(facts.epsg);
  // An uncertainty map's bands share one scale (0 to the largest band's 98 % point), so their mean means something.
  const stretch = spread
    ? facts.stretch.map(() => ({ min: 0, max: Math.max(...facts.stretch.map((s) => s.max)) }))
    : facts.stretch.map((own, i) => spec.stretchByName?.get(spec.bandNames[bands[i] - 1]?.toUpperCase() ?? '') ?? own);
  const perFileBand = (pick: (s: BandStretch) => number): (number | undefined)[] => {
    const values: (number | undefined)[] = new Array(Math.max(spec.bandNames.length, ...bands)).fill(undefined);
    bands.forEach((band, i) => (values[band - 1] = pick(stretch[i])));
    return values;
  };
  const source = new GeoTIFF({
    sources: [{ url, bands, min: perFileBand((s) => s.min) as number[], max: perFileBand((s) => s.max) as number[] }],
    normalize: true,
    interpolate: false,
    sourceOptions: { allowFullFile: false },
  });
  try {
    await waitReady(source, signal);
  } catch (e) {
    source.dispose();
    throw e;
  }
  // With a nodata value the source adds an alpha band after the colour bands (0 where any band is nodata).
  const alpha = source.bandCount > bands.length ? ['band', source.bandCount] : 1;
  let color: ExpressionValue;
  if (spread) {
    const mean = ['/', ['+', ['band', 1], ['band', 2], ['band', 3]], 3];
    color = ['case', ['==', mean, 0], [0, 0, 0, 0], ['interpolate', ['linear'], mean, ...SPREAD_RAMP]];
  } else {
    color = ['array', ['band', 1], ['band', 2], ['band', 3], alpha];
  }
  const layer = new WebGLTileLayer({
    source,
    style: { color },
    properties: spec.properties ?? {},
  });
  return { layer, source, bands, stretch, epsg: spec.epsg ?? facts.epsg };
}

/** Builds the layer of `scene` once its stretch is known and its header read. */
export function createSceneLayer(scene: SceneRecord, signal?: AbortSignal): Promise<SceneLayer> {
  return createRasterLayer(
    { file: scene.file, bandNames: scene.bands, kind: 'scene', nodata: scene.nodata, epsg: scene.grid.epsg, properties: { sceneId: scene.id, name: scene.name } },
    signal,
  );
}

/** Overlays drawn with the scene's stretch (when it has their bands): those in the scene's digital numbers. */
export function sharesSceneStretch(overlay: RasterOverlay): boolean {
  return overlay.kind === 'reconstruction' || overlay.kind === 'reference';
}

/** Builds the layer of an overlay; `stretchByName` (the scene's) is used for reconstructions and references. */
export function createOverlayLayer(overlay: RasterOverlay, signal?: AbortSignal, stretchByName?: Map<string, BandStretch>): Promise<RasterLayer> {
  return createRasterLayer(
    {
      file: overlay.file,
      bandNames: overlay.bands,
      kind: overlay.kind,
      properties: { overlayKey: overlay.key, name: overlay.label },
      stretchByName: sharesSceneStretch(overlay) ? stretchByName : undefined,
    },
    signal,
  );
}
