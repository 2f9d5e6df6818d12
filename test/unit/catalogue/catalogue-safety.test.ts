/**
 * A damaged or foreign catalogue is refused with its path, never replaced or written into; rolling backups of
 * the catalogue; stale temporaries of killed processes swept on open. Real SQLite files in temporary folders,
 * real child processes (one killed with SIGKILL), and `clearsky project` as users run it.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { APPLICATION_ID, BACKUPS_KEPT, backupCatalogue, CATALOGUE_FILE, createProject, openProject, type Project } from '../../../native/catalogue/project.ts';
import { MIGRATIONS, SCHEMA_VERSION } from '../../../native/catalogue/schema.ts';
import { RUN_STATUSES } from '../../../native/api/contract.ts';
import { InputError } from '../../../native/errors.ts';
import { Service } from '../../../native/project/service.ts';
import { Workspace } from '../../../native/project/workspace.ts';
import { runClearsky } from '../../helpers/cli.ts';
import { REPO_ROOT } from '../../helpers/data.ts';

let tmp: string;
before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-catalogue-safety-'));
});
after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

let counter = 0;
function freshDir(): string {
  return path.join(tmp, `project-${++counter}`);
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const catalogueOf = (dir: string) => path.join(dir, 'project.sqlite');
const backupsOf = (dir: string) => (existsSync(path.join(dir, 'backups')) ? readdirSync(path.join(dir, 'backups')).filter((n) => n.endsWith('.sqlite')).sort() : []);

/** A project folder holding imported files and a run, but whose catalogue is whatever `write` leaves. */
async function projectFolderWith(write: (file: string) => Promise<void> | void): Promise<string> {
  const dir = freshDir();
  await fs.mkdir(path.join(dir, 'rasters', 's2'), { recursive: true });
  await fs.mkdir(path.join(dir, 'runs', '1'), { recursive: true });
  await fs.writeFile(path.join(dir, 'rasters', 's2', 'scene.tif'), 'a raster');
  await fs.writeFile(path.join(dir, 'runs', '1', 'result.tif'), 'a result');
  await write(catalogueOf(dir));
  return dir;
}

/** A scene, a mask, a run and `tiles` tile rows, as the catalogue records them. */
function fill(db: Database.Database, tiles: number): void {
  const now = new Date().toISOString();
  db.transaction(() => {
    db.prepare("INSERT INTO scenes (id, name, file, sensor, bands, grid, data_type, imported_at) VALUES (1, 'S2 2015-09-09', 'rasters/s2/scene.tif', 'S2', '[\"B04\"]', '{}', 'uint16', ?)").run(now);
    db.prepare("INSERT INTO masks (id, name, file, source, scene_id, grid, created_at) VALUES (1, 'clouds', 'rasters/masks/m.tif', 'binary', 1, '{}', ?)").run(now);
    db.prepare("INSERT INTO runs (id, target_scene_id, mask_id, parameters, status, created_at) VALUES (1, 1, 1, '{}', 'running', ?)").run(now);
    const tile = db.prepare("INSERT INTO tiles (run_id, idx, x, y, width, height, status, result_file, updated_at) VALUES (1, ?, ?, ?, 256, 256, 'done', ?, ?)");
    for (let i = 0; i < tiles; i++) tile.run(i, (i % 100) * 256, Math.floor(i / 100) * 256, `runs/1/tiles/tile-${i}.tif`, now);
  })();
}

const rows = (db: Database.Database) => ({
  project: db.prepare('SELECT * FROM project').all(),
  scenes: db.prepare('SELECT * FROM scenes').all(),
  tiles: db.prepare('SELECT count(*) FROM tiles').pluck().get(),
});

/** The project's files other than its catalogue and backups, with their contents. */
async function projectFiles(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const sub of ['rasters', 'runs']) {
    for (const entry of await fs.readdir(path.join(dir, sub), { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) out[path.relative(dir, path.join(entry.parentPath, entry.name))] = await fs.readFile(path.join(entry.parentPath, entry.name), 'utf8');
    }
  }
  return out;
}

function refused(dir: string, pattern: RegExp): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof InputError, String(e));
    assert.ok(e.message.startsWith(`${catalogueOf(dir)}: `), e.message);
    assert.match(e.message, pattern);
    assert.doesNotMatch(e.message, /\n/);
    return true;
  };
}

describe('a catalogue that is not a sound Clearsky catalogue is refused and left as it is', () => {
  it('an empty (0-byte) project.sqlite: open, create and the browser API refuse it naming the file; nothing in the project is touched', async () => {
    const dir = await projectFolderWith((file) => fs.writeFile(file, ''));
    // A stale temporary of a process that is surely gone: a refused project is not swept either.
    const stale = path.join(dir, 'rasters', 's2', '.scene.tif.999999999-0badf00d.tmp');
    await fs.writeFile(stale, 'partial');
    const before = await projectFiles(dir);
    const empty = refused(dir, /is empty: not a Clearsky catalogue; there is no backup in .*backups; the project's rasters\/ and runs\/ are kept untouched$/);
    assert.throws(() => openProject(dir), empty);
    assert.throws(() => createProject(dir), empty);
    const workspace = new Workspace({}, { roots: [path.dirname(dir)] });
    try {
      await assert.rejects(workspace.openProject({ dir, create: true }), empty);
      await assert.rejects(workspace.openProject({ dir }), empty);
    } finally {
      await workspace.close();
    }
    assert.equal((await fs.stat(catalogueOf(dir))).size, 0);
    assert.deepEqual(await projectFiles(dir), before);
    assert.deepEqual(backupsOf(dir), []);
  });

  it('an unrelated SQLite database (another application_id, or none and no Clearsky schema) is not adopted: its bytes are unchanged', async () => {
    const foreign = await projectFolderWith((file) => {
      const db = new Database(file);
      db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes (text) VALUES ('mine')");
      db.pragma('application_id = 1179403647'); // 0x464C457F
      db.pragma('journal_mode = WAL');
      db.close();
    });
    const plain = await projectFolderWith((file) => {
      const db = new Database(file);
      db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes (text) VALUES ('mine')");
      db.close();
    });
    // No application_id, a user_version Clearsky uses, but not Clearsky's tables.
    const versioned = await projectFolderWith((file) => {
      const db = new Database(file);
      db.exec('CREATE TABLE project (id INTEGER PRIMARY KEY); CREATE TABLE scenes (id INTEGER PRIMARY KEY)');
      db.pragma('user_version = 2');
      db.close();
    });
    const text = await projectFolderWith((file) => fs.writeFile(file, 'name,value\n'.repeat(200)));
    const cases: [string, RegExp][] = [
      [foreign, /is the SQLite database of another application \(application_id 0x464c457f\), not a Clearsky catalogue; Clearsky leaves it as it is$/],
      [plain, /is a SQLite database but not a Clearsky catalogue \(no Clearsky application_id, user_version 0\)/],
      [versioned, /is not a Clearsky catalogue \(it has no tables 'masks', 'ref_scenes', 'refs', 'results', 'runs', 'tiles'\)/],
      [text, /is not a SQLite database: not a Clearsky catalogue/],
    ];
    for (const [dir, problem] of cases) {
      const hash = sha256(catalogueOf(dir));
      assert.throws(() => openProject(dir), refused(dir, problem));
      assert.throws(() => createProject(dir), refused(dir, problem));
      assert.equal(sha256(catalogueOf(dir)), hash, dir);
      assert.deepEqual(backupsOf(dir), [], dir);
    }
    // Refused from its header: SQLite never opened it (opening a WAL database makes its -shm file).
    assert.equal(existsSync(`${catalogueOf(foreign)}-shm`), false);
    const db = new Database(catalogueOf(plain), { readonly: true });
    assert.deepEqual(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all(), ['notes']);
    db.close();
  });

  it('a corrupt page: refused naming the file, what quick_check says and the newest backup; never backed up; restoring the backup recovers', async () => {
    const project = createProject(freshDir());
    const dir = project.dir;
    fill(project.db, 5000);
    const backup = backupCatalogue(project);
    project.close();
    const file = catalogueOf(dir);
    const { size } = await fs.stat(file);
    const handle = await fs.open(file, 'r+');
    await handle.write(Buffer.alloc(8192, 0x5a), 0, 8192, Math.floor(size / 2 / 4096) * 4096);
    await handle.close();
    const hash = sha256(file);
    const message = new RegExp(`is damaged: SQLite's quick_check says "[^"]+"; to recover, copy the newest backup ${backup.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} over it .*; the project's rasters/ and runs/ are kept untouched$`);
    assert.throws(() => openProject(dir), refused(dir, message));
    assert.equal(sha256(file), hash);
    assert.deepEqual(backupsOf(dir), [path.basename(backup)]);

    await fs.copyFile(backup, file);
    const restored = openProject(dir);
    try {
      assert.equal(rows(restored.db).tiles, 5000);
    } finally {
      restored.close();
    }
  });

  it('a dropped table is named, and the catalogue is not repaired behind the user’s back', async () => {
    const project = createProject(freshDir());
    const dir = project.dir;
    project.db.exec('DROP TABLE tiles');
    project.close();
    const hash = sha256(catalogueOf(dir));
    assert.throws(() => openProject(dir), refused(dir, /is damaged: its table 'tiles' is missing; there is no backup in /));
    assert.equal(sha256(catalogueOf(dir)), hash);
  });

  it('a catalogue locked by another process is said to be locked, not damaged', async () => {
    const project = createProject(freshDir());
    const dir = project.dir;
    project.close();
    const script = `
      const Database = require('better-sqlite3');
      const db = new Database(process.argv[1]);
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('BEGIN EXCLUSIVE');
      process.stdout.write('locked\\n');
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['-e', script, catalogueOf(dir)], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise((resolve, reject) => {
        child.stdout!.once('data', resolve);
        child.once('exit', (code) => reject(new Error(`locker exited ${code}`)));
      });
      assert.throws(() => openProject(dir), refused(dir, /is locked by another process \(database is locked\); try again$/));
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('the command line prints one line naming the file and exits 2', async () => {
    const empty = await projectFolderWith((file) => fs.writeFile(file, ''));
    const foreign = await projectFolderWith((file) => {
      const db = new Database(file);
      db.exec('CREATE TABLE notes (text TEXT)');
      db.pragma('application_id = 42');
      db.close();
    });
    const hash = sha256(catalogueOf(foreign));
    for (const [args, dir, problem] of [
      [['project', 'list', empty], empty, /is empty: not a Clearsky catalogue/],
      [['project', 'create', empty], empty, /is empty: not a Clearsky catalogue/],
      [['project', 'list', foreign], foreign, /is the SQLite database of another application \(application_id 0x2a\)/],
    ] as const) {
      const r = await runClearsky([...args], tmp);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, '');
      assert.ok(r.stderr.startsWith(`clearsky: ${catalogueOf(dir)}: `), r.stderr);
      assert.match(r.stderr, problem);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    }
    assert.equal((await fs.stat(catalogueOf(empty))).size, 0);
    assert.equal(sha256(catalogueOf(foreign)), hash);
  });
});

describe('catalogues of older Clearsky versions, and backups', () => {
  it('a catalogue without application_id (an older Clearsky) is adopted with its data intact', () => {
    const project = createProject(freshDir());
    const dir = project.dir;
    fill(project.db, 10);
    project.db.pragma('application_id = 0');
    const before = rows(project.db);
    project.close();
    const adopted = openProject(dir);
    try {
      assert.equal(adopted.db.pragma('application_id', { simple: true }), APPLICATION_ID);
      assert.deepEqual(rows(adopted.db), before);
    } finally {
      adopted.close();
    }
  });

  it('a backup is made before a migration, of the catalogue as it was, and opens as a project', async () => {
    // A catalogue of the first Clearsky: the first migration only, no application_id.
    const dir = await projectFolderWith((file) => {
      const db = new Database(file);
      db.exec(MIGRATIONS[0]);
      db.pragma('user_version = 1');
      db.prepare("INSERT INTO project (id, name, created_at) VALUES (1, 'Slovenia', '2025-01-01T00:00:00.000Z')").run();
      fill(db, 20);
      db.close();
    });
    const before = openOld(catalogueOf(dir));
    const project = openProject(dir);
    try {
      assert.equal(project.db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    } finally {
      project.close();
    }
    const [backup] = backupsOf(dir);
    assert.ok(backup, 'a backup was made');
    assert.deepEqual(openOld(path.join(dir, 'backups', backup)), before);

    const restored = freshDir();
    await fs.mkdir(restored);
    await fs.copyFile(path.join(dir, 'backups', backup), catalogueOf(restored));
    const reopened = openProject(restored);
    try {
      assert.equal(reopened.db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      const { scenes, project: projectRows, ...rest } = rows(reopened.db);
      assert.deepEqual(rest, { tiles: before.rows.tiles });
      // The migrations added columns (empty for old rows, but the project's own id); the recorded values are the backup's.
      assert.deepEqual(projectRows.map((row) => {
        const { uid, queue_url: queue, ...kept } = row as Record<string, unknown>;
        assert.match(String(uid), /^[0-9a-f]{16}$/);
        assert.equal(queue, null);
        return kept;
      }), before.rows.project);
      assert.deepEqual(scenes.map((scene) => {
        const { units, source_sha256: sha, cloud_cover_source: coverSource, ...kept } = scene as Record<string, unknown>;
        assert.deepEqual([units, sha, coverSource], [null, null, null]);
        return kept;
      }), before.rows.scenes);
    } finally {
      reopened.close();
    }
  });

  it('migration 5 lets masks be detected ones, keeping every mask with its id, and the runs that use them', async () => {
    // A catalogue of version 4 with a mask a run uses.
    const dir = await projectFolderWith((file) => {
      const db = new Database(file);
      for (const sql of MIGRATIONS.slice(0, 4)) db.exec(sql);
      db.pragma('user_version = 4');
      db.prepare("INSERT INTO project (id, name, created_at) VALUES (1, 'Nigeria', '2025-01-01T00:00:00.000Z')").run();
      fill(db, 3);
      db.prepare("UPDATE masks SET acquired = '2018-01-01', source_sha256 = 'abc' WHERE id = 1").run();
      assert.throws(() => db.prepare("INSERT INTO masks (name, file, source, grid, created_at) VALUES ('found', 'rasters/masks/f.tif', 'detected', '{}', 'now')").run(), /CHECK constraint failed/);
      db.close();
    });
    const before = new Database(catalogueOf(dir), { readonly: true });
    const masks = before.prepare('SELECT * FROM masks').all();
    before.close();
    const project = openProject(dir);
    try {
      assert.equal(project.db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      assert.deepEqual(project.db.prepare('SELECT * FROM masks').all(), masks);
      project.db.prepare("INSERT INTO masks (name, file, source, grid, created_at) VALUES ('found', 'rasters/masks/f.tif', 'detected', '{}', 'now')").run();
      // The run still refers to its mask, and the rebuilt table still refuses to lose a mask a run uses.
      assert.equal(project.db.prepare('SELECT mask_id FROM runs WHERE id = 1').pluck().get(), 1);
      assert.throws(() => project.db.prepare('DELETE FROM masks WHERE id = 1').run(), /FOREIGN KEY constraint failed/);
      assert.deepEqual(project.db.pragma('foreign_key_check'), []);
    } finally {
      project.close();
    }
  });

  it('a migration that SQLite refuses names the catalogue, and leaves it at its version', async () => {
    const dir = await projectFolderWith((file) => {
      const db = new Database(file);
      db.exec(MIGRATIONS[0]);
      db.exec('ALTER TABLE scenes ADD COLUMN units TEXT'); // what migration 2 adds
      db.pragma('user_version = 1');
      db.prepare("INSERT INTO project (id, name, created_at) VALUES (1, 'odd', '2025-01-01T00:00:00.000Z')").run();
      db.close();
    });
    assert.throws(() => openProject(dir), refused(dir, /cannot open the catalogue \(duplicate column name: units\)$/));
    assert.equal(openOld(catalogueOf(dir)).version, 1);
    assert.equal(backupsOf(dir).length, 1);
  });

  it(`keeps the newest ${BACKUPS_KEPT} backups, and makes one on open when the newest is more than a day old`, async () => {
    const project = createProject(freshDir());
    const dir = project.dir;
    assert.deepEqual(backupsOf(dir), [], 'a new project needs no backup yet');
    const made: string[] = [];
    try {
      for (let i = 0; i < BACKUPS_KEPT + 2; i++) made.push(path.basename(backupCatalogue(project)));
    } finally {
      project.close();
    }
    assert.equal(new Set(made).size, made.length);
    assert.deepEqual(backupsOf(dir), made.slice(-BACKUPS_KEPT));

    // Fresh backups: opening makes none.
    openProject(dir).close();
    assert.deepEqual(backupsOf(dir), made.slice(-BACKUPS_KEPT));
    // Only backups from two days ago: opening makes one (and the oldest goes).
    for (const name of backupsOf(dir)) await fs.rm(path.join(dir, 'backups', name));
    const old = `project-${new Date(Date.now() - 2 * 86_400_000).toISOString().replace(/:/g, '-')}.sqlite`;
    await fs.writeFile(path.join(dir, 'backups', old), 'an old backup');
    await fs.writeFile(path.join(dir, 'backups', 'notes.txt'), 'not a backup: never removed');
    openProject(dir).close();
    const now = backupsOf(dir);
    assert.equal(now.length, 2);
    assert.equal(now[0], old);
    assert.ok(existsSync(path.join(dir, 'backups', 'notes.txt')));
  });

  it('a project left open for days (the app, clearsky serve) still backs up once a day', async () => {
    const created = createProject(freshDir());
    const dir = created.dir;
    created.close();
    const service = Service.open(dir, { jobs: false, backupCheckMs: 20 });
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(backupsOf(dir), [], 'a project created today needs no backup yet');
      // The newest backup is now two days old, as after two days open.
      const old = `project-${new Date(Date.now() - 2 * 86_400_000).toISOString().replace(/:/g, '-')}.sqlite`;
      await fs.mkdir(path.join(dir, 'backups'), { recursive: true });
      await fs.copyFile(catalogueOf(dir), path.join(dir, 'backups', old));
      for (let waited = 0; backupsOf(dir).length < 2 && waited < 5000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
      const now = backupsOf(dir);
      assert.equal(now.length, 2);
      assert.equal(now[0], old);
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(backupsOf(dir).length, 2, 'one backup a day, not one per check');
    } finally {
      await service.close();
    }
  });
});

/** A catalogue's version and rows, read without migrating it. */
function openOld(file: string): { version: number; rows: ReturnType<typeof rows> } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return { version: db.pragma('user_version', { simple: true }) as number, rows: rows(db) };
  } finally {
    db.close();
  }
}

describe('stale temporaries of killed processes', () => {
  const children: ChildProcess[] = [];
  after(() => {
    for (const child of children) child.kill('SIGKILL');
  });

  /**
   * A real process in the middle of writing: raster/tiff/atomic-file.ts's temporaries for a scene and a run's tile
   * (the real names), plus a GeoTIFF writer's scratch level (named as geotiff-writer.ts names it); it stays alive.
   */
  async function writer(dir: string): Promise<{ child: ChildProcess; files: string[] }> {
    const script = `
      import fs from 'node:fs';
      import path from 'node:path';
      import { writeFileAtomically } from ${JSON.stringify(path.join(REPO_ROOT, 'native/raster/tiff/atomic-file.ts'))};
      const dir = process.argv[1];
      const writing = [];
      for (const target of [path.join(dir, 'rasters', 's2', 'scene.tif'), path.join(dir, 'runs', '1', 'tiles', 'tile-7.tif')]) {
        writing.push(new Promise((started) => void writeFileAtomically(target, async (file) => {
          await file.write('half a raster');
          started();
          await new Promise(() => {}); // never finishes
        })));
      }
      await Promise.all(writing);
      const temporaries = [path.join(dir, 'rasters', 's2'), path.join(dir, 'runs', '1', 'tiles')]
        .flatMap((folder) => fs.readdirSync(folder).filter((n) => n.includes('.' + process.pid + '-')).map((n) => path.join(folder, n)));
      const level = temporaries[0].replace(/\\.tmp$/, '.level0.tmp');
      fs.writeFileSync(level, 'scratch');
      process.stdout.write(JSON.stringify([...temporaries, level]) + '\\n');
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, dir], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) resolve(out);
      });
      child.once('exit', (code) => reject(new Error(`writer exited ${code}`)));
    });
    const files = JSON.parse(line) as string[];
    assert.equal(files.length, 3, line);
    return { child, files };
  }

  it('opening a project removes those of a process killed with SIGKILL, keeps a live process’s and anything else', async () => {
    const project: Project = createProject(freshDir());
    const dir = project.dir;
    project.close();
    await fs.mkdir(path.join(dir, 'rasters', 's2'), { recursive: true });
    await fs.mkdir(path.join(dir, 'runs', '1', 'tiles'), { recursive: true });
    const live = await writer(dir);
    const killed = await writer(dir);
    const exited = new Promise((resolve) => killed.child.once('exit', resolve));
    killed.child.kill('SIGKILL');
    await exited;
    const deadPid = killed.child.pid!;
    // Not temporaries of the project's writers, or not named with a PID: never removed.
    const others = [
      path.join(dir, 'rasters', 's2', 'scene.tif'),
      path.join(dir, 'rasters', 's2', `.scene.tif.${deadPid}.tmp`),
      path.join(dir, 'rasters', '.notes.tmp'),
      path.join(dir, 'runs', '1', 'tiles', `tile-7.tif.${deadPid}-ffee0011.tmp`),
      path.join(dir, 'runs', '1', `.result.tif.tiles-${deadPid}`),
    ];
    for (const file of others) await fs.writeFile(file, 'keep');
    for (const file of [...live.files, ...killed.files]) assert.ok(existsSync(file), file);

    openProject(dir).close();
    for (const file of killed.files) assert.equal(existsSync(file), false, `${file} should be swept`);
    for (const file of [...live.files, ...others]) assert.ok(existsSync(file), `${file} should be kept`);
  });
});

describe('the catalogue and the API agree on run statuses', () => {
  // The schema's CHECK list is migration history (old catalogues hold it as written), so it cannot be built from
  // RUN_STATUSES: this keeps the two from drifting apart.
  it('a run can be stored with every status the API names, and with no other', () => {
    const dir = freshDir();
    createProject(dir).close();
    const db = new Database(path.join(dir, CATALOGUE_FILE));
    db.pragma('foreign_keys = OFF'); // only the status is under test: no scenes or masks needed
    try {
      const insert = db.prepare(`INSERT INTO runs (target_scene_id, mask_id, parameters, status, created_at) VALUES (1, 1, '{}', ?, '2026-01-01')`);
      for (const status of RUN_STATUSES) assert.doesNotThrow(() => insert.run(status), status);
      assert.throws(() => insert.run('paused'), /CHECK constraint failed/);
    } finally {
      db.close();
    }
  });
});
