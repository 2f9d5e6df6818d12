/**
 * A raster as a map layer: OpenLayers' GeoTIFF source reading `/rasters/<file>` in pieces (HTTP Range
 * requests; scenes are tiled COGs with overviews) into a WebGL tile layer. S2 rasters are shown as a band
 * composite (true colour B04/B03/B02 by default, false colour, SWIR, or one band in grey; bands found by name,
 * unnamed ones by the standard 13-band order) with a cumulative-cut stretch per band (stretch.ts, 2–98 % by
 * default). An uncertainty map (the per-pixel spread across seeds) is the mean spread of its true-colour bands
 * on one scale, from dark purple to yellow, transparent where it is 0 (nothing reconstructed). Nodata pixels are
 * transparent.
 *
 * The source reads raw values (normalize: false) and the stretch is applied on the GPU from style variables, so
 * the source's header and the stretch sample are fetched in parallel, and a new stretch is a restyle, not a
 * reload; a new composite is a new source.
 */
import type { ExpressionValue } from 'ol/expr/expression.js';
import ImageLayer from 'ol/layer/Image.js';
import WebGLTileLayer from 'ol/layer/WebGLTile.js';
import ImageStatic from 'ol/source/ImageStatic.js';
import GeoTIFF from 'ol/source/GeoTIFF.js';
import type { SceneRecord } from '../../../native/api/contract.ts';
import type { RasterOverlay } from './overlays.ts';
import { rasterUrl } from '../transport.ts';
import { registerEpsg } from './projection.ts';
import { readRasterSample, type BandStretch, type RasterSample } from './stretch.ts';
import { compositeBands, isSarComposite, layerBands, layerStretch, SAR_BOX_COX, sarChannels, trueColourBands, type Composite } from './composites.ts';

export * from './composites.ts';

export interface RasterLayer {
  layer: WebGLTileLayer;
  source: GeoTIFF;
  /** The 1-based bands of the file on display (red, green, blue; one for a single band). */
  bands: number[];
  /** The stretch in use, one per shown band. */
  stretch: BandStretch[];
  /** The sorted sample of every band of the file (index: band − 1), for other cuts. */
  sample: RasterSample;
  /** Restyles the layer with a new stretch (one per shown band); no tile is read again. */
  setStretch(stretch: BandStretch[]): void;
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
  /** The composite (true colour by default; ignored for uncertainty maps). */
  composite?: Composite;
  /** The cumulative cut in percent (2–98 by default). */
  cut?: { low: number; high: number };
  /** Sentinel-1 units (the catalogue's): SAR composites are drawn in dB. */
  units?: 'linear' | 'dB' | null;
  /**
   * Stretches to use for bands of these names (upper case) instead of the file's own: a reconstruction or a
   * reference drawn with the scene's stretch looks like the scene where it is the scene, so the swipe and the
   * visibility toggle compare pixels, not stretches.
   */
  stretchByName?: Map<string, BandStretch>;
  /** Called as soon as the stretch sample is read (before the source's header may be): for a first picture. */
  onSample?: (sample: RasterSample, bands: number[], stretch: BandStretch[]) => void;
}

/** Dark purple → teal → yellow (viridis' ends and middle), for uncertainty. */
export const SPREAD_RAMP = [0, [68, 1, 84, 1], 0.5, [33, 145, 140, 1], 1, [253, 231, 37, 1]];

/** Style variables of a stretch: lo<i> and span<i> per shown band (i from 1). */
function stretchVariables(stretch: BandStretch[]): Record<string, number> {
  const variables: Record<string, number> = {};
  stretch.forEach((s, i) => {
    variables[`lo${i + 1}`] = s.min;
    variables[`span${i + 1}`] = Math.max(s.max - s.min, Number.MIN_VALUE);
  });
  return variables;
}

/** Samples are per file: a composite change or a second layer of the same file reads none again. */
const samples = new Map<string, Promise<RasterSample>>();

function sampleOf(url: string, bandCount: number, nodata: number | null, skipZero: boolean, signal?: AbortSignal): Promise<RasterSample> {
  const key = `${url}|${bandCount}|${nodata}|${skipZero}`;
  let promise = samples.get(key);
  if (!promise) {
    // Not tied to one layer's signal: another layer may wait for it too.
    promise = readRasterSample(url, Array.from({ length: bandCount }, (_, i) => i + 1), nodata, undefined, skipZero);
    samples.set(key, promise);
    promise.catch(() => samples.delete(key));
  }
  if (!signal) return promise;
  return Promise.race([promise, new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason ?? new Error('aborted')), { once: true }))]);
}

/** Forgets the stretch samples of a file (when it may have been rewritten). */
export function forgetSample(file: string): void {
  const url = rasterUrl(file);
  for (const key of [...samples.keys()]) if (key.startsWith(`${url}|`)) samples.delete(key);
}

/** Builds the layer of a raster: its header and its stretch sample are read in parallel. */
export async function createRasterLayer(spec: RasterLayerSpec, signal?: AbortSignal): Promise<RasterLayer> {
  if (spec.epsg != null) registerEpsg(spec.epsg);
  const url = rasterUrl(spec.file);
  const spread = spec.kind === 'uncertainty';
  const composite = spec.composite ?? { id: 'true' };
  const sarShown = !spread && isSarComposite(composite.id) && compositeBands(spec.bandNames, composite) !== null;
  const bands = spread ? trueColourBands(spec.bandNames) : layerBands(spec.bandNames, spec.composite ?? { id: 'true' });
  const sampling = sampleOf(url, Math.max(spec.bandNames.length, ...bands), spec.nodata ?? null, spread, signal);
  const source = new GeoTIFF({
    sources: [{ url, bands, ...(spec.nodata != null ? { nodata: spec.nodata } : {}) }],
    normalize: false,
    interpolate: false,
    sourceOptions: { allowFullFile: false },
  });
  let sample: RasterSample;
  try {
    [sample] = await Promise.all([
      sampling.then((read) => {
        if (signal?.aborted || !spec.onSample) return read;
        if (!sarShown) spec.onSample(read, bands, layerStretch(spec, bands, read));
        else {
          // The first picture of SAR in dB: the sample's channels as the map draws them.
          const channels = sarChannels(composite.id, bands.map((band) => read.raw[band - 1]), spec.units ?? null, read.nodata);
          spec.onSample({ ...read, raw: channels, nodata: null }, channels.map((_, i) => i + 1), layerStretch(spec, bands, read));
        }
        return read;
      }),
      waitReady(source, signal),
    ]);
  } catch (e) {
    source.dispose();
    throw e;
  }
  if (spec.epsg == null && sample.epsg !== null) registerEpsg(sample.epsg);
  const stretch = layerStretch(spec, bands, sample);
  // With a nodata value the source adds an alpha band after the colour bands (255 where no band is nodata).
  const alpha: ExpressionValue = source.bandCount > bands.length ? ['clamp', ['band', source.bandCount], 0, 1] : 1;
  const stretched = (i: number): ExpressionValue => ['clamp', ['/', ['-', ['band', i], ['var', `lo${i}`]], ['var', `span${i}`]], 0, 1];
  let color: ExpressionValue;
  if (sarShown) {
    // In dB: as stored, or linear sigma0 through composites.ts's sarDb (the same formula as its stretch).
    const db = (i: number): ExpressionValue => (spec.units === 'dB' ? ['band', i] : ['*', 10 / Math.LN10 / SAR_BOX_COX, ['-', ['^', ['band', i], SAR_BOX_COX], 1]]);
    const unit = (value: ExpressionValue, i: number): ExpressionValue => ['clamp', ['/', ['-', value, ['var', `lo${i}`]], ['var', `span${i}`]], 0, 1];
    color =
      composite.id === 'sar-ratio'
        ? ['array', unit(db(1), 1), unit(db(2), 2), unit(['-', db(1), db(2)], 3), alpha]
        : ['array', unit(db(1), 1), unit(db(1), 1), unit(db(1), 1), alpha];
  } else if (spread) {
    const mean = ['/', ['+', stretched(1), stretched(2), stretched(3)], 3];
    color = ['case', ['==', ['+', ['band', 1], ['band', 2], ['band', 3]], 0], [0, 0, 0, 0], ['interpolate', ['linear'], mean, ...SPREAD_RAMP]];
  } else if (bands.length === 1) {
    color = ['array', stretched(1), stretched(1), stretched(1), alpha];
  } else {
    color = ['array', stretched(1), stretched(2), stretched(3), alpha];
  }
  const layer = new WebGLTileLayer({
    source,
    style: { color, variables: stretchVariables(stretch) },
    properties: spec.properties ?? {},
  });
  const raster: RasterLayer = {
    layer,
    source,
    bands,
    stretch,
    sample,
    epsg: spec.epsg ?? sample.epsg,
    setStretch(next) {
      raster.stretch = next;
      layer.updateStyleVariables(stretchVariables(next));
    },
  };
  return raster;
}

/**
 * A first, coarse picture of a raster while its tiles load: the stretch sample (its smallest useful overview,
 * already read) as a static image over the raster's extent, in `composite` bands and `stretch`.
 */
export function createPreviewLayer(sample: RasterSample, bands: number[], stretch: BandStretch[], projection: string): ImageLayer<ImageStatic> {
  const { width, height } = sample;
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d')!;
  const image = context.createImageData(width, height);
  const channels = bands.length === 1 ? [bands[0], bands[0], bands[0]] : bands;
  const stretches = bands.length === 1 ? [stretch[0], stretch[0], stretch[0]] : stretch;
  for (let p = 0; p < width * height; p++) {
    let valid = true;
    for (let c = 0; c < 3; c++) {
      const value = sample.raw[channels[c] - 1][p];
      if (Number.isNaN(value) || value === sample.nodata) valid = false;
      const { min, max } = stretches[c];
      image.data[p * 4 + c] = Math.max(0, Math.min(255, ((value - min) / (max - min)) * 255));
    }
    image.data[p * 4 + 3] = valid ? 255 : 0;
  }
  context.putImageData(image, 0, 0);
  const [minX, minY, maxX, maxY] = sample.bbox;
  return new ImageLayer({
    source: new ImageStatic({ url: canvas.toDataURL(), imageExtent: [minX, minY, maxX, maxY], projection, interpolate: false }),
    properties: { name: 'preview' },
  });
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
