/**
 * Cheap cloud-removal baselines a DIP reconstruction must beat to be worth its cost (METHOD.md):
 * - reference substitution: cloudy pixels taken from the multi-temporal reference, after a per-band gain and
 *   offset fitted on clear pixels around the clouds;
 * - the same, cloned seamlessly into the clear pixels (seamless.ts): the mismatch the fit leaves at the cloud's
 *   edge is carried inward, so the fill meets its surroundings; beyond METHOD.md, measured better on Slovenia;
 * - inverse-distance fill from the cloud edge, as `gdal_fillnodata`.
 * Each returns a new image; clear pixels (mask = 0) keep the target's values exactly.
 */
import { InputError } from '../errors.ts';
import { checkMaskGrid, checkSameImageGrid } from './grid-checks.ts';
import { createImage, type Image, type Mask } from './image.ts';
import { dilateMask } from './mask-ops.ts';
import { cloneSeamlessly } from './seamless.ts';

export interface ReferenceSubstitutionOptions {
  /** Clear pixels at most this many pixels (Chebyshev distance: a square around each cloud pixel) from a cloud
   * pixel form the ring the gain and offset are fitted on. Default 10. */
  ringWidth?: number;
  /** With fewer ring pixels than this the fit uses every clear pixel instead. Default 50. */
  minRingPixels?: number;
}

export interface GainOffsetFit {
  /** Per band: target ≈ gain · reference + offset. */
  gains: Float64Array;
  offsets: Float64Array;
  /** Which pixels the fit used; 'none' (gain 1, offset 0) when the mask has no clear pixel. */
  fittedOn: 'ring' | 'all-clear' | 'none';
  pixels: number;
}

/** The target with its cloudy pixels replaced by the gain/offset-adjusted reference. */
export function referenceSubstitution(target: Image, reference: Image, mask: Mask, options: ReferenceSubstitutionOptions = {}): Image {
  const fit = fitReferenceToTarget(target, reference, mask, options);
  const { bands } = target;
  const out = { ...target, data: Float32Array.from(target.data) };
  for (let p = 0; p < mask.data.length; p++) {
    if (!mask.data[p]) continue;
    for (let b = 0, i = p * bands; b < bands; b++, i++) out.data[i] = fit.gains[b] * reference.data[i] + fit.offsets[b];
  }
  return out;
}

/**
 * The reference-fit substitution cloned seamlessly: under the clouds, the fitted reference moved by the harmonic
 * continuation of its mismatch with the clear pixels at the cloud's edge. `invalid` pixels (nodata) are neither
 * fitted on nor used as edge values.
 */
export function seamlessReferenceSubstitution(target: Image, reference: Image, mask: Mask, invalid?: Mask): Image {
  const estimate = referenceFitEstimate({ s2: target, mask, reference, invalid });
  const out = cloneSeamlessly(estimate, target, mask, invalid);
  for (let p = 0; p < mask.data.length; p++) {
    if (!mask.data[p]) out.data.set(target.data.subarray(p * target.bands, (p + 1) * target.bands), p * target.bands);
  }
  return out;
}

/**
 * The reference-fit estimate over every pixel: gain · reference + offset per band, fitted on the clear ring around
 * the clouds; pixels outside the scene (`invalid`) count as neither clear nor cloud.
 */
export function referenceFitEstimate({ s2, mask, reference, invalid }: { s2: Image; mask: Mask; reference?: Image; invalid?: Mask }): Image {
  if (!reference) throw new InputError(undefined, 'the reference-fit estimate needs a reference');
  const unknown = invalid ? { ...mask, data: mask.data.map((cloud, p) => (cloud || invalid.data[p] ? 1 : 0)) } : mask;
  const fit = fitReferenceToTarget(s2, reference, unknown);
  const out = createImage(s2.width, s2.height, s2.bands);
  for (let i = 0; i < out.data.length; i++) {
    const b = i % s2.bands;
    out.data[i] = fit.gains[b] * reference.data[i] + fit.offsets[b];
  }
  return out;
}

/**
 * Least-squares gain and offset per band mapping the reference onto the target over the clear ring around the
 * clouds (falling back to all clear pixels when the ring is smaller than `minRingPixels`). A band whose reference
 * is constant over those pixels gets gain 1 and the mean difference as offset.
 */
export function fitReferenceToTarget(target: Image, reference: Image, mask: Mask, options: ReferenceSubstitutionOptions = {}): GainOffsetFit {
  checkSameImageGrid(target, reference, 'target', 'reference');
  checkMaskGrid(target, mask, 'target');
  const ringWidth = options.ringWidth ?? 10;
  const minRingPixels = options.minRingPixels ?? 50;
  if (!Number.isInteger(ringWidth) || ringWidth < 1) throw new InputError(undefined, `ring width must be a positive whole number of pixels, got ${ringWidth}`);

  const clear = (p: number): boolean => mask.data[p] === 0;
  const nearCloud = dilateMask(mask, ringWidth).data;
  const ring = (p: number): boolean => clear(p) && nearCloud[p] === 1;
  const ringPixels = countWhere(mask.data.length, ring);
  const clearPixels = countWhere(mask.data.length, clear);
  const bands = target.bands;
  if (clearPixels === 0) {
    return { gains: new Float64Array(bands).fill(1), offsets: new Float64Array(bands), fittedOn: 'none', pixels: 0 };
  }
  const useRing = ringPixels >= minRingPixels;
  const selected = useRing ? ring : clear;
  const { gains, offsets } = leastSquaresPerBand(target, reference, selected);
  return { gains, offsets, fittedOn: useRing ? 'ring' : 'all-clear', pixels: useRing ? ringPixels : clearPixels };
}

function countWhere(pixels: number, predicate: (p: number) => boolean): number {
  let n = 0;
  for (let p = 0; p < pixels; p++) if (predicate(p)) n++;
  return n;
}

/** Two passes (means, then centred sums) so that large offsets do not cost precision. */
function leastSquaresPerBand(target: Image, reference: Image, selected: (p: number) => boolean): { gains: Float64Array; offsets: Float64Array } {
  const bands = target.bands;
  const pixels = target.width * target.height;
  const meanT = new Float64Array(bands);
  const meanR = new Float64Array(bands);
  let n = 0;
  for (let p = 0; p < pixels; p++) {
    if (!selected(p)) continue;
    n++;
    for (let b = 0, i = p * bands; b < bands; b++, i++) {
      meanT[b] += target.data[i];
      meanR[b] += reference.data[i];
    }
  }
  for (let b = 0; b < bands; b++) {
    meanT[b] /= n;
    meanR[b] /= n;
  }
  const covariance = new Float64Array(bands);
  const variance = new Float64Array(bands);
  for (let p = 0; p < pixels; p++) {
    if (!selected(p)) continue;
    for (let b = 0, i = p * bands; b < bands; b++, i++) {
      const r = reference.data[i] - meanR[b];
      covariance[b] += r * (target.data[i] - meanT[b]);
      variance[b] += r * r;
    }
  }
  const gains = new Float64Array(bands);
  const offsets = new Float64Array(bands);
  for (let b = 0; b < bands; b++) {
    gains[b] = variance[b] > 0 ? covariance[b] / variance[b] : 1;
    offsets[b] = meanT[b] - gains[b] * meanR[b];
  }
  return { gains, offsets };
}

export interface InverseDistanceFillOptions {
  /** Search no farther than this many pixels (Euclidean) for values to interpolate from. Default 100 (gdal's). */
  maxDistance?: number;
  /** 3×3 mean-filter passes over the filled pixels afterwards, to soften the quadrant pattern. Default 0. */
  smoothingIterations?: number;
}

/**
 * Fills every masked pixel by inverse-distance weighting from the clear pixels, as GDAL's `GDALFillNodata`
 * (`gdal_fillnodata`, rasterfill.cpp) does: around each masked pixel the plane is split into four quadrants
 * (rows at or above / below, columns at or left of / right of the pixel); in each, the nearest clear pixel within
 * `maxDistance` is found, and the pixel becomes Σ vᵢ/dᵢ / Σ 1/dᵢ over those (up to four) pixels — GDAL weights by
 * 1/d, not 1/d². Where GDAL reaches, the result equals GDAL's. Unlike GDAL, which leaves pixels with nothing in
 * reach as nodata, we then repeat with the filled pixels as sources until every pixel has a value. One search
 * serves all bands (our mask is shared by the bands). Smoothing replaces each filled pixel by the mean of its 3×3
 * neighbourhood, all pixels updated at once; GDAL's own smoothing pass updates in a rolling buffer and skips the
 * first and last rows, so smoothed results differ slightly from GDAL's.
 */
export function inverseDistanceFill(target: Image, mask: Mask, options: InverseDistanceFillOptions = {}): Image {
  checkMaskGrid(target, mask, 'target');
  const maxDistance = options.maxDistance ?? 100;
  const smoothingIterations = options.smoothingIterations ?? 0;
  // A distance of at least 1 reaches a 4-neighbour, so every repeat fills something and the loop ends.
  if (!(maxDistance >= 1)) throw new InputError(undefined, `maximum fill distance must be at least 1 pixel, got ${maxDistance}`);
  if (!Number.isInteger(smoothingIterations) || smoothingIterations < 0) {
    throw new InputError(undefined, `smoothing iterations must be a whole number ≥ 0, got ${smoothingIterations}`);
  }
  const known = Uint8Array.from(mask.data, (v) => (v ? 0 : 1));
  if (!known.includes(1)) throw new InputError(undefined, 'the mask has no clear pixel to interpolate from');

  const out = { ...target, data: Float32Array.from(target.data) };
  let pending = Int32Array.from(maskedPixels(mask));
  while (pending.length > 0) {
    const search = new QuadrantSearch(known, mask.width, mask.height, maxDistance);
    const filled: number[] = [];
    const left: number[] = [];
    for (const p of pending) (search.interpolate(p, out) ? filled : left).push(p);
    // Only now do this round's pixels become sources, so the result does not depend on the visiting order.
    for (const p of filled) known[p] = 1;
    pending = Int32Array.from(left);
  }
  for (let i = 0; i < smoothingIterations; i++) smoothFilled(out, mask);
  return out;
}

function maskedPixels(mask: Mask): number[] {
  const pixels: number[] = [];
  for (let p = 0; p < mask.data.length; p++) if (mask.data[p]) pixels.push(p);
  return pixels;
}

/**
 * GDAL's quadrant search, reproduced step for step so that results match `gdal_fillnodata` to the float32 bit
 * (checked against GDAL 3.6 by test/fixtures/gdal-fillnodata.json), including its quirks: ties between equally
 * distant pixels resolve by floating-point rounding of the stored distance, the column scan stops early every
 * four steps, and at the right border the scan re-reads the last column (so a pixel in the last column counts its
 * own column twice).
 */
class QuadrantSearch {
  /** Row of the nearest known pixel in the same column at or above each pixel, −1 if none. */
  private readonly above: Int32Array;
  /** Row of the nearest known pixel in the same column strictly below each pixel, −1 if none. */
  private readonly below: Int32Array;
  private readonly distance = new Float64Array(4);
  private readonly source = new Int32Array(4);

  constructor(
    known: Uint8Array,
    private readonly width: number,
    private readonly height: number,
    private readonly maxDistance: number,
  ) {
    this.above = new Int32Array(known.length);
    this.below = new Int32Array(known.length);
    for (let row = 0; row < height; row++) {
      for (let col = 0, p = row * width; col < width; col++, p++) {
        this.above[p] = known[p] ? row : row > 0 ? this.above[p - width] : -1;
      }
    }
    for (let row = height - 1; row >= 0; row--) {
      for (let col = 0, p = row * width; col < width; col++, p++) {
        this.below[p] = row === height - 1 ? -1 : known[p + width] ? row + 1 : this.below[p + width];
      }
    }
  }

  /** Writes the interpolated value of pixel p into `image`; false when no known pixel is within reach. */
  interpolate(p: number, image: Image): boolean {
    const { width, maxDistance, distance, source, above, below } = this;
    const row = Math.floor(p / width);
    const col = p - row * width;
    const rowStart = row * width;
    // Quadrants: 0 top-left (rows ≤ row, columns ≤ col), 1 bottom-left, 2 top-right, 3 bottom-right.
    distance.fill(maxDistance + 1);
    source.fill(-1);
    let lastStep = Math.floor(maxDistance);
    for (let step = 0; step <= lastStep; step++) {
      const leftCol = Math.max(0, col - step);
      const rightCol = Math.min(width - 1, col + step);
      this.consider(0, row, col, leftCol, above[rowStart + leftCol]);
      this.consider(1, row, col, leftCol, below[rowStart + leftCol]);
      if (step === 0) continue;
      this.consider(2, row, col, rightCol, above[rowStart + rightCol]);
      this.consider(3, row, col, rightCol, below[rowStart + rightCol]);
      // Columns further out than every quadrant's best distance cannot improve on it.
      if ((step & 3) === 0) lastStep = Math.floor(Math.max(distance[0], distance[1], distance[2], distance[3]));
    }
    let weightSum = 0;
    for (let q = 0; q < 4; q++) if (source[q] >= 0 && distance[q] <= maxDistance) weightSum += 1 / distance[q];
    if (weightSum === 0) return false;
    const bands = image.bands;
    for (let b = 0; b < bands; b++) {
      let valueSum = 0;
      for (let q = 0; q < 4; q++) {
        if (source[q] >= 0 && distance[q] <= maxDistance) valueSum += image.data[source[q] * bands + b] * (1 / distance[q]);
      }
      image.data[p * bands + b] = valueSum / weightSum;
    }
    return true;
  }

  private consider(quadrant: number, row: number, col: number, candidateCol: number, candidateRow: number): void {
    if (candidateRow < 0) return;
    const dx = candidateCol - col;
    const dy = candidateRow - row;
    const squared = dx * dx + dy * dy;
    // Compared with the square of the stored root, as GDAL does: this decides its ties.
    const best = this.distance[quadrant];
    if (squared < best * best) {
      this.distance[quadrant] = Math.sqrt(squared);
      this.source[quadrant] = candidateRow * this.width + candidateCol;
    }
  }
}

/** One pass of GDAL's smoothing: each filled pixel becomes the mean of its 3×3 neighbourhood (inside the image). */
function smoothFilled(image: Image, mask: Mask): void {
  const { width, height, bands } = image;
  const previous = Float32Array.from(image.data);
  for (let row = 0; row < height; row++) {
    for (let col = 0; col < width; col++) {
      const p = row * width + col;
      if (!mask.data[p]) continue;
      const top = Math.max(0, row - 1);
      const bottom = Math.min(height - 1, row + 1);
      const left = Math.max(0, col - 1);
      const right = Math.min(width - 1, col + 1);
      const count = (bottom - top + 1) * (right - left + 1);
      for (let b = 0; b < bands; b++) {
        let sum = 0;
        for (let r = top; r <= bottom; r++) {
          for (let c = left; c <= right; c++) sum += previous[(r * width + c) * bands + b];
        }
        image.data[p * bands + b] = sum / count;
      }
    }
  }
}
