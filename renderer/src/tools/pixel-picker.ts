/**
 * The pixel inspector's map side: while active, a click on the map marks the point and reports its map
 * coordinate (the scene's CRS), which the inspector panel sends to `inspectPixel`.
 */
import type OlMap from 'ol/Map.js';
import Feature from 'ol/Feature.js';
import Point from 'ol/geom/Point.js';
import VectorLayer from 'ol/layer/Vector.js';
import VectorSource from 'ol/source/Vector.js';
import { Circle, Fill, Stroke, Style } from 'ol/style.js';
import type { EventsKey } from 'ol/events.js';
import { unByKey } from 'ol/Observable.js';

export class PixelPicker {
  private readonly source = new VectorSource();
  private readonly layer = new VectorLayer({
    source: this.source,
    zIndex: 140,
    properties: { name: 'Inspected pixel', tool: true },
    style: new Style({ image: new Circle({ radius: 6, stroke: new Stroke({ color: '#fff', width: 2 }), fill: new Fill({ color: 'rgba(255,64,129,0.9)' }) }) }),
  });
  private readonly key: EventsKey;
  private active = false;

  constructor(
    private readonly map: OlMap,
    /** The map coordinate, and where it is on the map in CSS pixels (the inspector panel keeps clear of it). */
    private readonly onpick: (coordinate: [number, number], pixel: [number, number]) => void,
  ) {
    map.addLayer(this.layer);
    this.key = map.on('singleclick', (event) => {
      if (!this.active) return;
      const coordinate: [number, number] = [event.coordinate[0], event.coordinate[1]];
      this.source.clear();
      this.source.addFeature(new Feature(new Point(coordinate)));
      this.onpick(coordinate, [event.pixel[0], event.pixel[1]]);
    });
  }

  setActive(active: boolean): void {
    this.active = active;
    this.map.getTargetElement()?.classList.toggle('inspecting', active);
    if (!active) this.source.clear();
  }

  destroy(): void {
    this.setActive(false);
    unByKey(this.key);
    this.map.removeLayer(this.layer);
  }
}
