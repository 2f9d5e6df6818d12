/**
 * The tile grid over the map: a run's tiles (from `previewTiles` while planning, from `getRun` for a run) as a
 * vector layer above the rasters. While planning, a click toggles the tile under it (the one whose centre is
 * nearest, since tiles overlap) and Shift+drag selects every tile whose centre is in the box; OpenLayers'
 * own Shift+drag zoom is paused meanwhile. Colours: clear tiles faint, cloudy amber, all-cloud red hatched-
 * looking dashes, selected blue; a run's tiles by status (pending, running, done, failed, clear), or their
 * outline by a quality signal (`outline`); a click on a run's tile picks it (its loss curve is shown) and the
 * picked tile gets a double outline — never a fill, which would tint the image under QA.
 */
import type OlMap from 'ol/Map.js';
import type MapBrowserEvent from 'ol/MapBrowserEvent.js';
import Feature from 'ol/Feature.js';
import Polygon from 'ol/geom/Polygon.js';
import DragBox from 'ol/interaction/DragBox.js';
import DragZoom from 'ol/interaction/DragZoom.js';
import { shiftKeyOnly } from 'ol/events/condition.js';
import VectorLayer from 'ol/layer/Vector.js';
import VectorSource from 'ol/source/Vector.js';
import { Fill, Stroke, Style, Text } from 'ol/style.js';
import type { FeatureLike } from 'ol/Feature.js';
import type { EventsKey } from 'ol/events.js';
import { unByKey } from 'ol/Observable.js';
import { extentToWindow, mapToPixel, windowRing, type GeoTransform, type PixelWindow } from './geometry.ts';

export type GridTileState = 'clear' | 'cloudy' | 'all-cloud' | 'pending' | 'running' | 'done' | 'failed';

export interface GridTile {
  index: number;
  /** Pixels of the scene (not of a run's area). */
  window: PixelWindow;
  state: GridTileState;
  /** Shown on the tile, e.g. "42 %" or "step 120/400". */
  label?: string;
  /** An outline colour in place of the state's (a run's tiles coloured by final loss or seed spread). */
  outline?: string;
}

/**
 * The colours of tile states on the map (the legend shows the same). A run's tiles are outlined only: their
 * fill is transparent (it still takes clicks), since a tinted tile would change the colours of the
 * reconstruction being judged under it. Planning tints the scene's cloudy tiles.
 */
const NO_FILL = 'rgba(0,0,0,0)';
export const TILE_COLOURS: Record<GridTileState, { stroke: string; fill: string; dash?: number[]; width: number }> = {
  clear: { stroke: 'rgba(255,255,255,0.35)', fill: NO_FILL, width: 1 },
  cloudy: { stroke: 'rgba(255,176,32,0.95)', fill: 'rgba(255,176,32,0.12)', width: 1.5 },
  'all-cloud': { stroke: 'rgba(230,60,60,0.95)', fill: 'rgba(230,60,60,0.18)', dash: [6, 4], width: 1.5 },
  pending: { stroke: 'rgba(180,190,205,0.9)', fill: NO_FILL, dash: [4, 4], width: 1.5 },
  running: { stroke: 'rgba(255,210,0,1)', fill: NO_FILL, width: 2.5 },
  done: { stroke: 'rgba(60,200,110,1)', fill: NO_FILL, width: 1.5 },
  failed: { stroke: 'rgba(230,60,60,1)', fill: NO_FILL, dash: [6, 4], width: 2 },
};

export const SELECTED_TILE = { stroke: 'rgba(64,156,255,1)', fill: 'rgba(64,156,255,0.28)' };

/** The picked tile of a run (its loss curve shown): a white line inside a dark one, no fill. */
const PICKED = [new Style({ stroke: new Stroke({ color: 'rgba(0,0,0,0.85)', width: 6 }), zIndex: 3 }), new Style({ stroke: new Stroke({ color: '#fff', width: 2.5 }), zIndex: 4 })];

function styleOf(feature: FeatureLike, resolution: number): Style | Style[] {
  const state = feature.get('state') as GridTileState;
  const selected = feature.get('selected') === true;
  const colour = TILE_COLOURS[state];
  const label = feature.get('label') as string | undefined;
  const outline = feature.get('outline') as string | undefined;
  const style = new Style({
    stroke: new Stroke({ color: selected ? SELECTED_TILE.stroke : (outline ?? colour.stroke), width: selected ? 2.5 : outline ? 3 : colour.width, lineDash: selected || outline ? undefined : colour.dash }),
    fill: new Fill({ color: selected ? SELECTED_TILE.fill : colour.fill }),
    text: label && resolution < (feature.get('size') as number) / 40
      ? new Text({ text: label, font: '11px system-ui, sans-serif', fill: new Fill({ color: '#fff' }), stroke: new Stroke({ color: 'rgba(0,0,0,0.7)', width: 3 }), overflow: false })
      : undefined,
    zIndex: selected ? 2 : state === 'clear' ? 0 : 1,
  });
  return feature.get('picked') === true ? [...PICKED, style] : style;
}

export class TileGrid {
  private readonly source = new VectorSource();
  private readonly layer = new VectorLayer({ source: this.source, style: styleOf, zIndex: 110, properties: { name: 'Tile grid', tool: true } });
  private readonly dragBox = new DragBox({ condition: shiftKeyOnly, className: 'clearsky-dragbox' });
  private readonly pausedZooms: DragZoom[] = [];
  private readonly keys: EventsKey[] = [];
  private tiles: GridTile[] = [];
  private gt: GeoTransform | null = null;
  private sceneSize = { width: 0, height: 0 };
  private selecting = false;
  private picked: number | null = null;
  readonly selected = new Set<number>();

  constructor(
    private readonly map: OlMap,
    private readonly onselection: (selected: number[]) => void,
    /** A click on a run's tile (when not planning): the tile under it, or null off every cloudy tile. */
    private readonly onpick: (index: number | null) => void = () => undefined,
  ) {
    map.addLayer(this.layer);
    this.keys.push(map.on('singleclick', (event) => this.click(event)));
    this.dragBox.on('boxend', () => {
      const extent = this.dragBox.getGeometry().getExtent() as [number, number, number, number];
      if (!this.gt) return;
      const box = extentToWindow(this.gt, extent, this.sceneSize.width, this.sceneSize.height);
      if (!box) return;
      for (const tile of this.tiles) {
        const cx = tile.window.x + tile.window.width / 2;
        const cy = tile.window.y + tile.window.height / 2;
        if (cx >= box.x && cx <= box.x + box.width && cy >= box.y && cy <= box.y + box.height && this.isSelectable(tile)) this.selected.add(tile.index);
      }
      this.restyle();
    });
  }

  /** Shows `tiles` of a scene with geotransform `gt`; `selectable` turns on click and box selection. */
  show(gt: GeoTransform, size: { width: number; height: number }, tiles: GridTile[], selectable: boolean): void {
    this.gt = gt;
    this.sceneSize = size;
    this.tiles = tiles;
    if (!selectable) this.selected.clear();
    for (const index of [...this.selected]) if (!tiles.some((tile) => tile.index === index && this.isSelectable(tile))) this.selected.delete(index);
    this.setSelecting(selectable);
    this.source.clear();
    this.source.addFeatures(tiles.map((tile) => {
      const feature = new Feature({ geometry: new Polygon([windowRing(gt, tile.window)]) });
      feature.setId(tile.index);
      feature.setProperties({ state: tile.state, label: tile.label, outline: tile.outline, index: tile.index, size: Math.abs(tile.window.width * gt[1]), selected: this.selected.has(tile.index), picked: tile.index === this.picked });
      return feature;
    }));
    this.layer.setVisible(true);
    this.notify();
  }

  has(index: number): boolean {
    return this.tiles.some((t) => t.index === index);
  }

  /** Updates one tile's state and label in place (from `tile` and `progress` events). */
  update(index: number, state: GridTileState, label?: string, outline?: string): void {
    const tile = this.tiles.find((t) => t.index === index);
    if (tile) {
      tile.state = state;
      tile.label = label;
      tile.outline = outline;
    }
    const feature = this.source.getFeatureById(index);
    feature?.setProperties({ state, label, outline });
  }

  /** Marks the run's tile whose loss curve is shown (null: none). */
  pick(index: number | null): void {
    this.picked = index;
    for (const feature of this.source.getFeatures()) feature.set('picked', feature.getId() === index);
  }

  hide(): void {
    this.source.clear();
    this.tiles = [];
    this.selected.clear();
    this.setSelecting(false);
    this.notify();
  }

  /** Toggles one tile (the keyboard-friendly list of cloudy tiles does this too). */
  toggle(index: number): void {
    const tile = this.tiles.find((t) => t.index === index);
    if (!tile || !this.isSelectable(tile)) return;
    if (this.selected.has(index)) this.selected.delete(index);
    else this.selected.add(index);
    this.restyle();
  }

  selectWhere(predicate: (tile: GridTile) => boolean): void {
    this.selected.clear();
    for (const tile of this.tiles) if (predicate(tile) && this.isSelectable(tile)) this.selected.add(tile.index);
    this.restyle();
  }

  /** Where a tile's centre is on the map (for tests and "zoom to selection"). */
  tileCentre(index: number): [number, number] | null {
    const tile = this.tiles.find((t) => t.index === index);
    if (!tile || !this.gt) return null;
    const ring = windowRing(this.gt, tile.window);
    return [(ring[0][0] + ring[2][0]) / 2, (ring[0][1] + ring[2][1]) / 2];
  }

  destroy(): void {
    this.setSelecting(false);
    unByKey(this.keys);
    this.map.removeLayer(this.layer);
    this.source.clear();
  }

  private isSelectable(tile: GridTile): boolean {
    return tile.state === 'cloudy' || tile.state === 'all-cloud';
  }

  private setSelecting(on: boolean): void {
    if (on === this.selecting) return;
    this.selecting = on;
    if (on) {
      // OpenLayers zooms on Shift+drag by default; the box selection takes that gesture while planning.
      this.map.getInteractions().forEach((interaction) => {
        if (interaction instanceof DragZoom && interaction.getActive()) {
          interaction.setActive(false);
          this.pausedZooms.push(interaction);
        }
      });
      this.map.addInteraction(this.dragBox);
    } else {
      this.map.removeInteraction(this.dragBox);
      for (const zoom of this.pausedZooms.splice(0)) zoom.setActive(true);
    }
  }

  private click(event: MapBrowserEvent<PointerEvent | KeyboardEvent | WheelEvent>): void {
    if (!this.gt || this.tiles.length === 0) return;
    if (!this.selecting) {
      // Only a run's cloudy tiles have a curve: a click on a clear part or off the grid picks nothing.
      const tile = this.tileAt(event.coordinate, (t) => t.state !== 'clear');
      if (tile) this.onpick(tile.index);
      return;
    }
    const best = this.tileAt(event.coordinate);
    if (!best || !this.isSelectable(best)) return;
    if (this.selected.has(best.index)) this.selected.delete(best.index);
    else this.selected.add(best.index);
    this.restyle();
  }

  /** The tile under a map coordinate: of those holding it, the one whose centre is nearest (tiles overlap). */
  private tileAt(coordinate: number[], among: (tile: GridTile) => boolean = () => true): GridTile | undefined {
    if (!this.gt) return undefined;
    const [col, row] = mapToPixel(this.gt, coordinate[0], coordinate[1]);
    let best: GridTile | undefined;
    let bestDistance = Infinity;
    for (const tile of this.tiles) {
      const w = tile.window;
      if (!among(tile) || col < w.x || col >= w.x + w.width || row < w.y || row >= w.y + w.height) continue;
      const distance = Math.hypot(col - (w.x + w.width / 2), row - (w.y + w.height / 2));
      if (distance < bestDistance) {
        bestDistance = distance;
        best = tile;
      }
    }
    return best;
  }

  private restyle(): void {
    for (const feature of this.source.getFeatures()) feature.set('selected', this.selected.has(feature.getId() as number));
    this.notify();
  }

  private notify(): void {
    this.onselection([...this.selected].sort((a, b) => a - b));
  }
}
