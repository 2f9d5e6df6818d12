/**
 * Tile for tfjs-backend-wasm as block copies. The stock kernel computes a source index per element and
 * was the most expensive op of a DIP training step: tfjs' BatchNorm gradient tiles a per-channel vector
 * to the full image size ([1, 1, 1, C] → [1, H, W, C]) once per BatchNorm layer.
 *
 * Along each axis the output holds reps copies of a block; the first copy is built from the source (one
 * level down), the others are doubling memmoves (copyWithin) of it, so the cost is that of writing the
 * output once.
 */
import * as tf from '@tensorflow/tfjs-core';
import { asWasmBackend } from './internals.ts';

export function tileWasm(args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const backend = asWasmBackend(args.backend);
  const { x } = args.inputs as { x: tf.TensorInfo };
  // (The stock kernel aborts the wasm module on strings.)
  if (x.dtype === 'string') throw new Error('Tile on wasm does not support string tensors');
  const { reps } = args.attrs as unknown as tf.TileAttrs;
  const outShape = x.shape.map((size, axis) => size * reps[axis]);
  const out = backend.makeOutput(outShape, x.dtype);
  if (tf.util.sizeFromShape(outShape) === 0) return out;

  const bytes = tf.util.bytesPerElement(x.dtype);
  const heap = backend.wasm.HEAPU8;
  const rank = x.shape.length;
  const inStrides = stridesOf(x.shape).map((s) => s * bytes);
  const outStrides = stridesOf(outShape).map((s) => s * bytes);

  /** Writes the tiling of x's block at byte `src` (axes ≥ axis) to out at byte `dst`. */
  const tileFrom = (axis: number, src: number, dst: number): void => {
    const size = x.shape[axis];
    if (axis === rank - 1) {
      heap.copyWithin(dst, src, src + size * bytes);
    } else {
      for (let i = 0; i < size; i++) tileFrom(axis + 1, src + i * inStrides[axis], dst + i * outStrides[axis]);
    }
    replicate(heap, dst, size * outStrides[axis], reps[axis]);
  };
  const src = backend.dataIdMap.get(x.dataId).memoryOffset;
  const dst = backend.dataIdMap.get(out.dataId).memoryOffset;
  if (rank === 0) heap.copyWithin(dst, src, src + bytes);
  else tileFrom(0, src, dst);
  return out;
}

/** Makes heap[start, start + length) appear `times` times in a row. */
function replicate(heap: Uint8Array, start: number, length: number, times: number): void {
  const total = length * times;
  for (let filled = length; filled < total; filled *= 2) {
    heap.copyWithin(start + filled, start, start + Math.min(filled, total - filled));
  }
}

function stridesOf(shape: number[]): number[] {
  const strides = new Array<number>(shape.length).fill(1);
  for (let axis = shape.length - 2; axis >= 0; axis--) strides[axis] = strides[axis + 1] * shape[axis + 1];
  return strides;
}
