/**
 * Many dates at once (issue 17), on real Slovenia scenes in a real project: a folder of a season imported in
 * one command with progress and cancellation, each scene's cloud cover (its mask's, else the detector's, kept
 * in the catalogue), and one run per cloudy date in one action with the reference built once.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SceneRecord, TaskEvent } from '../../../native/api/contract.ts';
import { detectedCover } from '../../../native/catalogue/cloud-cover.ts';
import { createProject } from '../../../native/catalogue/project.ts';
import { InputError } from '../../../native/errors.ts';
import { writeCloudMask } from '../../../native/raster/sentinel/cloud-masks.ts';
import { Service } from '../../../native/project/service.ts';
import { runClearsky } from '../../helpers/cli.ts';
import { dataFile, REPO_ROOT } from '../../helpers/data.ts';
import { makeSeasonFolder, SEASON_MASK, SEASON_SCENES } from '../../helpers/season.ts';

const STACK = dataFile('slovenia-2015', 'cloudmasks_s2cloudless_2015-2017.tif');

let dir: string;
let season: string;

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-dates-'));
  season = await makeSeasonFolder(path.join(dir, 'season'));
  // A file that is not a raster: it is listed as failed, and the others go in.
  await fs.writeFile(path.join(season, 'notes.tif'), 'field visit notes, not a GeoTIFF');
});

after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function openNew(name: string): Promise<Service> {
  createProject(path.join(dir, name)).close();
  return Service.open(path.join(dir, name), { jobs: false });
}

const byDay = (scenes: SceneRecord[], day: string) => scenes.find((s) => s.acquired === day)!;

describe('importing a folder of dates', () => {
  let service: Service;
  const events: TaskEvent[] = [];
  let result: Awaited<ReturnType<Service['importFolder']>>;

  before(async () => {
    service = await openNew('import');
    service.subscribe((event) => {
      if (event.type === 'task') events.push(event);
    });
    result = await service.importFolder({ folder: season });
  });
  after(async () => {
    await service?.close();
  });

  it('imports every raster of the folder, lists the file that failed with its reason, and says n of N with the file name', async () => {
    assert.equal(result.cancelled, false);
    assert.deepEqual(result.notImported, []);
    const imported = result.outcomes.filter((o) => o.status === 'imported');
    assert.equal(imported.length, 6, JSON.stringify(result.outcomes.map((o) => [o.path, o.status])));
    const failed = result.outcomes.filter((o) => o.status === 'failed');
    assert.equal(failed.length, 1);
    assert.match(failed[0].status === 'failed' ? failed[0].error : '', /notes\.tif/);
    // One task, named after the folder: looking for rasters, each file (n of N), each scene's cloud cover, done.
    assert.deepEqual(new Set(events.map((e) => e.label)), new Set([`Import ${path.basename(season)}`]));
    assert.deepEqual(new Set(events.map((e) => e.taskId)).size, 1);
    assert.deepEqual([events[0].step, events[0].total], ['looking for rasters', 0]);
    const files = events.filter((e) => e.total === 7);
    assert.deepEqual(files.map((e) => e.done), [0, 1, 2, 3, 4, 5, 6]);
    assert.deepEqual(files.map((e) => e.step), [...SEASON_SCENES, SEASON_MASK, 'notes.tif'].sort());
    const cover = events.filter((e) => e.step.startsWith('cloud cover of ') && e.state === 'running');
    assert.deepEqual(cover.map((e) => [e.done, e.total]), [[0, 4], [1, 4], [2, 4], [3, 4]], 'the four scenes without a mask of their day');
    assert.deepEqual(events.slice(1, -1).map((e) => e.state), Array(events.length - 2).fill('running'));
    assert.deepEqual(events.slice(1, -1), [...files, ...cover], 'files first, then cloud cover, in order');
    assert.equal(events.at(-1)!.state, 'done');
  });

  it('gives each scene its cloud cover: the mask of its day where it has one, else the detector’s, kept in the catalogue', async () => {
    const scenes = await service.listScenes();
    assert.equal(scenes.length, 5);
    const masks = await service.listMasks();
    const dated = byDay(scenes, '2015-09-09');
    const mask = masks.find((m) => m.sceneId === dated.id)!;
    assert.ok(mask, 'the mask file of 2015-09-09 is linked to its scene');
    assert.ok(Math.abs(mask.cloudCover! - 0.193) < 0.001, `mask cover ${mask.cloudCover}`);
    assert.equal(dated.cloudCover, mask.cloudCover);
    assert.equal(dated.cloudCoverSource, 'mask');
    for (const scene of scenes.filter((s) => s.id !== dated.id)) {
      assert.equal(scene.cloudCoverSource, 'detected', scene.name);
      assert.equal(scene.cloudCover, await detectedCover(dataFile('slovenia-2015', `${scene.name}.tif`)), scene.name);
    }
    assert.ok(byDay(scenes, '2015-07-11').cloudCover! > 0.95, 'the all-cloud day');
    assert.ok(byDay(scenes, '2015-07-31').cloudCover! > 0.1 && byDay(scenes, '2015-07-31').cloudCover! < 0.6, 'the hazy day');
    assert.equal(byDay(scenes, '2015-08-20').cloudCover, 0);
  });

  it('replaces a detected cover when a mask of that day arrives later, but never a mask’s', async () => {
    const later = path.join(dir, 'S2L1C_20150731_mask.tif');
    await writeCloudMask(later, { kind: 'binary', path: STACK, band: 21 }); // a real 24.8 % shape
    const [outcome] = await service.importFiles({ paths: [later] });
    assert.equal(outcome.status, 'imported');
    const scenes = await service.listScenes();
    const hazy = byDay(scenes, '2015-07-31');
    assert.equal(hazy.cloudCoverSource, 'mask');
    assert.ok(Math.abs(hazy.cloudCover! - 0.248) < 0.001, `cover ${hazy.cloudCover}`);
    const again = path.join(dir, 'S2L1C_20150909_other.tif');
    await writeCloudMask(again, { kind: 'binary', path: STACK, band: 14 });
    await service.importFiles({ paths: [again] });
    assert.ok(Math.abs(byDay(await service.listScenes(), '2015-09-09').cloudCover! - 0.193) < 0.001, 'the first mask’s cover stays');
  });

  it('refuses a path that is not a folder, naming it', async () => {
    await assert.rejects(service.importFolder({ folder: path.join(season, SEASON_MASK) }), (e: Error) => e instanceof InputError && /cloudmask\.tif: is not a folder/.test(e.message));
    await assert.rejects(service.importFolder({ folder: path.join(dir, 'nowhere') }), (e: Error) => e instanceof InputError && /nowhere: no such folder/.test(e.message));
  });
});

describe('cancelling a folder import', () => {
  it('keeps the files done before the cancel, imports none after it, and says which were not imported', async () => {
    const service = await openNew('cancel');
    try {
      const events: TaskEvent[] = [];
      const stop = service.subscribe((event) => {
        if (event.type !== 'task') return;
        events.push(event);
        // Cancelled from the task strip while the second file is under way: it finishes, the rest are not started.
        if (event.state === 'running' && event.done === 1 && event.total > 0) void service.cancelTask(event.taskId);
      });
      const result = await service.importFolder({ folder: season });
      assert.equal(result.cancelled, true);
      const imported = result.outcomes.filter((o) => o.status === 'imported').map((o) => path.basename(o.path));
      assert.deepEqual(imported, SEASON_SCENES.slice(0, 2));
      assert.deepEqual(result.notImported.map((f) => path.basename(f)), [...SEASON_SCENES.slice(2), SEASON_MASK, 'notes.tif'].sort());
      assert.deepEqual((await service.listScenes()).map((s) => s.name), ['S2L1C_20150711', 'S2L1C_20150731']);
      assert.equal((await service.listMasks()).length, 0);
      assert.deepEqual(events.map((e) => [e.step, e.state]), [['looking for rasters', 'running'], [SEASON_SCENES[0], 'running'], [SEASON_SCENES[1], 'running'], [SEASON_SCENES[1], 'cancelled']], 'no cloud cover once cancelled');
      assert.equal((await service.cancelTask(events[0].taskId)).cancelled, false, 'over: nothing to cancel');
      stop();
      // The rest comes in when the folder is imported again; the two done are duplicates, not copies.
      const rest = await service.importFolder({ folder: season });
      assert.equal(rest.outcomes.filter((o) => o.status === 'duplicate').length, 2);
      assert.equal((await service.listScenes()).length, 5);
      // The cancel came before the cloud cover: the two kept get theirs now, as the new ones do.
      assert.deepEqual((await service.listScenes()).filter((s) => s.cloudCover === null).map((s) => s.name), []);
      assert.ok(byDay(await service.listScenes(), '2015-07-11').cloudCover! > 0.95, 'the all-cloud day kept from before the cancel');
    } finally {
      await service.close();
    }
  });
});

describe('a run per cloudy date', () => {
  let service: Service;
  before(async () => {
    service = await openNew('batch');
    await service.importFolder({ folder: season });
  });
  after(async () => {
    await service?.close();
  });

  it('builds the reference once from the clear dates and queues one run per cloudy date with the same parameters', async () => {
    const scenes = await service.listScenes();
    const clear = ['2015-08-20', '2015-08-30'].map((d) => byDay(scenes, d).id);
    const result = await service.runCloudyDates({
      referenceFrom: clear,
      run: { mode: 'mt', steps: 5, seeds: [0, 1], tileSize: 64, overlap: 16, bands: ['B04', 'B03', 'B02'], backend: 'wasm' },
    });
    assert.deepEqual(result.reference?.sceneIds.sort(), [...clear].sort());
    const state = Object.fromEntries(result.dates.map((d) => [d.acquired, d.state]));
    assert.deepEqual(state, { '2015-07-11': 'too-cloudy', '2015-07-31': 'queued', '2015-08-20': 'skipped', '2015-08-30': 'skipped', '2015-09-09': 'queued' });
    assert.match(result.dates.find((d) => d.acquired === '2015-07-11')!.reason!, /too little clear sky/);
    assert.match(result.dates.find((d) => d.acquired === '2015-08-20')!.reason!, /reference is built from/);
    assert.equal(result.runs.length, 2);
    const masks = await service.listMasks();
    for (const run of result.runs) {
      const date = result.dates.find((d) => d.runId === run.id)!;
      assert.equal(run.name, `${date.acquired} · mt`);
      assert.equal(run.status, 'queued');
      assert.equal(run.request.targetSceneId, date.sceneId);
      assert.equal(run.request.refId, result.reference!.id);
      assert.equal(run.request.batch, result.batch);
      assert.deepEqual([run.request.mode, run.request.steps, run.request.seeds, run.request.tileSize, run.request.overlap, run.request.backend], ['mt', 5, [0, 1], 64, 16, 'wasm']);
      assert.deepEqual(run.request.bands, ['B04', 'B03', 'B02']);
      const mask = masks.find((m) => m.id === run.request.maskId)!;
      assert.equal(mask.sceneId, date.sceneId, 'the date’s own mask');
      // 07-31 has no mask of its own: one is detected and saved as its mask; 09-09 uses its imported one.
      assert.equal(mask.source, date.acquired === '2015-07-31' ? 'detected' : 'binary');
    }
    const cancelled = await service.cancelBatch({ batch: result.batch });
    assert.deepEqual(cancelled.map((r) => r.status), ['cancelled', 'cancelled']);
  });

  it('takes a cover threshold and an imported mask source, and refuses what cannot run', async () => {
    const result = await service.runCloudyDates({ minCover: 0.25, masks: 'own', run: { steps: 5 } });
    // 07-31 (30 % detected, now its detected mask: same cover) stays cloudy; 09-09 (19 %) is under 25 %: clear.
    assert.deepEqual(result.dates.filter((d) => d.state === 'queued').map((d) => d.acquired), ['2015-07-31']);
    assert.equal(result.dates.find((d) => d.acquired === '2015-09-09')!.state, 'clear');
    assert.equal(result.reference, null);
    await service.cancelBatch({ batch: result.batch });
    // Detected masks: the detector's cover decides, so 09-09 (19 % by its imported mask, clear to the detector) is clear.
    const detected = await service.runCloudyDates({ masks: 'detected', run: { steps: 5 } });
    assert.deepEqual(detected.dates.map((d) => [d.acquired, d.state]), [['2015-07-11', 'too-cloudy'], ['2015-07-31', 'queued'], ['2015-08-20', 'clear'], ['2015-08-30', 'clear'], ['2015-09-09', 'clear']]);
    assert.equal((await service.listMasks()).find((m) => m.id === detected.runs[0].request.maskId)!.source, 'detected');
    await service.cancelBatch({ batch: detected.batch });
    await assert.rejects(service.runCloudyDates({ run: { mode: 'mt' } }), (e: Error) => e instanceof InputError && /needs a reference/.test(e.message));
    await assert.rejects(service.runCloudyDates({ run: { mode: 'ms' } }), (e: Error) => e instanceof InputError && /Sentinel-1/.test(e.message));
    await assert.rejects(service.runCloudyDates({ minCover: 0.5, maxCover: 0.4 }), /minCover must be below maxCover/);
    await assert.rejects(service.cancelBatch({ batch: 'batch-none' }), /no batch batch-none/);
  });
});

describe('the command line', () => {
  it('prints [n/N] file from the import task, and Ctrl-C keeps the files done, names the rest and exits 130', { timeout: 120_000 }, async () => {
    const project = path.join(dir, 'cli-cut');
    assert.equal((await runClearsky(['project', 'create', project], dir)).code, 0);
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/clearsky.js'), 'project', 'import', project, season], { cwd: dir });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      const before = stderr;
      stderr += chunk.toString();
      if (!/\[2\/7\]/.test(before) && /\[2\/7\]/.test(stderr)) child.kill('SIGINT'); // while the second file is under way
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 130, stderr);
    assert.deepEqual(stderr.match(/^\[\d\/7\] .*$/gm), [`[1/7] ${SEASON_SCENES[0]}`, `[2/7] ${SEASON_SCENES[1]}`]);
    assert.match(stderr, /import stopped; 5 files not imported \(the files done stay\): .*S2L1C_20150820\.tif/);
    const listed = await runClearsky(['project', 'list', project, '--json'], dir);
    assert.deepEqual((JSON.parse(listed.stdout) as { scenes: SceneRecord[] }).scenes.map((s) => s.name), ['S2L1C_20150711', 'S2L1C_20150731']);
  });

  it('imports a folder with each scene’s cover, and queues a run per cloudy date with --every-cloudy-date', { timeout: 120_000 }, async () => {
    const project = path.join(dir, 'cli');
    assert.equal((await runClearsky(['project', 'create', project], dir)).code, 0);
    const imported = await runClearsky(['project', 'import', project, season], dir);
    assert.equal(imported.code, 1, 'notes.tif failed'); // the others are in
    assert.match(imported.stdout, /S2L1C_20150731\.tif: scene 2 S2 L1C 2015-07-31, 13 bands, 30\.\d % cloud \(detected\)/);
    assert.match(imported.stdout, /S2L1C_20150909\.tif: scene 5 S2 L1C 2015-09-09, 13 bands, 19\.3 % cloud \(mask\)/);
    assert.match(imported.stderr, /\[7\/7\] .*notes\.tif/);
    const batch = await runClearsky(['run', project, '--every-cloudy-date', '--reference-from', '3,4', '--mode', 'mt', '--steps', '5', '--tile', '64', '--detach', '--json'], dir);
    assert.equal(batch.code, 0, batch.stderr);
    const result = JSON.parse(batch.stdout) as Awaited<ReturnType<Service['runCloudyDates']>>;
    assert.deepEqual(result.runs.map((r) => [r.name, r.request.steps, r.request.tileSize, r.status]), [['2015-07-31 · mt', 5, 64, 'queued'], ['2015-09-09 · mt', 5, 64, 'queued']]);
    assert.match(batch.stderr, /2015-07-11 +100\.0 % +too-cloudy: 100 % cloud: too little clear sky/);
    const refused = await runClearsky(['run', project, '--every-cloudy-date', '--target', '1'], dir);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--target is not for --every-cloudy-date/);
  });
});
