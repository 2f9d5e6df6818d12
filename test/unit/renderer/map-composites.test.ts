/**
 * The map's band composites and stretch cuts (renderer/src/map/scene-layer.ts, stretch.ts): bands picked by
 * name, unnamed bands of a 13-band raster by the standard S2 order, composites a raster lacks bands for refused
 * with the missing bands named; cuts of a sorted sample at any low/high percent.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compositeBands, compositeMissing, compositesOffered, defaultComposite, effectiveBandNames, isSarComposite, isSarRaster, layerBands, layerStretch, S2_BANDS, sarChannels, sarDb, sarStretch, stretchByBandName } from '../../../renderer/src/map/composites.ts';
import { cutSorted, stretchOf, validSorted, type RasterSample } from '../../../renderer/src/map/stretch.ts';

const NAMED = [...S2_BANDS];
const UNNAMED: (string | null)[] = new Array(13).fill(null);
const RGB_ONLY = ['B04', 'B03', 'B02'];

test('composites pick their bands by name, and by the standard order when a 13-band raster has no names', () => {
  assert.deepEqual(compositeBands(NAMED, { id: 'true' }), [4, 3, 2]);
  assert.deepEqual(compositeBands(NAMED, { id: 'false' }), [8, 4, 3]);
  assert.deepEqual(compositeBands(NAMED, { id: 'swir' }), [13, 8, 4]);
  assert.deepEqual(compositeBands(NAMED, { id: 'single', band: 9 }), [9]);
  assert.deepEqual(compositeBands(UNNAMED, { id: 'false' }), [8, 4, 3]);
  assert.equal(effectiveBandNames(UNNAMED)[8], 'B8A');
  assert.deepEqual(compositeBands(['b04', 'b03', 'b02'], { id: 'true' }), [1, 2, 3], 'names are matched in any case');
});

test('a raster lacking a composite\'s bands: refused, the missing bands named; the layer falls back to true colour', () => {
  assert.equal(compositeBands(RGB_ONLY, { id: 'false' }), null);
  assert.equal(compositeMissing(RGB_ONLY, { id: 'false' }), 'this raster has no B08');
  assert.equal(compositeMissing(RGB_ONLY, { id: 'swir' }), 'this raster has no B12, B08');
  assert.equal(compositeMissing(RGB_ONLY, { id: 'true' }), null);
  assert.equal(compositeMissing(RGB_ONLY, { id: 'single', band: 2 }), null);
  assert.deepEqual(layerBands(RGB_ONLY, { id: 'swir' }), [1, 2, 3]);
  // Four unnamed bands are not S2's 13: no names, true colour by position.
  assert.equal(compositeBands([null, null, null, null], { id: 'true' }), null);
  assert.deepEqual(layerBands([null, null, null, null], { id: 'true' }), [1, 2, 3]);
});

test('cuts of a sorted sample: any low/high percent, reversed bounds swapped, a constant band still has a range', () => {
  const sorted = validSorted([...Array.from({ length: 101 }, (_, i) => 100 - i), NaN, 0], 0);
  assert.equal(sorted.length, 100);
  assert.deepEqual(cutSorted(sorted, 0.02, 0.98), { min: 3, max: 98 });
  assert.deepEqual(stretchOf(sorted, 20, 80), { min: 21, max: 80 });
  assert.deepEqual(stretchOf(sorted, 80, 20), { min: 21, max: 80 });
  assert.deepEqual(stretchOf(new Float64Array([5, 5]), 2, 98), { min: 5, max: 6 });
  assert.deepEqual(stretchOf(undefined, 2, 98), { min: 0, max: 1 });
});

test('overlays in the scene\'s numbers take the scene\'s stretch of their bands, at the same cut', () => {
  const band = (offset: number): Float64Array => Float64Array.from({ length: 101 }, (_, i) => offset + i);
  const sample: RasterSample = { sorted: NAMED.map((_, i) => band(i * 1000)), raw: [], width: 0, height: 0, bbox: [0, 0, 1, 1], nodata: null, epsg: null };
  const byName = stretchByBandName(NAMED, sample, { low: 10, high: 90 });
  assert.deepEqual(byName.get('B04'), { min: 3010, max: 3090 });
  const own: RasterSample = { ...sample, sorted: [band(0), band(0), band(0)] };
  const stretch = layerStretch({ bandNames: RGB_ONLY, kind: 'reconstruction', cut: { low: 10, high: 90 }, stretchByName: byName }, [1, 2, 3], own);
  assert.deepEqual(stretch, [byName.get('B04'), byName.get('B03'), byName.get('B02')]);
  // Uncertainty: one scale from 0 to the largest band's high point.
  const spread = layerStretch({ bandNames: RGB_ONLY, kind: 'uncertainty', cut: { low: 2, high: 98 } }, [1, 2, 3], { ...sample, sorted: [band(0), band(10), band(20)] });
  assert.deepEqual(spread, [{ min: 0, max: 118 }, { min: 0, max: 118 }, { min: 0, max: 118 }]);
});

test('Sentinel-1: VV and VH found in any description, SAR composites offered instead of optical ones, VV/VH/ratio first', () => {
  const nigeria = ['VV_dB', 'VH_dB'];
  assert.deepEqual(effectiveBandNames(nigeria), ['VV', 'VH']);
  assert.deepEqual(effectiveBandNames(['Sigma0_VH', 'Sigma0_VV', 'flag']), ['VH', 'VV', 'FLAG']);
  assert.equal(isSarRaster(nigeria), true);
  assert.equal(isSarRaster(NAMED), false);
  assert.deepEqual(compositesOffered(nigeria).map((c) => c.id), ['vv', 'vh', 'sar-ratio', 'single']);
  assert.deepEqual(compositesOffered(NAMED).map((c) => c.id), ['true', 'false', 'swir', 'single']);
  assert.deepEqual(compositeBands(['Sigma0_VH', 'Sigma0_VV'], { id: 'sar-ratio' }), [2, 1], 'VV first, wherever it is');
  assert.deepEqual(compositeBands(nigeria, { id: 'vh' }), [2]);
  assert.equal(compositeBands(NAMED, { id: 'vv' }), null);
  assert.equal(defaultComposite(nigeria), 'sar-ratio');
  assert.equal(defaultComposite(['VH']), 'vh');
  assert.equal(defaultComposite(NAMED), 'true');
  assert.equal(isSarComposite('sar-ratio'), true);
  assert.equal(isSarComposite('true'), false);
});

test('SAR is stretched in dB: as stored, or linear sigma0 by the formula the map draws with, the ratio from each pixel', () => {
  assert.equal(sarDb(-12.5, 'dB'), -12.5);
  // Linear: Box-Cox's ln, within 5 % of 10·log10 over sigma0's range, exact at 1.
  for (const x of [1e-4, 1e-3, 0.01, 0.1, 0.5]) {
    const exact = 10 * Math.log10(x);
    assert.ok(Math.abs(sarDb(x, 'linear')! - exact) <= 0.05 * Math.abs(exact), `${x}: ${sarDb(x, 'linear')} against ${exact}`);
  }
  assert.equal(sarDb(1, 'linear'), 0);
  assert.equal(sarDb(0, 'linear'), null);
  const vv = [-10, -12, -8, NaN];
  const vh = [-20, -18, -22, -15];
  const [dbVv, dbVh, ratio] = sarChannels('sar-ratio', [vv, vh], 'dB', null);
  assert.deepEqual([...ratio].slice(0, 3), [10, 6, 14]);
  assert.ok(Number.isNaN(ratio[3]) && Number.isNaN(dbVv[3]) && dbVh[3] === -15);
  const stretch = sarStretch('sar-ratio', [vv, vh], 'dB', null, { low: 0, high: 100 });
  assert.deepEqual(stretch, [{ min: -12, max: -8 }, { min: -22, max: -15 }, { min: 6, max: 14 }]);
  assert.deepEqual(sarStretch('vv', [vv, vh], 'dB', null, { low: 0, high: 100 }), [{ min: -12, max: -8 }]);
  // layerStretch takes the SAR path for a SAR composite (its bands read in the order the composite shows them).
  const sample = { sorted: [], raw: [vh, vv], width: 2, height: 2, bbox: [0, 0, 1, 1], nodata: null, epsg: null } as unknown as RasterSample;
  assert.deepEqual(layerStretch({ bandNames: ['VH_dB', 'VV_dB'], kind: 'scene', cut: { low: 0, high: 100 }, composite: { id: 'sar-ratio' }, units: 'dB' }, [2, 1], sample), stretch);
});
