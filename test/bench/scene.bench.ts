/**
 * The whole-scene figures of `npm run bench`: a full Sentinel-2 tile (10980 × 10980 px, 13 bands UInt16),
 * built by repeating the real T33UUU scene, is imported, tiled, masked, mosaicked and exported; each stage is
 * its own process, so its peak RSS is its own. Printed, never asserted: the target is peak RSS under 2 GB and
 * seconds per 100 megapixels to compare machines and versions.
 *
 * The tiles are filled with the inverse-distance baseline, not the network: the network's cost is the engine
 * bench's figure times steps times cloudy tiles, and would make this take days on a CPU.
 *
 * Environment: BENCH_SCENE_SIZE (10980), BENCH_SCENE_DIR (.tmp/bench-scene; the built scene is kept there
 * and reused), BENCH_CLOUD_EVERY (5: one 2048-px block in this many carries real clouds).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../helpers/data.ts';

const run = promisify(execFile);
const size = Number(process.env.BENCH_SCENE_SIZE ?? 10980);
const folder = path.resolve(REPO_ROOT, process.env.BENCH_SCENE_DIR ?? '.tmp/bench-scene');
const megapixels = (size * size) / 1e6;

interface Stage {
  seconds: number;
  peak_rss_mb: number;
  [key: string]: unknown;
}

async function stage(args: string[]): Promise<Stage> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'test/bench/scene-stages.bench.ts'), ...args], { maxBuffer: 1 << 24, cwd: REPO_ROOT });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Stage;
}

async function clearsky(args: string[]): Promise<Stage & { phases: Record<string, number>; tiles: Record<string, number> }> {
  const { stdout } = await run(process.execPath, [path.join(REPO_ROOT, 'bin/clearsky.js'), ...args, '--json'], { maxBuffer: 1 << 24, cwd: REPO_ROOT });
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

const per100 = (seconds: number) => `${((seconds / megapixels) * 100).toFixed(1)} s/100 MP`;
const line = (label: string, figures: string) => console.log(`  ${label.padEnd(44)} ${figures}`);

await fs.mkdir(folder, { recursive: true });
const scene = path.join(folder, `scene-${size}.tif`);
const mask = path.join(folder, `mask-${size}.tif`);
console.log(`\nWhole scene ${size} × ${size} × 13 UInt16 (${megapixels.toFixed(1)} MP), stages in their own processes:`);
if (!existsSync(scene) || !existsSync(mask)) {
  const built = await stage(['build', scene, mask, String(size), process.env.BENCH_CLOUD_EVERY ?? '5']);
  line('build (repeat T33UUU, write scene + mask)', `${built.seconds.toFixed(1)} s, peak RSS ${built.peak_rss_mb} MB`);
}
const sceneBytes = (await fs.stat(scene)).size;
line('scene file', `${(sceneBytes / 2 ** 30).toFixed(2)} GiB`);

const imported = await stage(['import', scene, path.join(folder, 'imported.tif')]);
line('import (windowed read, tiled DEFLATE copy)', `${imported.seconds.toFixed(1)} s = ${per100(imported.seconds)}, peak RSS ${imported.peak_rss_mb} MB`);
await fs.rm(path.join(folder, 'imported.tif'), { force: true });

const out = path.join(folder, 'inpainted.tif');
const inpainted = await clearsky(['inpaint', '--target', scene, '--mask', mask, '--method', 'idw-fill', '--stitch', '--out', out]);
line('tiling (survey the mask for cloudy tiles)', `${inpainted.phases.survey_seconds.toFixed(1)} s = ${per100(inpainted.phases.survey_seconds)}`);
line(`fill ${inpainted.tiles.reconstructed} of ${inpainted.tiles.total} tiles (idw-fill)`, `${inpainted.phases.reconstruct_seconds.toFixed(1)} s = ${(inpainted.phases.reconstruct_seconds / Math.max(1, inpainted.tiles.reconstructed)).toFixed(2)} s/tile`);
line('mosaic (feathered blend from the tile files)', `${inpainted.phases.mosaic_seconds.toFixed(1)} s = ${per100(inpainted.phases.mosaic_seconds)}`);
line('export (COG encode + overviews + write)', `${inpainted.phases.export_seconds.toFixed(1)} s = ${per100(inpainted.phases.export_seconds)}`);
line('inpaint process peak RSS', `${inpainted.peak_rss_mb} MB`);
await fs.rm(out, { force: true });
