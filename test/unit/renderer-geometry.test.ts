// The renderer's pure helpers: pixel windows ↔ map coordinates, the run area of a tile selection, and what each
// mode needs (the run dialog's disabled modes).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boundingWindow, extentToWindow, formatDuration, mapToPixel, parsePaths, parseSeeds, pixelToMap, windowRing, windowsIntersect, type GeoTransform } from '../../renderer/src/tools/geometry.ts';
import { modeBlocked, modeNeeds } from '../../renderer/src/tools/run-options.ts';

// Slovenia's grid: EPSG:32633, 10 m, origin at the top-left corner.
const GT: GeoTransform = [465000, 10, 0, 5080000, 0, -10];

test('pixel corners and map coordinates convert both ways through the geotransform', () => {
  assert.deepEqual(pixelToMap(GT, 0, 0), [465000, 5080000]);
  assert.deepEqual(pixelToMap(GT, 64, 32), [465640, 5079680]);
  assert.deepEqual(mapToPixel(GT, 465645, 5079675), [64.5, 32.5]);
  assert.deepEqual(windowRing(GT, { x: 36, y: 37, width: 64, height: 64 }), [
    [465360, 5079630], [466000, 5079630], [466000, 5078990], [465360, 5078990], [465360, 5079630],
  ]);
});

test('the run area of a selection is the bounding window of its tiles', () => {
  assert.equal(boundingWindow([]), null);
  assert.deepEqual(boundingWindow([{ x: 0, y: 37, width: 64, height: 64 }, { x: 36, y: 0, width: 64, height: 64 }]), { x: 0, y: 0, width: 100, height: 101 });
  assert.ok(windowsIntersect({ x: 0, y: 0, width: 64, height: 64 }, { x: 36, y: 37, width: 64, height: 64 }));
  assert.ok(!windowsIntersect({ x: 0, y: 0, width: 36, height: 64 }, { x: 36, y: 0, width: 64, height: 64 }));
});

test('a box on the map becomes the pixel window it covers, rounded outwards and clipped to the scene', () => {
  assert.deepEqual(extentToWindow(GT, [465005, 5079005, 465095, 5079995], 100, 101), { x: 0, y: 0, width: 10, height: 100 });
  assert.deepEqual(extentToWindow(GT, [464000, 5078000, 470000, 5090000], 100, 101), { x: 0, y: 0, width: 100, height: 101 });
  assert.equal(extentToWindow(GT, [470000, 5070000, 471000, 5071000], 100, 101), null);
});

test('seeds, paths and durations as the dialogs read and show them', () => {
  assert.deepEqual(parseSeeds('0, 1,2'), [0, 1, 2]);
  assert.deepEqual(parseSeeds('0 1 2'), [0, 1, 2], 'a list as typed, with spaces');
  assert.deepEqual(parseSeeds(' 3; 4 '), [3, 4]);
  assert.equal(parseSeeds(''), null);
  assert.equal(parseSeeds('1,x'), null);
  assert.equal(parseSeeds('-1'), null);
  assert.deepEqual(parsePaths(' /a.tif \r\n\n/b folder/\n'), ['/a.tif', '/b folder/']);
  assert.equal(formatDuration(null), '–');
  assert.equal(formatDuration(12.4), '12 s');
  assert.equal(formatDuration(250), '4 min 10 s');
  assert.equal(formatDuration(3900), '1 h 05 min');
});

test('modes needing a reference or SAR are blocked, saying what is missing', () => {
  assert.deepEqual(modeNeeds('msmt'), { reference: true, sar: true });
  assert.equal(modeBlocked('basic', false, false), null);
  assert.match(modeBlocked('mt', false, false) ?? '', /needs a reference/);
  assert.match(modeBlocked('msmt', true, false) ?? '', /needs a SAR scene/);
  assert.match(modeBlocked('msr', false, false) ?? '', /SAR/);
  assert.equal(modeBlocked('mtr', true, false), null);
});
