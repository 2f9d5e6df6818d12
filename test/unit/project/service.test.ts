/**
 * The whole back end as the browser-mode renderer will use it: a real project, the real service with its
 * worker pool, the HTTP server on 127.0.0.1 and the HTTP client — import real scenes, start a run, follow its
 * events, fetch the result raster by Range, export it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { ApiEvent, RunRecord } from '../../../native/api/contract.ts';
import { createProject } from '../../../native/catalogue/project.ts';
import { createHttpClient } from '../../../native/http/client.ts';
import { readBands, withRaster } from '../../../native/raster/tiff/geotiff-reader.ts';
import { startServer } from '../../../native/http/server.ts';
import { Service } from '../../../native/project/service.ts';
import { Workspace } from '../../../native/project/workspace.ts';
import { DATA_DIR, dataFile } from '../../helpers/data.ts';
import { gdalinfo } from '../../helpers/gdal.ts';

let dir: string;
before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-service-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

test('import, run, follow and export through the HTTP API of a real service', async () => {
  createProject(path.join(dir, 'slovenia')).close();
  // As `clearsky serve --project` does: the workspace holds the project's service, the server asks it for the folder.
  const workspace = new Workspace({ workers: 1 }, { roots: [dir, DATA_DIR] });
  await workspace.openProject({ dir: path.join(dir, 'slovenia') });
  const service = Service.open(path.join(dir, 'slovenia'), { jobs: false }); // for catalogue paths only
  const server = await startServer({ api: workspace, projectDir: () => workspace.projectDir, port: 0 });
  const api = createHttpClient(server.url);
  try {
    const outcomes = await api.importFiles({ paths: [dataFile('slovenia-2015', 'S2L1C_20150909.tif'), dataFile('slovenia-2015', 'cloudmasks_s2cloudless_2015-2017.tif')] });
    assert.ok(outcomes.every((o) => o.status === 'imported'), JSON.stringify(outcomes.filter((o) => o.status !== 'imported')));
    const [scene] = await api.listScenes();
    assert.equal(scene.sensor, 'S2');
    const mask = (await api.listMasks()).find((m) => m.band === 19)!;

    const events: ApiEvent[] = [];
    const finished = new Promise<RunRecord>((resolve) => {
      const unsubscribe = api.subscribe((event) => {
        events.push(event);
        if (event.type === 'run' && ['done', 'partial', 'failed'].includes(event.run.status)) {
          unsubscribe();
          resolve(event.run);
        }
      });
    });
    await new Promise((r) => setTimeout(r, 200)); // the event stream is open before the run starts
    const started = await api.startRun({ targetSceneId: scene.id, maskId: mask.id, bands: ['B04', 'B03', 'B02'], mode: 'basic', steps: 20 });
    assert.equal(started.status, 'queued');
    const run = await finished;
    assert.equal(run.status, 'done', run.error ?? '');
    assert.ok(events.some((e) => e.type === 'progress' && e.runId === run.id && e.steps === 20 && e.runEtaSeconds !== null), 'step progress with the run ETA arrives as events');
    const details = await api.getRun(run.id);
    assert.equal(details.tileList.length, 1);
    assert.equal(details.tileList[0].status, 'done');

    // The map reads result rasters over HTTP with Range requests.
    const result = run.results.find((r) => r.kind === 'reconstruction')!;
    const response = await fetch(`${server.origin}rasters/${result.file}`, { headers: { Range: 'bytes=0-7', Authorization: `Bearer ${server.token}` } });
    assert.equal(response.status, 206);
    const head = Buffer.from(await response.arrayBuffer());
    assert.equal(head.subarray(0, 2).toString('latin1'), 'II');

    const exported = path.join(dir, 'export', 'slovenia-basic.tif');
    assert.equal((await api.exportResult({ resultId: result.id, destination: exported })).path, exported);
    const info = gdalinfo(exported);
    assert.deepEqual(info.bands.map((b) => b.description), ['B04', 'B03', 'B02']);
    assert.equal(info.metadata['IMAGE_STRUCTURE']?.LAYOUT, 'COG');
    const inProject = await withRaster(service.catalogue.resolve(result.file), (r) => readBands(r, [0, 1, 2]));
    const outside = await withRaster(exported, (r) => readBands(r, [0, 1, 2]));
    assert.deepEqual(outside.data, inProject.data);

    // Bad requests get the API's clear errors over HTTP too.
    await assert.rejects(api.startRun({ targetSceneId: 999, maskId: mask.id }), /there is no scene 999/);
    await assert.rejects(api.getRun(12345), /there is no run 12345/);
  } finally {
    api.close();
    await server.close();
    await service.close();
    await workspace.close();
  }
});
