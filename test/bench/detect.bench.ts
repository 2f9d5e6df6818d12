/**
 * `BENCH_ONLY=detect npm run bench`: the cloud detector (native/raster/sentinel/cloud-detect.ts) on every real scene of
 * ../shared/data, looked at and measured.
 *
 * - Overlays for the eye, in test/e2e/artifacts/detect/: the scene's true colour with the detected mask outlined
 *   in cyan (for the SEN12MS-CR pairs, beside the reference mask in magenta and the cloud-free image).
 * - Precision, recall and IoU on the three SEN12MS-CR pairs, against the reference mask made from the
 *   cloudy/cloud-free difference (test/helpers/detect-reference.ts says exactly how).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { PNG } from 'pngjs';
import type { Mask } from '../../native/dip/image.ts';
import { resolveBands } from '../../native/raster/sentinel/bands.ts';
import { openRaster, readBands } from '../../native/raster/tiff/geotiff-reader.ts';
import { dataFile, REPO_ROOT } from '../helpers/data.ts';
import { detectWhole, PAIRS, referenceMask, scores } from '../helpers/detect-reference.ts';

const SCENES = [
  { name: 'nigeria', file: dataFile('nigeria-sen12mscr/s2_cloudy.tif') },
  { name: 't33uuu', file: dataFile('T33UUU-20170216/S2L1C_T33UUU_20170216_10m.tif') },
  { name: 'slovenia-0711', file: dataFile('slovenia-2015/S2L1C_20150711.tif') },
  { name: 'slovenia-0731', file: dataFile('slovenia-2015/S2L1C_20150731.tif') },
  { name: 'slovenia-0909-clear', file: dataFile('slovenia-2015/S2L1C_20150909.tif') },
];

const OUT_DIR = path.join(REPO_ROOT, 'test/e2e/artifacts/detect');

/** True colour (B04, B03, B02) stretched over the 1st–99th percentile of the three bands together, as RGBA. */
async function trueColour(file: string): Promise<{ width: number; height: number; rgba: Uint8Array }> {
  const raster = await openRaster(file);
  try {
    const image = await readBands(raster, resolveBands(raster, ['B04', 'B03', 'B02']));
    const values = Float32Array.from(image.data).filter((v) => v > 0).sort();
    const low = values[Math.floor(values.length * 0.01)] ?? 0;
    const high = values[Math.floor(values.length * 0.99)] ?? 1;
    const rgba = new Uint8Array(image.width * image.height * 4);
    for (let p = 0; p < image.width * image.height; p++) {
      for (let c = 0; c < 3; c++) rgba[p * 4 + c] = Math.round(255 * Math.min(1, Math.max(0, (image.data[p * 3 + c] - low) / (high - low))) ** 0.8);
      rgba[p * 4 + 3] = 255;
    }
    return { width: image.width, height: image.height, rgba };
  } finally {
    await raster.close();
  }
}

/** Paints the mask's edge pixels (cloud with a clear 4-neighbour) in `colour`. */
function outline(rgba: Uint8Array, mask: Mask, colour: [number, number, number]): Uint8Array {
  const out = rgba.slice();
  const { width, height, data } = mask;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (!data[i]) continue;
      const edge = x === 0 || y === 0 || x === width - 1 || y === height - 1 || !data[i - 1] || !data[i + 1] || !data[i - width] || !data[i + width];
      if (edge) out.set(colour, i * 4);
    }
  }
  return out;
}

/** Panels side by side, each scaled up `scale` times (nearest), written as a PNG. */
async function writePanels(file: string, width: number, height: number, panels: Uint8Array[], scale: number): Promise<void> {
  const gap = 8;
  const png = new PNG({ width: panels.length * width * scale + (panels.length - 1) * gap, height: height * scale });
  png.data.fill(255);
  panels.forEach((panel, k) => {
    for (let y = 0; y < height * scale; y++) {
      for (let x = 0; x < width * scale; x++) {
        const from = (Math.floor(y / scale) * width + Math.floor(x / scale)) * 4;
        const to = (y * png.width + k * (width * scale + gap) + x) * 4;
        for (let c = 0; c < 4; c++) png.data[to + c] = panel[from + c];
      }
    }
  });
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, PNG.sync.write(png));
}

const pct = (v: number) => `${(100 * v).toFixed(1)} %`.padStart(8);
const CYAN: [number, number, number] = [0, 255, 255];
const MAGENTA: [number, number, number] = [255, 0, 255];

async function main(): Promise<void> {
  console.log('cloud detection on the SEN12MS-CR pairs (reference: cloudy/clear change > 0.06 reflectance, opened and closed 1 px)');
  console.log('pair            dilate  detected  reference  precision  recall   IoU');
  for (const pair of PAIRS) {
    const reference = await referenceMask(pair.cloudy, pair.clear);
    let mask: Mask | undefined;
    let description: Record<string, string> = {};
    for (const dilate of [0, 2]) {
      const detected = await detectWhole(pair.cloudy, { dilate });
      if (dilate === 0) ({ mask, description } = detected);
      const s = scores(detected.mask, reference);
      console.log(`${pair.name.padEnd(15)} ${String(dilate).padStart(6)}  ${pct(s.detectedCover)}  ${pct(s.referenceCover)}   ${s.precision.toFixed(3).padStart(7)}  ${s.recall.toFixed(3).padStart(6)}  ${s.iou.toFixed(3)}`);
    }
    console.log(`${''.padEnd(15)} ${description.CLEARSKY_MASK_SHADOWS ?? ''}`);
    if (!mask) continue;
    const cloudy = await trueColour(pair.cloudy);
    const clear = await trueColour(pair.clear);
    await writePanels(path.join(OUT_DIR, `${pair.name}.png`), cloudy.width, cloudy.height, [outline(cloudy.rgba, mask, CYAN), outline(cloudy.rgba, reference, MAGENTA), clear.rgba], 2);
  }
  for (const scene of SCENES) {
    const { mask, description } = await detectWhole(scene.file);
    let cloud = 0;
    for (const v of mask.data) cloud += v;
    const colour = await trueColour(scene.file);
    const scale = colour.width < 200 ? 4 : colour.width > 1000 ? 1 : 2;
    await writePanels(path.join(OUT_DIR, `${scene.name}.png`), colour.width, colour.height, [outline(colour.rgba, mask, CYAN), colour.rgba], scale);
    console.log(`${scene.name.padEnd(20)} ${(100 * cloud / mask.data.length).toFixed(1)} % masked   ${description.CLEARSKY_MASK_SHADOWS ?? ''}`);
  }
  console.log(`overlays in ${path.relative(process.cwd(), OUT_DIR)}/`);
}

if (import.meta.url === `file://${process.argv[1]}` || process.env.BENCH_ONLY === 'detect') await main();
