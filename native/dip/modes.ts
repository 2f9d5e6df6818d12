/**
 * The six synthesis modes of METHOD.md: how the sources become the image the network must reproduce,
 * which of its elements are known, and how the S2 reconstruction is read back from the network output.
 *
 * Stacked modes append auxiliary channels the network must also reproduce (fully known); residual modes
 * fit the difference to an auxiliary source, which can be negative, so they need a linear head.
 *
 * The network's representation (stacked modes): the sources arrive in METHOD.md's scale (S2 and reference
 * ÷2000, SAR in [0, 2]), but the sigmoid head only reaches [0, 1], so ÷2000 alone caps every S2 value above
 * 2000 DN (NIR, red-edge and SWIR of vegetation, bright soil, snow) and SAR above 1. Each channel of the
 * target is therefore mapped into the sigmoid's range by its own affine map, fitted on the channel's known
 * elements: their minimum and maximum land at HEADROOM/(1 + 2·HEADROOM) and (1 + HEADROOM)/(1 + 2·HEADROOM),
 * leaving a quarter of the seen range of headroom beyond each end for what the clouds hide (brighter or
 * darker than anything seen). Decoding maps back, so everything outside the network stays ÷2000.
 * Residual modes keep the plain scale: their head is linear and unbounded.
 *
 * mtfit (beyond the paper) starts from the best cheap baseline instead of from scratch: the reconstruction is
 * the reference-fit estimate (the reference with a per-band gain and offset fitted on the clear ring around
 * the clouds, baselines.ts) plus the network's correction. The network fits the standardised difference
 * between the target and that estimate on the clear pixels, with a linear head that starts at zero, so the
 * untrained network's reconstruction is the baseline itself and training only learns what the baseline misses.
 * Its cloudy pixels are then cloned seamlessly into the clear ones (seamless.ts): the mismatch left at the cloud's
 * edge is continued inward as a harmonic field, so the untrained reconstruction is the seamlessly cloned baseline.
 */
import { InputError } from '../errors.ts';
import { referenceFitEstimate } from './baselines.ts';
import type { HeadActivation } from './network.ts';
import { checkMaskGrid, checkSameImageGrid } from './grid-checks.ts';
import { cloneSeamlessly } from './seamless.ts';
import { createImage, type Image, type Mask } from './image.ts';

import { MODES, REFERENCE_MODES, type Mode } from './choices.ts';

export { MODES, type Mode };

/** All sources already preprocessed (S2 and reference ÷2000, SAR scaled to [0, 2]) and on one grid. */
export interface Sources {
  s2: Image;
  mask: Mask;
  reference?: Image;
  /** Sentinel-1: two bands, VV then VH. */
  sar?: Image;
  /** Pixels outside the scene (nodata): in no channel's loss, and not reconstructed. */
  invalid?: Mask;
}

/** What the optimiser fits: a target image and a weight per element (1 = known, 0 = to reconstruct). */
export interface DipProblem {
  target: Image;
  weights: Float32Array;
  head: HeadActivation;
  /** The head starts at zero, so the untrained network's output is 0 (mtfit: the reconstruction is the baseline, cloned seamlessly). */
  zeroHead?: boolean;
}

export interface ModeSetup {
  problem: DipProblem;
  /** The S2 reconstruction from a network output of the problem's shape. */
  decode(output: Image): Image;
}

/**
 * How the target's channels are put in the network's range: 'fitted' (default), a per-channel affine map
 * of the known elements; 'plain', the sources' own scale (÷2000), as before: kept only to measure and test
 * what it did (it caps S2 above 2000 DN under a sigmoid head).
 */
export type Representation = 'fitted' | 'plain';

export interface ModeOptions {
  representation?: Representation;
  /**
   * Clear pixels held out for early stopping: out of the S2 channels' loss and out of everything fitted on the
   * clear pixels (mtfit's baseline gain and offset, the channel maps), so that their error is an honest one.
   */
  heldOut?: Mask;
}

/** Headroom beyond the known minimum and maximum of a channel, as a share of their distance (each side). */
export const HEADROOM = 0.25;
/**
 * The smallest known range a channel's map is fitted to (÷2000 scale: 500 DN): a flat or nearly flat channel
 * (B10, a tile with a handful of clear pixels) is not blown up into noise, and keeps some room under the clouds.
 */
const MIN_SPAN = 0.25;

const needsReference = REFERENCE_MODES;
const needsSar: ReadonlySet<Mode> = new Set(['ms', 'msmt', 'msr']);

/** A mode as people write it (`MS-MT`, `ms_mt`) in the form MODES lists (`msmt`); not checked. */
export function modeName(text: string): string {
  return text.toLowerCase().replace(/[-_]/g, '');
}

export function parseMode(text: string): Mode {
  const mode = modeName(text) as Mode;
  if (!MODES.includes(mode)) throw new InputError(undefined, `unknown mode '${text}' (expected one of ${MODES.join(', ')})`);
  return mode;
}

export function setupMode(mode: Mode, sources: Sources, options: ModeOptions = {}): ModeSetup {
  checkSources(mode, sources);
  const { invalid } = sources;
  const { heldOut } = options;
  // What the fits on clear pixels must not see: nodata, and the held-out pixels (their error must be out-of-sample).
  const unseen = heldOut ? { ...heldOut, data: heldOut.data.map((h, p) => (h || invalid?.data[p] ? 1 : 0)) } : invalid;
  const setup = setupWithoutInvalid(mode, { ...sources, invalid: unseen });
  const channels = setup.problem.target.bands;
  if (invalid) {
    for (let p = 0; p < invalid.data.length; p++) if (invalid.data[p]) setup.problem.weights.fill(0, p * channels, (p + 1) * channels);
  }
  if (heldOut) {
    for (let p = 0; p < heldOut.data.length; p++) if (heldOut.data[p]) setup.problem.weights.fill(0, p * channels, p * channels + sources.s2.bands);
  }
  if (setup.problem.head !== 'sigmoid' || options.representation === 'plain') return setup;
  return fitted(setup, sources.s2.bands);
}

/** Per channel: network value = (value − offset) / scale. */
export interface ChannelMaps {
  offset: Float64Array;
  scale: Float64Array;
}

/** Fits each channel's map on its known elements (weight > 0) and applies it to the target; decode maps back. */
function fitted(setup: ModeSetup, s2Bands: number): ModeSetup {
  const { target, weights } = setup.problem;
  const maps = fitChannelMaps(target, weights);
  const mapped = createImage(target.width, target.height, target.bands);
  const channels = target.bands;
  for (let i = 0; i < target.data.length; i++) {
    const c = i % channels;
    mapped.data[i] = (target.data[i] - maps.offset[c]) / maps.scale[c];
  }
  return {
    problem: { ...setup.problem, target: mapped },
    decode: (output) => {
      const out = setup.decode(output);
      for (let i = 0; i < out.data.length; i++) {
        const c = i % s2Bands;
        out.data[i] = out.data[i] * maps.scale[c] + maps.offset[c];
      }
      return out;
    },
  };
}

export function fitChannelMaps(target: Image, weights: Float32Array): ChannelMaps {
  const channels = target.bands;
  const min = new Float64Array(channels).fill(Infinity);
  const max = new Float64Array(channels).fill(-Infinity);
  for (let i = 0; i < target.data.length; i++) {
    if (!weights[i]) continue;
    const c = i % channels;
    const v = target.data[i];
    if (v < min[c]) min[c] = v;
    if (v > max[c]) max[c] = v;
  }
  const offset = new Float64Array(channels);
  const scale = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    if (min[c] > max[c]) {
      // No known element (cannot happen for a checked problem): the plain scale.
      scale[c] = 1;
      continue;
    }
    const mid = (min[c] + max[c]) / 2;
    const span = Math.max(max[c] - min[c], MIN_SPAN);
    scale[c] = span * (1 + 2 * HEADROOM);
    offset[c] = mid - scale[c] / 2;
  }
  return { offset, scale };
}

function setupWithoutInvalid(mode: Mode, sources: Sources): ModeSetup {
  const { s2, mask } = sources;
  switch (mode) {
    case 'basic':
      return stacked(s2, mask, []);
    case 'ms':
      return stacked(s2, mask, [sources.sar!]);
    case 'mt':
      return stacked(s2, mask, [sources.reference!]);
    case 'msmt':
      return stacked(s2, mask, [sources.reference!, sources.sar!]);
    case 'msr':
      return residual(s2, mask, sarLikeS2(sources.sar!, s2.bands));
    case 'mtr':
      return residual(s2, mask, sources.reference!);
    case 'mtfit':
      return baselineResidual(s2, mask, referenceFitEstimate(sources), sources.invalid);
  }
}

function checkSources(mode: Mode, { s2, mask, reference, sar, invalid }: Sources): void {
  if (needsReference.has(mode) && !reference) throw new InputError(undefined, `mode ${mode} needs a multi-temporal reference (--reference)`);
  if (needsSar.has(mode) && !sar) throw new InputError(undefined, `mode ${mode} needs Sentinel-1 SAR (--sar)`);
  checkMaskGrid(s2, mask, 'target');
  if (invalid) checkMaskGrid(s2, invalid, 'target');
  if (reference && needsReference.has(mode)) checkSameImageGrid(s2, reference, 'target', 'reference');
  if (sar && needsSar.has(mode)) {
    if (sar.width !== s2.width || sar.height !== s2.height) throw new InputError(undefined, `SAR is ${sar.width}×${sar.height}, target is ${s2.width}×${s2.height}`);
    if (sar.bands !== 2) throw new InputError(undefined, `SAR must have 2 bands (VV, VH), has ${sar.bands}`);
  }
  if (!mask.data.some((cloud, p) => !cloud && !invalid?.data[p])) throw new InputError(undefined, 'the mask leaves no clear pixel to learn from');
}

/** [S2, aux…]: the mask applies to the S2 channels only; auxiliary channels are known everywhere. */
function stacked(s2: Image, mask: Mask, aux: Image[]): ModeSetup {
  const target = concatBands([s2, ...aux]);
  const channels = target.bands;
  const weights = new Float32Array(target.data.length);
  const pixels = s2.width * s2.height;
  for (let p = 0; p < pixels; p++) {
    const s2Weight = mask.data[p] ? 0 : 1;
    const base = p * channels;
    for (let c = 0; c < channels; c++) weights[base + c] = c < s2.bands ? s2Weight : 1;
  }
  return {
    problem: { target, weights, head: 'sigmoid' },
    decode: (output) => selectBands(output, 0, s2.bands),
  };
}

/** S2 − offset: the network fits the residual; the reconstruction adds the offset back. */
function residual(s2: Image, mask: Mask, offset: Image): ModeSetup {
  const target = createImage(s2.width, s2.height, s2.bands);
  for (let i = 0; i < target.data.length; i++) target.data[i] = s2.data[i] - offset.data[i];
  const weights = new Float32Array(target.data.length);
  for (let p = 0; p < mask.data.length; p++) weights.fill(mask.data[p] ? 0 : 1, p * s2.bands, (p + 1) * s2.bands);
  return {
    problem: { target, weights, head: 'linear' },
    decode: (output) => {
      const out = selectBands(output, 0, s2.bands);
      for (let i = 0; i < out.data.length; i++) out.data[i] += offset.data[i];
      return out;
    },
  };
}

/**
 * The standard deviation the residual is scaled to. Adam moves every weight by about the learning rate per step
 * whatever the target's size, so a larger target is approached in smaller relative steps: at 1 the first 50
 * steps overshot (Slovenia mask 37: RMSE under the clouds 0.045 → 0.064, then back), at 10 they did not.
 */
const RESIDUAL_SIZE = 10;

/** The smallest spread a residual channel is standardised by (÷2000 scale: 10 DN), so a perfect fit is not blown up into noise. */
const MIN_RESIDUAL_SPREAD = 0.005;

/**
 * (S2 − estimate) / spread per band, where spread is the standard deviation of the difference over the clear
 * pixels ÷ RESIDUAL_SIZE: the linear head fits values of the same size whatever the bands' brightness, and starts at 0
 * (zero head), where the reconstruction is the estimate. Decoding multiplies back and adds the estimate.
 */
function baselineResidual(s2: Image, mask: Mask, estimate: Image, invalid?: Mask): ModeSetup {
  const bands = s2.bands;
  const target = createImage(s2.width, s2.height, bands);
  const weights = new Float32Array(target.data.length);
  for (let p = 0; p < mask.data.length; p++) weights.fill(mask.data[p] ? 0 : 1, p * bands, (p + 1) * bands);
  const sum = new Float64Array(bands);
  const sumSq = new Float64Array(bands);
  let known = 0;
  for (let i = 0; i < target.data.length; i++) {
    const d = s2.data[i] - estimate.data[i];
    target.data[i] = d;
    if (!weights[i] || invalid?.data[Math.floor(i / bands)]) continue;
    const b = i % bands;
    sum[b] += d;
    sumSq[b] += d * d;
    if (b === 0) known++;
  }
  const spread = new Float64Array(bands);
  for (let b = 0; b < bands; b++) {
    const mean = sum[b] / Math.max(1, known);
    spread[b] = Math.max(MIN_RESIDUAL_SPREAD, Math.sqrt(Math.max(0, sumSq[b] / Math.max(1, known) - mean * mean)));
  }
  for (let b = 0; b < bands; b++) spread[b] /= RESIDUAL_SIZE;
  for (let i = 0; i < target.data.length; i++) target.data[i] /= spread[i % bands];
  return {
    problem: { target, weights, head: 'linear', zeroHead: true },
    decode: (output) => {
      const out = selectBands(output, 0, bands);
      for (let i = 0; i < out.data.length; i++) out.data[i] = out.data[i] * spread[i % bands] + estimate.data[i];
      // What the correction leaves of the mismatch at the cloud's edge, carried inward (seamless.ts).
      return cloneSeamlessly(out, s2, mask, invalid);
    },
  };
}

/** S1′ of MS-R: [VV, VH, mean(VV, VH)] repeated to the S2 band count. */
export function sarLikeS2(sar: Image, bands: number): Image {
  const out = createImage(sar.width, sar.height, bands);
  const pixels = sar.width * sar.height;
  for (let p = 0; p < pixels; p++) {
    const vv = sar.data[p * 2];
    const vh = sar.data[p * 2 + 1];
    const cycle = [vv, vh, (vv + vh) / 2];
    for (let b = 0; b < bands; b++) out.data[p * bands + b] = cycle[b % 3];
  }
  return out;
}

export function concatBands(images: Image[]): Image {
  const { width, height } = images[0];
  const bands = images.reduce((n, img) => n + img.bands, 0);
  const out = createImage(width, height, bands);
  const pixels = width * height;
  let offset = 0;
  for (const img of images) {
    for (let p = 0; p < pixels; p++) {
      out.data.set(img.data.subarray(p * img.bands, (p + 1) * img.bands), p * bands + offset);
    }
    offset += img.bands;
  }
  return out;
}

export function selectBands(image: Image, first: number, count: number): Image {
  const out = createImage(image.width, image.height, count);
  const pixels = image.width * image.height;
  for (let p = 0; p < pixels; p++) {
    const from = p * image.bands + first;
    out.data.set(image.data.subarray(from, from + count), p * count);
  }
  return out;
}

/** Network outputs within this of the sigmoid's 0 or 1 sit at the representation's limit. */
export const LIMIT_EPSILON = 0.01;
/** The share of a band's pixels under the clouds at a limit from which a reconstruction is refused. */
export const MAX_SATURATED_SHARE = 0.05;

export interface Saturation {
  /** 0-based S2 band. */
  band: number;
  /** Share of the band's masked (valid) pixels at the lower and at the upper limit. */
  low: number;
  high: number;
}

/** Per S2 band, how much of the network's output under the clouds sits at the sigmoid's bounds. */
export function saturation(output: Image, s2Bands: number, mask: Mask, invalid?: Mask): Saturation[] {
  const low = new Array<number>(s2Bands).fill(0);
  const high = new Array<number>(s2Bands).fill(0);
  let masked = 0;
  for (let p = 0; p < mask.data.length; p++) {
    if (!mask.data[p] || invalid?.data[p]) continue;
    masked++;
    for (let b = 0; b < s2Bands; b++) {
      const v = output.data[p * output.bands + b];
      if (v <= LIMIT_EPSILON) low[b]++;
      else if (v >= 1 - LIMIT_EPSILON) high[b]++;
    }
  }
  return low.map((_, band) => ({ band, low: low[band] / Math.max(1, masked), high: high[band] / Math.max(1, masked) }));
}

/** A reconstruction whose values under the clouds are capped by the network's range: not handed out. */
export class RepresentationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RepresentationError';
  }
}

/**
 * Refuses a network output (sigmoid head) whose masked pixels of some S2 band sit at a bound of the head
 * in a share above MAX_SATURATED_SHARE: what is there is the bound, not the ground.
 */
export function checkRepresentation(problem: DipProblem, output: Image, sources: Pick<Sources, 's2' | 'mask' | 'invalid'>, bandNames?: readonly string[]): void {
  if (problem.head !== 'sigmoid') return;
  const worst = saturation(output, sources.s2.bands, sources.mask, sources.invalid)
    .map((s) => ({ band: s.band, share: Math.max(s.low, s.high), bound: s.high >= s.low ? 'upper' : 'lower' }))
    .filter((s) => s.share > MAX_SATURATED_SHARE)
    .sort((a, b) => b.share - a.share);
  if (!worst.length) return;
  const name = (band: number) => bandNames?.[band] ?? `band ${band + 1}`;
  const list = worst.map((s) => `${name(s.band)} ${(s.share * 100).toFixed(0)} % at the ${s.bound} limit`).join(', ');
  throw new RepresentationError(
    `reconstruction refused: under the clouds, ${list} of the network's range (values there would be capped, not reconstructed)`,
  );
}
