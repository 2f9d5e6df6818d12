/**
 * Mask editing on the map: polygons drawn with OpenLayers' Draw interaction, each either "add" (cloud, drawn
 * cyan-filled) or "erase" (clear, drawn red-dashed). The sketch lives in its own layer until it is saved
 * (`editMask` takes the polygons as rings of [x, y] in the scene's CRS, which is the map's) or discarded.
 * Corners near or past the scene's edge snap onto it (so a mask can reach the border); undo and redo step
 * through corners while a polygon is drawn, and through whole polygons after; a polygon that crosses itself
 * is reported (the mask burns it even–odd, so where it overlaps itself stays clear).
 */
import type OlMap from 'ol/Map.js';
import Feature from 'ol/Feature.js';
import Polygon from 'ol/geom/Polygon.js';
import type { Coordinate } from 'ol/coordinate.js';
import Draw from 'ol/interaction/Draw.js';
import VectorLayer from 'ol/layer/Vector.js';
import VectorSource from 'ol/source/Vector.js';
import { Fill, Stroke, Style } from 'ol/style.js';
import type { FeatureLike } from 'ol/Feature.js';
import { selfCrossing, snapToEdge } from './geometry.ts';

export type EditKind = 'add' | 'erase';

type Ring = [number, number][];

/** Screen pixels within which a corner snaps onto the scene's edge. */
export const SNAP_PIXELS = 8;

const STYLES: Record<EditKind, Style> = {
  add: new Style({ stroke: new Stroke({ color: '#00e5ff', width: 2 }), fill: new Fill({ color: 'rgba(0,229,255,0.25)' }) }),
  erase: new Style({ stroke: new Stroke({ color: '#ff5252', width: 2, lineDash: [6, 4] }), fill: new Fill({ color: 'rgba(255,82,82,0.18)' }) }),
};

export interface EditState {
  add: number;
  erase: number;
  /** Whether undo and redo have something to do. */
  canUndo: boolean;
  canRedo: boolean;
  /** 1-based numbers of the finished polygons that cross themselves. */
  crossing: number[];
}

export class MaskEditor {
  private readonly source = new VectorSource<Feature<Polygon>>();
  private readonly layer = new VectorLayer({ source: this.source, style: (f: FeatureLike) => STYLES[f.get('kind') as EditKind], zIndex: 130, properties: { name: 'Mask sketch', tool: true } });
  private draw: Draw | undefined;
  private kind: EditKind = 'add';
  private sketching = false;
  /** The ring being drawn as Draw keeps it: the corners placed, then the one following the pointer. */
  private sketch: Coordinate[] = [];
  private redoing = false;
  private redoCorners: Coordinate[] = [];
  private redoPolygons: Feature<Polygon>[] = [];
  /** The scene's extent [minX, minY, maxX, maxY] in map coordinates: corners snap onto its edge. */
  private edge: [number, number, number, number] | null = null;

  constructor(
    private readonly map: OlMap,
    private readonly onchange: (state: EditState) => void,
  ) {
    map.addLayer(this.layer);
  }

  /** The scene's extent, whose edge corners snap to (null: no snapping). */
  setEdge(extent: [number, number, number, number] | null): void {
    this.edge = extent;
  }

  /** Starts drawing polygons of `kind` (a click per vertex, double-click or a click on the first vertex ends one). */
  start(kind: EditKind): void {
    this.kind = kind;
    this.stopDrawing();
    this.draw = new Draw({
      source: this.source,
      type: 'Polygon',
      style: STYLES[kind],
      // Every corner (and the one under the pointer) snaps onto the scene's edge when near or past it.
      geometryFunction: (coordinates, geometry) => {
        const ring = (coordinates as Coordinate[][])[0] ?? [];
        // A corner placed by a click (not put back by redo) ends what redo could restore.
        if (ring.length > this.sketch.length && !this.redoing) this.redoCorners = [];
        this.sketch = ring.map((c) => [...c]);
        // Closed, as Draw's own function does for polygons.
        const rings = ring.length ? [[...ring, ring[0]].map((c) => this.snap(c))] : [];
        const polygon = (geometry as Polygon | undefined) ?? new Polygon(rings);
        polygon.setCoordinates(rings);
        return polygon;
      },
    });
    this.draw.on('drawstart', () => {
      this.sketching = true;
      this.redoCorners = [];
      this.redoPolygons = [];
      this.notify();
    });
    this.draw.on('drawabort', () => {
      this.sketching = false;
      this.sketch = [];
      this.notify();
    });
    this.draw.on('drawend', (event) => {
      this.sketching = false;
      this.sketch = [];
      this.redoCorners = [];
      event.feature.set('kind', this.kind);
      // The feature is added to the source right after this event.
      queueMicrotask(() => this.notify());
    });
    this.map.addInteraction(this.draw);
  }

  /** Undoes the last corner while drawing, else removes the last finished polygon. */
  undo(): void {
    if (this.isSketching()) {
      // The last corner placed is the one before the pointer's.
      const last = this.sketch.at(-2);
      if (last) this.redoCorners.push([...last]);
      this.draw?.removeLastPoint();
      this.notify();
      return;
    }
    const features = this.source.getFeatures();
    const last = features[features.length - 1];
    if (last) {
      this.source.removeFeature(last);
      this.redoPolygons.push(last);
    }
    this.notify();
  }

  /** Puts back what undo took: a corner while drawing, else a polygon. */
  redo(): void {
    if (this.isSketching() && this.redoCorners.length > 0) {
      const corner = this.redoCorners.pop()!;
      this.redoing = true;
      try {
        this.draw?.appendCoordinates([corner]);
      } finally {
        this.redoing = false;
      }
    } else if (!this.isSketching()) {
      const polygon = this.redoPolygons.pop();
      if (polygon) this.source.addFeature(polygon);
    }
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
    this.notify();
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
    this.redoPolygons = [];
    this.notify();
  }

  destroy(): void {
    this.stopDrawing();
    this.map.removeLayer(this.layer);
    this.source.clear();
  }

  private snap(c: Coordinate): Coordinate {
    if (!this.edge) return c;
    const tolerance = SNAP_PIXELS * (this.map.getView().getResolution() ?? 0);
    return snapToEdge([c[0], c[1]], this.edge, tolerance);
  }

  private stopDrawing(): void {
    this.sketching = false;
    this.sketch = [];
    if (this.draw) {
      this.draw.abortDrawing();
      this.map.removeInteraction(this.draw);
      this.draw = undefined;
    }
  }

  private notify(): void {
    const features = this.source.getFeatures();
    const { add, erase } = this.polygons();
    const crossing = features.flatMap((feature, i) => (selfCrossing((feature.getGeometry()?.getCoordinates()[0] ?? []) as Ring) ? [i + 1] : []));
    this.onchange({
      add: add.length,
      erase: erase.length,
      canUndo: this.sketching || features.length > 0,
      canRedo: this.sketching ? this.redoCorners.length > 0 : this.redoPolygons.length > 0,
      crossing,
    });
  }
}
