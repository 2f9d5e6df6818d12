/**
 * Conv2DBackpropFilter for tfjs-backend-wasm (which has none), computed by wasm's own XNNPACK convolution.
 *
 *   dW[kh, kw, ci, co] = Σ_{n, oh, ow} x[n, oh·sh + kh − padTop, ow·sw + kw − padLeft, ci] · dy[n, oh, ow, co]
 *
 * The textbook route (convolve xᵀ, with n as its only channel, by dyᵀ with dilation = stride) makes every
 * XNNPACK inner step a single float and runs at a third of forward speed. Here (n, ow) become the
 * channels instead: from a "width im2col" of x, only KW times the size of x,
 *
 *   Xw[r, ci, kw, (n, ow)] = x[n, r − padTop, ow·sw + kw − padLeft, ci]   (0 outside x),
 *
 * dW is a convolution of Xw (one image, r as rows, (ci, kw) as columns) with dy read as a filter
 * [OH, 1, (n, ow), co], dilated by sh over the rows, whose output is dW as [kh, (ci, kw), co].
 * A whole dy as the filter makes the contraction (OH·OW·n terms) too long for the cache: XNNPACK streams
 * its packed copy once per tile of output rows. So the contraction is cut into blocks of dy rows; each
 * block is a view of dy and of Xw (no copies), and the partial results are summed into HWIO order.
 * Xw itself is built in bands of rows, to bound its memory on large images.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  allocate, asWasmBackend, convolve, floatOffset, heapF32, release, releaseView, transpose, view,
  type WasmBackend,
} from './internals.ts';
import { nhwcConvInfo } from './conv-info.ts';

/** How the work is cut; the defaults are what measured fastest. Tests shrink them to reach every path. */
export interface FilterGradTuning {
  /** Contraction terms (dy rows × n × OW) per convolution block: see blockTerms. */
  blockTerms: number;
  /** Floats of Xw built at a time. */
  bandFloats: number;
}

export function conv2dBackpropFilterWasm(
  args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap },
  tuning: Partial<FilterGradTuning> = {},
): tf.TensorInfo {
  const backend = asWasmBackend(args.backend);
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const info = nhwcConvInfo('Conv2DBackpropFilter', x.shape, attrs.filterShape, attrs);
  const { batchSize, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth, strideHeight } = info;

  const channels = batchSize * outWidth;
  // x as [H, ci, n, W]: each run of x that Xw needs is then contiguous (stride 1) or evenly strided.
  const planes = transpose(backend, x, [1, 3, 0, 2]);
  // dy as filter rows [OH, (n, ow), co]; dy is [n, OH, OW, co].
  const dyRows = batchSize === 1 ? dy : transpose(backend, dy, [1, 0, 2, 3]);
  const rowsPerBlock = Math.max(1, Math.min(outHeight, Math.round((tuning.blockTerms ?? blockTerms(outChannels)) / channels)));
  // Xw is built one band of dy rows at a time; bands overlap by KH − sh rows of Xw.
  const xwRowFloats = inChannels * filterWidth * channels;
  const bandBlocks = Math.max(1, Math.floor(((tuning.bandFloats ?? BAND_FLOATS) / xwRowFloats - filterHeight) / strideHeight / rowsPerBlock));
  const rowsPerBand = bandBlocks * rowsPerBlock;

  // Partial results are [kh, (ci, kw), co]; summed in that order, then transposed once to HWIO.
  let sum: tf.TensorInfo | undefined;
  for (let band = 0; band < outHeight; band += rowsPerBand) {
    const bandRows = Math.min(rowsPerBand, outHeight - band);
    const columns = widthIm2col(backend, planes, info, band * strideHeight, (bandRows - 1) * strideHeight + filterHeight);
    for (let first = band; first < band + bandRows; first += rowsPerBlock) {
      const count = Math.min(rowsPerBlock, band + bandRows - first);
      const inRows = (count - 1) * strideHeight + filterHeight;
      const input = view(backend, columns, (first - band) * strideHeight * xwRowFloats,
        [1, inRows, inChannels * filterWidth, channels]);
      const taps = view(backend, dyRows, first * channels * outChannels, [count, 1, channels, outChannels]);
      const part = convolve(backend, input, taps, {
        batch: 1, inHeight: inRows, inWidth: inChannels * filterWidth, inChannels: channels,
        filterHeight: count, filterWidth: 1, outChannels,
        padTop: 0, padBottom: 0, padLeft: 0, padRight: 0,
        strideHeight: 1, strideWidth: 1, dilationHeight: strideHeight, dilationWidth: 1,
      });
      releaseView(backend, taps, input);
      if (sum) {
        addInto(backend, sum, part);
        release(backend, part);
      } else {
        sum = part;
      }
    }
    release(backend, columns);
  }
  release(backend, planes);
  if (dyRows !== dy) release(backend, dyRows);
  const gradient = transpose(backend, { ...sum!, shape: [filterHeight, inChannels, filterWidth, outChannels] }, [0, 2, 1, 3]);
  release(backend, sum!);
  return gradient;
}

/**
 * Floats of Xw built at a time (16 MiB): bounds the scratch memory for large images. Band sizes from
 * 1 MiB to a whole 256² Xw measured the same speed in test/bench/wasm-kernels.bench.ts.
 */
const BAND_FLOATS = 4 * 1024 * 1024;

/**
 * Contraction terms per block of dy rows. XNNPACK rereads the block's packed dy (terms × output channels
 * × 4 bytes) for every few output rows, so it should stay in cache (32 KiB measured best: a whole 256²
 * dy in one block runs at half speed); but each block adds one partial sum of the whole gradient, which
 * costs as much as ~30 terms, so blocks keep at least 512 terms.
 */
function blockTerms(outChannels: number): number {
  return Math.max(512, (32 * 1024) / (4 * outChannels));
}

/** Builds rows [firstRow, firstRow + rows) of Xw [rows, ci, KW, (n, OW)] from x as planes [H, ci, n, W]. */
function widthIm2col(backend: WasmBackend, planes: tf.TensorInfo, info: tf.backend_util.Conv2DInfo, firstRow: number, rows: number): tf.TensorInfo {
  const { batchSize: batch, inHeight, inWidth, inChannels, outWidth, filterWidth, strideWidth } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const columns = allocate(backend, [rows, inChannels, filterWidth, batch * outWidth]);
  const heap = heapF32(backend);
  const src0 = floatOffset(backend, planes);
  let dst = floatOffset(backend, columns);

  for (let r = firstRow; r < firstRow + rows; r++) {
    const row = r - padTop;
    const inside = row >= 0 && row < inHeight;
    for (let ci = 0; ci < inChannels; ci++) {
      for (let kw = 0; kw < filterWidth; kw++) {
        // Output columns ow whose input column ow·sw + kw − padLeft lies inside x.
        const first = Math.max(0, Math.ceil((padLeft - kw) / strideWidth));
        const end = Math.min(outWidth, Math.floor((inWidth - 1 + padLeft - kw) / strideWidth) + 1);
        for (let n = 0; n < batch; n++, dst += outWidth) {
          if (!inside || end <= first) {
            heap.fill(0, dst, dst + outWidth);
            continue;
          }
          for (let ow = 0; ow < first; ow++) heap[dst + ow] = 0;
          for (let ow = end; ow < outWidth; ow++) heap[dst + ow] = 0;
          const src = src0 + ((row * inChannels + ci) * batch + n) * inWidth + kw - padLeft;
          if (strideWidth === 1) {
            heap.copyWithin(dst + first, src + first, src + end);
          } else {
            for (let ow = first; ow < end; ow++) heap[dst + ow] = heap[src + ow * strideWidth];
          }
        }
      }
    }
  }
  return columns;
}

/** sum += part, elementwise. */
function addInto(backend: WasmBackend, sum: tf.TensorInfo, part: tf.TensorInfo): void {
  const heap = heapF32(backend);
  const to = floatOffset(backend, sum);
  const from = floatOffset(backend, part);
  const size = tf.util.sizeFromShape(sum.shape);
  for (let i = 0; i < size; i++) heap[to + i] += heap[from + i];
}
