/**
 * Seamless cloning (native/dip/seamless.ts): a reconstruction's cloudy pixels are moved by the harmonic
 * continuation of its mismatch with the clear pixels at the cloud's edge. On synthetic images where the answer is
 * known, and on the real Slovenia scene under a real cloud mask, where it takes the reference-fit baseline closer
 * to the truth.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fitReferenceToTarget, referenceSubstitution } from '../../../native/dip/baselines.ts';
import { createImage, createMask, hideMasked, type Image, type Mask } from '../../../native/dip/image.ts';
import { stitchClearPixels } from '../../../native/dip/inpaint.ts';
import { rmse } from '../../../native/dip/metrics.ts';
import { cloneSeamlessly } from '../../../native/dip/seamless.ts';
import { readBands, withRaster } from '../../../native/raster/tiff/geotiff-reader.ts';
import { loadMask, loadSources } from '../../../native/reconstruction/source-files.ts';
import { runClearsky } from '../../helpers/cli.ts';
import { dataFile } from '../../helpers/data.ts';

const slovenia = (name: string) => dataFile('slovenia-2015', name);
const TARGET = slovenia('S2L1C_20150909.tif');
const MASKS = slovenia('cloudmasks_s2cloudless_2015-2017.tif');
const CLEAR_REFS = [slovenia('S2L1C_20150820.tif'), slovenia('S2L1C_20150830.tif')];

const W = 40;
const H = 30;

/** Two bands of texture: what a reconstruction gets right (its detail). */
function texture(): Image {
  const image = createImage(W, H, 2);
  for (let p = 0; p < W * H; p++) {
    const x = p % W;
    const y = Math.floor(p / W);
    image.data[p * 2] = 0.3 + 0.1 * Math.sin(x * 0.7) * Math.cos(y * 0.4);
    image.data[p * 2 + 1] = 0.5 + 0.05 * ((x * 7 + y * 13) % 5);
  }
  return image;
}

/** A blob of cloud inside the image, away from its border. */
function blob(): Mask {
  const mask = createMask(W, H);
  for (let p = 0; p < W * H; p++) {
    const x = p % W;
    const y = Math.floor(p / W);
    if ((x - 18) ** 2 / 100 + (y - 14) ** 2 / 49 <= 1) mask.data[p] = 1;
  }
  return mask;
}

test('a reconstruction off by a smooth (affine) field is put right under the cloud, and its clear pixels are left alone', () => {
  const truth = texture();
  const mask = blob();
  // Off by a different plane per band: harmonic, so the continuation from the edge is that plane exactly.
  const off = createImage(W, H, 2);
  for (let p = 0; p < W * H; p++) {
    const x = p % W;
    const y = Math.floor(p / W);
    off.data[p * 2] = truth.data[p * 2] + 0.02 + 0.003 * x - 0.002 * y;
    off.data[p * 2 + 1] = truth.data[p * 2 + 1] - 0.05 + 0.001 * y;
  }
  const cloned = cloneSeamlessly(off, hideMasked(truth, mask), mask);
  let worst = 0;
  let before = 0;
  for (let p = 0; p < W * H; p++) {
    for (let b = 0; b < 2; b++) {
      const i = p * 2 + b;
      if (mask.data[p]) {
        worst = Math.max(worst, Math.abs(cloned.data[i] - truth.data[i]));
        before = Math.max(before, Math.abs(off.data[i] - truth.data[i]));
      } else {
        assert.equal(cloned.data[i], off.data[i], 'a clear pixel is the reconstruction’s');
      }
    }
  }
  assert.ok(before > 0.02, `the field was there to remove (${before})`);
  assert.ok(worst < 1e-4, `largest error under the cloud after cloning: ${worst}`);
});

test('a mismatch at one side of the cloud fades towards the other: the correction is the smooth field, not a copy of the edge', () => {
  const truth = texture();
  const mask = createMask(W, H);
  // A band of cloud across the image, columns 10–29: its left edge is off by 0.1, its right edge right.
  for (let p = 0; p < W * H; p++) if (p % W >= 10 && p % W < 30) mask.data[p] = 1;
  const input = hideMasked(truth, mask);
  for (let p = 0; p < W * H; p++) if (p % W < 10) input.data.fill(truth.data[p * 2] + 0.1, p * 2, p * 2 + 1);
  const cloned = cloneSeamlessly(truth, input, mask);
  const correction = (col: number) => cloned.data[(15 * W + col) * 2] - truth.data[(15 * W + col) * 2];
  // Laplace's equation across a strip with top and bottom open (the border): a straight line from 0.1 to 0.
  for (const col of [10, 19, 29]) assert.ok(Math.abs(correction(col) - (0.1 * (30 - col)) / 21) < 1e-3, `column ${col}: ${correction(col)}`);
  assert.ok(Math.abs(cloned.data[(15 * W + 20) * 2 + 1] - truth.data[(15 * W + 20) * 2 + 1]) < 1e-6, 'the band that matched is not moved');
});

test('excluded pixels are neither edge values nor changed, and a cloud that touches no clear pixel is left as it is', () => {
  const truth = texture();
  const mask = blob();
  const off = { ...truth, data: truth.data.map((v) => v + 0.1) };
  // Everything around the cloud is excluded (nodata): there is no edge to meet.
  const excluded = { ...mask, data: mask.data.map((cloud) => (cloud ? 0 : 1)) };
  assert.deepEqual(cloneSeamlessly(off, hideMasked(truth, mask), mask, excluded).data, off.data);
  // A tile under one cloud: nothing to clone into.
  const overcast = { ...mask, data: new Uint8Array(W * H).fill(1) };
  assert.deepEqual(cloneSeamlessly(off, truth, overcast).data, off.data);
  // Excluded pixels with wild values beside the cloud: they must not pull it.
  const input = hideMasked(truth, mask);
  const ring = createMask(W, H);
  for (let p = 0; p < W * H; p++) {
    if (mask.data[p]) continue;
    const near = [p - 1, p + 1, p - W, p + W].some((q) => q >= 0 && q < W * H && mask.data[q]);
    if (near && p % 3 === 0) {
      ring.data[p] = 1;
      input.data.fill(9, p * 2, p * 2 + 2);
    }
  }
  const cloned = cloneSeamlessly(off, input, mask, ring);
  for (let p = 0; p < W * H; p++) if (mask.data[p]) assert.ok(Math.abs(cloned.data[p * 2] - truth.data[p * 2]) < 1e-4, `pixel ${p}: ${cloned.data[p * 2]}`);
  for (let p = 0; p < W * H; p++) if (ring.data[p]) assert.equal(cloned.data[p * 2], off.data[p * 2], 'an excluded pixel is left as it was');
});

test('on the real Slovenia scene the reference-fit baseline cloned seamlessly is closer to the truth under a real cloud', async () => {
  const sources = await loadSources({ target: TARGET, references: CLEAR_REFS, bands: ['B04', 'B03', 'B02'] });
  // 2016-09-14, 16 % real cloud: a mask where the clear ring says much about what lies under it.
  const mask = await loadMask(MASKS, 35, sources.target.info);
  const truth = sources.s2;
  const reference = sources.reference!;
  const cloudy = hideMasked(truth, mask);
  const fit = fitReferenceToTarget(cloudy, reference, mask);
  const estimate = { ...reference, data: reference.data.map((v, i) => fit.gains[i % 3] * v + fit.offsets[i % 3]) };
  const cloned = cloneSeamlessly(estimate, cloudy, mask);
  stitchClearPixels(cloned, cloudy, mask);
  const baseline = rmse(truth, referenceSubstitution(cloudy, reference, mask), mask);
  const seamless = rmse(truth, cloned, mask);
  assert.ok(seamless < baseline * 0.9, `RMSE under the cloud: seamless ${seamless} against reference-fit ${baseline}`);
});

test('`clearsky inpaint --method reference-seamless` writes the seamless baseline: closer to the truth than reference-fit, its provenance says so, and it needs a reference', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-seamless-'));
  try {
    // The clear scene under a pasted real mask: the methods read only its clear pixels, so its own are the truth.
    const run = async (method: string) => {
      const out = path.join(dir, `${method}.tif`);
      const r = await runClearsky(['inpaint', '--target', TARGET, '--mask', MASKS, '--mask-band', '35', ...CLEAR_REFS.flatMap((f) => ['--reference', f]), '--bands', 'B04,B03,B02', '--method', method, '--stitch', '--out', out], dir);
      assert.equal(r.code, 0, r.stderr);
      return withRaster(out, async (raster) => ({ data: (await readBands(raster, [0, 1, 2])).data, method: raster.metadata.CLEARSKY_METHOD }));
    };
    const truth = await withRaster(TARGET, async (raster) => (await readBands(raster, ['B04', 'B03', 'B02'].map((b) => raster.bandNames.indexOf(b)))).data);
    const cloud = await withRaster(MASKS, async (raster) => (await readBands(raster, [34])).data);
    const error = (data: ArrayLike<number>) => {
      let sum = 0;
      let n = 0;
      for (let p = 0; p < cloud.length; p++) {
        if (!cloud[p]) {
          for (let b = 0; b < 3; b++) assert.equal(data[p * 3 + b], truth[p * 3 + b], 'a clear pixel is the input’s');
          continue;
        }
        for (let b = 0; b < 3; b++) sum += (data[p * 3 + b] - truth[p * 3 + b]) ** 2;
        n += 3;
      }
      return Math.sqrt(sum / n);
    };
    const seamless = await run('reference-seamless');
    const fit = await run('reference-fit');
    assert.match(String(seamless.method), /cloned seamlessly/);
    assert.ok(error(seamless.data) < 0.9 * error(fit.data), `RMSE under the cloud (DN): seamless ${error(seamless.data)}, reference-fit ${error(fit.data)}`);

    const refused = await runClearsky(['inpaint', '--target', TARGET, '--mask', MASKS, '--mask-band', '35', '--method', 'reference-seamless', '--out', path.join(dir, 'none.tif')], dir);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--method reference-seamless needs --reference/);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
