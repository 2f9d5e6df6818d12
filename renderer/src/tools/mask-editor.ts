/**
 * Mask editing on the map: polygons drawn with OpenLayers' Draw interaction, each either "add" (cloud, drawn
 * cyan-filled) or "erase" (clear, drawn red-dashed). The sketch lives in its own layer until it is saved
 * (`editMask` takes the polygons as rings of [x, y] in the scene's CRS, which is the map's) or discarded.
 */
import type OlMap from 'ol/Map.js';
import Feature from 'ol/Feature.js';
import type Polygon from 'ol/geom/Polygon.js';
import Draw from 'ol/interaction/Draw.js';
import VectorLayer from 'ol/layer/Vector.js';
import VectorSource from 'ol/source/Vector.js';
import { Fill, Stroke, Style } from 'ol/style.js';
import type { FeatureLike } from 'ol/Feature.js';

export type EditKind = 'add' | 'erase';

type Ring = [number, number][];

const STYLES: Record<EditKind, Style> = {
  add: new Style({ stroke: new Stroke({ color: '#00e5ff', width: 2 }), fill: new Fill({ color: 'rgba(0,229,255,0.25)' }) }),
  erase: new Style({ stroke: new Stroke({ color: '#ff5252', width: 2, lineDash: [6, 4] }), fill: new Fill({ color: 'rgba(255,82,82,0.18)' }) }),
};

export class MaskEditor {
  private readonly source = new VectorSource<Feature<Polygon>>();
  private readonly layer = new VectorLayer({ source: this.source, style: (f: FeatureLike) => STYLES[f.get('kind') as EditKind], zIndex: 130, properties: { name: 'Mask sketch', tool: true } });
  private draw: Draw | undefined;
  private kind: EditKind = 'add';
  private sketching = false;

  constructor(
    private readonly map: OlMap,
    private readonly onchange: (counts: { add: number; erase: number }) => void,
  ) {
    map.addLayer(this.layer);
  }

  /** Starts drawing polygons of `kind` (a click per vertex, double-click or a click on the first vertex ends one). */
  start(kind: EditKind): void {
    this.kind = kind;
    this.stopDrawing();
    this.draw = new Draw({ source: this.source, type: 'Polygon', style: STYLES[kind] });
    this.draw.on('drawstart', () => (this.sketching = true));
    this.draw.on('drawabort', () => (this.sketching = false));
    this.draw.on('drawend', (event) => {
      this.sketching = false;
      event.feature.set('kind', this.kind);
      // The feature is added to the source right after this event.
      queueMicrotask(() => this.notify());
    });
    this.map.addInteraction(this.draw);
  }

  /** Undoes the last point while drawing, else removes the last finished polygon. */
  undo(): void {
    if (this.isSketching()) {
      this.draw?.removeLastPoint();
      return;
    }
    const features = this.source.getFeatures();
    const last = features[features.length - 1];
    if (last) this.source.removeFeature(last);
    this.notify();
  }

  /** Whether a polygon is being drawn (some corners placed, not finished). */
  isSketching(): boolean {
    return this.sketching;
  }

  /** Abandons a polygon being drawn (Esc), keeping the finished ones. */
  abortSketch(): void {
    this.draw?.abortDrawing();
    this.sketching = false;
  }

  /** The finished polygons, as the API wants them. */
  polygons(): { add: Ring[][]; erase: Ring[][] } {
    const out: { add: Ring[][]; erase: Ring[][] } = { add: [], erase: [] };
    for (const feature of this.source.getFeatures()) {
      const geometry = feature.getGeometry();
      if (!geometry) continue;
      const rings = geometry.getCoordinates().map((ring) => ring.map(([x, y]) => [x, y] as [number, number]));
      out[feature.get('kind') as EditKind].push(rings);
    }
    return out;
  }

  clear(): void {
    this.source.clear();
    this.notify();
  }

  destroy(): void {
    this.stopDrawing();
    this.map.removeLayer(this.layer);
    this.source.clear();
  }

  private stopDrawing(): void {
    this.sketching = false;
    if (this.draw) {
      this.draw.abortDrawing();
      this.map.removeInteraction(this.draw);
      this.draw = undefined;
    }
  }

  private notify(): void {
    const { add, erase } = this.polygons();
    this.onchange({ add: add.length, erase: erase.length });
  }
}
