/**
 * The six synthesis modes of METHOD.md: how the sources become the image the network must reproduce,
 * which of its elements are known, and how the S2 reconstruction is read back from the network output.
 *
 * Stacked modes append auxiliary channels the network must also reproduce (fully known); residual modes
 * fit the difference to an auxiliary source, which can be negative, so they need a linear head.
 */
import { InputError } from '../errors.ts';
import type { HeadActivation } from './network.ts';
import { checkMaskGrid, checkSameImageGrid } from './grid-checks.ts';
import { createImage, type Image, type Mask } from './image.ts';

export const MODES = ['basic', 'ms', 'mt', 'msmt', 'msr', 'mtr'] as const;
export type Mode = (typeof MODES)[number];

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
}

export interface ModeSetup {
  problem: DipProblem;
  /** The S2 reconstruction from a network output of the problem's shape. */
  decode(output: Image): Image;
}

const needsReference: ReadonlySet<Mode> = new Set(['mt', 'msmt', 'mtr']);
const needsSar: ReadonlySet<Mode> = new Set(['ms', 'msmt', 'msr']);

export function parseMode(text: string): Mode {
  const mode = text.toLowerCase().replace(/[-_]/g, '') as Mode;
  if (!MODES.includes(mode)) throw new InputError(undefined, `unknown mode '${text}' (expected one of ${MODES.join(', ')})`);
  return mode;
}

export function setupMode(mode: Mode, sources: Sources): ModeSetup {
  checkSources(mode, sources);
  const setup = setupWithoutInvalid(mode, sources);
  const { invalid } = sources;
  if (invalid) {
    const channels = setup.problem.target.bands;
    for (let p = 0; p < invalid.data.length; p++) if (invalid.data[p]) setup.problem.weights.fill(0, p * channels, (p + 1) * channels);
  }
  return setup;
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
