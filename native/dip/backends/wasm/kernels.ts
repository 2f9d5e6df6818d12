/**
 * Makes tfjs `wasm` complete and fast for training convolutional networks:
 *   Conv2DBackpropFilter  missing from tfjs-backend-wasm; ours runs on its XNNPACK convolution
 *   Conv2DBackpropInput   replaces the stock kernel (a plain loop, ~10× slower than the forward pass)
 *   Tile                  replaces the stock kernel (per-element indexing; BatchNorm gradients tile a lot)
 *   Sum, Mean             over leading axes (bias/BatchNorm gradients, batch statistics) without the
 *                         stock kernels' transpose; other reductions still go to the stock kernels
 * Each is checked against the `cpu` backend in test/unit/dip/wasm-kernels.test.ts; speeds are in
 * test/bench/wasm-kernels.bench.ts.
 *
 * Call after importing '@tensorflow/tfjs-backend-wasm', before or after the backend is initialised;
 * calling again does nothing.
 */
import * as tf from '@tensorflow/tfjs-core';
import { conv2dBackpropFilterWasm } from './conv-backprop-filter.ts';
import { conv2dBackpropInputWasm } from './conv-backprop-input.ts';
import { reduceLeadingAxes } from './reduce.ts';
import { tileWasm } from './tile.ts';

const ours = new WeakSet<tf.KernelFunc>();

export function registerWasmTrainingKernels(): void {
  replace(tf.Conv2DBackpropFilter, () => (args) => conv2dBackpropFilterWasm(args));
  replace(tf.Conv2DBackpropInput, () => conv2dBackpropInputWasm as tf.KernelFunc);
  replace(tf.Tile, () => tileWasm);
  replace(tf.Sum, (stock) => reduceLeadingAxes('sum', requireStock(tf.Sum, stock)));
  replace(tf.Mean, (stock) => reduceLeadingAxes('mean', requireStock(tf.Mean, stock)));
}

/** Registers our kernel for `kernelName` on wasm; `make` gets the stock kernel, for cases it delegates. */
function replace(kernelName: string, make: (stock: tf.KernelFunc | undefined) => tf.KernelFunc): void {
  const current = tf.getKernel(kernelName, 'wasm');
  if (current && ours.has(current.kernelFunc)) return;
  const kernelFunc = make(current?.kernelFunc);
  ours.add(kernelFunc);
  // Unregister first: registering over an existing kernel works but logs a warning. The stock setup
  // stays: it prepares the stock kernel, which ours may call.
  if (current) tf.unregisterKernel(kernelName, 'wasm');
  tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc, setupFunc: current?.setupFunc });
}

function requireStock(kernelName: string, stock: tf.KernelFunc | undefined): tf.KernelFunc {
  if (!stock) throw new Error(`tfjs-backend-wasm has no ${kernelName} kernel: import it before registering`);
  return stock;
}
