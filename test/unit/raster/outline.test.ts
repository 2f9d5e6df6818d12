/**
 * Cloud outlines as GeoJSON: d3-contour's coordinate convention, holes, orientation, the area of the real
 * Scotland mask, and ogrinfo reading the file in the scene's CRS.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createMask, type Mask } from '../../../native/dip/image.ts';
import { readRasterInfo, withRaster } from '../../../native/raster/tiff/geotiff-reader.ts';
import { readMaskBand } from '../../../native/raster/sentinel/mask.ts';
import { maskOutline } from '../../../native/raster/geo/outline.ts';
import type { GeoTransform } from '../../../native/raster/tiff/raster-info.ts';
import { dataFile } from '../../helpers/data.ts';

const SCOTLAND_MASK = dataFile('scotland-2020', 'cloudmask.tif');
const GRID_10M = (width: number, height: number) => ({
  width,
  height,
  crs: { epsg: 32633, description: 'EPSG:32633', geoKeys: {} },
  geoTransform: [500000, 10, 0, 5000000, 0, -10] as GeoTransform,
});

let tmp: string;
before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-outline-'));
});
after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

type Ring = [number, number][];

function ringArea(ring: Ring): number {
  let sum = 0;
  for (let i = 0; i < ring.length - 1; i++) sum += ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1];
  return sum / 2;
}

function maskWith(width: number, height: number, cloud: (col: number, row: number) => boolean): Mask {
  const mask = createMask(width, height);
  for (let p = 0; p < mask.data.length; p++) mask.data[p] = cloud(p % width, Math.floor(p / width)) ? 1 : 0;
  return mask;
}

describe('outline geometry', () => {
  it('d3-contour convention: a lone pixel is the diamond through its edge midpoints (pixel-corner coordinates)', () => {
    const mask = maskWith(3, 3, (col, row) => col === 1 && row === 1);
    const outline = maskOutline(mask, GRID_10M(3, 3), { tolerance: 0 });
    const [polygon] = outline.features[0].geometry.coordinates;
    assert.equal(polygon.length, 1);
    // Pixel (1, 1) spans x 500010–500020, y 4999990–4999980: its edge midpoints.
    const vertices = polygon[0].slice(0, -1).map(([x, y]) => `${x},${y}`).sort();
    assert.deepEqual(vertices, ['500010,4999985', '500015,4999980', '500015,4999990', '500020,4999985']);
    assert.deepEqual(polygon[0][0], polygon[0].at(-1), 'closed');
    assert.ok(ringArea(polygon[0]) > 0, 'outer ring counter-clockwise');
    assert.deepEqual(outline.features[0].properties, { cloud_fraction: 1 / 9, pixels: 1 });
    // Simplified with the default 1-pixel tolerance it would collapse; a cloud keeps its outline anyway.
    assert.deepEqual(maskOutline(mask, GRID_10M(3, 3)).features[0].geometry.coordinates, outline.features[0].geometry.coordinates);
  });

  it('a cloud with a hole gives a polygon with an inner ring, clockwise', () => {
    const mask = maskWith(30, 30, (col, row) => col >= 5 && col < 25 && row >= 5 && row < 25 && !(col >= 12 && col < 18 && row >= 12 && row < 18));
    const outline = maskOutline(mask, GRID_10M(30, 30), { tolerance: 0 });
    const polygons = outline.features[0].geometry.coordinates;
    assert.equal(polygons.length, 1);
    const [outer, hole] = polygons[0];
    assert.equal(polygons[0].length, 2, 'one hole');
    assert.ok(ringArea(outer) > 0 && ringArea(hole) < 0);
    // 20 × 20 pixels less 6 × 6, each 100 m²: the outer ring loses 1/8 pixel at each of its 4 corners, and
    // the hole too (its corners are the cloud's concave corners), so the cloud's area is exact.
    assert.equal(ringArea(outer), (400 - 4 / 8) * 100);
    assert.equal(ringArea(hole), -(36 - 4 / 8) * 100);
    assert.equal(outline.features[0].properties.pixels, 364);
    // Simplified (1 pixel), the hole is still there and the area within a few percent.
    const [simplified] = maskOutline(mask, GRID_10M(30, 30)).features[0].geometry.coordinates;
    assert.equal(simplified.length, 2);
    const area = ringArea(simplified[0]) + ringArea(simplified[1]);
    assert.ok(Math.abs(area - 36400) / 36400 < 0.05, `simplified area ${area}`);
  });

  it('clouds touching the edge of the grid are closed along it', () => {
    const mask = maskWith(10, 10, (col) => col < 3);
    const [polygon] = maskOutline(mask, GRID_10M(10, 10), { tolerance: 0 }).features[0].geometry.coordinates;
    const xs = polygon[0].map(([x]) => x);
    const ys = polygon[0].map(([, y]) => y);
    assert.deepEqual([Math.min(...xs), Math.max(...xs)], [500000, 500030]);
    assert.deepEqual([Math.min(...ys), Math.max(...ys)], [4999900, 5000000]);
    assert.equal(ringArea(polygon[0]), (30 - 4 / 8) * 100);
  });

  it('an empty mask gives an empty FeatureCollection, still naming its CRS', () => {
    const outline = maskOutline(createMask(20, 10), GRID_10M(20, 10));
    assert.deepEqual(outline, { type: 'FeatureCollection', crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::32633' } }, features: [] });
  });
});

describe('the real Scotland mask', () => {
  it('outline area matches cloud pixels × pixel area; ogrinfo reads it in EPSG:32630', async () => {
    const mask = await withRaster(SCOTLAND_MASK, (raster) => readMaskBand(raster));
    const grid = await readRasterInfo(SCOTLAND_MASK);
    const pixels = mask.data.reduce((n, v) => n + v, 0);
    for (const tolerance of [0, 1, 2]) {
      const outline = maskOutline(mask, grid, { tolerance });
      const feature = outline.features[0];
      assert.equal(feature.properties.pixels, pixels);
      assert.ok(Math.abs(feature.properties.cloud_fraction - 0.187) < 0.0005);
      let area = 0;
      for (const polygon of feature.geometry.coordinates) {
        assert.ok(ringArea(polygon[0]) > 0, 'outer rings counter-clockwise');
        for (const hole of polygon.slice(1)) assert.ok(ringArea(hole) < 0, 'holes clockwise');
        for (const ring of polygon) {
          assert.ok(ring.length >= 4);
          assert.deepEqual(ring[0], ring.at(-1));
          area += ringArea(ring);
        }
      }
      const expected = pixels * 100;
      assert.ok(Math.abs(area - expected) / expected < 0.03, `tolerance ${tolerance}: area ${area} m² vs ${expected} m²`);
    }

    const file = path.join(tmp, 'scotland.geojson');
    const outline = maskOutline(mask, grid);
    await fs.writeFile(file, JSON.stringify(outline));
    const info = execFileSync('ogrinfo', ['-so', '-al', file], { encoding: 'utf8' });
    assert.match(info, /Geometry: Multi Polygon/);
    assert.match(info, /Feature Count: 1/);
    assert.match(info, /ID\["EPSG",32630\]\]\s*$/m);
    assert.match(info, /Extent: \(504810\.0+, 619\d+\.\d+\) - \(\d+\.\d+, 6195130\.0+\)/);
    assert.match(info, /cloud_fraction: Real/);
    const valid = execFileSync('ogrinfo', ['-q', '-dialect', 'SQLite', '-sql', 'SELECT ST_IsValid(geometry) AS valid, ST_Area(geometry) AS area FROM scotland', file], { encoding: 'utf8' });
    assert.match(valid, /valid \(Integer\) = 1/, 'a valid MultiPolygon (no self-intersection after simplifying)');
    const area = Number(/area \(Real\) = ([\d.]+)/.exec(valid)?.[1]);
    assert.ok(Math.abs(area - pixels * 100) / (pixels * 100) < 0.03, `OGR area ${area}`);
  });
});
