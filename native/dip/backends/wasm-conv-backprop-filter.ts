/**
 * Conv2DBackpropFilter for tfjs-backend-wasm (which has none), computed by wasm's own XNNPACK convolution.
 *
 *   dW[kh, kw, ci, co] = Σ_{n, oh, ow} x[n, oh·sh + kh − padTop, ow·sw + kw − padLeft, ci] · dy[n, oh, ow, co]
 *
 * is a convolution whose batch is ci, whose output pixels are (kh, kw), whose filter is dy and whose
 * contraction runs over (oh, ow, n). Handing XNNPACK x transposed with n as the only channel (the textbook
 * trick, filter dy of size OH×OW, dilation = stride) makes every inner step a single float and runs at a
 * third of forward speed. Here the contraction is reshaped so that (n, ow) are the channels: the input is
 * a "width im2col" of x,
 *
 *   Xw[ci, r, kw, (n, ow)] = x[n, r − padTop, ow·sw + kw − padLeft, ci]   (0 outside x),
 *
 * only KW times the size of x, and the filter is dy read as [OH, 1, (n, ow), co] (dy itself when n = 1),
 * with dilation sh over the rows. The result [ci, KH, KW, co] is transposed to tfjs' HWIO layout.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  allocate, asWasmBackend, convolve, floatOffset, heapF32, release, transpose, type WasmBackend,
} from './wasm-internals.ts';
import { nhwcConvInfo } from './conv-info.ts';

export function conv2dBackpropFilterWasm(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const backend = asWasmBackend(args.backend);
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const info = nhwcConvInfo('Conv2DBackpropFilter', x.shape, attrs.filterShape, attrs);
  const { batchSize, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth, strideHeight } = info;

  const rows = (outHeight - 1) * strideHeight + filterHeight;
  const channels = batchSize * outWidth;
  const columns = widthIm2col(backend, x, info, rows);

  // The filter must be laid out [OH, (n, ow), co]; dy is [n, OH, OW, co].
  const dyFilter = batchSize === 1 ? dy : transpose(backend, dy, [1, 0, 2, 3]);
  const gradient = convolve(backend, columns, dyFilter, {
    batch: inChannels, inHeight: rows, inWidth: filterWidth, inChannels: channels,
    filterHeight: outHeight, filterWidth: 1, outChannels,
    padTop: 0, padBottom: 0, padLeft: 0, padRight: 0,
    strideHeight: 1, strideWidth: 1, dilationHeight: strideHeight, dilationWidth: 1,
  });
  release(backend, columns);
  if (dyFilter !== dy) release(backend, dyFilter);

  const hwio = transpose(backend, gradient, [1, 2, 0, 3]);
  release(backend, gradient);
  return hwio;
}

/** Builds Xw [ci, rows, KW, (n, OW)] from x [n, H, W, ci] (see the file comment). */
function widthIm2col(backend: WasmBackend, x: tf.TensorInfo, info: tf.backend_util.Conv2DInfo, rows: number): tf.TensorInfo {
  const { batchSize: batch, inHeight, inWidth, inChannels, outWidth, filterWidth, strideWidth } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  // Channel-major x makes each needed row of x a contiguous (stride 1) or strided run of floats.
  const planes = transpose(backend, x, [3, 0, 1, 2]);
  const columns = allocate(backend, [inChannels, rows, filterWidth, batch * outWidth]);
  const heap = heapF32(backend);
  const src0 = floatOffset(backend, planes);
  let dst = floatOffset(backend, columns);

  for (let ci = 0; ci < inChannels; ci++) {
    for (let r = 0; r < rows; r++) {
      const row = r - padTop;
      for (let kw = 0; kw < filterWidth; kw++) {
        // Output columns ow whose input column ow·sw + kw − padLeft lies inside x.
        const first = Math.max(0, Math.ceil((padLeft - kw) / strideWidth));
        const end = Math.min(outWidth, Math.floor((inWidth - 1 + padLeft - kw) / strideWidth) + 1);
        for (let n = 0; n < batch; n++, dst += outWidth) {
          if (row < 0 || row >= inHeight || end <= first) {
            heap.fill(0, dst, dst + outWidth);
            continue;
          }
          for (let ow = 0; ow < first; ow++) heap[dst + ow] = 0;
          for (let ow = end; ow < outWidth; ow++) heap[dst + ow] = 0;
          const src = src0 + ((ci * batch + n) * inHeight + row) * inWidth + kw - padLeft;
          if (strideWidth === 1) {
            heap.copyWithin(dst + first, src + first, src + end);
          } else {
            for (let ow = first; ow < end; ow++) heap[dst + ow] = heap[src + ow * strideWidth];
          }
        }
      }
    }
  }
  release(backend, planes);
  return columns;
}
