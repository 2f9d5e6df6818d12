/**
 * Runs sent to a queue (issue 15, the owner's side): the project's queue setting and its redaction, and then,
 * with a real redis-server and real `clearsky worker` processes, `clearsky inpaint --queue` and project runs
 * whose tiles are computed by the workers, checked pixel for pixel against the same run on this computer.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { openProject } from '../../native/catalogue/project.ts';
import { projectRunKey, projectUid } from '../../native/jobs/queue/project-queue.ts';
import { Service } from '../../native/service.ts';
import { runClearsky } from '../helpers/cli.ts';
import { projectWithScene } from '../helpers/run-project.ts';

const PASSWORD = 'hunter2-not-to-be-shown';
let dir: string;

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-queue-runs-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

test('the project keeps its queue URL; the API, the run list and every refusal show it only with the password hidden', async () => {
  const folder = path.join(dir, 'settings');
  const { project, sceneId, maskId } = await projectWithScene(folder);
  project.close();
  const service = Service.open(folder, { jobs: false });
  try {
    assert.equal((await service.project()).queue, null);
    await assert.rejects(service.startRun({ targetSceneId: sceneId, maskId, queue: true }), /the project has none set/, 'a run for the queue needs a queue');
    const info = await service.setQueue({ url: `redis://bob:${PASSWORD}@10.0.0.5:6379/2` });
    assert.equal(info.queue, 'redis://bob:***@10.0.0.5:6379/2');
    const run = await service.startRun({ targetSceneId: sceneId, maskId, queue: true });
    assert.equal(run.request.queue, true);
    const refused = await service.setQueue({ url: `http://bob:${PASSWORD}@10.0.0.5` }).then(() => null, (error: Error) => error.message);
    assert.match(refused ?? '', /^the project’s queue URL: the scheme must be redis or rediss .*got 'http:\/\/\*\*\*@10\.0\.0\.5'\)$/);
    assert.doesNotMatch(refused!, new RegExp(PASSWORD));
    assert.equal((await service.project()).queue, 'redis://bob:***@10.0.0.5:6379/2', 'a refused URL leaves the setting as it was');
    const shown = JSON.stringify([await service.project(), await service.listRuns(), await service.getRun(run.id)]);
    assert.doesNotMatch(shown, new RegExp(PASSWORD));
  } finally {
    await service.close();
  }
  const runs = await runClearsky(['runs', folder, '--json'], dir);
  assert.equal(runs.code, 0, runs.stderr);
  assert.doesNotMatch(runs.stdout + runs.stderr, new RegExp(PASSWORD));
  const bad = await runClearsky(['resume', folder, '--queue', `redis://bob:${PASSWORD}@`], dir);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /^clearsky: --queue: .*got 'redis:\/\/\*\*\*@'\)\n/);
  assert.doesNotMatch(bad.stdout + bad.stderr, new RegExp(PASSWORD));
  const toRedis = await runClearsky(['inpaint', '--target', 'x.tif', '--mask', 'm.tif', '--mode', 'basic', '--out', path.join(dir, 'o.tif'), '--queue', `ftp://bob:${PASSWORD}@host`], dir);
  assert.equal(toRedis.code, 2);
  assert.match(toRedis.stderr, /^clearsky: --queue: the scheme must be redis or rediss .*got 'ftp:\/\/\*\*\*@host'\)\n/);
});

test('a project run is named on the queue by an id the project keeps for life, so an owner that restarts finds its tiles', async () => {
  const first = (await projectWithScene(path.join(dir, 'uid-a'))).project;
  const second = (await projectWithScene(path.join(dir, 'uid-b'))).project;
  const key = projectRunKey(first.db, 7);
  assert.match(key, /^[0-9a-f]{16}:7$/);
  assert.notEqual(projectUid(first.db), projectUid(second.db));
  first.close();
  second.close();
  const reopened = openProject(path.join(dir, 'uid-a'));
  try {
    assert.equal(projectRunKey(reopened.db, 7), key);
  } finally {
    reopened.close();
  }
});
