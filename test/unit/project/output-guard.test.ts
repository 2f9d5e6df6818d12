/**
 * Outputs never land on the user's data: every writing command, run as a real `clearsky` child process on
 * copies of the real data and real projects, refuses an output that is one of its inputs (also through a
 * symlink or a hard link), another of its outputs, a project's catalogue, rasters or runs, or not a regular
 * file — exit 2, one line naming both paths, and not one byte changed or added. The API's export too.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { InputError } from '../../../native/errors.ts';
import { writeFileAtomically } from '../../../native/raster/tiff/atomic-file.ts';
import { findStaleTemporaries } from '../../../native/raster/tiff/temporaries.ts';
import { Service } from '../../../native/project/service.ts';
import { runClearsky } from '../../helpers/cli.ts';
import { REPO_ROOT, dataFile } from '../../helpers/data.ts';

let dir: string;
const file = (name: string) => path.join(dir, name);
const clearsky = (args: string[]) => runClearsky(args, dir);

// Copies, so that a guard that fails cannot harm the shared data; made writable, as a user's files are.
const COPIES: Record<string, string> = {
  'target.tif': dataFile('slovenia-2015', 'S2L1C_20150909.tif'),
  'masks.tif': dataFile('slovenia-2015', 'cloudmasks_s2cloudless_2015-2017.tif'),
  'ref.tif': dataFile('slovenia-2015', 'S2L1C_20150830.tif'),
  'scot.tif': dataFile('scotland-2020', 'S2L2A_mean_2019_B04B03B02.tif'),
  'scot-mask.tif': dataFile('scotland-2020', 'cloudmask.tif'),
  'scot-s1.tif': dataFile('scotland-2020', 'S1_GRD_sigma0_linear.tif'),
};
const INPAINT = ['inpaint', '--target', 'target.tif', '--mask', 'masks.tif', '--mask-band', '19', '--method', 'idw-fill'];

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-outputs-'));
  for (const [name, from] of Object.entries(COPIES)) {
    await fs.copyFile(from, file(name));
    await fs.chmod(file(name), 0o644);
  }
  // A project with an imported scene and a finished run's result (the fast baseline), and a second project.
  for (const args of [['project', 'create', 'proj'], ['project', 'import', 'proj', 'target.tif', 'masks.tif'], ['project', 'create', 'other'],
    ['run', 'proj', '--target', '1', '--mask', '19', '--method', 'idw-fill', '--workers', '1']]) {
    const r = await clearsky(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  }
  await fs.symlink('target.tif', file('target-symlink.tif'));
  await fs.link(file('target.tif'), file('target-hardlink.tif'));
  assert.equal(spawnSync('mkfifo', [file('pipe.tif')]).status, 0, 'mkfifo');
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** Every entry under the test folder: its kind, and a regular file's bytes' hash. */
async function snapshot(): Promise<Map<string, string>> {
  const entries = new Map<string, string>();
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await fs.readdir(folder, { withFileTypes: true })) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) {
        entries.set(full, 'folder');
        await walk(full);
      } else if (entry.isFile()) entries.set(full, createHash('sha256').update(await fs.readFile(full)).digest('hex'));
      else entries.set(full, entry.isSymbolicLink() ? `link to ${await fs.readlink(full)}` : 'other');
    }
  };
  await walk(dir);
  return entries;
}

/** The command exits 2 with one line naming both paths, and nothing under the folder changed or appeared. */
async function assertRefused(args: string[], named: string[], problem: RegExp): Promise<void> {
  const before = await snapshot();
  const r = await clearsky(args);
  assert.equal(r.code, 2, `${args.join(' ')} should be refused; stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, not: ${r.stderr}`);
  for (const name of named) assert.ok(lines[0].includes(name), `the message names ${name}: ${lines[0]}`);
  assert.match(lines[0], problem);
  assert.deepEqual(await snapshot(), before, 'nothing written, nothing changed');
}

const SAME = /is the same file as/;

test('inpaint refuses --out on its target, mask, reference or SAR', async () => {
  await assertRefused([...INPAINT, '--out', 'target.tif'], ['target.tif', '--out', '--target'], SAME);
  await assertRefused([...INPAINT, '--out', 'masks.tif'], ['masks.tif', '--mask'], SAME);
  await assertRefused([...INPAINT, '--reference', 'ref.tif', '--out', 'ref.tif'], ['ref.tif', '--reference'], SAME);
  await assertRefused(['inpaint', '--target', 'scot.tif', '--mask', 'scot-mask.tif', '--sar', 'scot-s1.tif', '--sar-bands', '2,1', '--method', 'idw-fill', '--out', 'scot-s1.tif'],
    ['scot-s1.tif', '--sar'], SAME);
});

test('inpaint refuses --out through a symlink or a hard link to the target', async () => {
  await assertRefused([...INPAINT, '--out', 'target-symlink.tif'], ['target-symlink.tif', 'target.tif'], SAME);
  await assertRefused([...INPAINT, '--out', 'target-hardlink.tif'], ['target-hardlink.tif', 'target.tif'], SAME);
  // The input reached by another spelling of its path (folder/../) is the same file too.
  await assertRefused([...INPAINT, '--out', `proj/../target.tif`], ['proj/../target.tif', 'target.tif'], SAME);
});

test('inpaint refuses two outputs on one file', async () => {
  await assertRefused([...INPAINT, '--mask-out', 'both.tif', '--out', 'both.tif'], ['both.tif', '--mask-out', '--out'], SAME);
  await assertRefused(['inpaint', '--target', 'target.tif', '--mask', 'masks.tif', '--mask-band', '19', '--mode', 'basic', '--steps', '1', '--seeds', '0,1',
    '--bands', 'B04', '--uncertainty', 'both.tif', '--out', 'both.tif'], ['both.tif', '--uncertainty', '--out'], SAME);
});

test('inpaint refuses a FIFO, a folder, and a project catalogue or raster as --out', async () => {
  await assertRefused([...INPAINT, '--out', 'pipe.tif'], ['pipe.tif'], /FIFO/);
  await assertRefused([...INPAINT, '--out', 'proj/runs'], ['proj/runs'], /folder/);
  // A device, reached through a symlink so that a broken guard could only replace the link, never /dev/null.
  await fs.symlink('/dev/null', file('device.tif'));
  await assertRefused([...INPAINT, '--out', 'device.tif'], ['device.tif'], /a device/);
  const socket = net.createServer().listen(file('socket.tif'));
  await once(socket, 'listening');
  try {
    await assertRefused([...INPAINT, '--out', 'socket.tif'], ['socket.tif'], /a socket/);
  } finally {
    socket.close();
  }
  // Any project, found by its catalogue: 'other' is not the one the command has anything to do with.
  await assertRefused([...INPAINT, '--out', 'other/project.sqlite'], ['other/project.sqlite', path.join(dir, 'other')], /inside the Clearsky project/);
  await assertRefused([...INPAINT, '--out', 'proj/rasters/s2/S2L1C_20150909.tif'], ['proj/rasters/s2/S2L1C_20150909.tif', path.join(dir, 'proj')], /rasters\//);
  await assertRefused([...INPAINT, '--out', 'proj/runs/1/new.tif'], ['proj/runs/1/new.tif', path.join(dir, 'proj')], /runs\//);
});

test('reference and mask refuse outputs on their inputs, also through links', async () => {
  await assertRefused(['reference', '--out', 'target-hardlink.tif', 'target.tif', 'ref.tif'], ['target-hardlink.tif', 'target.tif'], SAME);
  await assertRefused(['reference', '--dynamic', '--date', '2015-09-30', '--out', 'r.tif', '--age', 'target-symlink.tif', 'target.tif', 'ref.tif'], ['target-symlink.tif', '--age'], SAME);
  await assertRefused(['mask', '--from', 'masks.tif', '--band', '19', '--like', 'target.tif', '--out', 'target-symlink.tif'], ['target-symlink.tif', '--like'], SAME);
  await assertRefused(['mask', '--from', 'masks.tif', '--band', '19', '--out', 'proj/project.sqlite'], ['proj/project.sqlite', path.join(dir, 'proj')], /catalogue/);
});

test('export refuses the project catalogue, the result itself and any file of the open project', async () => {
  await assertRefused(['export', 'proj', '1', 'proj/project.sqlite'], ['proj/project.sqlite', path.join(dir, 'proj')], /project/);
  await assertRefused(['export', 'proj', '1', 'proj/runs/1/result.tif'], ['proj/runs/1/result.tif', 'result 1'], /same file as result 1/);
  await assertRefused(['export', 'proj', '1', 'proj/elsewhere.tif'], ['proj/elsewhere.tif', path.join(dir, 'proj')], /open project/);
  await assertRefused(['export', 'proj', '1', 'pipe.tif'], ['pipe.tif'], /FIFO/);
  const r = await clearsky(['export', 'proj', '1', 'exported/result.tif']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok((await fs.stat(file('exported/result.tif'))).size > 0);
});

test('exportResult through the API refuses an imported scene of the project and another project\'s rasters', async () => {
  const before = await snapshot();
  const service = Service.open(file('proj'), { jobs: false });
  try {
    const scene = file('proj/rasters/s2/S2L1C_20150909.tif');
    await assert.rejects(service.exportResult({ resultId: 1, destination: scene }), (error: Error) => {
      assert.ok(error instanceof InputError);
      assert.ok(error.message.includes(scene) && error.message.includes(file('proj')), error.message);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
    await assert.rejects(service.exportResult({ resultId: 1, destination: file('other/rasters/x.tif') }), /inside the Clearsky project .*other/);
  } finally {
    await service.close();
  }
  const after = await snapshot();
  for (const [name, hash] of before) if (!/project\.sqlite-(wal|shm)$/.test(name)) assert.equal(after.get(name), hash, name);
  assert.deepEqual([...after.keys()].filter((name) => !before.has(name) && !/project\.sqlite-(wal|shm)$/.test(name)), []);
});

test('the atomic writer never renames over a FIFO (defence behind the commands\' checks)', async () => {
  await assert.rejects(writeFileAtomically(file('pipe.tif'), async (handle) => {
    await handle.writeFile('x');
  }), (error: Error) => error instanceof InputError && /not a regular file/.test(error.message));
  assert.ok((await fs.lstat(file('pipe.tif'))).isFIFO());
  assert.deepEqual((await fs.readdir(dir)).filter((name) => name.endsWith('.tmp')), []);
});

test('flag errors are one readable line naming the flag; zero steps are refused', async () => {
  for (const [args, expected] of [
    [['run', 'proj', '--target', '1', '--mask', '19', '--tile', '32', '--detach'], /^clearsky: --tile must be at least 64$/],
    [['run', 'proj', '--target', '1', '--mask', '19', '--steps', '0', '--detach'], /^clearsky: --steps must be at least 1$/],
    [['inpaint', '--target', 'target.tif', '--mask', 'masks.tif', '--mask-band', '19', '--mode', 'basic', '--steps', '0', '--out', 'zero.tif'], /^clearsky: --steps must be at least 1, not 0$/],
    [['eval', '--target', 'target.tif', '--masks', 'masks.tif', '--mask-bands', '19', '--modes', 'basic', '--steps', '0'], /^clearsky: --steps must be at least 1, not 0$/],
  ] as const) {
    const r = await clearsky([...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr.trim(), expected);
  }
  await assert.rejects(fs.stat(file('zero.tif')), { code: 'ENOENT' });
  const runs = await clearsky(['runs', 'proj', '--json']);
  assert.equal(JSON.parse(runs.stdout).length, 1, 'no run was queued');
});

test('temporaries left beside an output by a killed process are swept; a live process\'s are kept', async () => {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const dead = Number(child.stdout);
  const live = process.pid;
  const folder = file('sweep');
  await fs.mkdir(folder);
  const names = (pid: number) => [`.o.tif.${pid}-0123abcd.tmp`, `.o.tif.${pid}-0123abcd.level0.tmp`, `.o.tif.tiles-${pid}-aB3dE9`];
  for (const pid of [dead, live]) {
    const [tmp, level, tiles] = names(pid);
    await fs.writeFile(path.join(folder, tmp), 'partial');
    await fs.writeFile(path.join(folder, level), 'partial');
    await fs.mkdir(path.join(folder, tiles));
    await fs.writeFile(path.join(folder, tiles, 'tile-0.tif'), 'tile');
  }
  await fs.writeFile(path.join(folder, '.unrelated.tmp'), 'not ours');
  assert.deepEqual(findStaleTemporaries(folder).sort(), names(dead).map((name) => path.join(folder, name)).sort());

  const r = await clearsky([...INPAINT, '--out', 'sweep/o.tif']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((await fs.readdir(folder)).sort(), ['.unrelated.tmp', ...names(live), 'o.tif'].sort());
});

test('the tile folder of an inpaint killed with kill -9 is swept by the next command writing beside it', async () => {
  const folder = file('killed');
  await fs.mkdir(folder);
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/clearsky.js'), 'inpaint', '--target', 'target.tif', '--mask', 'masks.tif', '--mask-band', '19',
    '--mode', 'basic', '--steps', '100000', '--bands', 'B04', '--out', 'killed/o.tif'], { cwd: dir, stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let left: string[] = [];
  while (left.length === 0 && child.exitCode === null) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    left = (await fs.readdir(folder)).filter((name) => name.startsWith('.o.tif.tiles-'));
  }
  child.kill('SIGKILL');
  await exited;
  assert.deepEqual(left, [`.o.tif.tiles-${child.pid}-${left[0]?.slice(-6)}`], 'the tile folder names its process');
  assert.deepEqual((await fs.readdir(folder)).filter((name) => name.startsWith('.')), left, 'kill -9 left it behind');

  const r = await clearsky([...INPAINT, '--out', 'killed/p.tif']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await fs.readdir(folder), ['p.tif']);
});
