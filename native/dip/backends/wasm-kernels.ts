/**
 * Makes tfjs `wasm` complete and fast for training convolutional networks:
 *   Conv2DBackpropFilter  missing from tfjs-backend-wasm; ours runs on its XNNPACK convolution
 *   Conv2DBackpropInput   replaces the stock kernel (a plain loop, ~10× slower than the forward pass)
 *   Tile                  replaces the stock kernel (per-element indexing; BatchNorm gradients tile a lot)
 * Each is checked against the `cpu` backend in test/unit/wasm-kernels.test.ts; speeds are in
 * test/bench/wasm-kernels.bench.ts.
 *
 * Call after importing '@tensorflow/tfjs-backend-wasm', before or after the backend is initialised;
 * calling again does nothing.
 */
import * as tf from '@tensorflow/tfjs-core';
import { conv2dBackpropFilterWasm } from './wasm-conv-backprop-filter.ts';
import { conv2dBackpropInputWasm } from './wasm-conv-backprop-input.ts';
import { tileWasm } from './wasm-tile.ts';

export function registerWasmTrainingKernels(): void {
  replace({ kernelName: tf.Conv2DBackpropFilter, backendName: 'wasm', kernelFunc: conv2dBackpropFilterWasm as tf.KernelFunc });
  replace({ kernelName: tf.Conv2DBackpropInput, backendName: 'wasm', kernelFunc: conv2dBackpropInputWasm as tf.KernelFunc });
  replace({ kernelName: tf.Tile, backendName: 'wasm', kernelFunc: tileWasm });
}

function replace(config: tf.KernelConfig): void {
  const current = tf.getKernel(config.kernelName, 'wasm');
  if (current?.kernelFunc === config.kernelFunc) return;
  // Unregister first: registering over an existing kernel works but logs a warning.
  if (current) tf.unregisterKernel(config.kernelName, 'wasm');
  tf.registerKernel(config);
}
