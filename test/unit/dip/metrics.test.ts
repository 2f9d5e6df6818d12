import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

import { InputError } from '../../../native/errors.ts';
import { createImage, createMask, type Image, type Mask } from '../../../native/dip/image.ts';
import { maskedSsim, rmse, sam, scoreReconstruction, ssim, ssimMap, type SsimWindow } from '../../../native/dip/metrics.ts';
import { REPO_ROOT } from '../../helpers/data.ts';

interface FixtureCase {
  name: string;
  height: number;
  width: number;
  bands: number;
  truthDN: number[];
  predDN: number[];
  mask: string;
  expected: Record<SsimWindow, { ssimWhole: number; ssimMasked: number }> &
    Record<'whole' | 'masked', { rmse: number; mae: number; psnr: number; sam: number }>;
}

const fixture = JSON.parse(readFileSync(path.join(REPO_ROOT, 'test/fixtures/ssim-skimage.json'), 'utf8')) as { scale: number; cases: FixtureCase[] };

function imageFromDN(c: FixtureCase, dn: number[]): Image {
  const image = createImage(c.width, c.height, c.bands);
  // Float32Array storage rounds DN / scale to float32, as the fixture script does.
  for (let i = 0; i < dn.length; i++) image.data[i] = dn[i] / fixture.scale;
  return image;
}

function maskFromString(c: FixtureCase): Mask {
  const mask = createMask(c.width, c.height);
  for (let i = 0; i < c.mask.length; i++) mask.data[i] = c.mask[i] === '1' ? 1 : 0;
  return mask;
}

/** A smooth, textured test image in the ÷2000 scale. */
function texturedImage(width: number, height: number, bands: number): Image {
  const image = createImage(width, height, bands);
  for (let row = 0; row < height; row++) {
    for (let col = 0; col < width; col++) {
      for (let b = 0; b < bands; b++) {
        image.data[(row * width + col) * bands + b] = 0.6 + 0.3 * Math.sin(0.3 * row + b) * Math.cos(0.2 * col - b);
      }
    }
  }
  return image;
}

function squareMask(width: number, height: number, from: number, to: number): Mask {
  const mask = createMask(width, height);
  for (let row = from; row < to; row++) mask.data.fill(1, row * width + from, row * width + to);
  return mask;
}

const TOLERANCE = 1e-4;

describe('metrics against scikit-image 0.19 (test/fixtures/ssim-skimage.json)', () => {
  for (const c of fixture.cases) {
    const truth = imageFromDN(c, c.truthDN);
    const pred = imageFromDN(c, c.predDN);
    const mask = maskFromString(c);

    for (const window of ['gaussian', 'uniform'] as const) {
      it(`${c.name}: ${window} SSIM, whole image and masked`, () => {
        const scores = scoreReconstruction(truth, pred, mask, { window });
        assert.ok(Math.abs(scores.whole.ssim - c.expected[window].ssimWhole) < TOLERANCE, `whole ${scores.whole.ssim} vs ${c.expected[window].ssimWhole}`);
        assert.ok(Math.abs(scores.masked.ssim - c.expected[window].ssimMasked) < TOLERANCE, `masked ${scores.masked.ssim} vs ${c.expected[window].ssimMasked}`);
      });
    }

    it(`${c.name}: RMSE, MAE, PSNR, SAM, whole image and masked`, () => {
      const scores = scoreReconstruction(truth, pred, mask);
      for (const region of ['whole', 'masked'] as const) {
        for (const metric of ['rmse', 'mae', 'psnr', 'sam'] as const) {
          const [got, want] = [scores[region][metric], c.expected[region][metric]];
          assert.ok(Math.abs(got - want) < TOLERANCE, `${region} ${metric}: ${got} vs ${want}`);
        }
      }
    });
  }

  it('the single-metric functions agree with scoreReconstruction', () => {
    const c = fixture.cases[0];
    const [truth, pred, mask] = [imageFromDN(c, c.truthDN), imageFromDN(c, c.predDN), maskFromString(c)];
    const scores = scoreReconstruction(truth, pred, mask);
    assert.equal(rmse(truth, pred), scores.whole.rmse);
    assert.equal(rmse(truth, pred, mask), scores.masked.rmse);
    assert.equal(ssim(truth, pred), scores.whole.ssim);
    assert.equal(maskedSsim(truth, pred, mask), scores.masked.ssim);
    // the masked score is the plain mean of the full map over masked pixels and bands
    const map = ssimMap(truth, pred);
    let sum = 0;
    let n = 0;
    for (let p = 0; p < mask.data.length; p++) {
      if (!mask.data[p]) continue;
      for (let b = 0; b < c.bands; b++) sum += map.data[p * c.bands + b];
      n += c.bands;
    }
    assert.ok(Math.abs(sum / n - scores.masked.ssim) < 1e-6);
  });
});

describe('metrics behaviour', () => {
  const truth = texturedImage(32, 30, 4);
  const mask = squareMask(32, 30, 8, 20);

  it('identical images score perfectly', () => {
    const scores = scoreReconstruction(truth, truth, mask);
    for (const region of [scores.whole, scores.masked]) {
      assert.equal(region.rmse, 0);
      assert.equal(region.mae, 0);
      assert.equal(region.psnr, Infinity);
      assert.ok(Math.abs(region.ssim - 1) < 1e-12);
      assert.ok(region.sam < 1e-6);
    }
  });

  it('an error only inside the mask is diluted in the whole-image scores', () => {
    const pred = createImage(truth.width, truth.height, truth.bands);
    pred.data.set(truth.data);
    let cloudPixels = 0;
    for (let p = 0; p < mask.data.length; p++) {
      if (!mask.data[p]) continue;
      cloudPixels++;
      for (let b = 0; b < truth.bands; b++) pred.data[p * truth.bands + b] += 0.1 * Math.sin(p + b);
    }
    const scores = scoreReconstruction(truth, pred, mask);
    assert.ok(scores.masked.rmse > 0.05);
    // the same squared error spread over all pixels instead of the masked ones
    const expectedWhole = scores.masked.rmse * Math.sqrt(cloudPixels / mask.data.length);
    assert.ok(Math.abs(scores.whole.rmse - expectedWhole) < 1e-6);
    assert.ok(scores.whole.mae < scores.masked.mae);
    assert.ok(scores.whole.psnr > scores.masked.psnr);
    assert.ok(scores.whole.ssim > scores.masked.ssim);
    assert.ok(scores.masked.ssim < 0.99);
  });

  it('a mask without masked pixels gives NaN masked scores and normal whole-image scores', () => {
    const pred = texturedImage(32, 30, 4);
    pred.data[5] += 0.2;
    const scores = scoreReconstruction(truth, pred, createMask(32, 30));
    for (const value of Object.values(scores.masked)) assert.ok(Number.isNaN(value));
    for (const value of Object.values(scores.whole)) assert.ok(Number.isFinite(value));
  });

  it('SAM measures the spectral angle in radians and ignores brightness', () => {
    const a = createImage(1, 1, 2);
    const b = createImage(1, 1, 2);
    a.data.set([1, 0]);
    b.data.set([0, 2]);
    assert.ok(Math.abs(sam(a, b) - Math.PI / 2) < 1e-12);
    const brighter = createImage(truth.width, truth.height, truth.bands);
    for (let i = 0; i < truth.data.length; i++) brighter.data[i] = 1.5 * truth.data[i];
    assert.ok(sam(truth, brighter) < 1e-6);
    assert.ok(rmse(truth, brighter) > 0.1);
  });

  it('the two SSIM windows are different definitions', () => {
    const pred = texturedImage(32, 30, 4);
    for (let i = 0; i < pred.data.length; i += 7) pred.data[i] += 0.05;
    assert.ok(Math.abs(ssim(truth, pred, { window: 'gaussian' }) - ssim(truth, pred, { window: 'uniform' })) > 1e-3);
  });

  it('rejects images of different grids and images smaller than the SSIM window', () => {
    assert.throws(() => scoreReconstruction(truth, texturedImage(31, 30, 4), mask), InputError);
    assert.throws(() => scoreReconstruction(truth, texturedImage(32, 30, 3), mask), InputError);
    assert.throws(() => scoreReconstruction(truth, truth, createMask(30, 32)), InputError);
    const small = texturedImage(9, 9, 3);
    assert.throws(() => ssim(small, small), /smaller than the 11×11 SSIM window/);
    assert.equal(ssim(small, small, { window: 'uniform' }), 1);
  });
});
