/**
 * 'clearsky-cpu': tfjs' JavaScript cpu backend with its heavy kernels replaced by native ones (oneDNN
 * convolutions on both cores, through the optional addon in native/addon).
 *
 * Tensors live in the backend's JS Float32Arrays, exactly as on 'cpu', so every cpu kernel is reused as is
 * and the native kernels read and write those arrays in place.
 */
import * as tf from '../../tf.ts';
import '@tensorflow/tfjs-backend-cpu';  // registers 'cpu', whose kernels are copied
import { NativeCpuBackend } from './cpu-backend.ts';
import { loadNativeAddon, nativeAddonUnavailableReason } from './addon.ts';
import { nativeConvKernels } from './conv-kernels.ts';
import { nativeElementwiseKernels } from './elementwise-kernels.ts';
import { nativeBatchNormKernels } from './batch-norm-kernels.ts';
import { nativeResizeKernels } from './resize-kernels.ts';
import { nativeAdamKernel } from './adam-kernel.ts';

export const NATIVE_CPU_BACKEND = 'clearsky-cpu';

let registered = false;

/**
 * Registers the 'clearsky-cpu' backend (once). Returns false, without throwing, when the native addon is
 * unavailable; {@link nativeCpuUnavailableReason} then says why. Does not make it the active backend.
 */
export function registerNativeCpuBackend(): boolean {
  if (registered) return true;
  const addon = loadNativeAddon();
  if (!addon) return false;

  // Priority 0: only used when chosen explicitly (tf.setBackend), never picked by tfjs on its own.
  tf.registerBackend(NATIVE_CPU_BACKEND, () => new NativeCpuBackend(), 0);
  for (const kernel of tf.getKernelsForBackend('cpu')) {
    tf.registerKernel({ ...kernel, backendName: NATIVE_CPU_BACKEND });
  }
  const replacements = [
    ...nativeConvKernels(addon, NATIVE_CPU_BACKEND),
    ...nativeElementwiseKernels(addon, NATIVE_CPU_BACKEND),
    ...nativeResizeKernels(addon, NATIVE_CPU_BACKEND),
  ];
  for (const kernel of replacements) {
    tf.unregisterKernel(kernel.kernelName, NATIVE_CPU_BACKEND);
    tf.registerKernel(kernel);
  }
  // Kernels 'cpu' does not have: fused training ops used through native/dip/batch-norm.ts and adam.ts.
  for (const kernel of [...nativeBatchNormKernels(addon, NATIVE_CPU_BACKEND), nativeAdamKernel(addon, NATIVE_CPU_BACKEND)]) {
    tf.registerKernel(kernel);
  }
  registered = true;
  return true;
}

/** Why 'clearsky-cpu' cannot be registered; empty when it can. */
export function nativeCpuUnavailableReason(): string {
  return nativeAddonUnavailableReason();
}
