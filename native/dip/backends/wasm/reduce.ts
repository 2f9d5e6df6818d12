/**
 * Sum and Mean over leading axes for tfjs-backend-wasm: [1, H, W, C] over [0, 1, 2], what bias and
 * BatchNorm gradients and batch statistics ask for at every layer. The stock kernels first transpose the
 * reduced axes innermost (a full copy, ~3× the cost of the sum); here it is one pass over x with a
 * float64 accumulator per channel. Other reductions, and non-float32 tensors, go to the stock kernels.
 */
import * as tf from '@tensorflow/tfjs-core';
import { asWasmBackend, floatOffset, heapF32 } from './internals.ts';

/** [outer, inner] when the reduced axes come before all kept axes (size-1 axes go either way). */
export function leadingSplit(shape: number[], axes: number[]): [number, number] | null {
  let outer = 1;
  let inner = 1;
  for (let axis = 0; axis < shape.length; axis++) {
    if (shape[axis] === 1) continue;
    if (axes.includes(axis)) {
      if (inner > 1) return null;
      outer *= shape[axis];
    } else {
      inner *= shape[axis];
    }
  }
  return [outer, inner];
}

export function reduceLeadingAxes(kind: 'sum' | 'mean', stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const backend = asWasmBackend(args.backend);
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
    const axes = tf.util.parseAxisParam(axis, x.shape);
    const split = leadingSplit(x.shape, axes);
    if (x.dtype !== 'float32' || !split || tf.util.sizeFromShape(x.shape) === 0) return stock(args);

    const [outer, inner] = split;
    const [reducedShape] = tf.backend_util.computeOutAndReduceShapes(x.shape, axes);
    const outShape = keepDims ? tf.backend_util.expandShapeToKeepDim(reducedShape, axes) : reducedShape;
    const out = backend.makeOutput(outShape, 'float32');
    const heap = heapF32(backend);
    const acc = new Float64Array(inner);
    const src = floatOffset(backend, x);
    // Eight rows per pass: an eighth of the accumulator loads and stores, which bound this loop.
    let o = 0;
    for (; o + 8 <= outer; o += 8) {
      const row = src + o * inner;
      for (let c = 0; c < inner; c++) {
        const r = row + c;
        acc[c] += heap[r] + heap[r + inner] + heap[r + 2 * inner] + heap[r + 3 * inner] +
          heap[r + 4 * inner] + heap[r + 5 * inner] + heap[r + 6 * inner] + heap[r + 7 * inner];
      }
    }
    for (; o < outer; o++) {
      for (let c = 0; c < inner; c++) acc[c] += heap[src + o * inner + c];
    }
    const scale = kind === 'mean' ? 1 / outer : 1;
    const dst = floatOffset(backend, out);
    for (let c = 0; c < inner; c++) heap[dst + c] = acc[c] * scale;
    return out;
  };
}
