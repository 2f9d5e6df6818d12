/**
 * Plumbing shared by the native kernels of 'clearsky-cpu': reading a tensor's values in place, making
 * outputs, and falling back to tfjs' own cpu kernel whenever a native kernel does not cover a call.
 */
import * as tf from '../../tf.ts';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

export type Attrs = Record<string, unknown>;
export interface KernelArgs {
  inputs: Record<string, tf.TensorInfo | undefined>;
  backend: MathBackendCPU;
  attrs?: Attrs;
}
/** A native kernel body: its result, or null for "not covered, use tfjs' kernel". */
export type NativeKernel = (args: KernelArgs) => tf.TensorInfo | null;

/** Values of a float32 tensor of this backend, or null when it is not plain float32 data. */
export function floatValues(backend: MathBackendCPU, t: tf.TensorInfo | undefined): Float32Array | null {
  if (!t || t.dtype !== 'float32') return null;
  const values = backend.data.get(t.dataId).values;
  return values instanceof Float32Array ? values : null;
}

export function sizeOf(shape: number[]): number {
  return tf.util.sizeFromShape(shape);
}

export function floatOutput(backend: MathBackendCPU, shape: number[], values: Float32Array): tf.TensorInfo {
  return backend.makeTensorInfo(shape, 'float32', values);
}

/** How many calls of each kernel went to tfjs' JavaScript kernel instead of a native one. */
export const fallbackCounts = new Map<string, number>();

/**
 * The kernel config for `kernelName` on `backendName`: the native body, else tfjs' cpu kernel. A native
 * body that throws (e.g. oneDNN has no implementation for an unusual shape) also falls back.
 */
export function nativeKernel(kernelName: string, backendName: string, native: NativeKernel): tf.KernelConfig {
  const fallback = tf.getKernel(kernelName, 'cpu').kernelFunc;
  const kernelFunc: tf.KernelFunc = (args) => {
    let result: tf.TensorInfo | null = null;
    try {
      result = native(args as unknown as KernelArgs);
    } catch {
      result = null;
    }
    if (result) return result;
    fallbackCounts.set(kernelName, (fallbackCounts.get(kernelName) ?? 0) + 1);
    if (process.env.CLEARSKY_NATIVE_DEBUG) {
      const shapes = Object.entries(args.inputs).map(([name, t]) => `${name}:${t ? `${t.dtype}[${t.shape.join(',')}]` : '-'}`);
      console.error(`clearsky-cpu: ${kernelName} on tfjs' kernel (${shapes.join(' ')} ${JSON.stringify(args.attrs ?? {})})`);
    }
    return fallback(args);
  };
  return { kernelName, backendName, kernelFunc };
}
