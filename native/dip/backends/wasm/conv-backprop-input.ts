/**
 * Conv2DBackpropInput for tfjs-backend-wasm on XNNPACK's forward convolution (the stock kernel is a plain
 * loop, about ten times slower than the forward convolution).
 *
 *   dx[n, h, w, ci] = Σ dy[n, oh, ow, co] · W[kh, kw, ci, co]   over h = oh·sh + kh − padTop (same for w)
 *
 * Split the rows of dx by phase p = h mod sh. Only taps kh ≡ p + padTop (mod sh) reach phase p, and for
 * them the sum is a stride-1 convolution of dy with those taps flipped and in/out channels swapped
 * (sub-pixel decomposition: no multiplications by inserted zeros). With stride 1 there is one phase and it
 * is the familiar "convolve dy with the flipped filter, padding k − 1 − pad". Each phase is computed by
 * XNNPACK; with stride > 1 the phases are interleaved into dx.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  allocate, asWasmBackend, convolve, floatOffset, heapF32, release, runWasmKernel, type WasmBackend,
} from './internals.ts';
import { nhwcConvInfo } from './conv-info.ts';

/** How the rows (or columns) of one phase of dx draw on dy and on the filter. */
interface PhaseAxis {
  /** First dx row of the phase, and how many rows it has (every stride-th row from there). */
  phase: number;
  size: number;
  /** First filter tap of the phase, and how many taps (every stride-th from there). */
  firstTap: number;
  taps: number;
  /** Padding of dy before/after for the stride-1 convolution; negative means dy rows are cropped. */
  padBefore: number;
  padAfter: number;
}

function phaseAxis(phase: number, stride: number, inSize: number, outSize: number, filterSize: number, pad: number): PhaseAxis {
  const size = Math.ceil((inSize - phase) / stride);
  const firstTap = (phase + pad) % stride;
  const taps = firstTap < filterSize ? Math.ceil((filterSize - firstTap) / stride) : 0;
  // Row i of the phase reads dy rows i + offset − t for t < taps, offset = (phase + pad − firstTap) / stride.
  const offset = (phase + pad - firstTap) / stride;
  const padBefore = taps - 1 - offset;
  const padAfter = size + taps - 1 - padBefore - outSize;
  return { phase, size, firstTap, taps, padBefore, padAfter };
}

export function conv2dBackpropInputWasm(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const backend = asWasmBackend(args.backend);
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const info = nhwcConvInfo('Conv2DBackpropInput', attrs.inputShape, filter.shape, attrs);
  const { strideHeight, strideWidth } = info;

  const rowPhases = range(strideHeight).map((p) =>
    phaseAxis(p, strideHeight, info.inHeight, info.outHeight, info.filterHeight, info.padInfo.top));
  const columnPhases = range(strideWidth).map((p) =>
    phaseAxis(p, strideWidth, info.inWidth, info.outWidth, info.filterWidth, info.padInfo.left));

  if (strideHeight === 1 && strideWidth === 1) {
    return phaseGradient(backend, dy, filter, info, rowPhases[0], columnPhases[0]);
  }
  const dx = allocate(backend, [info.batchSize, info.inHeight, info.inWidth, info.inChannels]);
  for (const rows of rowPhases) {
    for (const columns of columnPhases) {
      if (rows.size <= 0 || columns.size <= 0) continue;
      const part = phaseGradient(backend, dy, filter, info, rows, columns);
      interleave(backend, part, dx, info, rows, columns);
      release(backend, part);
    }
  }
  return dx;
}

/** dx at rows ≡ rows.phase and columns ≡ columns.phase: [n, rows.size, columns.size, ci]. */
function phaseGradient(
  backend: WasmBackend,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  rows: PhaseAxis,
  columns: PhaseAxis,
): tf.TensorInfo {
  const { batchSize, inChannels, outChannels } = info;
  // Negative padding: drop the dy rows/columns this phase never reads.
  const cropTop = Math.max(0, -rows.padBefore);
  const cropBottom = Math.max(0, -rows.padAfter);
  const cropLeft = Math.max(0, -columns.padBefore);
  const cropRight = Math.max(0, -columns.padAfter);
  const dyRows = info.outHeight - cropTop - cropBottom;
  const dyColumns = info.outWidth - cropLeft - cropRight;
  if (rows.taps === 0 || columns.taps === 0 || dyRows <= 0 || dyColumns <= 0) {
    // No filter tap reaches this phase (e.g. stride larger than the filter): its gradient is zero.
    const zeros = allocate(backend, [batchSize, rows.size, columns.size, inChannels]);
    const start = floatOffset(backend, zeros);
    heapF32(backend).fill(0, start, start + batchSize * rows.size * columns.size * inChannels);
    return zeros;
  }
  const cropped = dyRows < info.outHeight || dyColumns < info.outWidth;
  const source = cropped
    ? runWasmKernel(backend, 'Slice', { x: dy }, {
        begin: [0, cropTop, cropLeft, 0],
        size: [batchSize, dyRows, dyColumns, outChannels],
      })
    : dy;
  const taps = flippedTaps(backend, filter, info, rows, columns);
  const part = convolve(backend, source, taps, {
    batch: batchSize,
    inHeight: source.shape[1], inWidth: source.shape[2], inChannels: outChannels,
    filterHeight: rows.taps, filterWidth: columns.taps, outChannels: inChannels,
    padTop: Math.max(0, rows.padBefore), padBottom: Math.max(0, rows.padAfter),
    padLeft: Math.max(0, columns.padBefore), padRight: Math.max(0, columns.padAfter),
    strideHeight: 1, strideWidth: 1, dilationHeight: 1, dilationWidth: 1,
  });
  release(backend, taps);
  if (cropped) release(backend, source);
  return part;
}

/**
 * The taps of one phase, spatially flipped, with in/out channels swapped:
 * F[a, b, co, ci] = W[firstTap_h + sh·(taps_h − 1 − a), firstTap_w + sw·(taps_w − 1 − b), ci, co].
 */
function flippedTaps(
  backend: WasmBackend,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  rows: PhaseAxis,
  columns: PhaseAxis,
): tf.TensorInfo {
  const { filterWidth, inChannels, outChannels, strideHeight, strideWidth } = info;
  const taps = allocate(backend, [rows.taps, columns.taps, outChannels, inChannels]);
  const heap = heapF32(backend);
  const src0 = floatOffset(backend, filter);
  let dst = floatOffset(backend, taps);
  for (let a = 0; a < rows.taps; a++) {
    const kh = rows.firstTap + strideHeight * (rows.taps - 1 - a);
    for (let b = 0; b < columns.taps; b++) {
      const kw = columns.firstTap + strideWidth * (columns.taps - 1 - b);
      const tap = src0 + (kh * filterWidth + kw) * inChannels * outChannels;
      for (let co = 0; co < outChannels; co++) {
        for (let ci = 0; ci < inChannels; ci++) heap[dst++] = heap[tap + ci * outChannels + co];
      }
    }
  }
  return taps;
}

/** Writes a phase [n, rows.size, columns.size, ci] into dx at rows.phase + sh·i, columns.phase + sw·j. */
function interleave(
  backend: WasmBackend,
  part: tf.TensorInfo,
  dx: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  rows: PhaseAxis,
  columns: PhaseAxis,
): void {
  const { batchSize, inHeight, inWidth, inChannels, strideHeight, strideWidth } = info;
  const heap = heapF32(backend);
  let src = floatOffset(backend, part);
  const dx0 = floatOffset(backend, dx);
  for (let n = 0; n < batchSize; n++) {
    for (let i = 0; i < rows.size; i++) {
      const h = rows.phase + strideHeight * i;
      let dst = dx0 + ((n * inHeight + h) * inWidth + columns.phase) * inChannels;
      for (let j = 0; j < columns.size; j++, src += inChannels, dst += strideWidth * inChannels) {
        heap.copyWithin(dst, src, src + inChannels);
      }
    }
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
