/**
 * `clearsky run` turns its flags into the API's RunRequest and lets the contract's schema check it: a bad
 * value of each kind is refused with status 2 and one line naming the flag, before anything is queued; a
 * good request is queued as given. Real `clearsky` child processes on a real project.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { MODES, type RunRecord } from '../../../native/api/contract.ts';
import { runClearsky } from '../../helpers/cli.ts';
import { projectWithScene } from '../../helpers/run-project.ts';

let dir: string;
let folder: string;
let base: string[];

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-run-request-'));
  folder = path.join(dir, 'p');
  const { project, sceneId, maskId } = await projectWithScene(folder);
  project.close();
  base = ['run', folder, '--target', String(sceneId), '--mask', String(maskId), '--method', 'idw-fill', '--detach', '--json'];
});

after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

test('a bad value of each kind: exit 2, one line naming the flag and what it takes, nothing queued', { timeout: 300_000 }, async () => {
  const withFlag = (flag: string, value: string) => {
    const args = [...base];
    const at = args.indexOf(flag);
    if (at >= 0) args[at + 1] = value;
    else args.push(flag, value);
    return args;
  };
  const cases: [string[], RegExp][] = [
    [base.filter((_, i) => i !== 2 && i !== 3), /^clearsky: --target is required$/], // missing
    [withFlag('--mask', 'clouds'), /^clearsky: --mask must be a number, not 'clouds'$/], // not a number
    [withFlag('--steps', '2.5'), /^clearsky: --steps must be an integer, not '2\.5'$/], // not a whole number
    [withFlag('--overlap', '300'), /^clearsky: --overlap must be at most 256$/], // out of range
    [withFlag('--target', '0'), /^clearsky: --target must be more than 0$/], // not an id
    [withFlag('--mode', 'stacked'), new RegExp(`^clearsky: --mode: expected one of ${MODES.join(', ')}, not 'stacked'$`)], // not in the list
    [withFlag('--method', 'magic'), /^clearsky: --method: expected one of dip, reference-fit, reference-seamless, idw-fill, not 'magic'$/],
    [withFlag('--backend', 'gpu'), /^clearsky: --backend: expected one of auto, tensorflow, webgpu, native, wasm, cpu, not 'gpu'$/],
    [withFlag('--seeds', '0,x'), /^clearsky: --seeds \(seeds\.1\) must be a number, not 'x'$/], // an item of a list
    [[...base, '--seed=-1'], /^clearsky: --seed \(seeds\.0\) must be at least 0$/], // named as the user wrote it
    [withFlag('--bands', 'B04,NOTABAND9'), /^clearsky: --bands \(bands\.1\) takes at most 8 characters$/],
    [withFlag('--area', '0,0,-5,10'), /^clearsky: --area \(area\.width\) must be more than 0$/], // a field of a window
    [withFlag('--area', '0,0,10'), /^clearsky: --area takes x,y,width,height in pixels of the target$/],
  ];
  const results = await Promise.all(cases.map(([args]) => runClearsky(args, dir)));
  cases.forEach(([args, expected], i) => {
    const r = results[i];
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr.trimEnd(), expected, args.join(' '));
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line: ${r.stderr}`);
  });
  const runs = await runClearsky(['runs', folder, '--json'], dir);
  assert.equal(runs.code, 0, runs.stderr);
  assert.deepEqual(JSON.parse(runs.stdout), [], 'no run was queued');
});

test('a good request is queued as the flags give it (modes as people write them too)', { timeout: 120_000 }, async () => {
  const r = await runClearsky([...base, '--mode', 'MS-MT', '--seeds', '3,1', '--tile', '64', '--overlap', '16', '--area', '0,0,128,64', '--bands', 'B04,B03', '--name', 'flags'], dir);
  assert.equal(r.code, 0, r.stderr);
  const run = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as RunRecord;
  assert.equal(run.status, 'queued');
  assert.equal(run.name, 'flags');
  assert.deepEqual(
    { method: run.request.method, mode: run.request.mode, seeds: run.request.seeds, tileSize: run.request.tileSize, overlap: run.request.overlap, area: run.request.area, bands: run.request.bands, steps: run.request.steps, stitch: run.request.stitch },
    { method: 'idw-fill', mode: 'msmt', seeds: [3, 1], tileSize: 64, overlap: 16, area: { x: 0, y: 0, width: 128, height: 64 }, bands: ['B04', 'B03'], steps: 4000, stitch: true },
  );
});
