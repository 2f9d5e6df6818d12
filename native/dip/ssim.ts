/**
 * SSIM (Wang et al. 2004) computed exactly as scikit-image 0.19 `structural_similarity` does, so that our figures
 * can be compared with the paper's reference code:
 * - each band is filtered on its own (`channel_axis=-1`) and the band results are averaged;
 * - local means, variances and covariance come from separable filters with scipy's 'reflect' boundary
 *   (d c b a | a b c d | d c b a);
 * - the whole-image score is the mean of the SSIM map after cropping a border of (window − 1) / 2 pixels, the
 *   masked score is the mean of the full, uncropped map over the masked pixels (all bands).
 * Two window definitions exist (METHOD.md: a figure must say which one it uses), see `SsimWindow`.
 * Arithmetic is float64 throughout.
 */
import { InputError } from '../errors.ts';
import { checkMaskGrid, checkSameImageGrid } from './grid-checks.ts';
import { createImage, type Image, type Mask, type PixelWindow as Window } from './image.ts';

/**
 * The value range of our reflectance scale: digital numbers are clipped to [0, 10000] and divided by 2000
 * (METHOD.md), so values lie in [0, 5]; the paper's code nevertheless passes data_range=2.0 to SSIM and PSNR,
 * and we keep that convention so figures are comparable.
 */
export const DATA_RANGE = 2.0;

/**
 * - 'gaussian': 11×11 Gaussian window, σ = 1.5 (truncated at 3.5σ), population covariance — the paper's stated
 *   definition; skimage `gaussian_weights=True, sigma=1.5, use_sample_covariance=False`.
 * - 'uniform': 7×7 uniform window, sample covariance (N − 1) — skimage's defaults, used by the authors' later
 *   reference code.
 */
export type SsimWindow = 'gaussian' | 'uniform';

export interface SsimOptions {
  /** Default 'gaussian'. */
  window?: SsimWindow;
}

/** One line a figure or table can carry to say which SSIM it reports. */
export function describeSsim(window: SsimWindow = 'gaussian'): string {
  return window === 'gaussian'
    ? 'SSIM with an 11×11 Gaussian window (σ=1.5), population covariance, data range 2.0 (Wang et al. 2004; skimage gaussian_weights=True)'
    : 'SSIM with a 7×7 uniform window, sample covariance, data range 2.0 (scikit-image defaults)';
}

interface WindowSpec {
  /** Odd-length, normalised 1-D weights; the 2-D window is their outer product. */
  weights: Float64Array;
  /** Factor turning the filtered second moments into (co)variances: 1, or N/(N−1) for sample covariance. */
  covarianceNorm: number;
}

function windowSpec(window: SsimWindow): WindowSpec {
  if (window === 'gaussian') {
    // scipy.ndimage.gaussian_filter: radius = int(truncate·σ + 0.5) with skimage's truncate = 3.5 → 11 taps
    const sigma = 1.5;
    const radius = Math.trunc(3.5 * sigma + 0.5);
    const weights = new Float64Array(2 * radius + 1);
    let sum = 0;
    for (let x = -radius; x <= radius; x++) {
      weights[x + radius] = Math.exp((-0.5 / (sigma * sigma)) * x * x);
      sum += weights[x + radius];
    }
    for (let i = 0; i < weights.length; i++) weights[i] /= sum;
    return { weights, covarianceNorm: 1 };
  }
  if (window === 'uniform') {
    const size = 7;
    const pixels = size * size;
    return { weights: new Float64Array(size).fill(1 / size), covarianceNorm: pixels / (pixels - 1) };
  }
  throw new InputError(undefined, `unknown SSIM window '${String(window)}' (expected gaussian or uniform)`);
}

/** scipy.ndimage 'reflect' boundary: index i of a line of n samples mirrored about the half-sample edges. */
function reflectIndex(i: number, n: number): number {
  const period = 2 * n;
  const m = ((i % period) + period) % period;
  return m < n ? m : period - 1 - m;
}

/** For output position j, `table[j + k]` is the source index of tap k (k = 0 … taps − 1). */
function reflectTable(n: number, radius: number): Int32Array {
  const table = new Int32Array(n + 2 * radius);
  for (let j = 0; j < table.length; j++) table[j] = reflectIndex(j - radius, n);
  return table;
}

/** Separable 2-D correlation of a row-major plane with the window's 1-D weights along both axes. */
class PlaneFilter {
  private readonly columnTable: Int32Array;
  private readonly rowTable: Int32Array;
  private readonly temp: Float64Array;

  constructor(
    private readonly width: number,
    private readonly height: number,
    private readonly weights: Float64Array,
  ) {
    const radius = (weights.length - 1) / 2;
    this.columnTable = reflectTable(width, radius);
    this.rowTable = reflectTable(height, radius);
    this.temp = new Float64Array(width * height);
  }

  apply(source: Float64Array, target: Float64Array): void {
    const { width, height, weights, columnTable, rowTable, temp } = this;
    const taps = weights.length;
    for (let row = 0; row < height; row++) {
      const base = row * width;
      for (let col = 0; col < width; col++) {
        let sum = 0;
        for (let k = 0; k < taps; k++) sum += weights[k] * source[base + columnTable[col + k]];
        temp[base + col] = sum;
      }
    }
    // Vertical pass one whole row at a time, so memory is read in order.
    for (let row = 0; row < height; row++) {
      const out = row * width;
      target.fill(0, out, out + width);
      for (let k = 0; k < taps; k++) {
        const weight = weights[k];
        const from = rowTable[row + k] * width;
        for (let col = 0; col < width; col++) target[out + col] += weight * temp[from + col];
      }
    }
  }
}

/** Calls `visit(band, map)` with each band's full (uncropped) SSIM map, row-major; `map` is reused between calls. */
function forEachBandSsimMap(truth: Image, pred: Image, window: SsimWindow, visit: (band: number, map: Float64Array) => void): void {
  checkSameImageGrid(truth, pred, 'truth', 'prediction');
  const spec = windowSpec(window);
  const size = spec.weights.length;
  const { width, height, bands } = truth;
  if (width < size || height < size) {
    throw new InputError(undefined, `image of ${width}×${height} pixels is smaller than the ${size}×${size} SSIM window`);
  }
  const pixels = width * height;
  const filter = new PlaneFilter(width, height, spec.weights);
  const x = new Float64Array(pixels);
  const y = new Float64Array(pixels);
  const product = new Float64Array(pixels);
  const [ux, uy, uxx, uyy, uxy] = Array.from({ length: 5 }, () => new Float64Array(pixels));
  const c1 = (0.01 * DATA_RANGE) ** 2;
  const c2 = (0.03 * DATA_RANGE) ** 2;
  const norm = spec.covarianceNorm;

  for (let band = 0; band < bands; band++) {
    for (let p = 0; p < pixels; p++) {
      x[p] = truth.data[p * bands + band];
      y[p] = pred.data[p * bands + band];
    }
    filter.apply(x, ux);
    filter.apply(y, uy);
    for (let p = 0; p < pixels; p++) product[p] = x[p] * x[p];
    filter.apply(product, uxx);
    for (let p = 0; p < pixels; p++) product[p] = y[p] * y[p];
    filter.apply(product, uyy);
    for (let p = 0; p < pixels; p++) product[p] = x[p] * y[p];
    filter.apply(product, uxy);

    const map = product;
    for (let p = 0; p < pixels; p++) {
      const mx = ux[p];
      const my = uy[p];
      const vx = norm * (uxx[p] - mx * mx);
      const vy = norm * (uyy[p] - my * my);
      const vxy = norm * (uxy[p] - mx * my);
      map[p] = ((2 * mx * my + c1) * (2 * vxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
    }
    visit(band, map);
  }
}

export interface SsimScores {
  /** skimage's mssim: the map's mean after cropping (window − 1) / 2 pixels at every border, over all bands. */
  whole: number;
  /** The full map's mean over masked pixels (mask = 1), all bands; NaN when the mask has no masked pixel. */
  masked: number;
}

/** Whole-image and masked-region SSIM in one pass over the bands. */
export function ssimScores(truth: Image, pred: Image, mask: Mask, options: SsimOptions = {}): SsimScores {
  const pad = ssimBorder(options.window);
  const { width, height } = truth;
  const sums = ssimSums(truth, pred, mask, {
    masked: { x: 0, y: 0, width, height },
    whole: { x: pad, y: pad, width: width - 2 * pad, height: height - 2 * pad },
  }, options);
  return { whole: sums.wholeSum / sums.wholeCount, masked: sums.maskedCount ? sums.maskedSum / sums.maskedCount : NaN };
}

/** The border (window − 1) / 2 pixels wide that the whole-image score leaves out. */
export function ssimBorder(window: SsimWindow = 'gaussian'): number {
  return (windowSpec(window).weights.length - 1) / 2;
}

/** Sums of SSIM map values (all bands) and how many were summed, for the whole-image and the masked score. */
export interface SsimSums {
  wholeSum: number;
  wholeCount: number;
  maskedSum: number;
  maskedCount: number;
}

/**
 * The SSIM map of `truth` against `pred`, summed over `regions.whole` for the whole-image score and over the
 * masked pixels of `regions.masked` for the masked one (pixel windows of these images). Scoring a large image
 * block by block adds these up: a block's map equals the whole image's wherever the block extends at least
 * `ssimBorder()` pixels beyond the region (or the region meets the image's edge), since the window is that wide.
 */
export function ssimSums(truth: Image, pred: Image, mask: Mask, regions: { masked: Window; whole: Window }, options: SsimOptions = {}): SsimSums {
  checkMaskGrid(truth, mask, 'truth');
  const { width } = truth;
  const sums: SsimSums = { wholeSum: 0, wholeCount: 0, maskedSum: 0, maskedCount: 0 };
  const { whole, masked } = regions;
  forEachBandSsimMap(truth, pred, options.window ?? 'gaussian', (_band, map) => {
    for (let row = whole.y; row < whole.y + whole.height; row++) {
      for (let col = whole.x; col < whole.x + whole.width; col++) sums.wholeSum += map[row * width + col];
    }
    sums.wholeCount += Math.max(0, whole.height) * Math.max(0, whole.width);
    for (let row = masked.y; row < masked.y + masked.height; row++) {
      for (let p = row * width + masked.x, end = p + masked.width; p < end; p++) {
        if (mask.data[p]) {
          sums.maskedSum += map[p];
          sums.maskedCount++;
        }
      }
    }
  });
  return sums;
}

/** Whole-image SSIM (skimage's returned mean). */
export function ssim(truth: Image, pred: Image, options: SsimOptions = {}): number {
  const noMask: Mask = { width: truth.width, height: truth.height, data: new Uint8Array(truth.width * truth.height) };
  return ssimScores(truth, pred, noMask, options).whole;
}

/** SSIM over the masked region: the full map's mean over pixels with mask = 1, all bands; NaN if there are none. */
export function maskedSsim(truth: Image, pred: Image, mask: Mask, options: SsimOptions = {}): number {
  return ssimScores(truth, pred, mask, options).masked;
}

/** The full SSIM map (skimage's `S` with full=True), HWC like the inputs, e.g. to display where a result is poor. */
export function ssimMap(truth: Image, pred: Image, options: SsimOptions = {}): Image {
  const out = createImage(truth.width, truth.height, truth.bands);
  forEachBandSsimMap(truth, pred, options.window ?? 'gaussian', (band, map) => {
    for (let p = 0; p < map.length; p++) out.data[p * truth.bands + band] = map[p];
  });
  return out;
}
