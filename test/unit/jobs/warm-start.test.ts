/**
 * Warm start through the job system: real catalogue, real worker processes, a crop of the real T33UUU scene.
 * A tile's network starts from a finished neighbour's weights (a file beside the tiles), its result names that
 * neighbour, and a resumed run whose weights are gone starts its next tile cold and still completes.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { RunRequest } from '../../../native/api/contract.ts';
import type { Project } from '../../../native/catalogue/project.ts';
import { JobRunner } from '../../../native/jobs/runner.ts';
import { readRasterInfo } from '../../../native/raster/tiff/geotiff-reader.ts';
import { planTiles } from '../../../native/raster/tiles/tiling.ts';
import { WARM_START_ITEM, warmStartDonor, weightsFileName } from '../../../native/reconstruction/warm-start.ts';
import { projectWithScene } from '../../helpers/run-project.ts';
import { runnerRunEnded } from '../../helpers/run-ended.ts';

let dir: string;
before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-warm-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

// Cloud over all but a 10-px margin of the 200×100 crop: all 8 tiles of the 64-px grid (4 × 2, overlap 16) are cloudy.
const ALL_CLOUDY = { x0: 10, x1: 190, y0: 10, y1: 90 };

function submit(runner: JobRunner, ids: { sceneId: number; maskId: number }, overrides: Partial<RunRequest> = {}): number {
  const req: RunRequest = { targetSceneId: ids.sceneId, maskId: ids.maskId, method: 'dip', mode: 'basic', steps: 5, seeds: [0], stitch: true, tileSize: 64, overlap: 16, backend: 'auto', groundTruth: false, bands: ['B04', 'B03', 'B02'], warmStart: true, ...overrides };
  const runId = runner.store.createRun(req, { target: 'rasters/scene.tif', mask: 'rasters/mask.tif', maskBand: 1, bands: req.bands }, { targetSceneId: ids.sceneId, maskId: ids.maskId });
  runner.submitted(runId);
  return runId;
}


/** What each tile's result says it started from, by tile index. */
async function startedFrom(project: Project, runId: number): Promise<Map<number, string>> {
  const rows = project.db.prepare(`SELECT idx, result_file AS file FROM tiles WHERE run_id = ? AND status = 'done' ORDER BY idx`).all(runId) as { idx: number; file: string }[];
  const found = new Map<number, string>();
  for (const row of rows) found.set(row.idx, (await readRasterInfo(project.resolve(row.file))).metadata[WARM_START_ITEM]);
  return found;
}

test('with one worker each tile starts from its finished left (or upper) neighbour, and its result names it', { timeout: 300_000 }, async () => {
  const { project, sceneId, maskId } = await projectWithScene(path.join(dir, 'warm'), ALL_CLOUDY);
  const runner = new JobRunner(project, { workers: 1 });
  try {
    runner.start();
    const runId = submit(runner, { sceneId, maskId });
    assert.equal(await runnerRunEnded(runner, runId, 240_000), 'done', runner.store.record(runId).error ?? '');
    const from = await startedFrom(project, runId);
    // Tiles are worked in index order: tile 0 has nobody to start from; each next one its left neighbour, or the one above.
    assert.deepEqual([...from.entries()], [
      [0, 'none (random start)'],
      [1, 'tile-r0-c0 (index 0)'], [2, 'tile-r0-c1 (index 1)'], [3, 'tile-r0-c2 (index 2)'],
      [4, 'tile-r0-c0 (index 0)'], [5, 'tile-r1-c0 (index 4)'], [6, 'tile-r1-c1 (index 5)'], [7, 'tile-r1-c2 (index 6)'],
    ]);
    // Needed only while tiles remain: a finished run keeps no weights (~10 MB a tile).
    const tiles = path.join(project.dir, 'runs', String(runId), 'tiles');
    assert.deepEqual((await fs.readdir(tiles)).filter((f) => !f.endsWith('.tif')), []);
    const result = await readRasterInfo(project.resolve(runner.store.record(runId).results[0].file));
    assert.match(result.metadata[WARM_START_ITEM], /^yes/);
  } finally {
    await runner.close();
    project.close();
  }
});

test('a resumed run whose finished neighbours lost their weights starts its next tile cold and completes', { timeout: 300_000 }, async () => {
  const { project, sceneId, maskId } = await projectWithScene(path.join(dir, 'resumed'), ALL_CLOUDY);
  const first = new JobRunner(project, { workers: 1 });
  let runId = 0;
  const doneTiles = () => (project.db.prepare(`SELECT idx FROM tiles WHERE run_id = ? AND status = 'done'`).all(runId) as { idx: number }[]).map((t) => t.idx);
  try {
    first.start();
    runId = submit(first, { sceneId, maskId }, { steps: 30 });
    const deadline = Date.now() + 240_000;
    while (doneTiles().length < 2) {
      assert.ok(Date.now() < deadline, 'two tiles finish');
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await first.close();
  }
  const before = new Set(doneTiles());
  assert.ok(before.size < 8, `stopped with work left (${before.size} of 8 done)`);
  const tiles = path.join(project.dir, 'runs', String(runId), 'tiles');
  for (const name of await fs.readdir(tiles)) if (name.endsWith('.weights.bin')) await fs.rm(path.join(tiles, name));

  const second = new JobRunner(project, { workers: 1 });
  try {
    second.start();
    assert.equal(await runnerRunEnded(second, runId, 240_000), 'done', second.store.record(runId).error ?? '');
  } finally {
    await second.close();
  }
  const from = await startedFrom(project, runId);
  project.close();
  assert.equal(from.size, 8, 'every tile is done');
  const after = [...from.keys()].filter((i) => !before.has(i));
  // The first tile worked after the resume had no weights to start from: cold; the later ones start from tiles
  // finished after the resume, never from one whose weights were removed.
  assert.equal(from.get(after[0]), 'none (random start)');
  for (const index of after.slice(1)) {
    const donor = /index (\d+)/.exec(from.get(index)!);
    assert.ok(donor && !before.has(Number(donor[1])), `tile ${index} started from ${from.get(index)}, finished before the resume`);
  }
  for (const index of before) assert.ok(!existsSync(path.join(tiles, weightsFileName(planTiles(200, 100, { tileSize: 64, overlap: 16 }).tiles[index]))));
});

test('the donor is an edge neighbour first, then a corner, then the nearest; none when nothing is finished', () => {
  const plan = planTiles(300, 300, { tileSize: 100, overlap: 0 }); // 3 × 3
  const centre = plan.tiles[4];
  assert.equal(warmStartDonor(plan, centre, () => false), undefined);
  assert.equal(warmStartDonor(plan, centre, (i) => i !== 4), 3, 'left first');
  assert.equal(warmStartDonor(plan, centre, (i) => [1, 5, 7].includes(i)), 1, 'then above');
  assert.equal(warmStartDonor(plan, centre, (i) => [0, 8].includes(i)), 0, 'a corner when no edge neighbour is finished');
  assert.equal(warmStartDonor(plan, plan.tiles[0], (i) => [8, 5].includes(i)), 5, 'else the nearest');
  assert.equal(warmStartDonor(plan, centre, (i) => i === 4), undefined, 'never itself');
});
