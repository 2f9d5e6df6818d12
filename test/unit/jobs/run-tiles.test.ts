/**
 * A run of chosen tiles (the map's plan: click 2 opposite corners of the grid) reconstructs exactly those
 * tiles, not the rectangle around them: the others keep the input. Through the real service with its worker
 * pool, on the shared small project (a 200×100 crop of the real T33UUU scene).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { ApiEvent, RunRecord } from '../../../native/api/contract.ts';
import { readBands, withRaster } from '../../../native/raster/tiff/geotiff-reader.ts';
import { Service } from '../../../native/project/service.ts';
import { runClearsky } from '../../helpers/cli.ts';
import { REPO_ROOT } from '../../helpers/data.ts';
import { projectWithScene } from '../../helpers/run-project.ts';

let dir: string;
before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-run-tiles-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

test('a run of two opposite tiles reconstructs exactly those two; every other tile keeps the input', { timeout: 180_000 }, async () => {
  // Cloud over all but a 10-px margin: every tile of the 64-px grid (4 × 2 tiles, overlap 16) is cloudy.
  const { project, scene } = await projectWithScene(path.join(dir, 'p'), { x0: 10, x1: 190, y0: 10, y1: 90 });
  project.close();
  const service = Service.open(path.join(dir, 'p'), { workers: 1 });
  try {
    const preview = await service.previewTiles({ targetSceneId: 1, maskId: 1, tileSize: 64, overlap: 16 });
    assert.equal(preview.length, 8);
    assert.ok(preview.every((t) => t.state === 'cloudy'), JSON.stringify(preview.map((t) => t.state)));
    const [first, last] = [preview[0], preview[7]];
    assert.deepEqual([first.window.x, first.window.y, last.window.x + last.window.width, last.window.y + last.window.height], [0, 0, 200, 100]);

    const base = { targetSceneId: 1, maskId: 1, method: 'idw-fill' as const, tileSize: 64, overlap: 16, bands: ['B04', 'B03', 'B02'] };
    // Tiles outside the plan, or twice, are refused at once, saying why.
    await assert.rejects(service.startRun({ ...base, tiles: [0, 8] }), /tiles 8 are not in the run's plan: 200×100 px in 64-px tiles overlapping by 16 px has tiles 0–7/);
    await assert.rejects(service.startRun({ ...base, tiles: [0, 0] }), /each tile index once/);

    const ended = new Promise<RunRecord>((resolve) => {
      const stop = service.subscribe((event: ApiEvent) => {
        if (event.type === 'run' && ['done', 'partial', 'failed'].includes(event.run.status)) {
          stop();
          resolve(event.run);
        }
      });
    });
    const started = await service.startRun({ ...base, tiles: [0, 7] });
    const run = await ended;
    assert.equal(run.id, started.id);
    assert.equal(run.status, 'done', run.error ?? '');
    const { tileList } = await service.getRun(run.id);
    assert.deepEqual(tileList.map((t) => [t.index, t.status]), [[0, 'done'], [1, 'clear'], [2, 'clear'], [3, 'clear'], [4, 'clear'], [5, 'clear'], [6, 'clear'], [7, 'done']]);
    assert.deepEqual(tileList.map((t) => t.window), preview.map((t) => t.window), 'the run tiles the scene as the plan did');

    // The result: the cloud in the two chosen corners is filled; the cloud in between is the input's.
    const result = service.catalogue.resolve(run.results.find((r) => r.kind === 'reconstruction')!.file);
    const input = await withRaster(scene, (raster) => readBands(raster, [3, 2, 1]));
    const output = await withRaster(result, (raster) => readBands(raster, [0, 1, 2]));
    const changed = (x0: number, x1: number, y0: number, y1: number): { changed: number; all: number } => {
      let n = 0;
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          const p = (y * 200 + x) * 3;
          if (output.data[p] !== input.data[p] || output.data[p + 1] !== input.data[p + 1] || output.data[p + 2] !== input.data[p + 2]) n++;
        }
      }
      return { changed: n, all: (x1 - x0) * (y1 - y0) };
    };
    // Cloudy pixels only tile 0 covers (x < 48, y < 36) and only tile 7 covers (x ≥ 152, y ≥ 64).
    const corner0 = changed(10, 48, 10, 36);
    const corner7 = changed(152, 190, 64, 90);
    assert.ok(corner0.changed > corner0.all * 0.9, `tile 0's cloud not filled: ${JSON.stringify(corner0)}`);
    assert.ok(corner7.changed > corner7.all * 0.9, `tile 7's cloud not filled: ${JSON.stringify(corner7)}`);
    // Cloud covered by no chosen tile (tile 2's middle, tile 4's left part): the input exactly.
    assert.deepEqual(changed(112, 136, 10, 36), { changed: 0, all: 24 * 26 }, 'tile 2 was reconstructed');
    assert.deepEqual(changed(10, 48, 64, 90), { changed: 0, all: 38 * 26 }, 'tile 4 was reconstructed');
  } finally {
    await service.close();
  }
});

test('a ground-truth run of chosen tiles is scored on the cloud inside them only, not on the cloud it left as the input', { timeout: 180_000 }, async () => {
  // The crop is clear: the mask's cloud is ground truth. Every tile is cloudy; tile 5 alone is chosen.
  const { project, mask } = await projectWithScene(path.join(dir, 'gt'), { x0: 10, x1: 190, y0: 10, y1: 90 });
  project.close();
  const service = Service.open(path.join(dir, 'gt'), { workers: 1 });
  try {
    const ended = new Promise<RunRecord>((resolve) => {
      const stop = service.subscribe((event: ApiEvent) => {
        if (event.type === 'run' && ['done', 'partial', 'failed'].includes(event.run.status)) {
          stop();
          resolve(event.run);
        }
      });
    });
    await service.startRun({ targetSceneId: 1, maskId: 1, method: 'idw-fill', tileSize: 64, overlap: 16, bands: ['B04', 'B03', 'B02'], groundTruth: true, tiles: [5] });
    const run = await ended;
    assert.equal(run.status, 'done', run.error ?? '');
    const { tileList } = await service.getRun(run.id);
    const tile = tileList.find((t) => t.index === 5)!;
    assert.equal(tile.status, 'done');
    // The cloud pixels of tile 5's window (x 48–112, y 36–100), counted from the mask file itself.
    const cloud = await withRaster(mask, (raster) => readBands(raster, [0]));
    let inTile = 0;
    for (let y = tile.window.y; y < tile.window.y + tile.window.height; y++) for (let x = tile.window.x; x < tile.window.x + tile.window.width; x++) inTile += cloud.data[y * 200 + x];
    assert.ok(inTile > 0 && inTile < 180 * 80);
    assert.equal(run.metrics?.maskedPixels, inTile, `the run was scored on ${run.metrics?.maskedPixels} cloud pixels, tile 5 has ${inTile}`);
    assert.equal(tile.metrics?.maskedPixels, inTile);
    // The same pixels, so the same errors as the tile's own score.
    assert.ok(Math.abs(run.metrics!.masked.rmse! - tile.metrics!.masked.rmse!) < 1e-6, `${run.metrics!.masked.rmse} vs ${tile.metrics!.masked.rmse}`);
  } finally {
    await service.close();
  }
});

test('clearsky run --tiles queues a run of those tiles of the plan; tiles outside it are refused, exit 2, naming them', { timeout: 120_000 }, async () => {
  const folder = path.join(dir, 'cli');
  (await projectWithScene(folder)).project.close();
  const base = ['run', folder, '--target', '1', '--mask', '1', '--method', 'idw-fill', '--tile', '64', '--overlap', '16', '--detach', '--json'];
  const refused = await runClearsky([...base, '--tiles', '0,12'], REPO_ROOT);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /^clearsky: tiles 12 are not in the run's plan: 200×100 px in 64-px tiles overlapping by 16 px has tiles 0–7$/m);
  const twice = await runClearsky([...base, '--tiles', '3,3'], REPO_ROOT);
  assert.equal(twice.code, 2, twice.stderr);
  assert.match(twice.stderr, /--tiles.*each tile index once/);
  const queued = await runClearsky([...base, '--tiles', '0,7'], REPO_ROOT);
  assert.equal(queued.code, 0, queued.stderr);
  const run = JSON.parse(queued.stdout.trim().split('\n').at(-1)!) as RunRecord;
  assert.deepEqual(run.request.tiles, [0, 7]);
});
