/**
 * One owner per run, with several processes on one project: real `clearsky` processes, a real SQLite catalogue
 * and crops of the real T33UUU scene. Each process works only the runs whose lease it holds; the others may
 * list, cancel and queue; a run whose owner was killed is taken over by `clearsky resume`.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { ApiEvent, RunRecord } from '../../../native/api/contract.ts';
import type { Project } from '../../../native/catalogue/project.ts';
import { STALE_AFTER_MS, isStale, newOwnerId } from '../../../native/jobs/lease.ts';
import { Service } from '../../../native/project/service.ts';
import { runClearsky, type CommandResult } from '../../helpers/cli.ts';
import { REPO_ROOT } from '../../helpers/data.ts';
import { projectWithScene } from '../../helpers/run-project.ts';

let dir: string;
before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-lease-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** `clearsky run` on the small project, 64-px tiles, one worker. */
function runArgs(project: Project, ids: { sceneId: number; maskId: number }, extra: string[]): string[] {
  return ['run', project.dir, '--target', String(ids.sceneId), '--mask', String(ids.maskId), '--bands', 'B04,B03,B02', '--tile', '64', '--overlap', '16', '--workers', '1', ...extra];
}

/** A `clearsky` process left running in the background; `exited` has its code and output. */
function startClearsky(args: string[]): { pid: number; kill: (signal: NodeJS.Signals) => void; exited: Promise<CommandResult> } {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/clearsky.js'), ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<CommandResult>((resolve) => child.once('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr })));
  return { pid: child.pid!, kill: (signal) => child.kill(signal), exited };
}

/** Waits for a condition on the catalogue (polled); a deadline turns a hang into a failure, not a slow pass. */
async function until(condition: () => boolean, what: string, deadlineMs = 240_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!condition()) {
    assert.ok(Date.now() < deadline, `timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The process's exit, or a failure (and the process killed) if it never comes. */
async function exitOf(process: ReturnType<typeof startClearsky>, what: string, deadlineMs = 240_000): Promise<CommandResult> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      process.kill('SIGKILL');
      reject(new Error(`${what} did not exit`));
    }, deadlineMs);
  });
  try {
    return await Promise.race([process.exited, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

const tileRows = (project: Project, runId: number) =>
  project.db.prepare('SELECT idx, status, attempts, result_file, updated_at FROM tiles WHERE run_id = ? ORDER BY idx').all(runId) as { idx: number; status: string; attempts: number; result_file: string | null; updated_at: string }[];
const runRow = (project: Project, runId: number) =>
  project.db.prepare('SELECT status, owner FROM runs WHERE id = ?').get(runId) as { status: string; owner: string | null } | undefined;
const hasRunningTile = (project: Project, runId: number) => tileRows(project, runId).some((t) => t.status === 'running');

test('two `clearsky run` at once on one project: each works its own run, neither resets the other’s tiles or deletes its temporary files', async () => {
  const { project, sceneId, maskId } = await projectWithScene(path.join(dir, 'two'));
  try {
    const first = startClearsky(runArgs(project, { sceneId, maskId }, ['--method', 'dip', '--steps', '60']));
    await until(() => hasRunningTile(project, 1), 'the first run has a tile running');
    // What a worker of the first process leaves while it writes a tile result: its temporary file.
    const temporary = path.join(project.dir, 'runs', '1', 'tiles', '.tile-probe.tif.1-0.tmp');
    await fs.mkdir(path.dirname(temporary), { recursive: true });
    await fs.writeFile(temporary, '');

    const second = await runClearsky(runArgs(project, { sceneId, maskId }, ['--method', 'idw-fill']), dir);
    assert.ok(existsSync(temporary), 'the first process’s temporary file is still there');
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /^2\s+done\b/m);
    assert.doesNotMatch(second.stderr, /\brun 1\b/, 'the second process did not work the first one’s run');

    const done = await exitOf(first, 'the first `clearsky run`');
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, /^1\s+done\b/m);
    assert.doesNotMatch(done.stderr, /\brun 2\b/, 'the first process did not work the second one’s run');
    for (const runId of [1, 2]) {
      const tiles = tileRows(project, runId);
      assert.ok(tiles.some((t) => t.status === 'done') && tiles.every((t) => t.status === 'done' || t.status === 'clear'), `run ${runId}: ${JSON.stringify(tiles)}`);
      assert.ok(tiles.filter((t) => t.status === 'done').every((t) => t.attempts === 1), `run ${runId}: every tile computed once`);
    }
  } finally {
    project.close();
  }
});

test('kill -9 of a run’s owner: `clearsky resume` takes the run over and finishes it, and leaves alone a run a live process holds', async () => {
  const { project, sceneId, maskId } = await projectWithScene(path.join(dir, 'killed'));
  // Run 1 is queued, then held by this test process, alive and beating as a runner does.
  const queued = await runClearsky(runArgs(project, { sceneId, maskId }, ['--method', 'idw-fill', '--detach']), dir);
  assert.equal(queued.code, 0, queued.stderr);
  const live = newOwnerId();
  const hold = project.db.prepare('UPDATE runs SET owner = ?, heartbeat_at = ? WHERE id = 1');
  hold.run(live, new Date().toISOString());
  const beat = setInterval(() => hold.run(live, new Date().toISOString()), 1000);
  try {
    const owner = startClearsky(runArgs(project, { sceneId, maskId }, ['--method', 'dip', '--steps', '30']));
    const done = () => tileRows(project, 2).filter((t) => t.status === 'done');
    await until(() => done().length >= 1, 'a tile of run 2 is done');
    owner.kill('SIGKILL');
    await owner.exited;
    const before = new Map<number, number>();
    for (const t of done()) before.set(t.idx, (await fs.stat(project.resolve(t.result_file!))).mtimeMs);
    const cloudy = tileRows(project, 2).filter((t) => t.status !== 'clear').length;
    assert.ok(before.size < cloudy, `killed with work left (${before.size} of ${cloudy} tiles done)`);
    assert.equal(runRow(project, 1)?.status, 'queued', 'the killed process left run 1 alone');

    const listed = await runClearsky(['runs', project.dir], dir);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`^1 .*\\[worked by pid ${process.pid} on ${os.hostname()}\\]`, 'm'));
    assert.match(listed.stdout, new RegExp(`^2 .*\\[was worked by pid ${owner.pid} on ${os.hostname()}, which stopped: clearsky resume takes it over\\]`, 'm'));

    const resumed = await runClearsky(['resume', project.dir, '--json'], dir);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`run 1: left alone, worked by pid ${process.pid} on ${os.hostname()}`));
    const records = JSON.parse(resumed.stdout.trim().split('\n').at(-1)!) as RunRecord[];
    assert.deepEqual(records.map((r) => [r.id, r.status, r.tiles.done]), [[2, 'done', cloudy]]);
    for (const [idx, mtime] of before) {
      const tile = tileRows(project, 2).find((t) => t.idx === idx)!;
      assert.equal(tile.attempts, 1, `tile ${idx} finished before the kill was not run again`);
      assert.equal((await fs.stat(project.resolve(tile.result_file!))).mtimeMs, mtime);
    }
    assert.deepEqual(runRow(project, 1), { status: 'queued', owner: live }, 'the live process’s run is untouched');
    assert.equal(tileRows(project, 1).length, 0);
  } finally {
    clearInterval(beat);
    project.close();
  }
});

test('`clearsky cancel` from a second process: the owner’s `clearsky run` stops and exits 3 with one line', async () => {
  const { project, sceneId, maskId } = await projectWithScene(path.join(dir, 'cancel'));
  try {
    const owner = startClearsky(runArgs(project, { sceneId, maskId }, ['--method', 'dip', '--steps', '2000']));
    await until(() => hasRunningTile(project, 1), 'the run has a tile running');
    const cancel = await runClearsky(['cancel', project.dir, '1'], dir);
    assert.equal(cancel.code, 0, cancel.stderr);
    const result = await exitOf(owner, '`clearsky run` of a cancelled run');
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /^clearsky: run 1 was cancelled from another process \(clearsky cancel or the app\); its finished tiles are kept$/m);
    assert.match(result.stdout, /^1\s+cancelled\b/m);
    assert.equal(runRow(project, 1)?.status, 'cancelled');
    assert.ok(!hasRunningTile(project, 1));
  } finally {
    project.close();
  }
});

test('a process whose lease was taken stops working the run: it writes nothing more to its tiles or its folder, and exits 3', async () => {
  const { project, sceneId, maskId } = await projectWithScene(path.join(dir, 'stolen'));
  let beat: NodeJS.Timeout | undefined;
  try {
    const owner = startClearsky(runArgs(project, { sceneId, maskId }, ['--method', 'dip', '--steps', '2000']));
    await until(() => hasRunningTile(project, 1), 'the run has a tile running');
    const tiles = tileRows(project, 1);
    const folder = path.join(project.dir, 'runs', '1');
    const files = await fs.readdir(folder, { recursive: true });
    // Another process (on another machine, beating) takes the lease.
    const steal = project.db.prepare(`UPDATE runs SET owner = 'elsewhere.example:4242:0badf00d', heartbeat_at = ? WHERE id = 1`);
    steal.run(new Date().toISOString());
    beat = setInterval(() => steal.run(new Date().toISOString()), 1000);

    const result = await exitOf(owner, '`clearsky run` of a run taken over');
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /^clearsky: run 1 was taken over by another process \(worked by pid 4242 on elsewhere\.example\); it goes on there, not here$/m);
    assert.deepEqual(tileRows(project, 1), tiles, 'no tile changed after the lease was taken');
    assert.deepEqual(runRow(project, 1), { status: 'running', owner: 'elsewhere.example:4242:0badf00d' });
    assert.deepEqual((await fs.readdir(folder, { recursive: true })).sort(), files.sort(), 'no file written in the run’s folder');
  } finally {
    clearInterval(beat);
    project.close();
  }
});

test('a service open beside `clearsky run` watches that run without working it, and takes a run queued with --detach', async () => {
  const { project, sceneId, maskId } = await projectWithScene(path.join(dir, 'watch'));
  const service = Service.open(project.dir, { workers: 1 });
  const events: ApiEvent[] = [];
  service.subscribe((event) => events.push(event));
  try {
    // A network run lasts several of the service's one-second beats: it is seen while the other process holds it.
    const other = await runClearsky(runArgs(project, { sceneId, maskId }, ['--method', 'dip', '--steps', '30']), dir);
    assert.equal(other.code, 0, other.stderr);
    const ofRun = (runId: number) => events.filter((e) => (e.type === 'run' ? e.run.id : e.type === 'task' ? null : e.runId) === runId);
    await until(() => ofRun(1).some((e) => e.type === 'run' && e.run.status === 'done'), 'the service says run 1 is done');
    assert.ok(ofRun(1).every((e) => e.type === 'run'), 'only run events for run 1: the service computed none of its tiles');
    assert.ok(ofRun(1).some((e) => e.type === 'run' && e.run.status !== 'done' && e.run.lease !== null), 'run 1 was seen while the other process held it');

    // A run another process starts and finishes between two beats (here: while this process, the service's, is
    // blocked) was never active for the service to see: it still hears that the run ended.
    const quick = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin/clearsky.js'), ...runArgs(project, { sceneId, maskId }, ['--method', 'idw-fill'])], { cwd: dir, encoding: 'utf8' });
    assert.equal(quick.status, 0, quick.stderr);
    await until(() => ofRun(2).some((e) => e.type === 'run' && e.run.status === 'done'), 'the service says run 2 is done', 10_000);
    assert.ok(ofRun(2).every((e) => e.type === 'run'), 'only run events for run 2: the service computed none of its tiles');

    const queued = await runClearsky(runArgs(project, { sceneId, maskId }, ['--method', 'idw-fill', '--detach']), dir);
    assert.equal(queued.code, 0, queued.stderr);
    await until(() => ofRun(3).some((e) => e.type === 'run' && e.run.status === 'done'), 'the service finishes run 3');
    assert.ok(ofRun(3).some((e) => e.type === 'tile' && e.tile.status === 'done'), 'the service computed run 3’s tiles');
  } finally {
    await service.close();
    project.close();
  }
});

test('a lease is stale when free, at once when its owner’s process on this machine is gone, else after STALE_AFTER_MS without a heartbeat', async () => {
  const now = Date.parse('2026-01-01T12:00:00.000Z');
  const ago = (ms: number) => new Date(now - ms).toISOString();
  assert.equal(isStale(null, null, now), true);
  const alive = newOwnerId();
  assert.equal(isStale(alive, ago(0), now), false);
  assert.equal(isStale(alive, ago(STALE_AFTER_MS + 1000), now), true, 'alive but silent: frozen, or its PID reused');
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => child.once('exit', r));
  assert.equal(isStale(`${os.hostname()}:${child.pid}:00000000`, ago(0), now), true, 'a killed owner on this machine');
  assert.equal(isStale(`elsewhere.example:${child.pid}:00000000`, ago(STALE_AFTER_MS - 1000), now), false, 'another machine’s owner, beating');
  assert.equal(isStale(`elsewhere.example:${child.pid}:00000000`, ago(STALE_AFTER_MS + 1000), now), true);
});
