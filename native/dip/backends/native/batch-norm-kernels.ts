/**
 * The training-mode batch-norm kernels of native/dip/batch-norm.ts on 'clearsky-cpu': two native passes
 * each way instead of ~30 element-wise tfjs ops.
 */
import * as tf from '../../tf.ts';
import { BATCH_NORM_TRAIN_GRAD_KERNEL, BATCH_NORM_TRAIN_KERNEL } from '../../batch-norm.ts';
import type { NativeAddon } from './addon.ts';
import { newFloats } from './cpu-backend.ts';
import { floatOutput, floatValues, type KernelArgs } from './kernel-util.ts';

/** A per-channel parameter: its values if it has exactly `channels` float32 elements. */
function channelValues(args: KernelArgs, name: string, channels: number): Float32Array | null {
  const values = floatValues(args.backend, args.inputs[name]);
  return values && values.length === channels ? values : null;
}

export function nativeBatchNormKernels(addon: NativeAddon, backendName: string): tf.KernelConfig[] {
  // Neither kernel exists on 'cpu', so "falling back" means failing loudly rather than silently.
  const unsupported = (what: string) => new Error(`${what}: needs float32 NHWC data and per-channel parameters`);
  const train: tf.KernelFunc = (raw) => {
    const args = raw as unknown as KernelArgs;
    const { backend } = args;
    const { x } = args.inputs;
    const xValues = floatValues(backend, x);
    const channels = x?.shape[x.shape.length - 1] ?? 0;
    const scale = channelValues(args, 'scale', channels), offset = channelValues(args, 'offset', channels);
    if (!x || !xValues || !channels || !scale || !offset) throw unsupported(BATCH_NORM_TRAIN_KERNEL);
    const y = newFloats(backend, xValues.length), mean = newFloats(backend, channels), invStd = newFloats(backend, channels);
    addon.batchNormTrainForward(xValues, channels, scale, offset, args.attrs?.epsilon as number, y, mean, invStd);
    return [floatOutput(backend, x.shape, y), floatOutput(backend, [channels], mean), floatOutput(backend, [channels], invStd)];
  };
  const grad: tf.KernelFunc = (raw) => {
    const args = raw as unknown as KernelArgs;
    const { backend } = args;
    const { dy, x } = args.inputs;
    const dyValues = floatValues(backend, dy), xValues = floatValues(backend, x);
    const channels = x?.shape[x.shape.length - 1] ?? 0;
    const mean = channelValues(args, 'mean', channels), invStd = channelValues(args, 'invStd', channels);
    const scale = channelValues(args, 'scale', channels);
    if (!x || !dyValues || !xValues || dyValues.length !== xValues.length || !channels || !mean || !invStd || !scale) {
      throw unsupported(BATCH_NORM_TRAIN_GRAD_KERNEL);
    }
    const dx = newFloats(backend, xValues.length), dScale = newFloats(backend, channels), dOffset = newFloats(backend, channels);
    addon.batchNormTrainBackward(dyValues, xValues, channels, mean, invStd, scale, dx, dScale, dOffset);
    return [floatOutput(backend, x.shape, dx), floatOutput(backend, [channels], dScale), floatOutput(backend, [channels], dOffset)];
  };
  return [
    { kernelName: BATCH_NORM_TRAIN_KERNEL, backendName, kernelFunc: train },
    { kernelName: BATCH_NORM_TRAIN_GRAD_KERNEL, backendName, kernelFunc: grad },
  ];
}
