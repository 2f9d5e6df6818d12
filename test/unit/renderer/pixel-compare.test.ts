// The pixel inspector's comparison (renderer/src/tools/pixel-compare.ts): bands matched by name across the
// scene, the reconstruction and the reference with the reconstruction's differences, SAR in dB, the spectral
// plot's polylines, and the panel's side away from the pixel.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PixelValues } from '../../../native/api/contract.ts';
import { compareRows, inspectorSide, sarValues, spectralPlot } from '../../../renderer/src/tools/pixel-compare.ts';

const values: PixelValues = {
  column: 4,
  row: 7,
  layers: [
    { kind: 'scene', label: 'S2', bands: [{ name: 'B02', value: 900 }, { name: 'B03', value: 1000 }, { name: 'B04', value: 1200 }] },
    { kind: 'reference', label: 'mean', bands: [{ name: 'b04', value: 1100 }, { name: 'B03', value: null }] },
    { kind: 'reconstruction', label: 'run 3', bands: [{ name: 'B04', value: 1150 }, { name: 'B03', value: 980 }] },
    { kind: 'sar', label: 's1 (linear)', bands: [{ name: 'VV', value: 0.1 }, { name: 'VH', value: 0 }] },
    { kind: 'mask', label: 'run 3 mask', bands: [{ name: 'cloud', value: 1 }] },
  ],
};

test('rows follow the scene\'s bands, values matched by name (any case), differences of the reconstruction', () => {
  assert.deepEqual(compareRows(values), [
    { band: 'B02', scene: 900, reconstruction: null, reference: null, minusScene: null, minusReference: null },
    { band: 'B03', scene: 1000, reconstruction: 980, reference: null, minusScene: -20, minusReference: null },
    { band: 'B04', scene: 1200, reconstruction: 1150, reference: 1100, minusScene: -50, minusReference: 50 },
  ]);
});

test('SAR values with their dB: 10·log10 of linear sigma0 (none for 0), as they are when in dB', () => {
  assert.deepEqual(sarValues(values), [{ name: 'VV', value: 0.1, db: -10 }, { name: 'VH', value: 0, db: null }]);
  const db = { ...values, layers: [{ kind: 'sar' as const, label: 's1 (dB)', bands: [{ name: 'VV_dB', value: -12.5 }] }] };
  assert.deepEqual(sarValues(db), [{ name: 'VV_dB', value: -12.5, db: -12.5 }]);
  assert.deepEqual(sarValues({ ...values, layers: [] }), []);
});

test('the spectral plot: one polyline per series with values, over the bands, in the box', () => {
  const plot = spectralPlot(compareRows(values), 104, 64, 2);
  assert.deepEqual(plot.lines.map((l) => l.series), ['scene', 'reconstruction', 'reference']);
  assert.equal(plot.min, 0);
  assert.equal(plot.max, 1200);
  // Scene: x at 2, 52, 102 (three bands across 104 − 2·2); y = 62 − v·60/1200.
  assert.equal(plot.lines[0].points, '2.0,17.0 52.0,12.0 102.0,2.0');
  assert.equal(plot.lines[2].points, '102.0,7.0', 'a series shows only the bands it has');
  assert.deepEqual(spectralPlot([], 10, 10).lines, []);
});

test('the panel goes to the half of the map away from the pixel', () => {
  assert.equal(inspectorSide(100, 1000), 'right');
  assert.equal(inspectorSide(700, 1000), 'left');
  assert.equal(inspectorSide(null, 1000), 'left');
});
