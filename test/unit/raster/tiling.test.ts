import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createImage, type Image } from '../../../native/dip/image.ts';
import { mosaicSource, type TileResults } from '../../../native/raster/tiles/mosaic.ts';
import type { Window } from '../../../native/raster/tiff/raster-info.ts';
import { featherWeights, planTiles } from '../../../native/raster/tiles/tiling.ts';
import { randomValues } from '../../helpers/numeric.ts';

test('tiles are full size, overlap by the given pixels, and the last one ends at the scene edge', () => {
  const plan = planTiles(1000, 600, { tileSize: 256, overlap: 32 });
  const xs = [...new Set(plan.tiles.map((t) => t.window.x))];
  const ys = [...new Set(plan.tiles.map((t) => t.window.y))];
  assert.deepEqual(xs, [0, 224, 448, 672, 744]);
  assert.deepEqual(ys, [0, 224, 344]);
  assert.equal(plan.tiles.length, plan.rows * plan.cols);
  for (const tile of plan.tiles) {
    assert.equal(tile.window.width, 256);
    assert.equal(tile.window.height, 256);
    assert.equal(tile.index, tile.row * plan.cols + tile.col);
  }
});

test('every pixel of the scene is in some tile, for sizes around tile multiples', () => {
  for (const size of [16, 255, 256, 257, 479, 480, 481, 700]) {
    const plan = planTiles(size, 300, { tileSize: 256, overlap: 32 });
    const covered = new Uint8Array(size * 300);
    for (const { window: w } of plan.tiles) {
      assert.ok(w.x >= 0 && w.y >= 0 && w.x + w.width <= size && w.y + w.height <= 300, `tile inside a ${size}×300 scene`);
      for (let y = w.y; y < w.y + w.height; y++) covered.fill(1, y * size + w.x, y * size + w.x + w.width);
    }
    assert.ok(covered.every((c) => c === 1), `all of ${size}×300 covered`);
  }
});

test('a scene smaller than a tile is one tile of the scene size', () => {
  const plan = planTiles(100, 101);
  assert.equal(plan.tiles.length, 1);
  assert.deepEqual(plan.tiles[0].window, { x: 0, y: 0, width: 100, height: 101 });
});

test('bad tile settings are refused with the reason', () => {
  assert.throws(() => planTiles(100, 100, { tileSize: 8 }), /at least 16/);
  assert.throws(() => planTiles(100, 100, { tileSize: 64, overlap: 40 }), /half the tile size/);
});

test('feather weights fall off only towards edges that another tile continues', () => {
  const plan = planTiles(480, 256, { tileSize: 256, overlap: 32 });
  const [left, right] = plan.tiles;
  const wl = featherWeights(left.window, plan);
  const wr = featherWeights(right.window, plan);
  const at = (w: Float32Array, x: number, y: number) => w[y * 256 + x];
  assert.equal(at(wl, 0, 0), 1, 'scene edges keep full weight');
  assert.equal(at(wl, 200, 255), 1);
  assert.ok(at(wl, 255, 100) < 0.05 && at(wl, 255, 100) > 0, 'the inner edge falls almost to zero');
  assert.ok(at(wr, 0, 100) < 0.05);
  // Across the overlap the two ramps are mirror images: they sum to 1, so a smooth result stays smooth.
  for (let x = 224; x < 256; x++) assert.ok(Math.abs(at(wl, x, 100) + at(wr, x - 224, 100) - 1) < 1e-6);
});

function memoryResults(images: Map<number, Image>): TileResults {
  return { has: (i) => images.has(i), read: async (i) => images.get(i)! };
}

async function readAll(source: ReturnType<typeof mosaicSource>): Promise<Float32Array> {
  return source.read({ x: 0, y: 0, width: source.width, height: source.height });
}

test('identical tile results mosaic to exactly that image; uncovered pixels show the input', async () => {
  const width = 300;
  const height = 200;
  const plan = planTiles(width, height, { tileSize: 128, overlap: 32 });
  const truth = createImage(width, height, 2);
  truth.data.set(randomValues(truth.data.length, 1).map((v) => 1000 + 3000 * v));
  const input = new Float32Array(truth.data.length).fill(-1);
  const images = new Map<number, Image>();
  // Every tile but the top-left one was "reconstructed" and returns the truth's window.
  for (const tile of plan.tiles.slice(1)) images.set(tile.index, crop(truth, tile.window));
  const source = mosaicSource({ plan, results: memoryResults(images), readInput: async (w) => crop({ ...truth, data: input }, w).data }, 2);
  const out = await readAll(source);
  const first = plan.tiles[0].window;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let b = 0; b < 2; b++) {
        const i = (y * width + x) * 2 + b;
        const coveredByOthers = plan.tiles.slice(1).some(({ window: w }) => x >= w.x && x < w.x + w.width && y >= w.y && y < w.y + w.height);
        if (coveredByOthers) assert.ok(Math.abs(out[i] - truth.data[i]) < 1e-2, `pixel ${x},${y}`);
        else {
          assert.ok(x < first.width && y < first.height);
          assert.equal(out[i], -1, 'only the unreconstructed tile shows the input');
        }
      }
    }
  }
});

test('kept pixels show the input exactly; windows give the same values as the whole', async () => {
  const plan = planTiles(200, 150, { tileSize: 96, overlap: 16 });
  const images = new Map<number, Image>();
  for (const tile of plan.tiles) {
    const image = createImage(tile.window.width, tile.window.height, 1);
    image.data.fill(tile.index * 10);
    images.set(tile.index, image);
  }
  const input = new Float32Array(200 * 150).map((_, i) => -i);
  const keep = (w: Window) => {
    const k = new Uint8Array(w.width * w.height);
    for (let r = 0; r < w.height; r++) for (let c = 0; c < w.width; c++) k[r * w.width + c] = (w.x + c + w.y + r) % 7 === 0 ? 1 : 0;
    return k;
  };
  const source = mosaicSource(
    { plan, results: memoryResults(images), readInput: async (w) => crop({ width: 200, height: 150, bands: 1, data: input }, w).data, readKeep: async (w) => keep(w) },
    1,
  );
  const whole = await readAll(source);
  for (let y = 0; y < 150; y++) for (let x = 0; x < 200; x++) if ((x + y) % 7 === 0) assert.equal(whole[y * 200 + x], -(y * 200 + x));
  const window = { x: 61, y: 47, width: 90, height: 70 };
  const part = await source.read(window);
  for (let r = 0; r < window.height; r++) {
    for (let c = 0; c < window.width; c++) assert.equal(part[r * window.width + c], whole[(window.y + r) * 200 + window.x + c]);
  }
  // A pixel inside one tile only has that tile's value; in an overlap it lies between the tiles' values.
  assert.equal(whole[5 * 200 + 5], 0);
  const between = whole[40 * 200 + 85]; // x 85: in the overlap of columns 0 and 1 (tiles 0 and 1)
  assert.ok(between > 0 && between < 10, `blended value ${between}`);
});

function crop(image: Image, w: Window): Image {
  const out = createImage(w.width, w.height, image.bands);
  for (let r = 0; r < w.height; r++) {
    const from = ((w.y + r) * image.width + w.x) * image.bands;
    out.data.set(image.data.subarray(from, from + w.width * image.bands), r * w.width * image.bands);
  }
  return out;
}
