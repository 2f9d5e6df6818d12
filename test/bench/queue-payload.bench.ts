/**
 * What one queued tile costs in Redis (README, "Scale-out"): the job data of a 256² tile of all 13 bands with a
 * reference and SAR, and its result (one seed, and four seeds with their spread bands), as JSON bytes.
 * Real data: the Nigeria SEN12MS-CR scene (13 bands, SAR); its own bands stand in for the reference.
 *   node --import tsx test/bench/queue-payload.bench.ts
 */
import { performance } from 'node:perf_hooks';
import { openSources } from '../../native/reconstruction/source-files.ts';
import { encodeTileJob, encodeTileResult, decodeTileJob } from '../../native/jobs/queue/tile-payload.ts';
import { createMask } from '../../native/dip/image.ts';
import { dataFile } from '../helpers/data.ts';

const target = dataFile('nigeria-sen12mscr/s2_cloudy.tif');
const sources = await openSources({ target, references: [target], sar: dataFile('nigeria-sen12mscr/s1.tif') });
const window = await sources.read({ x: 0, y: 0, width: 256, height: 256 });
await sources.close();
const cloud = createMask(256, 256);
for (let p = 0; p < cloud.data.length; p++) cloud.data[p] = (p % 256) > 160 && Math.floor(p / 256) < 120 ? 1 : 0;
const bandNames = sources.target.bandNames.map((n, i) => n ?? `band ${i + 1}`);
const t0 = performance.now();
const job = await encodeTileJob({ runKey: 'bench:1', tileIndex: 0, settings: { method: 'dip', mode: 'msmt', steps: 4000, seeds: [0], stitch: true }, sources: { window, cloud, bandNames }, backend: 'auto', attempts: 3 });
const t1 = performance.now();
decodeTileJob(JSON.parse(JSON.stringify(job)), 'bench');
const t2 = performance.now();
const bytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v));
const raw = (a: { width: number; height: number; bands: number; type: string }) => a.width * a.height * a.bands * (a.type === 'float32' ? 4 : 1);
console.log(`job data: ${(bytes(job) / 1e6).toFixed(2)} MB JSON (arrays unpacked ${(Object.values(job.arrays).reduce((n, a) => n + raw(a), 0) / 1e6).toFixed(2)} MB; ${Object.entries(job.arrays).map(([k, a]) => `${k} ${(a.deflated.length / 1e6).toFixed(2)}`).join(', ')} MB); encode ${(t1 - t0).toFixed(0)} ms, decode ${(t2 - t1).toFixed(0)} ms`);
// A result is the reconstruction in digital numbers (unrounded floats): the target's bands plus noise stands in.
for (const seeds of [1, 4]) {
  const bands = seeds > 1 ? 26 : 13;
  const data = new Float32Array(256 * 256 * bands);
  for (let p = 0; p < 256 * 256; p++) for (let b = 0; b < bands; b++) data[p * bands + b] = b < 13 ? window.raw.data[p * 13 + b] * (1 + (Math.random() - 0.5) * 1e-3) : Math.random() * 50;
  const result = await encodeTileResult({ image: { width: 256, height: 256, bands, data }, bandNames: Array.from({ length: bands }, (_, i) => `b${i}`), loss: 0.001, seconds: 1, backend: 'native', worker: 'host:1' }, 'bench');
  console.log(`result (${seeds} seed${seeds > 1 ? 's' : ''}, ${bands} bands): ${(bytes(result) / 1e6).toFixed(2)} MB JSON (unpacked ${(raw(result.image) / 1e6).toFixed(2)} MB)`);
}
