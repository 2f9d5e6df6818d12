/**
 * Makes tfjs `wasm` complete and fast for training convolutional networks:
 *   Conv2DBackpropFilter  missing from tfjs-backend-wasm; ours runs on its XNNPACK convolution
 *   Conv2DBackpropInput   replaces the stock kernel (a plain loop, ~10× slower than the forward pass)
 * Both are checked against the `cpu` backend in test/unit/wasm-kernels.test.ts; speeds are in
 * test/bench/wasm-kernels.bench.ts.
 *
 * Call before or after the wasm backend is initialised; calling again does nothing.
 */
import * as tf from '@tensorflow/tfjs-core';
import { conv2dBackpropFilterWasm } from './wasm-conv-backprop-filter.ts';
import { conv2dBackpropInputWasm } from './wasm-conv-backprop-input.ts';

const ours: tf.KernelConfig[] = [
  { kernelName: tf.Conv2DBackpropFilter, backendName: 'wasm', kernelFunc: conv2dBackpropFilterWasm as tf.KernelFunc },
  { kernelName: tf.Conv2DBackpropInput, backendName: 'wasm', kernelFunc: conv2dBackpropInputWasm as tf.KernelFunc },
];

export function registerWasmTrainingKernels(): void {
  for (const config of ours) {
    const current = tf.getKernel(config.kernelName, 'wasm');
    if (current?.kernelFunc === config.kernelFunc) continue;
    // Unregister first: registering over an existing kernel works but logs a warning.
    if (current) tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel(config);
  }
}
