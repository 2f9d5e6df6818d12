/**
 * Our kernels on tfjs-backend-webgpu, where the stock ones are slow for DIP training (the same pattern as
 * wasm-kernels.ts). Each is checked against the `cpu` backend in test/unit/webgpu.test.ts.
 *
 * Call after importing '@tensorflow/tfjs-backend-webgpu'; calling again does nothing.
 */
import * as tf from '@tensorflow/tfjs-core';

const ours = new WeakSet<tf.KernelFunc>();

export function registerWebGpuKernels(): void {
  // Filled in by the kernels below as they are added.
}

/** Registers our kernel for `kernelName` on webgpu; `make` gets the stock kernel, for cases it delegates. */
export function replaceWebGpuKernel(kernelName: string, make: (stock: tf.KernelFunc | undefined) => tf.KernelFunc): void {
  const current = tf.getKernel(kernelName, 'webgpu');
  if (current && ours.has(current.kernelFunc)) return;
  const kernelFunc = make(current?.kernelFunc);
  ours.add(kernelFunc);
  // Unregister first: registering over an existing kernel works but logs a warning.
  if (current) tf.unregisterKernel(kernelName, 'webgpu');
  tf.registerKernel({ kernelName, backendName: 'webgpu', kernelFunc, setupFunc: current?.setupFunc });
}
