/**
 * The job system's use of the cores in `npm run bench`: the same multi-tile CPU run (a real T33UUU crop, every
 * tile cloudy, the network in Basic mode) with one worker and with two, each worker given its share of the
 * cores. Printed, never asserted.
 *
 * Environment: BENCH_JOB_STEPS (40), BENCH_JOB_TILES_ACROSS (4; tiles of 128 px with 32 px overlap).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { RunRecord } from '../../native/api/contract.ts';
import { createProject } from '../../native/catalogue/project.ts';
import { readRasterInfo } from '../../native/raster/tiff/geotiff-reader.ts';
import { writeGeoTiff } from '../../native/raster/tiff/geotiff-writer.ts';
import { Service } from '../../native/project/service.ts';
import { dataFile } from '../helpers/data.ts';
import { gdalTranslate } from '../helpers/gdal.ts';

const steps = Number(process.env.BENCH_JOB_STEPS ?? 40);
const across = Number(process.env.BENCH_JOB_TILES_ACROSS ?? 4);
const width = 128 + (across - 1) * 96;
const height = 224; // two rows of 128-px tiles

async function timedRun(workers: number): Promise<{ seconds: number; tiles: number }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-bench-jobs-'));
  try {
    const project = createProject(dir);
    const scene = path.join(dir, 'source.tif');
    gdalTranslate(['-srcwin', '300', '200', String(width), String(height), dataFile('T33UUU-20170216', 'S2L1C_T33UUU_20170216_10m.tif'), scene]);
    const info = await readRasterInfo(scene);
    const cloud = new Float32Array(width * height);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) cloud[y * width + x] = (x >> 4) % 3 === 0 ? 1 : 0; // stripes in every tile
    const mask = path.join(dir, 'mask.tif');
    await writeGeoTiff(mask, { width, height, bands: 1, data: cloud }, { dataType: 'uint8', like: info });
    project.close();
    const service = Service.open(dir, { workers });
    try {
      const outcomes = await service.importFiles({ paths: [scene] });
      const masks = await service.importFiles({ paths: [mask], kind: 'mask' });
      if (outcomes[0].status !== 'imported' || masks[0].status !== 'imported') throw new Error(`import failed: ${JSON.stringify([outcomes, masks])}`);
      const start = performance.now();
      const done = new Promise<RunRecord>((resolve) => {
        service.subscribe((e) => {
          if (e.type === 'run' && ['done', 'partial', 'failed'].includes(e.run.status)) resolve(e.run);
        });
      });
      await service.startRun({ targetSceneId: outcomes[0].record.id, maskId: masks[0].record.id, bands: ['B04', 'B03', 'B02'], mode: 'basic', steps, tileSize: 128, overlap: 32 });
      const run = await done;
      if (run.status !== 'done') throw new Error(`run ${run.status}: ${run.error}`);
      return { seconds: (performance.now() - start) / 1000, tiles: run.tiles.done };
    } finally {
      await service.close();
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

console.log(`\nJob system: one run of ${across}×2 tiles (128 px, Basic, ${steps} steps), workers sharing ${os.availableParallelism()} cores:`);
const one = await timedRun(1);
console.log(`  1 worker  (${os.availableParallelism()} threads)   ${one.seconds.toFixed(1)} s for ${one.tiles} tiles`);
const two = await timedRun(2);
console.log(`  2 workers (${Math.max(1, Math.floor(os.availableParallelism() / 2))} thread each) ${two.seconds.toFixed(1)} s = ${(two.seconds / one.seconds).toFixed(2)}× the time of 1 worker`);
