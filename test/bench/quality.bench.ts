/**
 * `npm run bench:quality`: the quality protocol on the real Slovenia data, Clearsky beside PyTorch.
 *
 * Target 20150909 (B04,B03,B02), real s2cloudless masks pasted onto it, 4000 steps, Basic and MT, both
 * engines on the same masks at the same time (one core each), plus the baselines. Rows are appended to a
 * JSON-lines file as each mask finishes, and masks already in the file are skipped: a long run can be
 * stopped and resumed.
 *
 * The prescribed reference is the mean of 20150711 and 20150830. In the data as shipped, 20150711 is fully
 * cloudy (and 20150820 clear, the opposite of what its README and the s2cloudless masks say), so MT is also
 * run with the mean of 20150820 and 20150830 ("mt/clear-ref") to show what a clear reference gives.
 *
 * Environment: QUALITY_MASKS (default 14,19,21,35,37,41,48,50,51), QUALITY_STEPS (4000), QUALITY_SEED (0; a
 * list such as 0,1,2 runs each seed, to see the run-to-run spread), QUALITY_MODES (basic,mt),
 * QUALITY_OUT (.tmp/quality.jsonl), QUALITY_BACKEND (auto), QUALITY_CLEAR_REF (1; 0 skips the clear-reference MT run).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { formatEvalTable, type EvalRow } from '../../native/commands/eval.ts';
import { REPO_ROOT, dataFile } from '../helpers/data.ts';

const run = promisify(execFile);
const masks = (process.env.QUALITY_MASKS ?? '14,19,21,35,37,41,48,50,51').split(',').map(Number);
const steps = process.env.QUALITY_STEPS ?? '4000';
const seed = process.env.QUALITY_SEED ?? '0';
const modes = process.env.QUALITY_MODES ?? 'basic,mt';
const backend = process.env.QUALITY_BACKEND ?? 'auto';
const outFile = path.resolve(REPO_ROOT, process.env.QUALITY_OUT ?? '.tmp/quality.jsonl');
const slovenia = (date: string) => dataFile('slovenia-2015', `S2L1C_${date}.tif`);
const withClearRef = process.env.QUALITY_CLEAR_REF !== '0';
const oneCore = { ...process.env, OMP_NUM_THREADS: '1', OMP_WAIT_POLICY: 'PASSIVE' };

type Row = EvalRow & { engine: string };

async function clearsky(mask: number, modes: string, refs: string[], label: (method: string) => string): Promise<Row[]> {
  const args = ['eval', '--target', slovenia('20150909'), '--masks', dataFile('slovenia-2015', 'cloudmasks_s2cloudless_2015-2017.tif'),
    '--mask-bands', String(mask), ...refs.flatMap((r) => ['--reference', slovenia(r)]), '--bands', 'B04,B03,B02',
    '--modes', modes, '--steps', steps, '--seeds', seed, '--backend', backend, '--json'];
  const { stdout } = await run(process.execPath, [path.join(REPO_ROOT, 'bin/clearsky.js'), ...args], { env: oneCore, maxBuffer: 1 << 26 });
  return (JSON.parse(stdout.trim().split('\n').at(-1)!) as EvalRow[]).map((r) => ({ ...r, method: label(r.method), engine: 'clearsky' }));
}

async function pytorch(mask: number): Promise<Row[]> {
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const { stdout } = await run(python, [path.join(REPO_ROOT, 'test/bench/torch_dip.py'), 'eval', '--steps', steps, '--seeds', seed,
    '--modes', modes, '--mask-bands', String(mask), '--threads', '1', '--json'], { env: oneCore, maxBuffer: 1 << 26 });
  return (JSON.parse(stdout.trim().split('\n').at(-1)!) as EvalRow[]).map((r) => ({ ...r, method: `pytorch ${r.method}`, engine: 'pytorch' }));
}

await fs.mkdir(path.dirname(outFile), { recursive: true });
const done = existsSync(outFile) ? (await fs.readFile(outFile, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Row) : [];
for (const mask of masks) {
  if (done.some((r) => r.mask === mask)) continue;
  const start = performance.now();
  const [ours, theirs] = await Promise.all([
    clearsky(mask, modes, ['20150711', '20150830'], (m) => m),
    pytorch(mask),
  ]);
  const clearRef = !withClearRef ? [] : await clearsky(mask, 'mt', ['20150820', '20150830'], (m) => (m === 'idw-fill' ? '' : `${m}/clear-ref`));
  const rows = [...ours, ...theirs, ...clearRef.filter((r) => r.method !== '')];
  await fs.appendFile(outFile, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  done.push(...rows);
  console.error(`mask ${mask} done in ${((performance.now() - start) / 60000).toFixed(1)} min`);
}
console.log(formatEvalTable(done.filter((r) => masks.includes(r.mask))));
