// The renderer's pure helpers: pixel windows ↔ map coordinates, the run area of a tile selection, and what each
// mode needs (the run dialog's disabled modes).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boundingWindow, extentToWindow, formatDuration, mapToPixel, parsePaths, parseSeeds, pixelToMap, previewWindow, selfCrossing, snapToEdge, windowRing, windowsIntersect, type GeoTransform } from '../../../renderer/src/tools/geometry.ts';
import { modeBlocked, modeNeeds } from '../../../renderer/src/tools/run-options.ts';

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

test('a drawn corner near or past the scene edge snaps onto it; one well inside stays', () => {
  const extent: [number, number, number, number] = [465000, 5078990, 466000, 5080000];
  // 25 m from the edge at 10 m per screen pixel × 8 px tolerance = 80 m: onto the corner.
  assert.deepEqual(snapToEdge([465025, 5079975], extent, 80), [465000, 5080000]);
  // Past the right and bottom edges: onto them.
  assert.deepEqual(snapToEdge([466300, 5078000], extent, 80), [466000, 5078990]);
  // Near the left edge only: x snaps, y stays.
  assert.deepEqual(snapToEdge([465050, 5079500], extent, 80), [465000, 5079500]);
  assert.deepEqual(snapToEdge([465500, 5079500], extent, 80), [465500, 5079500]);
  // Zoomed in (1 m per screen pixel): 25 m inside is far from the edge.
  assert.deepEqual(snapToEdge([465025, 5079500], extent, 8), [465025, 5079500]);
});

test('a polygon that crosses itself is told from one that does not', () => {
  const square: [number, number][] = [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]];
  const bowTie: [number, number][] = [[0, 0], [10, 10], [10, 0], [0, 10], [0, 0]];
  const star: [number, number][] = [[0, 3], [10, 3], [2, 10], [5, 0], [8, 10]];
  const concave: [number, number][] = [[0, 0], [10, 0], [10, 10], [5, 4], [0, 10]];
  assert.equal(selfCrossing(square), false);
  assert.equal(selfCrossing(square.slice(0, -1)), false, 'open or closed, the same ring');
  assert.equal(selfCrossing(concave), false);
  assert.equal(selfCrossing(bowTie), true);
  assert.equal(selfCrossing(star), true);
  assert.equal(selfCrossing([[0, 0], [10, 0], [5, 5]]), false, 'a triangle cannot cross itself');
  // An edge back along another (touching, not only at shared corners) counts as crossing.
  assert.equal(selfCrossing([[0, 0], [10, 0], [10, 5], [5, 0], [5, -5], [0, -5]]), true);
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
  assert.match(modeBlocked('mtfit', false, false) ?? '', /mtfit needs a reference/);
});

test('a detection preview covers a small scene whole, and of a big one the part in view, cut to what the back end answers', () => {
  // Nigeria (256 × 256) and T33UUU (1536 × 768) fit: the whole scene, wherever the view is.
  assert.deepEqual(previewWindow(256, 256, { x: 10, y: 10, width: 20, height: 20 }, 2048 * 2048), { x: 0, y: 0, width: 256, height: 256 });
  assert.deepEqual(previewWindow(1536, 768, null, 2048 * 2048), { x: 0, y: 0, width: 1536, height: 768 });
  // A full tile (10980²) zoomed out: the middle 2048² of what is in view.
  assert.deepEqual(previewWindow(10980, 10980, { x: 0, y: 0, width: 10980, height: 10980 }, 2048 * 2048), { x: 4466, y: 4466, width: 2048, height: 2048 });
  // Zoomed into a corner: the part in view, not moved.
  assert.deepEqual(previewWindow(10980, 10980, { x: 10000, y: 0, width: 980, height: 500 }, 2048 * 2048), { x: 10000, y: 0, width: 980, height: 500 });
  // A big view near the edge stays inside the scene.
  assert.deepEqual(previewWindow(10980, 10980, { x: 9000, y: 9000, width: 1980, height: 1980 }, 1000 * 1000), { x: 9490, y: 9490, width: 1000, height: 1000 });
  // Nothing in view: the scene's middle.
  assert.deepEqual(previewWindow(4000, 3000, null, 1000 * 1000), { x: 1500, y: 1000, width: 1000, height: 1000 });
});
