import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';

import { fromFile } from 'geotiff';

import { InputError } from '../../../native/errors.ts';
import { fitReferenceToTarget, inverseDistanceFill, referenceSubstitution } from '../../../native/dip/baselines.ts';
import { createImage, createMask, type Image, type Mask } from '../../../native/dip/image.ts';
import { rmse } from '../../../native/dip/metrics.ts';
import { dataFile, REPO_ROOT } from '../../helpers/data.ts';

/** Bands (0-based samples) of a GeoTIFF in the METHOD.md scale: DN clipped to [0, 10000], ÷ 2000. */
async function readScaled(file: string, samples: number[]): Promise<Image> {
  const tiff = await fromFile(file);
  try {
    const raster = await (await tiff.getImage()).readRasters({ samples, interleave: true });
    const image = createImage(raster.width, raster.height, samples.length);
    for (let i = 0; i < raster.length; i++) image.data[i] = Math.min(10000, Math.max(0, Number(raster[i]))) / 2000;
    return image;
  } finally {
    await tiff.close();
  }
}

async function readMask(file: string, sample: number): Promise<Mask> {
  const single = await readScaled(file, [sample]);
  const mask = createMask(single.width, single.height);
  for (let p = 0; p < mask.data.length; p++) mask.data[p] = single.data[p] > 0 ? 1 : 0;
  return mask;
}

function meanOf(a: Image, b: Image): Image {
  const out = createImage(a.width, a.height, a.bands);
  for (let i = 0; i < a.data.length; i++) out.data[i] = (a.data[i] + b.data[i]) / 2;
  return out;
}

/** The naive fill: every cloudy pixel gets the per-band mean of the clear pixels. */
function clearMeanFill(target: Image, mask: Mask): Image {
  const sums = new Float64Array(target.bands);
  let n = 0;
  for (let p = 0; p < mask.data.length; p++) {
    if (mask.data[p]) continue;
    n++;
    for (let b = 0; b < target.bands; b++) sums[b] += target.data[p * target.bands + b];
  }
  const out = { ...target, data: Float32Array.from(target.data) };
  for (let p = 0; p < mask.data.length; p++) {
    if (mask.data[p]) for (let b = 0; b < target.bands; b++) out.data[p * target.bands + b] = sums[b] / n;
  }
  return out;
}

function assertClearPixelsUntouched(result: Image, target: Image, mask: Mask): void {
  for (let p = 0; p < mask.data.length; p++) {
    if (mask.data[p]) continue;
    for (let b = 0; b < target.bands; b++) {
      const i = p * target.bands + b;
      if (result.data[i] !== target.data[i]) assert.fail(`clear pixel ${p} band ${b} changed: ${target.data[i]} → ${result.data[i]}`);
    }
  }
}

/** A disc of cloud. */
function discMask(width: number, height: number, centreRow: number, centreCol: number, radius: number): Mask {
  const mask = createMask(width, height);
  for (let row = 0; row < height; row++) {
    for (let col = 0; col < width; col++) {
      mask.data[row * width + col] = (row - centreRow) ** 2 + (col - centreCol) ** 2 <= radius * radius ? 1 : 0;
    }
  }
  return mask;
}

/** Values on a 1/64 grid, so gain · value + offset below is exact in float32. */
function dyadicImage(width: number, height: number, bands: number): Image {
  const image = createImage(width, height, bands);
  for (let i = 0; i < image.data.length; i++) image.data[i] = ((i * 37 + (i >> 3) * 11) % 97) / 64;
  return image;
}

describe('reference substitution', () => {
  const width = 40;
  const height = 36;
  const bands = 3;
  const gains = [1.25, 0.5, 2];
  const offsets = [0.125, -0.25, 0.0625];
  const reference = dyadicImage(width, height, bands);
  const mask = discMask(width, height, 18, 20, 7);

  /** target = gain · reference + offset on the ring (within ringWidth of the cloud); something else far away. */
  function syntheticTarget(ringWidth: number): Image {
    const target = createImage(width, height, bands);
    for (let row = 0; row < height; row++) {
      for (let col = 0; col < width; col++) {
        const p = row * width + col;
        const nearCloud = Math.abs(row - 18) <= 7 + ringWidth && Math.abs(col - 20) <= 7 + ringWidth;
        for (let b = 0; b < bands; b++) {
          const i = p * bands + b;
          target.data[i] = nearCloud ? gains[b] * reference.data[i] + offsets[b] : 3 - reference.data[i];
        }
      }
    }
    return target;
  }

  it('recovers a known per-band gain and offset from the ring around the cloud', () => {
    const target = syntheticTarget(4);
    const fit = fitReferenceToTarget(target, reference, mask, { ringWidth: 4 });
    assert.equal(fit.fittedOn, 'ring');
    for (let b = 0; b < bands; b++) {
      assert.ok(Math.abs(fit.gains[b] - gains[b]) < 1e-9, `gain ${b}: ${fit.gains[b]}`);
      assert.ok(Math.abs(fit.offsets[b] - offsets[b]) < 1e-9, `offset ${b}: ${fit.offsets[b]}`);
    }
    const result = referenceSubstitution(target, reference, mask, { ringWidth: 4 });
    // inside the cloud, target and result are the same linear function of the reference
    for (let i = 0; i < target.data.length; i++) assert.ok(Math.abs(result.data[i] - target.data[i]) < 1e-6);
    assertClearPixelsUntouched(result, target, mask);
  });

  it('a wider ring reaches pixels that follow another relation, so the fit is no longer exact', () => {
    const fit = fitReferenceToTarget(syntheticTarget(4), reference, mask, { ringWidth: 12 });
    assert.ok(Math.abs(fit.gains[0] - gains[0]) > 0.01);
  });

  it('falls back to all clear pixels when the ring is too small, and to the plain reference without clear pixels', () => {
    const target = syntheticTarget(4);
    assert.equal(fitReferenceToTarget(target, reference, mask, { ringWidth: 4, minRingPixels: width * height }).fittedOn, 'all-clear');
    const allCloud = createMask(width, height);
    allCloud.data.fill(1);
    const fit = fitReferenceToTarget(target, reference, allCloud);
    assert.equal(fit.fittedOn, 'none');
    assert.deepEqual(referenceSubstitution(target, reference, allCloud).data, reference.data);
  });

  it('rejects a reference or mask on another grid', () => {
    const target = syntheticTarget(4);
    assert.throws(() => referenceSubstitution(target, dyadicImage(width, height, 4), mask), InputError);
    assert.throws(() => referenceSubstitution(target, dyadicImage(width + 1, height, 3), mask), InputError);
    assert.throws(() => referenceSubstitution(target, reference, createMask(width, height + 1)), InputError);
  });
});

interface FillFixture {
  width: number;
  height: number;
  bands: number;
  values: number[];
  mask: string;
  cases: { maxDistance: number; filled: number[][] }[];
}

describe('inverse-distance fill', () => {
  const fixture = JSON.parse(readFileSync(path.join(REPO_ROOT, 'test/fixtures/gdal-fillnodata.json'), 'utf8')) as FillFixture;
  const fixtureImage: Image = { width: fixture.width, height: fixture.height, bands: fixture.bands, data: Float32Array.from(fixture.values) };
  const fixtureMask: Mask = { width: fixture.width, height: fixture.height, data: Uint8Array.from(fixture.mask, (c) => (c === '1' ? 1 : 0)) };

  for (const { maxDistance, filled } of fixture.cases) {
    it(`reproduces gdal_fillnodata (maxDistance ${maxDistance}) bit for bit where GDAL fills`, () => {
      const ours = inverseDistanceFill(fixtureImage, fixtureMask, { maxDistance });
      for (const [pixel, ...values] of filled) {
        for (let b = 0; b < fixture.bands; b++) {
          assert.equal(ours.data[pixel * fixture.bands + b], Math.fround(values[b]), `pixel ${pixel} band ${b}`);
        }
      }
      // pixels out of GDAL's reach are filled too, from the range of the clear values
      const maskedCount = fixtureMask.data.reduce((n, v) => n + v, 0);
      assert.ok(filled.length <= maskedCount);
      for (const v of ours.data) assert.ok(Number.isFinite(v));
      assertClearPixelsUntouched(ours, fixtureImage, fixtureMask);
    });
  }

  it('weights the nearest clear pixel of each quadrant by 1/distance, as gdal_fillnodata', () => {
    const image = createImage(5, 5, 1);
    for (let p = 0; p < 25; p++) image.data[p] = p;
    const mask = createMask(5, 5);
    mask.data[12] = 1; // the centre (row 2, col 2)
    const filled = inverseDistanceFill(image, mask);
    // quadrants: up (rows ≤ 2, cols ≤ 2) → pixel 7 at 1; down-left → 17 at 1; up-right → 13 at 1; down-right → 18 at √2
    const expected = (7 + 17 + 13 + 18 / Math.SQRT2) / (3 + 1 / Math.SQRT2);
    assert.ok(Math.abs(filled.data[12] - expected) < 1e-5, `${filled.data[12]} vs ${expected}`);
  });

  it('fills every pixel of a cloud larger than the search distance with values from the clear range', () => {
    const width = 30;
    const height = 24;
    const image = createImage(width, height, 2);
    for (let i = 0; i < image.data.length; i++) image.data[i] = 0.2 + ((i * 7) % 13) / 20;
    const mask = discMask(width, height, 12, 10, 9);
    mask.data.fill(1, 0, width); // the cloud also covers the top row
    const filled = inverseDistanceFill(image, mask, { maxDistance: 2 });
    let [low, high] = [Infinity, -Infinity];
    for (let p = 0; p < mask.data.length; p++) {
      if (mask.data[p]) continue;
      for (const v of image.data.subarray(p * 2, p * 2 + 2)) [low, high] = [Math.min(low, v), Math.max(high, v)];
    }
    for (const v of filled.data) assert.ok(v >= low - 1e-6 && v <= high + 1e-6, `${v} outside [${low}, ${high}]`);
    assertClearPixelsUntouched(filled, image, mask);
  });

  it('smoothing replaces each filled pixel by its 3×3 mean and leaves clear pixels alone', () => {
    const image = createImage(12, 12, 1);
    for (let p = 0; p < 144; p++) image.data[p] = (p % 12) * 0.1 + (p % 5) * 0.03;
    const mask = discMask(12, 12, 6, 6, 3);
    const rough = inverseDistanceFill(image, mask);
    const smooth = inverseDistanceFill(image, mask, { smoothingIterations: 1 });
    let sum = 0;
    for (let r = 5; r <= 7; r++) for (let c = 5; c <= 7; c++) sum += rough.data[r * 12 + c];
    assert.ok(Math.abs(smooth.data[6 * 12 + 6] - sum / 9) < 1e-6);
    assertClearPixelsUntouched(smooth, image, mask);
  });

  it('rejects a mask with no clear pixel and a mask on another grid', () => {
    const image = createImage(6, 6, 3);
    const allCloud = createMask(6, 6);
    allCloud.data.fill(1);
    assert.throws(() => inverseDistanceFill(image, allCloud), /no clear pixel/);
    assert.throws(() => inverseDistanceFill(image, createMask(6, 7)), InputError);
  });
});

describe('baselines on a real Slovenia scene (target 2015-09-09, real s2cloudless mask)', () => {
  const dir = 'slovenia-2015';
  const rgb = [3, 2, 1]; // B04, B03, B02 of the 13-band stack
  let target: Image;
  let reference: Image;
  let mask: Mask;

  before(async () => {
    target = await readScaled(dataFile(dir, 'S2L1C_20150909.tif'), rgb);
    reference = meanOf(await readScaled(dataFile(dir, 'S2L1C_20150711.tif'), rgb), await readScaled(dataFile(dir, 'S2L1C_20150830.tif'), rgb));
    mask = await readMask(dataFile(dir, 'cloudmasks_s2cloudless_2015-2017.tif'), 13); // band 14
  });

  it('both baselines keep clear pixels and beat the clear-pixel-mean fill inside the mask', () => {
    const naive = rmse(target, clearMeanFill(target, mask), mask);
    const substituted = referenceSubstitution(target, reference, mask);
    const interpolated = inverseDistanceFill(target, mask);
    assertClearPixelsUntouched(substituted, target, mask);
    assertClearPixelsUntouched(interpolated, target, mask);
    const [substitutionRmse, interpolationRmse] = [rmse(target, substituted, mask), rmse(target, interpolated, mask)];
    assert.ok(substitutionRmse < naive, `reference substitution ${substitutionRmse} vs naive ${naive}`);
    assert.ok(interpolationRmse < naive, `inverse-distance fill ${interpolationRmse} vs naive ${naive}`);
  });
});
