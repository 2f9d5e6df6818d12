/**
 * Our kernels on tfjs-backend-webgpu, where the stock ones are slow for DIP training (the same pattern as
 * ../wasm/kernels.ts). Each is checked against the `cpu` backend in test/unit/dip/webgpu.test.ts.
 *
 * Call after importing '@tensorflow/tfjs-backend-webgpu'; calling again does nothing.
 */
import * as tf from '@tensorflow/tfjs-core';
import { conv2dBackpropFilterWebGpu } from './conv-backprop-filter.ts';
import { ADAM_UPDATE_KERNEL, adamWebGpu } from './adam.ts';
import { BATCH_NORM_LEAKY_RELU_GRAD_KERNEL, BATCH_NORM_LEAKY_RELU_KERNEL, batchNormLeakyReluGradWebGpu, batchNormLeakyReluWebGpu, sumWebGpu } from './batch-norm.ts';

const ours = new WeakSet<tf.KernelFunc>();

/**
 *   Conv2DBackpropFilter  a split-K matrix product (the stock kernel is one invocation per weight)
 *   ClearskyAdamUpdate    Adam in one pass per variable instead of ~15 ops (native/dip/adam.ts)
 *   ClearskyBatchNormLeakyRelu(Grad)  batch norm + LeakyReLU in two passes forward, three back instead of
 *                         ~14 ops; batch norm alone is the same with slope 1 (batch-norm.ts)
 *   Sum                   over all axes but the last (the bias gradients) in one pass instead of two
 */
export function registerWebGpuKernels(): void {
  replaceWebGpuKernel(BATCH_NORM_LEAKY_RELU_KERNEL, () => batchNormLeakyReluWebGpu);
  replaceWebGpuKernel(BATCH_NORM_LEAKY_RELU_GRAD_KERNEL, () => batchNormLeakyReluGradWebGpu);
  replaceWebGpuKernel(ADAM_UPDATE_KERNEL, () => adamWebGpu);
  replaceWebGpuKernel(tf.Sum, (stock) => (args) => sumWebGpu(args, requireStock(tf.Sum, stock)));
  replaceWebGpuKernel(tf.Conv2DBackpropFilter, (stock) => (args) => conv2dBackpropFilterWebGpu(args, requireStock(tf.Conv2DBackpropFilter, stock)));
}

function requireStock(kernelName: string, stock: tf.KernelFunc | undefined): tf.KernelFunc {
  if (!stock) throw new Error(`tfjs-backend-webgpu has no ${kernelName} kernel: import it before registering`);
  return stock;
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
