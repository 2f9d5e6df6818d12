/**
 * Raster overlays: extra layers the map draws over the scene (a run's reconstruction or uncertainty, a
 * reference, another scene). App.svelte passes them to MapView as `overlays`; MapView draws them in array
 * order (the last on top), each with its own stretch, and lists them in its layer list.
 */

/** One raster drawn over the scene. `key` is stable across updates (the layer is kept while its key is). */
export interface RasterOverlay {
  /** Stable id, e.g. `result-12`, `ref-3`. */
  key: string;
  /** Shown in the layer list. */
  label: string;
  /** Catalogue path (relative to the project), served at rasterUrl(file). */
  file: string;
  /** Band names: composites pick B04/B03/B02 by name; unnamed bands are taken by position. */
  bands: (string | null)[];
  kind: 'scene' | 'reference' | 'reconstruction' | 'uncertainty';
  /**
   * Overlays of one group (a run's tiles as they finish) are one layer in the layer list: one visibility,
   * opacity and band choice for all, listed under the group's label; they are not offered for the swipe.
   */
  group?: { key: string; label: string };
}
