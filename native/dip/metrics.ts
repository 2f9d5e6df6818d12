/**
 * Reconstruction quality against a ground truth, in the METHOD.md reflectance scale (DN clipped to [0, 10000],
 * ÷ 2000), for the whole image and for the masked (cloud, mask = 1) region:
 * - RMSE = sqrt(mean((truth − pred)²)) and MAE = mean(|truth − pred|) over the selected pixels and all bands;
 * - PSNR = 10·log10(DATA_RANGE² / MSE) in dB with DATA_RANGE = 2.0 (as skimage `peak_signal_noise_ratio(...,
 *   data_range=2.0)`); +Infinity when the images are identical;
 * - SAM = mean spectral angle in **radians**, arccos(a·b / (|a||b|)) per pixel between the band vectors; pixels
 *   where either vector is all zeros have no angle and are left out;
 * - SSIM as scikit-image computes it, see ./ssim.ts (window 'gaussian' by default, 'uniform' on request).
 * Masked scores of a mask without any masked pixel are NaN (there is nothing to score), not an error, so an
 * evaluation table can still show the whole-image scores.
 */
import { checkMaskGrid, checkSameImageGrid } from './grid-checks.ts';
import { cropImage, cropMask, type Image, type Mask, type PixelWindow } from './image.ts';
import { DATA_RANGE, ssimBorder, ssimScores, ssimSums, type SsimOptions, type SsimSums } from './ssim.ts';

export { DATA_RANGE, describeSsim, maskedSsim, ssim, ssimBorder, ssimMap, ssimScores, type SsimOptions, type SsimWindow } from './ssim.ts';

export interface Scores {
  rmse: number;
  mae: number;
  /** dB, peak = DATA_RANGE (2.0). */
  psnr: number;
  /** Mean spectral angle, radians. */
  sam: number;
  ssim: number;
}

export interface ReconstructionScores {
  whole: Scores;
  /** Over pixels with mask = 1; every score NaN when there are none. */
  masked: Scores;
}

/** Every score for the whole image and for the masked region. */
export function scoreReconstruction(truth: Image, pred: Image, mask: Mask, options: SsimOptions = {}): ReconstructionScores {
  const errors = errorSums(truth, pred, mask);
  const structural = ssimScores(truth, pred, mask, options);
  return {
    whole: { ...pixelScores(errors.whole, truth.bands), ssim: structural.whole },
    masked: { ...pixelScores(errors.masked, truth.bands), ssim: structural.masked },
  };
}

/** RMSE over the whole image, or over the masked pixels when a mask is given. */
export function rmse(truth: Image, pred: Image, mask?: Mask): number {
  return selectedScores(truth, pred, mask).rmse;
}

/** MAE over the whole image, or over the masked pixels when a mask is given. */
export function mae(truth: Image, pred: Image, mask?: Mask): number {
  return selectedScores(truth, pred, mask).mae;
}

/** PSNR (dB, peak 2.0) over the whole image, or over the masked pixels when a mask is given. */
export function psnr(truth: Image, pred: Image, mask?: Mask): number {
  return selectedScores(truth, pred, mask).psnr;
}

/** Mean spectral angle (radians) over the whole image, or over the masked pixels when a mask is given. */
export function sam(truth: Image, pred: Image, mask?: Mask): number {
  return selectedScores(truth, pred, mask).sam;
}

/**
 * The scores of an image too large to hold at once, added up block by block (e.g. overlapping tiles): each block
 * counts only its `core`, the pixels no other block counts. The result equals scoreReconstruction on the whole
 * image as long as each core lies at least ssimBorder() pixels inside its block wherever it is not at the
 * image's edge (the SSIM window must see the same neighbours).
 */
export class BlockScores {
  private readonly whole = emptySums();
  private readonly masked = emptySums();
  private readonly ssim: SsimSums = { wholeSum: 0, wholeCount: 0, maskedSum: 0, maskedCount: 0 };
  private bands = 0;

  constructor(
    private readonly width: number,
    private readonly height: number,
    private readonly options: SsimOptions = {},
  ) {}

  /** `block`: where the images lie in the whole image; `core`: the part of it to count (whole-image pixels). */
  add(truth: Image, pred: Image, mask: Mask, block: PixelWindow, core: PixelWindow): void {
    const local = { ...core, x: core.x - block.x, y: core.y - block.y };
    const sums = errorSums(cropImage(truth, local), cropImage(pred, local), cropMask(mask, local));
    mergeSums(this.whole, sums.whole);
    mergeSums(this.masked, sums.masked);
    // The whole-image SSIM leaves out the image's border, wherever in the blocks it falls.
    const pad = ssimBorder(this.options.window);
    const left = Math.max(core.x, pad);
    const top = Math.max(core.y, pad);
    const right = Math.min(core.x + core.width, this.width - pad);
    const bottom = Math.min(core.y + core.height, this.height - pad);
    const whole = { x: left - block.x, y: top - block.y, width: Math.max(0, right - left), height: Math.max(0, bottom - top) };
    const structural = ssimSums(truth, pred, mask, { masked: local, whole }, this.options);
    this.ssim.wholeSum += structural.wholeSum;
    this.ssim.wholeCount += structural.wholeCount;
    this.ssim.maskedSum += structural.maskedSum;
    this.ssim.maskedCount += structural.maskedCount;
    this.bands = truth.bands;
  }

  /** The scores of every pixel added so far; NaN where nothing was counted. */
  result(): ReconstructionScores & { maskedPixels: number } {
    const { ssim } = this;
    return {
      whole: { ...pixelScores(this.whole, this.bands), ssim: ssim.wholeCount ? ssim.wholeSum / ssim.wholeCount : NaN },
      masked: { ...pixelScores(this.masked, this.bands), ssim: ssim.maskedCount ? ssim.maskedSum / ssim.maskedCount : NaN },
      maskedPixels: this.masked.pixels,
    };
  }
}

function mergeSums(into: ErrorSums, from: ErrorSums): void {
  into.pixels += from.pixels;
  into.squared += from.squared;
  into.absolute += from.absolute;
  into.angle += from.angle;
  into.anglePixels += from.anglePixels;
}

interface ErrorSums {
  pixels: number;
  squared: number;
  absolute: number;
  angle: number;
  /** Pixels with a defined spectral angle. */
  anglePixels: number;
}

function emptySums(): ErrorSums {
  return { pixels: 0, squared: 0, absolute: 0, angle: 0, anglePixels: 0 };
}

function selectedScores(truth: Image, pred: Image, mask: Mask | undefined): Omit<Scores, 'ssim'> {
  const sums = errorSums(truth, pred, mask);
  return pixelScores(mask ? sums.masked : sums.whole, truth.bands);
}

/** One pass accumulating the pixel-wise error sums for the whole image and, if a mask is given, its masked part. */
function errorSums(truth: Image, pred: Image, mask: Mask | undefined): { whole: ErrorSums; masked: ErrorSums } {
  checkSameImageGrid(truth, pred, 'truth', 'prediction');
  if (mask) checkMaskGrid(truth, mask, 'truth');
  const whole = emptySums();
  const masked = emptySums();
  const { bands } = truth;
  const a = truth.data;
  const b = pred.data;
  const pixels = truth.width * truth.height;
  for (let p = 0; p < pixels; p++) {
    let squared = 0;
    let absolute = 0;
    let dot = 0;
    let normA = 0;
    let normB = 0;
    for (let i = p * bands, end = i + bands; i < end; i++) {
      const d = a[i] - b[i];
      squared += d * d;
      absolute += Math.abs(d);
      dot += a[i] * b[i];
      normA += a[i] * a[i];
      normB += b[i] * b[i];
    }
    // A zero vector has no direction, hence no spectral angle: NaN, skipped by addPixel.
    const angle = normA > 0 && normB > 0 ? Math.acos(Math.min(1, Math.max(-1, dot / Math.sqrt(normA * normB)))) : NaN;
    addPixel(whole, squared, absolute, angle);
    if (mask?.data[p]) addPixel(masked, squared, absolute, angle);
  }
  return { whole, masked };
}

function addPixel(sums: ErrorSums, squared: number, absolute: number, angle: number): void {
  sums.pixels++;
  sums.squared += squared;
  sums.absolute += absolute;
  if (!Number.isNaN(angle)) {
    sums.angle += angle;
    sums.anglePixels++;
  }
}

function pixelScores(sums: ErrorSums, bands: number): Omit<Scores, 'ssim'> {
  const values = sums.pixels * bands;
  const mse = values ? sums.squared / values : NaN;
  return {
    rmse: Math.sqrt(mse),
    mae: values ? sums.absolute / values : NaN,
    psnr: 10 * Math.log10((DATA_RANGE * DATA_RANGE) / mse),
    sam: sums.anglePixels ? sums.angle / sums.anglePixels : NaN,
  };
}
