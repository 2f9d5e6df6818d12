/**
 * Judging the cloud detector on the SEN12MS-CR pairs (a cloudy image and a cloud-free one of the same grid):
 * a reference mask made from their difference, and precision, recall and IoU against it. Used by the
 * detector's tests and its benchmark (test/bench/detect.bench.ts).
 *
 * The reference (`referenceMask`): per pixel, the largest change over B02, B03, B04 and B08, |cloudy − clear|
 * in reflectance, taking for the clear image the best of the 3 × 3 pixels around (the two are sometimes 1 px
 * apart); changed where above REFERENCE_CHANGE (0.06); then cleaned by an opening (drops isolated changed
 * pixels: field edges, a moved car) and a closing of radius 1 (fills pinholes in clouds). Approximate: the
 * clear image is another day, so ploughed fields, high water or haze on the "clear" day count too, and the
 * shadow of a cloud outside the image is in it while no detector can tie it to a cloud.
 */
import { createMask, type Mask } from '../../native/dip/image.ts';
import { dilateMask } from '../../native/dip/mask-ops.ts';
import { resolveBands } from '../../native/raster/sentinel/bands.ts';
import { openCloudDetector, type DetectOptions } from '../../native/raster/sentinel/cloud-detect.ts';
import { readBands, withRaster } from '../../native/raster/tiff/geotiff-reader.ts';
import { dataFile } from './data.ts';

export const REFERENCE_CHANGE = 0.06;

export const PAIRS = [
  { name: 'congo-spring', cloudy: 'ROIs1158_spring_s2_cloudy_39_p100.tif', clear: 'ROIs1158_spring_s2_39_p100.tif' },
  { name: 'italy-summer', cloudy: 'ROIs1868_summer_s2_cloudy_102_p500.tif', clear: 'ROIs1868_summer_s2_102_p500.tif' },
  { name: 'colombia-fall', cloudy: 'ROIs1970_fall_s2_cloudy_85_p753.tif', clear: 'ROIs1970_fall_s2_85_p753.tif' },
].map((pair) => ({ ...pair, cloudy: dataFile('sen12mscr-pairs/s2_cloudy', pair.cloudy), clear: dataFile('sen12mscr-pairs/s2_cloudfree', pair.clear) }));

/** The whole scene's detected mask. */
export async function detectWhole(file: string, options: DetectOptions = {}): Promise<{ mask: Mask; description: Record<string, string> }> {
  const detector = await openCloudDetector(file, options);
  try {
    const { width, height } = detector.grid;
    return { mask: { width, height, data: (await detector.read({ x: 0, y: 0, width, height })).data }, description: detector.description };
  } finally {
    await detector.close();
  }
}

/** Reflectance (DN / 10000) of named bands, band-interleaved per pixel. */
async function reflectance(file: string, names: string[]): Promise<{ width: number; height: number; data: Float32Array }> {
  return withRaster(file, async (raster) => {
    const image = await readBands(raster, resolveBands(raster, names));
    return { width: image.width, height: image.height, data: image.data.map((v) => v / 10000) };
  });
}

/** The reference mask of a cloudy/cloud-free pair (see the file comment). */
export async function referenceMask(cloudyFile: string, clearFile: string, change = REFERENCE_CHANGE): Promise<Mask> {
  const names = ['B02', 'B03', 'B04', 'B08'];
  const cloudy = await reflectance(cloudyFile, names);
  const clear = await reflectance(clearFile, names);
  const { width, height } = cloudy;
  const k = names.length;
  const changed = createMask(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let best = Infinity;
      for (let oy = -1; oy <= 1; oy++) {
        for (let ox = -1; ox <= 1; ox++) {
          const cx = Math.min(width - 1, Math.max(0, x + ox));
          const cy = Math.min(height - 1, Math.max(0, y + oy));
          let worst = 0;
          for (let b = 0; b < k; b++) worst = Math.max(worst, Math.abs(cloudy.data[(y * width + x) * k + b] - clear.data[(cy * width + cx) * k + b]));
          best = Math.min(best, worst);
        }
      }
      changed.data[y * width + x] = best > change ? 1 : 0;
    }
  }
  const opened = dilateMask(erode(changed, 1), 1);
  return erode(dilateMask(opened, 1), 1);
}

function erode(mask: Mask, radius: number): Mask {
  const inverse = { ...mask, data: mask.data.map((v) => 1 - v) };
  const grown = dilateMask(inverse, radius);
  return { ...mask, data: grown.data.map((v) => 1 - v) };
}

export function scores(detected: Mask, reference: Mask): { precision: number; recall: number; iou: number; detectedCover: number; referenceCover: number } {
  let both = 0;
  let onlyDetected = 0;
  let onlyReference = 0;
  for (let i = 0; i < detected.data.length; i++) {
    const d = detected.data[i];
    const r = reference.data[i];
    if (d && r) both++;
    else if (d) onlyDetected++;
    else if (r) onlyReference++;
  }
  const n = detected.data.length;
  return {
    precision: both / Math.max(1, both + onlyDetected),
    recall: both / Math.max(1, both + onlyReference),
    iou: both / Math.max(1, both + onlyDetected + onlyReference),
    detectedCover: (both + onlyDetected) / n,
    referenceCover: (both + onlyReference) / n,
  };
}

