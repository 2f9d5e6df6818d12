/**
 * Projects: the catalogue repositories, recognition and import on the real Slovenia, Scotland and Nigeria
 * data, into real SQLite files in temporary folders; and `clearsky project` as users run it (child processes).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { ImportOutcome, MaskRecord, RefRecord, SceneRecord } from '../../../native/api/contract.ts';
import { importFiles } from '../../../native/catalogue/import.ts';
import { deleteMask, getMask, listMasks, maskFile } from '../../../native/catalogue/masks.ts';
import { createProject, openProject, type Project } from '../../../native/catalogue/project.ts';
import { recognise, sampleValues } from '../../../native/catalogue/recognise.ts';
import { listRefs, refFile } from '../../../native/catalogue/refs.ts';
import { deleteScene, getScene, listScenes, sceneFile } from '../../../native/catalogue/scenes.ts';
import { SCHEMA_VERSION } from '../../../native/catalogue/schema.ts';
import { gridOf } from '../../../native/catalogue/records.ts';
import { InputError } from '../../../native/errors.ts';
import { openRaster, readBands, readRasterInfo, withRaster } from '../../../native/raster/tiff/geotiff-reader.ts';
import { writeGeoTiff } from '../../../native/raster/tiff/geotiff-writer.ts';
import { S2_BAND_ORDER } from '../../../native/raster/sentinel/bands.ts';
import { runClearsky } from '../../helpers/cli.ts';
import { dataFile } from '../../helpers/data.ts';
import { gdalinfo } from '../../helpers/gdal.ts';

const SLOVENIA = dataFile('slovenia-2015');
const SCOTLAND = dataFile('scotland-2020');
let tmp: string;

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-project-'));
});
after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

let counter = 0;
function freshProject(): Project {
  return createProject(path.join(tmp, `project-${++counter}`));
}

function imported<K extends 'scene' | 'ref' | 'mask'>(outcomes: ImportOutcome[], kind: K): (K extends 'scene' ? SceneRecord : K extends 'ref' ? RefRecord : MaskRecord)[] {
  return outcomes.flatMap((o) => (o.status === 'imported' && o.kind === kind ? [o.record as never] : []));
}

function filesUnder(dir: string): string[] {
  return existsSync(dir) ? (readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name))) : [];
}

/** A plain (ungeoreferenced) raster with the given values, for the cases real data does not cover. */
async function syntheticRaster(file: string, width: number, height: number, bands: number, dataType: 'uint8' | 'float32' | 'uint16', value: (i: number) => number, bandNames?: (string | null)[]): Promise<string> {
  const data = new Float32Array(width * height * bands);
  for (let i = 0; i < data.length; i++) data[i] = value(i);
  await writeGeoTiff(file, { width, height, bands, data }, { dataType, bandNames, like: null });
  return file;
}

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('importing the Slovenia folder', () => {
  let project: Project;
  let outcomes: ImportOutcome[];
  before(async () => {
    project = freshProject();
    outcomes = await importFiles(project, { paths: [SLOVENIA] });
  });
  after(() => project.close());

  it('recognises the five scenes as Sentinel-2 L1C with their acquisition days and band names', () => {
    assert.deepEqual(outcomes.filter((o) => o.status !== 'imported'), []);
    const scenes = imported(outcomes, 'scene');
    assert.equal(scenes.length, 5);
    assert.deepEqual(scenes.map((s) => s.acquired), ['2015-07-11', '2015-07-31', '2015-08-20', '2015-08-30', '2015-09-09']);
    for (const scene of scenes) {
      assert.equal(scene.sensor, 'S2');
      assert.equal(scene.level, 'L1C');
      assert.deepEqual(scene.bands, [...S2_BAND_ORDER]);
      assert.equal(scene.dataType, 'uint16');
      assert.equal(scene.grid.epsg, 32633);
      assert.equal(scene.grid.width, 100);
      assert.equal(scene.grid.height, 101);
      assert.match(scene.file, /^rasters\/s2\/S2L1C_2015\d{4}\.tif$/);
    }
    assert.deepEqual(listScenes(project), scenes.map((s) => getScene(project, s.id)));
  });

  it('computes bounds from the geotransform and size', () => {
    const scene = listScenes(project)[0];
    const t = scene.grid.geoTransform!;
    assert.deepEqual(scene.grid.bounds, [t[0], t[3] + 101 * t[5], t[0] + 100 * t[1], t[3]]);
  });

  it('records the s2cloudless stack as 68 masks named by band description, linked to the scenes of their day', async () => {
    const masks = imported(outcomes, 'mask');
    assert.equal(masks.length, 68);
    const info = await readRasterInfo(path.join(SLOVENIA, 'cloudmasks_s2cloudless_2015-2017.tif'));
    assert.deepEqual(masks.map((m) => m.name), info.bandNames);
    assert.deepEqual(masks.map((m) => m.band), masks.map((_, i) => i + 1));
    assert.equal(new Set(masks.map((m) => m.file)).size, 1, 'one raster for the whole stack');
    for (const mask of masks) {
      assert.equal(mask.source, 'binary');
      assert.ok(mask.cloudCover !== null && mask.cloudCover >= 0 && mask.cloudCover <= 1);
      assert.ok(mask.outlineFile && existsSync(project.resolve(mask.outlineFile)));
    }
    // The five scenes' days are bands 1–5; the fully cloudy 0731 and 0820 are 100 % cloud.
    const scenes = listScenes(project);
    const linked = listMasks(project).filter((m) => m.sceneId !== null);
    assert.deepEqual(linked.map((m) => [m.band, m.sceneId]), scenes.map((s, i) => [i + 1, s.id]));
    assert.deepEqual(scenes.map((s) => s.cloudCover), linked.map((m) => m.cloudCover));
    assert.equal(scenes[1].cloudCover, 1);
    assert.equal(scenes[0].cloudCover, 0);
    const outline = JSON.parse(await fs.readFile(project.resolve(linked[1].outlineFile!), 'utf8'));
    assert.equal(outline.type, 'FeatureCollection');
    assert.equal(outline.crs.properties.name, 'urn:ogc:def:crs:EPSG::32633');
    assert.equal(outline.features.length, 1);
  });

  it('converts into rasters/ as COGs with the source values (GDAL checksums), masks with nearest overviews', () => {
    const scene = listScenes(project)[4];
    const mask = listMasks(project)[0];
    for (const [copy, source] of [[scene.file, path.join(SLOVENIA, 'S2L1C_20150909.tif')], [mask.file, path.join(SLOVENIA, 'cloudmasks_s2cloudless_2015-2017.tif')]]) {
      const ours = gdalinfo(project.resolve(copy), ['-checksum']);
      const theirs = gdalinfo(source, ['-checksum']);
      assert.equal(ours.metadata.IMAGE_STRUCTURE?.LAYOUT, 'COG');
      assert.deepEqual(ours.bands.map((b) => b.checksum), theirs.bands.map((b) => b.checksum));
      assert.deepEqual(ours.bands.map((b) => b.description), theirs.bands.map((b) => b.description));
      assert.deepEqual(ours.bands[0].block, [256, 256]);
    }
  });

  it('does not import the same file twice, by name or by content', async () => {
    const before = { scenes: listScenes(project).length, masks: listMasks(project).length, files: filesUnder(path.join(project.dir, 'rasters')).length };
    const copy = path.join(tmp, 'same-content-other-name.tif');
    await fs.copyFile(path.join(SLOVENIA, 'S2L1C_20150711.tif'), copy);
    const again = await importFiles(project, { paths: [path.join(SLOVENIA, 'S2L1C_20150711.tif'), copy, path.join(SLOVENIA, 'cloudmasks_s2cloudless_2015-2017.tif')] });
    assert.deepEqual(again.slice(0, 2).map((o) => o.status === 'duplicate' && [o.kind, o.id]), [['scene', 1], ['scene', 1]]);
    assert.equal(again.length, 2 + 68);
    assert.ok(again.slice(2).every((o) => o.status === 'duplicate' && o.kind === 'mask'));
    assert.deepEqual({ scenes: listScenes(project).length, masks: listMasks(project).length, files: filesUnder(path.join(project.dir, 'rasters')).length }, before);
  });

  it('refuses to delete a scene or mask a run uses, naming the run, and deletes nothing', () => {
    const scene = listScenes(project)[4];
    const mask = listMasks(project)[4];
    const { lastInsertRowid: runId } = project.db
      .prepare("INSERT INTO runs (target_scene_id, mask_id, parameters, status, created_at) VALUES (?, ?, '{}', 'queued', ?)")
      .run(scene.id, mask.id, new Date().toISOString());
    assert.throws(() => deleteScene(project, scene.id), (e: Error) => e instanceof InputError && new RegExp(`scene ${scene.id} .*used by run ${runId}`).test(e.message));
    assert.throws(() => deleteMask(project, mask.id), (e: Error) => e instanceof InputError && new RegExp(`used by run ${runId}`).test(e.message));
    assert.deepEqual(getScene(project, scene.id), scene);
    assert.deepEqual(getMask(project, mask.id), mask);
    assert.ok(existsSync(project.resolve(scene.file)));
    // The foreign key itself refuses too (RESTRICT), for any writer that skips the check.
    assert.throws(() => project.db.prepare('DELETE FROM scenes WHERE id = ?').run(scene.id), /FOREIGN KEY/);
    project.db.prepare('DELETE FROM runs WHERE id = ?').run(runId);
  });

  it('deletes an unused scene with its raster; its masks stay, unlinked', () => {
    const scene = listScenes(project)[0];
    const mask = listMasks(project).find((m) => m.sceneId === scene.id)!;
    deleteScene(project, scene.id);
    assert.throws(() => getScene(project, scene.id), /there is no scene/);
    assert.ok(!existsSync(project.resolve(scene.file)));
    assert.equal(getMask(project, mask.id).sceneId, null);
  });

  it('a raster deleted outside Clearsky is a clear error when it is used', async () => {
    const scene = listScenes(project)[1];
    assert.equal(sceneFile(project, scene.id), project.resolve(scene.file));
    await fs.rename(project.resolve(scene.file), `${project.resolve(scene.file)}.moved`);
    assert.throws(() => sceneFile(project, scene.id), (e: Error) => e instanceof InputError && /missing raster file .*moved or deleted outside Clearsky/.test(e.message) && e.message.includes(scene.file));
    await fs.rename(`${project.resolve(scene.file)}.moved`, project.resolve(scene.file));
  });
});

describe('importing the Scotland files', () => {
  let project: Project;
  let outcomes: ImportOutcome[];
  before(async () => {
    project = freshProject();
    outcomes = await importFiles(project, { paths: [SCOTLAND] });
  });
  after(() => project.close());

  it('takes the 2019 mean as a reference, the S1 GRD as Sentinel-1 linear, the cloud mask as a mask', () => {
    assert.deepEqual(outcomes.map((o) => [path.basename(o.path), o.status, o.status === 'imported' ? o.kind : '']), [
      ['S1_GRD_sigma0_linear.tif', 'imported', 'scene'],
      ['S2L2A_mean_2019_B04B03B02.tif', 'imported', 'ref'],
      ['cloudmask.tif', 'imported', 'mask'],
    ]);
    const [s1] = imported(outcomes, 'scene');
    assert.equal(s1.sensor, 'S1');
    assert.equal(s1.units, 'linear');
    assert.equal(s1.level, 'GRD');
    assert.deepEqual(s1.bands, ['Sigma0_VH', 'Sigma0_VV', 'collocationFlags']);
    const [ref] = imported(outcomes, 'ref');
    assert.equal(ref.method, 'imported');
    assert.deepEqual(ref.bands, ['B04', 'B03', 'B02']);
    assert.deepEqual(listRefs(project), [ref]);
    assert.equal(refFile(project, ref.id), project.resolve(ref.file));
    const [mask] = imported(outcomes, 'mask');
    assert.equal(mask.cloudCover!.toFixed(3), '0.187');
    assert.equal(mask.grid.epsg, 32630);
    assert.deepEqual(maskFile(project, mask.id), { file: project.resolve(mask.file), band: 1 });
  });

  it('a project copied elsewhere opens and finds every file (paths are relative)', async () => {
    const copy = path.join(tmp, 'copied-project');
    project.db.pragma('wal_checkpoint(TRUNCATE)');
    await fs.cp(project.dir, copy, { recursive: true });
    const moved = openProject(copy);
    try {
      const files = [
        ...listScenes(moved).map((s) => sceneFile(moved, s.id)),
        ...listRefs(moved).map((r) => refFile(moved, r.id)),
        ...listMasks(moved).flatMap((m) => [maskFile(moved, m.id).file, moved.resolve(m.outlineFile!)]),
      ];
      assert.equal(files.length, 4);
      for (const file of files) {
        assert.ok(file.startsWith(copy + path.sep), file);
        assert.ok(existsSync(file), file);
      }
    } finally {
      moved.close();
    }
  });
});

describe('recognition and the unsure case', () => {
  it('Nigeria: the 13-band scene is S2, the VV/VH dB file S1 in dB', async () => {
    const project = freshProject();
    try {
      const outcomes = await importFiles(project, { paths: [dataFile('nigeria-sen12mscr')] });
      const scenes = imported(outcomes, 'scene');
      assert.deepEqual(scenes.map((s) => [s.name, s.sensor, s.units]), [['s1', 'S1', 'dB'], ['s2_cloudy', 'S2', null]]);
    } finally {
      project.close();
    }
  });

  it('a 2-band float raster without names is unsure with candidates; with a kind it imports', async () => {
    const project = freshProject();
    try {
      const next = random(7);
      const file = await syntheticRaster(path.join(tmp, 'mystery.tif'), 64, 48, 2, 'float32', () => next() * 3 - 1);
      const [unsure] = await importFiles(project, { paths: [file] });
      assert.equal(unsure.status, 'unsure');
      assert.ok(unsure.status === 'unsure' && unsure.candidates.includes('S1') && unsure.candidates.length > 1, JSON.stringify(unsure));
      assert.match(unsure.status === 'unsure' ? unsure.reason : '', /2 float32 bands .*without descriptions/);
      assert.deepEqual(filesUnder(path.join(project.dir, 'rasters')), []);
      assert.equal(listScenes(project).length, 0);
      const [done] = await importFiles(project, { paths: [file], kind: 'S1' });
      assert.ok(done.status === 'imported' && done.kind === 'scene' && done.record.sensor === 'S1' && done.record.units === 'dB', JSON.stringify(done));
    } finally {
      project.close();
    }
  });

  it('an SCL band: the source kept, a binary mask of classes 3, 8, 9, 10 recorded with its cloud cover', async () => {
    const project = freshProject();
    try {
      // Classes 0–11 in turn: 4 of every 12 pixels are cloud (3, 8, 9, 10).
      const file = await syntheticRaster(path.join(tmp, 'T33UUU_20170216_SCL_20m.tif'), 48, 24, 1, 'uint8', (i) => i % 12);
      const [outcome] = await importFiles(project, { paths: [file] });
      assert.ok(outcome.status === 'imported' && outcome.kind === 'mask', JSON.stringify(outcome));
      const mask = outcome.record;
      assert.equal(mask.source, 'scl');
      assert.deepEqual(mask.parameters, { classes: [3, 8, 9, 10] });
      assert.equal(mask.cloudCover, 4 / 12);
      assert.equal(mask.acquired, '2017-02-16');
      assert.match(mask.sourceFile!, /^rasters\/scl\//);
      assert.ok(existsSync(project.resolve(mask.sourceFile!)));
      const values = await withRaster(project.resolve(mask.file), async (r) => (await readBands(r, [0])).data);
      assert.deepEqual([...values.slice(0, 12)], [0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 0]);
    } finally {
      project.close();
    }
  });

  it('recognises a float 0–1 band as cloud probability and a UInt8 0/1 band as a mask', async () => {
    const next = random(3);
    const probability = await syntheticRaster(path.join(tmp, 'prob.tif'), 32, 32, 1, 'float32', () => next());
    const binary = await syntheticRaster(path.join(tmp, 'labels.tif'), 32, 32, 1, 'uint8', (i) => i % 2);
    for (const [file, kind] of [[probability, 'probability'], [binary, 'mask']]) {
      const raster = await openRaster(file);
      try {
        assert.equal(recognise(raster, await sampleValues(raster)).kind, kind);
      } finally {
        await raster.close();
      }
    }
  });
});

describe('bad input', () => {
  it('a failed import leaves no row and no file; the rest of the batch goes on', async () => {
    const project = freshProject();
    try {
      const broken = path.join(tmp, 'broken.tif');
      await fs.writeFile(broken, 'this is not a TIFF');
      // Forced to SCL, a 13-band scene is copied, then fails to become a mask: the copy must go.
      const outcomes = await importFiles(project, { paths: [broken, path.join(SLOVENIA, 'S2L1C_20150711.tif'), path.join(SCOTLAND, 'cloudmask.tif')], kind: 'scl' });
      assert.equal(outcomes[0].status, 'failed');
      assert.match(outcomes[0].status === 'failed' ? outcomes[0].error : '', /broken\.tif/);
      assert.equal(outcomes[1].status, 'failed');
      assert.match(outcomes[1].status === 'failed' ? outcomes[1].error : '', /13 bands/);
      assert.equal(outcomes[2].status, 'imported', JSON.stringify(outcomes[2]));
      const files = filesUnder(path.join(project.dir, 'rasters')).map((f) => path.relative(project.dir, f)).sort();
      assert.deepEqual(files, ['rasters/masks/cloudmask-cloud.geojson', 'rasters/masks/cloudmask-cloud.tif', 'rasters/scl/cloudmask.tif']);
      assert.equal(listMasks(project).length, 1);
      assert.equal(listScenes(project).length, 0);
      for (const o of outcomes) assert.ok(o.status !== 'failed' || !o.error.includes('\n'));
    } finally {
      project.close();
    }
  });

  it('recording that fails (the catalogue refuses) removes the converted file', async () => {
    const project = freshProject();
    try {
      project.db.exec("CREATE TRIGGER refuse BEFORE INSERT ON scenes BEGIN SELECT RAISE(ABORT, 'refused by test'); END");
      const [outcome] = await importFiles(project, { paths: [path.join(SLOVENIA, 'S2L1C_20150909.tif')] });
      assert.ok(outcome.status === 'failed' && /refused by test/.test(outcome.error), JSON.stringify(outcome));
      assert.deepEqual(filesUnder(path.join(project.dir, 'rasters')), []);
    } finally {
      project.close();
    }
  });

  it('a folder that is not a project, and a catalogue from a newer Clearsky, are clear errors', async () => {
    assert.throws(() => openProject(tmp), (e: Error) => e instanceof InputError && /is not a Clearsky project \(no project\.sqlite\)/.test(e.message));
    assert.throws(() => openProject(path.join(tmp, 'nowhere')), /no such project folder/);
    const project = freshProject();
    const dir = project.dir;
    project.close();
    const db = new Database(path.join(dir, 'project.sqlite'));
    db.pragma('user_version = 99');
    db.close();
    assert.throws(() => openProject(dir), (e: Error) => e instanceof InputError && /newer Clearsky \(catalogue version 99; this one knows up to \d+\)/.test(e.message));
    assert.throws(() => createProject(dir), /already a Clearsky project/);
  });

  it('a catalogue at version 1 is migrated to the current schema on open', async () => {
    const project = freshProject();
    const dir = project.dir;
    project.db.exec('DROP INDEX scenes_by_source; DROP INDEX refs_by_source; DROP INDEX masks_by_source;');
    for (const [table, column] of [['scenes', 'units'], ['scenes', 'source_sha256'], ['refs', 'source_path'], ['refs', 'source_sha256'], ['masks', 'source_path'], ['masks', 'source_sha256'], ['masks', 'source_file'], ['masks', 'acquired'], ['runs', 'metrics'], ['runs', 'owner'], ['runs', 'heartbeat_at'], ['project', 'uid'], ['project', 'queue_url'], ['scenes', 'cloud_cover_source'], ['tiles', 'spread'], ['tiles', 'curves']]) {
      project.db.exec(`ALTER TABLE ${table} DROP COLUMN ${column}`);
    }
    project.db.pragma('user_version = 1');
    project.close();
    const reopened = openProject(dir);
    try {
      assert.equal(reopened.db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      // Migration 6 gives an older project its id (runs on a shared queue are named by it), and no queue.
      assert.match((reopened.db.prepare('SELECT uid, queue_url FROM project').get() as { uid: string }).uid, /^[0-9a-f]{16}$/);
      const outcomes = await importFiles(reopened, { paths: [path.join(SCOTLAND, 'cloudmask.tif')] });
      assert.equal(outcomes[0].status, 'imported');
    } finally {
      reopened.close();
    }
  });

  it('gridOf has no bounds without a geotransform', () => {
    assert.deepEqual(gridOf({ width: 3, height: 2, crs: null, geoTransform: null }), { width: 3, height: 2, epsg: null, crs: null, geoTransform: null, bounds: null });
  });
});

describe('clearsky project (command line)', () => {
  const clearsky = (args: string[]) => runClearsky(args, tmp);

  it('create, import with --json, list with ids; bad input exits 2 with one line', async () => {
    const dir = path.join(tmp, 'cli-project');
    let r = await clearsky(['project', 'create', dir, '--name', 'Scotland test']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /created project Scotland test/);
    r = await clearsky(['project', 'create', dir]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^clearsky: .*is already a Clearsky project\n/);

    r = await clearsky(['project', 'import', dir, SCOTLAND, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const outcomes = JSON.parse(r.stdout) as ImportOutcome[];
    assert.deepEqual(outcomes.map((o) => o.status === 'imported' && o.kind), ['scene', 'ref', 'mask']);

    r = await clearsky(['project', 'import', dir, path.join(SCOTLAND, 'cloudmask.tif')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /already imported .*cloudmask\.tif: mask 1 \(cloudmask\)/);

    r = await clearsky(['project', 'list', dir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const listing = JSON.parse(r.stdout);
    assert.deepEqual([listing.scenes.length, listing.refs.length, listing.masks.length], [1, 1, 1]);
    r = await clearsky(['project', 'list', dir]);
    assert.match(r.stdout, /scenes \(1\)\n\s+id\s+sensor.*\n\s+1\s+S1\s+GRD/);
    assert.match(r.stdout, /masks \(1\)\n.*\n\s+1\s+binary\s+1\s+.*18\.7 %\s+cloudmask/);

    for (const args of [['project', 'list', tmp], ['project', 'import', tmp, SCOTLAND], ['project', 'import', dir, SCOTLAND, '--kind', 'cloud'], ['project', 'frobnicate', dir]]) {
      r = await clearsky(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^clearsky: [^\n]+\n/);
    }
  });

  it('an unsure file exits 1 saying which kinds; --kind imports it', async () => {
    const dir = path.join(tmp, 'cli-unsure');
    assert.equal((await clearsky(['project', 'create', dir])).code, 0);
    const next = random(11);
    const file = await syntheticRaster(path.join(tmp, 'unnamed.tif'), 40, 40, 2, 'float32', () => next() * 10);
    let r = await clearsky(['project', 'import', dir, file]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /unsure .*unnamed\.tif: .*say which with --kind S1\|S2\|reference\|probability/);
    r = await clearsky(['project', 'import', dir, file, '--kind', 'reference']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /imported .*unnamed\.tif: reference 1/);
  });
});
