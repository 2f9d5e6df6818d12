/**
 * Typed access to the parts of tfjs-backend-wasm that our kernels build on: its heap, its tensor table and
 * its XNNPACK convolution called with explicit geometry (any padding, dilation, filter shape), which the
 * public Conv2D kernel cannot express. Everything here is specific to tfjs-backend-wasm 4.x internals.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

type TensorInfo = tf.TensorInfo;

/** The Emscripten module members we use (the package types them through @types/emscripten, absent here). */
interface WasmModule {
  HEAPF32: Float32Array;
  HEAPU8: Uint8Array;
  tfjs: { disposeData(id: number): void };
  cwrap(name: string, returnType: null, argTypes: string[]): (...args: number[]) => void;
}

export type WasmBackend = BackendWasm & { wasm: WasmModule };

export function asWasmBackend(backend: unknown): WasmBackend {
  return backend as WasmBackend;
}

/** The number the C++ side knows a tensor by. */
export function tensorId(backend: WasmBackend, tensor: TensorInfo): number {
  return backend.dataIdMap.get(tensor.dataId).id;
}

/** Where a float32 tensor starts in the heap, counted in floats. */
export function floatOffset(backend: WasmBackend, tensor: TensorInfo): number {
  return backend.dataIdMap.get(tensor.dataId).memoryOffset / 4;
}

/**
 * The whole heap as floats. Read it after the last allocation of a kernel: an allocation may grow the
 * memory, which replaces the view.
 */
export function heapF32(backend: WasmBackend): Float32Array {
  return backend.wasm.HEAPF32;
}

export function allocate(backend: WasmBackend, shape: number[]): TensorInfo {
  return backend.makeOutput(shape, 'float32');
}

export function release(backend: WasmBackend, ...tensors: TensorInfo[]): void {
  for (const tensor of tensors) backend.disposeData(tensor.dataId);
}

/**
 * A tensor over part of another one's memory (from `offset` floats on), so that a kernel can hand
 * XNNPACK a block of rows without copying it. Release it with releaseView, never with release, and
 * before its base.
 */
export function view(backend: WasmBackend, base: TensorInfo, offset: number, shape: number[]): TensorInfo {
  return backend.makeOutput(shape, 'float32', (floatOffset(backend, base) + offset) * 4);
}

/** Forgets a view without freeing the memory it borrows (also drops XNNPACK operators cached on it). */
export function releaseView(backend: WasmBackend, ...views: TensorInfo[]): void {
  for (const v of views) {
    backend.wasm.tfjs.disposeData(tensorId(backend, v));
    backend.dataIdMap.delete(v.dataId);
  }
}

/** Runs another registered wasm kernel from inside ours; the caller owns (and releases) the result. */
export function runWasmKernel(
  backend: WasmBackend,
  kernelName: string,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap,
): TensorInfo {
  const kernel = tf.getKernel(kernelName, 'wasm');
  if (!kernel) throw new Error(`tfjs-backend-wasm has no ${kernelName} kernel`);
  return kernel.kernelFunc({ inputs, backend, attrs }) as TensorInfo;
}

export function transpose(backend: WasmBackend, x: TensorInfo, perm: number[]): TensorInfo {
  return runWasmKernel(backend, 'Transpose', { x }, { perm });
}

/** A convolution spelled out: NHWC input, filter [filterHeight, filterWidth, inChannels, outChannels]. */
export interface ConvGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  filterHeight: number;
  filterWidth: number;
  outChannels: number;
  padTop: number;
  padBottom: number;
  padLeft: number;
  padRight: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
}

const convFunctions = new WeakMap<WasmModule, (...args: number[]) => void>();

/** The C++ Conv2D entry of tfjs-backend-wasm (XNNPACK, which caches one operator per filter tensor). */
function wasmConv2d(backend: WasmBackend): (...args: number[]) => void {
  let conv = convFunctions.get(backend.wasm);
  if (!conv) {
    conv = backend.wasm.cwrap('Conv2D', null, new Array<string>(19).fill('number'));
    convFunctions.set(backend.wasm, conv);
  }
  return conv;
}

export function convOutputShape(g: ConvGeometry): [number, number, number, number] {
  const extent = (size: number, pads: number, filter: number, dilation: number, stride: number) =>
    Math.floor((size + pads - ((filter - 1) * dilation + 1)) / stride) + 1;
  return [
    g.batch,
    extent(g.inHeight, g.padTop + g.padBottom, g.filterHeight, g.dilationHeight, g.strideHeight),
    extent(g.inWidth, g.padLeft + g.padRight, g.filterWidth, g.dilationWidth, g.strideWidth),
    g.outChannels,
  ];
}

/**
 * Convolves the float32 data of `x` (read as [batch, inHeight, inWidth, inChannels]) with the data of
 * `filter` (read as [filterHeight, filterWidth, inChannels, outChannels]); shapes recorded on the tensor
 * infos are ignored, so callers can reinterpret a buffer without copying it. Pads must be >= 0.
 */
export function convolve(backend: WasmBackend, x: TensorInfo, filter: TensorInfo, g: ConvGeometry): TensorInfo {
  const out = allocate(backend, convOutputShape(g));
  wasmConv2d(backend)(
    tensorId(backend, x), g.batch, g.inHeight, g.inWidth,
    tensorId(backend, filter), g.filterHeight, g.filterWidth,
    g.padTop, g.padRight, g.padBottom, g.padLeft, 0 /* explicit padding */,
    g.dilationHeight, g.dilationWidth, g.strideHeight, g.strideWidth,
    g.inChannels, g.outChannels, tensorId(backend, out),
  );
  return out;
}
