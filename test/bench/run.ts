/**
 * `npm run bench`: every speed and memory figure, printed, never asserted — the engine's training step beside
 * PyTorch (engine.bench.ts), one worker against two on a multi-tile run (jobs.bench.ts), then a whole 10980² scene
 * through import, tiling, mosaic and export (scene.bench.ts), and panning the T33UUU scene in Chromium: frame rate,
 * frame intervals, janks and the time until every tile is drawn (pan.bench.ts), the cloud detector on the real
 * scenes: overlays and scores (detect.bench.ts), and runs through a Redis queue to `clearsky worker` processes
 * (queue.bench.ts), and seconds per 256² tile of the default method against `mt` at 4000 steps (tile-cost.bench.ts).
 * BENCH_ONLY=engine|jobs|scene|pan|detect|queue|tile runs one of them.
 */
const only = process.env.BENCH_ONLY;
if (!only || only === 'engine') await import('./engine.bench.ts');
if (!only || only === 'jobs') await import('./jobs.bench.ts');
if (!only || only === 'scene') await import('./scene.bench.ts');
if (!only || only === 'pan') await import('./pan.bench.ts');
if (!only || only === 'detect') await import('./detect.bench.ts');
if (!only || only === 'queue') await import('./queue.bench.ts');
if (!only || only === 'tile') await import('./tile-cost.bench.ts');
