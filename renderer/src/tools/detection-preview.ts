/**
 * The detection tool's preview on the map: the outline `previewDetection` answers (GeoJSON in the scene's CRS),
 * drawn cyan as the saved masks' outlines are, in its own layer so that the chosen mask's outline and the
 * preview never mix. Nothing here asks the back end: the workbench does, and hands over the newest answer.
 */
import GeoJSON from 'ol/format/GeoJSON.js';
import type OlMap from 'ol/Map.js';
import type { MaskOutline } from '../../../native/api/contract.ts';
import { createOutlineLayer, epsgFromGeoJsonCrs } from '../map/outline-layer.ts';
import { registerEpsg } from '../map/projection.ts';

export class DetectionPreviewLayer {
  private readonly layer = createOutlineLayer();

  constructor(private readonly map: OlMap) {
    this.layer.set('name', 'Detected clouds (preview)');
    this.layer.set('tool', true);
    map.addLayer(this.layer);
  }

  /** Draws `outline` instead of what was drawn (an empty outline clears the layer). */
  show(outline: MaskOutline): void {
    const projection = this.map.getView().getProjection();
    const epsg = epsgFromGeoJsonCrs(outline);
    const dataProjection = (epsg !== null ? registerEpsg(epsg) : null) ?? projection;
    const features = new GeoJSON().readFeatures(outline, { dataProjection, featureProjection: projection });
    const source = this.layer.getSource()!;
    source.clear();
    source.addFeatures(features);
  }

  clear(): void {
    this.layer.getSource()?.clear();
  }

  destroy(): void {
    this.map.removeLayer(this.layer);
  }
}
