/**
 * A cancelled run keeps what it finished, through the API (the service on a real project, real workers, a crop
 * of the real T33UUU scene): resumed, it goes on with only the tiles still to do; finished as it is, its mosaic
 * holds the finished tiles and the input everywhere else; deleted, it leaves nothing behind in the project.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { ApiEvent, RunRecord } from '../../../native/api/contract.ts';
import { InputError } from '../../../native/errors.ts';
import { readBands, withRaster } from '../../../native/raster/tiff/geotiff-reader.ts';
import { Service } from '../../../native/project/service.ts';
import { projectWithScene } from '../../helpers/run-project.ts';

let dir: string;
before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-cancelled-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** A service on the small project with cloud over the top 60 rows (eight 64-px tiles, all cloudy but none all cloud). */
async function service(name: string): Promise<{ service: Service; sceneId: number; maskId: number; scene: string }> {
  const made = await projectWithScene(path.join(dir, name), { x0: 0, x1: 200, y0: 0, y1: 60 });
  made.project.close();
  return { service: Service.open(path.join(dir, name), { workers: 1 }), sceneId: made.sceneId, maskId: made.maskId, scene: made.scene };
}

/** Resolves with the first event `predicate` accepts. */
function eventWhere(service: Service, predicate: (event: ApiEvent) => boolean, timeoutMs = 180_000): Promise<ApiEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the event did not come')), timeoutMs);
    const unsubscribe = service.subscribe((event) => {
      if (!predicate(event)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(event);
    });
  });
}

const ended = (runId: number) => (e: ApiEvent) => e.type === 'run' && e.run.id === runId && ['done', 'partial', 'failed'].includes(e.run.status);

/** Starts a 40-step dip run, waits for its first finished tile and cancels it. */
async function cancelledAfterOneTile(s: Service, sceneId: number, maskId: number): Promise<RunRecord> {
  const run = await s.startRun({ targetSceneId: sceneId, maskId, method: 'dip', mode: 'basic', steps: 40, bands: ['B04', 'B03', 'B02'], tileSize: 64, overlap: 16 });
  await eventWhere(s, (e) => e.type === 'tile' && e.runId === run.id && e.tile.status === 'done');
  const cancelled = await s.cancelRun(run.id);
  assert.equal(cancelled.status, 'cancelled');
  assert.ok(cancelled.tiles.done >= 1 && cancelled.tiles.pending >= 1, JSON.stringify(cancelled.tiles));
  return cancelled;
}

test('a cancelled run resumed goes on with the tiles still to do; its finished tiles are not computed again', { timeout: 400_000 }, async () => {
  const { service: s, sceneId, maskId } = await service('resume');
  try {
    const cancelled = await cancelledAfterOneTile(s, sceneId, maskId);
    const before = (await s.getRun(cancelled.id)).tileList;
    const finishedBefore = before.filter((t) => t.status === 'done');
    // Only a cancelled run can be resumed or finished; a finished one cannot be finished as it is twice.
    await assert.rejects(s.finishRun(9999), InputError);

    const worked: number[] = [];
    s.subscribe((e) => {
      if (e.type === 'tile' && e.runId === cancelled.id && e.tile.status === 'running') worked.push(e.tile.index);
    });
    const end = eventWhere(s, ended(cancelled.id));
    const resumed = await s.resumeRun(cancelled.id);
    assert.ok(['running', 'queued'].includes(resumed.status), resumed.status);
    const last = (await end) as Extract<ApiEvent, { type: 'run' }>;
    assert.equal(last.run.status, 'done', JSON.stringify(last.run));

    const after = (await s.getRun(cancelled.id)).tileList;
    assert.equal(after.filter((t) => t.status === 'done').length, after.filter((t) => t.status !== 'clear').length);
    for (const tile of finishedBefore) {
      assert.ok(!worked.includes(tile.index), `tile ${tile.index} was finished before the cancel and computed again`);
      assert.equal(after[tile.index].seconds, tile.seconds);
    }
    assert.deepEqual(worked.sort(), before.filter((t) => t.status === 'pending').map((t) => t.index).sort());
    assert.ok((await s.getRun(cancelled.id)).results.some((r) => r.kind === 'reconstruction'));
    await assert.rejects(s.resumeRun(cancelled.id), /run \d+ is done: only a cancelled run can be resumed/);
  } finally {
    await s.close();
  }
});

test('a cancelled run finished as it is: a mosaic of its finished tiles, the input where no tile was done, and it says so', { timeout: 400_000 }, async () => {
  const { service: s, sceneId, maskId, scene } = await service('finish');
  try {
    const cancelled = await cancelledAfterOneTile(s, sceneId, maskId);
    const end = eventWhere(s, ended(cancelled.id));
    await s.finishRun(cancelled.id);
    const last = (await end) as Extract<ApiEvent, { type: 'run' }>;
    assert.equal(last.run.status, 'partial');
    const record = await s.getRun(cancelled.id);
    assert.match(record.error ?? '', /finished as it was after a cancel: \d+ of 8 cloudy tiles were not reconstructed and keep the input/);
    const result = record.results.find((r) => r.kind === 'reconstruction');
    assert.ok(result, 'a reconstruction is registered');

    const out = await withRaster(path.join(dir, 'finish', result.file), (raster) => readBands(raster, [0, 1, 2]));
    const input = await withRaster(scene, (raster) => readBands(raster, [3, 2, 1]));
    const width = 200;
    const tiles = record.tileList;
    const inside = (t: (typeof tiles)[number], x: number, y: number) => x >= t.window.x && x < t.window.x + t.window.width && y >= t.window.y && y < t.window.y + t.window.height;
    /** Of a tile's cloudy pixels (rows < 60) that no other tile covers (no feathering reaches them): how many differ from the input. */
    const changed = (tile: (typeof tiles)[number]) => {
      let n = 0;
      let all = 0;
      for (let y = tile.window.y; y < Math.min(60, tile.window.y + tile.window.height); y++) {
        for (let x = tile.window.x; x < tile.window.x + tile.window.width; x++) {
          if (tiles.some((other) => other !== tile && inside(other, x, y))) continue;
          all++;
          if ([0, 1, 2].some((b) => out.data[(y * width + x) * 3 + b] !== input.data[(y * width + x) * 3 + b])) n++;
        }
      }
      return { n, all };
    };
    const skipped = tiles.filter((t) => t.status === 'failed');
    for (const tile of skipped) assert.match(tile.error ?? '', /not reconstructed: the run was cancelled/);
    const checkedSkipped = skipped.filter((t) => changed(t).all > 0);
    const checkedDone = tiles.filter((t) => t.status === 'done' && changed(t).all > 0);
    assert.ok(checkedSkipped.length >= 1 && checkedDone.length >= 1, JSON.stringify(tiles.map((t) => [t.index, t.status])));
    for (const tile of checkedSkipped) {
      const { n } = changed(tile);
      assert.equal(n, 0, `tile ${tile.index} was not reconstructed, yet ${n} of its cloudy pixels differ from the input`);
    }
    for (const tile of checkedDone) {
      const { n, all } = changed(tile);
      assert.ok(n > all / 2, `tile ${tile.index} was reconstructed, yet only ${n} of ${all} cloudy pixels differ from the input`);
    }
    await assert.rejects(s.finishRun(cancelled.id), /only a cancelled run can be finished as it is/);
  } finally {
    await s.close();
  }
});

test('a run that is over can be deleted with its files in the project; one going on is refused', { timeout: 400_000 }, async () => {
  const { service: s, sceneId, maskId } = await service('delete');
  try {
    const cancelled = await cancelledAfterOneTile(s, sceneId, maskId);
    const folder = path.join(dir, 'delete', 'runs', String(cancelled.id));
    assert.ok((await fs.readdir(path.join(folder, 'tiles'))).length >= 1, 'the finished tile is on disk');
    const going = await s.startRun({ targetSceneId: sceneId, maskId, method: 'dip', steps: 4000, bands: ['B04', 'B03', 'B02'], tileSize: 64, overlap: 16 });
    await assert.rejects(s.deleteRun(going.id), (e: unknown) => e instanceof InputError && /run \d+ is (queued|running): cancel it first, then delete it/.test(e.message));
    await s.cancelRun(going.id);

    assert.deepEqual(await s.deleteRun(cancelled.id), { runId: cancelled.id });
    await assert.rejects(s.getRun(cancelled.id), new RegExp(`there is no run ${cancelled.id}`));
    assert.deepEqual((await s.listRuns()).map((r) => r.id), [going.id]);
    assert.equal(await fs.stat(folder).then(() => true, () => false), false, 'its folder is gone');
    const rows = s.catalogue.db.prepare('SELECT (SELECT COUNT(*) FROM tiles WHERE run_id = ?) + (SELECT COUNT(*) FROM results WHERE run_id = ?) AS n').get(cancelled.id, cancelled.id) as { n: number };
    assert.equal(rows.n, 0, 'its tiles and results are gone from the catalogue');
    await assert.rejects(s.deleteRun(cancelled.id), /there is no run/);
  } finally {
    await s.close();
  }
});
