/**
 * The map's overlays (`RasterOverlay[]`: results, references, a run's tiles so far) as OpenLayers layers and
 * as rows of the layer list. A layer is kept while its key (and file, kind and bands) stay; new ones load,
 * gone ones are disposed. Reconstructions and references wait for the scene being loaded and take its stretch
 * of the bands they share; the first overlay chooses the view when no scene has. A group's rows (a run's
 * tiles) share the first row's visibility, opacity and bands.
 * MapView owns the map and the scene and lends them through `OverlayHost`.
 */
import type OlMap from 'ol/Map.js';
import type { ViewOptions } from 'ol/View.js';
import type { Extent } from 'ol/extent.js';
import type { SceneRecord } from '../../../native/api/contract.ts';
import type { RasterOverlay } from './overlays.ts';
import { createRasterLayer, layerStretch, sharesSceneStretch, stretchByBandName, type CompositeId, type RasterLayer, type RasterLayerSpec, type SceneLayer } from './scene-layer.ts';

/** zIndex of the top overlay; overlays take 1 + their position (below the outline's 90 and the tools' ≥ 100). */
const MAX_OVERLAY_Z_INDEX = 89;

/** One overlay's row in the layer list. */
export interface OverlayRow {
  key: string;
  label: string;
  kind: RasterOverlay['kind'];
  status: 'loading' | 'ready' | 'error';
  error: string | null;
  visible: boolean;
  opacity: number;
  composite: CompositeId;
  /** The band of a single-band composite (1-based). */
  band: number;
  bands: (string | null)[];
  group: RasterOverlay['group'] | null;
}

/** A row as the layer list shows it: a group's first row stands for the group, under the group's label. */
export interface ListedRow {
  row: OverlayRow;
  label: string;
  members: OverlayRow[];
}

/** The cumulative cut of the stretch, in percent. */
export type Cut = NonNullable<RasterLayerSpec['cut']>;

interface OverlayEntry {
  overlay: RasterOverlay;
  controller: AbortController;
  raster?: RasterLayer;
  /** The scene whose stretch the layer was built with; null: its own. */
  stretchSceneId: number | null;
}

/** What the overlays need of the map view that shows them. */
export interface OverlayHost {
  map(): OlMap | undefined;
  /** Settles when the scene being loaded is shown (or fails, or is replaced). */
  sceneLoading(): Promise<void>;
  /** The scene on display and its layer; undefined when none. */
  shown(): { scene: SceneRecord; layer: SceneLayer } | undefined;
  /** Whether the view is still to be chosen: no scene shown, no overlay chose it. */
  viewFree(): boolean;
  /** An overlay chooses the view (no scene is shown): its CRS and place, then zoomed to `extent`. */
  takeView(view: ViewOptions, extent: Extent | undefined): void;
  /** The stretch's cumulative cut now. */
  cut(): Cut;
  /** Hooks a new layer up before it is added (the swipe's clip). */
  decorate(layer: RasterLayer['layer'], key: string): void;
  /** Applies the layer list and the comparison to what is drawn. */
  applyVisibility(): void;
}

export class OverlayManager {
  /** The overlays' rows in the layer list, in the order of the overlays (bottom first). */
  rows = $state<OverlayRow[]>([]);
  readonly listedRows: ListedRow[] = $derived(
    this.rows.filter((row) => this.leaderOf(row) === row).map((row) => ({ row, label: row.group?.label ?? row.label, members: row.group ? this.rows.filter((r) => r.group?.key === row.group!.key) : [row] })),
  );

  readonly #host: OverlayHost;
  readonly #entries = new Map<string, OverlayEntry>();
  /** The overlays as last synced, for their order. */
  #list: RasterOverlay[] = [];

  constructor(host: OverlayHost) {
    this.#host = host;
  }

  /** Brings the layers and rows to `list`: kept, loaded or disposed. */
  sync(list: RasterOverlay[]): void {
    this.#list = list;
    const entries = this.#entries;
    const wanted = new Map(list.map((overlay) => [overlay.key, overlay]));
    for (const [key, entry] of entries) {
      const next = wanted.get(key);
      if (!next || !sameOverlay(entry.overlay, next)) {
        this.#drop(entry);
        entries.delete(key);
      }
    }
    const rows = this.rows;
    const previous = new Map(rows.map((row) => [row.key, row]));
    this.rows = list.map((overlay): OverlayRow => {
      const kept = entries.has(overlay.key) ? previous.get(overlay.key) : undefined;
      // A new tile of a group looks like the group's others.
      const mate = overlay.group && rows.find((row) => row.group?.key === overlay.group!.key);
      if (!kept && mate) return { ...mate, key: overlay.key, label: overlay.label, status: 'loading', error: null, bands: overlay.bands };
      return kept
        ? { ...kept, label: overlay.label, group: overlay.group ?? null }
        : {
            key: overlay.key,
            label: overlay.label,
            kind: overlay.kind,
            status: 'loading',
            error: null,
            // An uncertainty map would hide the reconstruction under it: it waits to be ticked.
            visible: previous.get(overlay.key)?.visible ?? overlay.kind !== 'uncertainty',
            opacity: previous.get(overlay.key)?.opacity ?? 1,
            composite: previous.get(overlay.key)?.composite ?? 'true',
            band: previous.get(overlay.key)?.band ?? 1,
            bands: overlay.bands,
            group: overlay.group ?? null,
          };
    });
    list.forEach((overlay, index) => {
      let entry = entries.get(overlay.key);
      if (!entry) {
        entry = { overlay, controller: new AbortController(), stretchSceneId: null };
        entries.set(overlay.key, entry);
        void this.#load(entry);
      }
      entry.overlay = overlay;
      entry.raster?.layer.setZIndex(Math.min(MAX_OVERLAY_Z_INDEX, 1 + index));
    });
  }

  /** Disposes every layer (the map goes). */
  dispose(): void {
    for (const entry of this.#entries.values()) this.#drop(entry);
    this.#entries.clear();
  }

  rowOf(key: string): OverlayRow | undefined {
    return this.rows.find((row) => row.key === key);
  }

  /** The row the layer list shows for `row`: itself, or the first of its group. */
  leaderOf(row: OverlayRow): OverlayRow {
    return (row.group && this.rows.find((other) => other.group?.key === row.group!.key)) || row;
  }

  setVisible(key: string, visible: boolean): void {
    const row = this.rowOf(key);
    if (row) row.visible = visible;
  }

  setOpacity(key: string, opacity: number): void {
    const row = this.rowOf(key);
    if (row) row.opacity = opacity;
  }

  /** Shows each ready layer when `shown(key, its row's check box)` says so, at its row's opacity. */
  applyVisibility(shown: (key: string, listVisible: boolean) => boolean): void {
    for (const row of this.rows) {
      const layer = row.status === 'ready' ? this.#entries.get(row.key)?.raster?.layer : undefined;
      const listed = this.leaderOf(row);
      layer?.setVisible(shown(row.key, listed.visible));
      layer?.setOpacity(listed.opacity);
    }
  }

  /** A new composite for a row (all of its group's): new layers from new sources. */
  setComposite(row: OverlayRow, id: CompositeId, band = row.band): void {
    for (const member of this.rows.filter((r) => r === row || (row.group && r.group?.key === row.group.key))) {
      member.composite = id;
      member.band = band;
      const entry = this.#entries.get(member.key);
      if (entry) this.#reload(entry);
    }
  }

  /** A new cut: every layer restyled (`sharingOnly`: those in the scene's numbers, after a scene change of stretch). */
  restretch(at: Cut, sharingOnly = false): void {
    for (const entry of this.#entries.values()) {
      if (!entry.raster || (sharingOnly && !sharesSceneStretch(entry.overlay))) continue;
      entry.raster.setStretch(layerStretch(this.#spec(entry.overlay, at), entry.raster.bands, entry.raster.sample));
    }
  }

  /** A scene is shown: overlays in its digital numbers built before it (or for another scene) take its stretch. */
  sceneShown(sceneId: number): void {
    for (const entry of [...this.#entries.values()]) {
      if (sharesSceneStretch(entry.overlay) && entry.stretchSceneId !== sceneId) this.#reload(entry);
    }
  }

  /** The extents of the layer `key` (a group's: all its tiles'), those loaded. */
  extentsOf(key: string): Extent[] {
    const row = this.rowOf(key);
    const keys = row?.group ? this.rows.filter((r) => r.group?.key === row.group!.key).map((r) => r.key) : [key];
    return keys.map((k) => this.#entries.get(k)?.raster?.source.getTileGrid()?.getExtent()).filter((e): e is Extent => e !== undefined);
  }

  #drop(entry: OverlayEntry): void {
    entry.controller.abort();
    if (entry.raster) {
      this.#host.map()?.removeLayer(entry.raster.layer);
      entry.raster.source.dispose();
    }
  }

  #reload(entry: OverlayEntry): void {
    this.#drop(entry);
    const fresh: OverlayEntry = { overlay: entry.overlay, controller: new AbortController(), stretchSceneId: null };
    this.#entries.set(entry.overlay.key, fresh);
    const row = this.rowOf(entry.overlay.key);
    if (row) {
      row.status = 'loading';
      row.error = null;
    }
    void this.#load(fresh);
  }

  async #load(entry: OverlayEntry): Promise<void> {
    const host = this.#host;
    const entries = this.#entries;
    const { key } = entry.overlay;
    const signal = entry.controller.signal;
    try {
      // A reconstruction or reference waits for the scene being loaded, to take its stretch.
      if (sharesSceneStretch(entry.overlay)) await host.sceneLoading();
      if (signal.aborted || entries.get(key) !== entry) return;
      const shown = host.shown();
      entry.stretchSceneId = sharesSceneStretch(entry.overlay) && shown ? shown.scene.id : null;
      const raster = await createRasterLayer(this.#spec(entry.overlay), signal);
      if (signal.aborted || !host.map() || entries.get(key) !== entry) {
        raster.source.dispose();
        return;
      }
      if (host.viewFree()) {
        // Nothing chose the view yet: this overlay does (its CRS, its extent).
        const viewOptions = await raster.source.getView();
        if (signal.aborted || !host.map() || entries.get(key) !== entry) {
          raster.source.dispose();
          return;
        }
        if (host.viewFree() && viewOptions.projection) host.takeView(viewOptions, viewOptions.extent ?? raster.source.getTileGrid()?.getExtent() ?? undefined);
      }
      const map = host.map();
      if (!map) {
        raster.source.dispose();
        return;
      }
      entry.raster = raster;
      const index = this.#list.findIndex((overlay) => overlay.key === key);
      raster.layer.setZIndex(Math.min(MAX_OVERLAY_Z_INDEX, 1 + Math.max(0, index)));
      const row = this.rowOf(key);
      raster.layer.setVisible(row?.visible ?? true);
      raster.layer.setOpacity(row?.opacity ?? 1);
      host.decorate(raster.layer, key);
      map.addLayer(raster.layer);
      host.applyVisibility();
      if (row) {
        row.status = 'ready';
        row.error = null;
      }
    } catch (e) {
      if (signal.aborted || entries.get(key) !== entry) return;
      const row = this.rowOf(key);
      if (row) {
        row.status = 'error';
        row.error = e instanceof Error ? e.message : String(e);
      }
    }
  }

  /** How to draw an overlay: its row's composite, the cut, and the shown scene's stretch where it shares it. */
  #spec(overlay: RasterOverlay, at = this.#host.cut()): RasterLayerSpec {
    const row = this.rowOf(overlay.key);
    const shown = sharesSceneStretch(overlay) ? this.#host.shown() : undefined;
    return {
      file: overlay.file,
      bandNames: overlay.bands,
      kind: overlay.kind,
      properties: { overlayKey: overlay.key, name: overlay.label },
      composite: { id: row?.composite ?? 'true', band: row?.band ?? 1 },
      cut: at,
      stretchByName: shown ? stretchByBandName(shown.scene.bands, shown.layer.sample, at) : undefined,
    };
  }
}

function sameOverlay(a: RasterOverlay, b: RasterOverlay): boolean {
  return a.file === b.file && a.kind === b.kind && a.bands.length === b.bands.length && a.bands.every((band, i) => band === b.bands[i]);
}
