/**
 * Conv2D, FusedConv2D, Conv2DBackpropInput and Conv2DBackpropFilter for the 'clearsky-cpu' backend, run by
 * oneDNN through the native addon on the backend's own Float32Arrays (no copies).
 *
 * Anything the addon does not cover (NCHW, non-float32 data, a FusedConv2D bias that is not per channel,
 * a shape oneDNN rejects) falls back to tfjs' JavaScript kernel, so results are always defined.
 */
import * as tf from '../../tf.ts';
import type { ConvGeometry, NativeAddon } from './addon.ts';
import { newFloats } from './cpu-backend.ts';
import { floatOutput as output, floatValues, nativeKernel, sizeOf, type Attrs, type KernelArgs, type NativeKernel } from './kernel-util.ts';

type Padding = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
type Shape4 = [number, number, number, number];

function convInfo(inShape: number[], filterShape: number[], attrs: Attrs, dilations: number | [number, number]): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    inShape as Shape4,
    filterShape as Shape4,
    attrs.strides as number | [number, number],
    dilations,
    attrs.pad as Padding,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    false,
    'channelsLast',
  );
}

/**
 * The addon's geometry. The far-side pads are recomputed from the output size, so that oneDNN's
 * consistency rule (in + padBefore + padAfter - effectiveFilter) / stride + 1 == out holds whatever rounding
 * produced the output size; rows beyond the input are zeros in both tfjs and oneDNN.
 */
export function geometryOf(info: tf.backend_util.Conv2DInfo): ConvGeometry {
  const { padInfo } = info;
  const padBottom = (info.outHeight - 1) * info.strideHeight + info.effectiveFilterHeight - info.inHeight - padInfo.top;
  const padRight = (info.outWidth - 1) * info.strideWidth + info.effectiveFilterWidth - info.inWidth - padInfo.left;
  return Int32Array.from([
    info.batchSize, info.inHeight, info.inWidth, info.inChannels,
    info.filterHeight, info.filterWidth, info.outChannels,
    info.outHeight, info.outWidth,
    info.strideHeight, info.strideWidth,
    padInfo.top, padBottom, padInfo.left, padRight,
    info.dilationHeight, info.dilationWidth,
  ]);
}

function isNhwc(attrs: Attrs): boolean {
  return attrs.dataFormat === undefined || attrs.dataFormat === 'NHWC';
}

export function nativeConvKernels(addon: NativeAddon, backendName: string): tf.KernelConfig[] {
  const conv2D = (args: KernelArgs, withBias: boolean): tf.TensorInfo | null => {
    const { backend, attrs = {} } = args;
    const { x, filter, bias } = args.inputs;
    if (!x || !filter || !isNhwc(attrs)) return null;
    const xValues = floatValues(backend, x);
    const filterValues = floatValues(backend, filter);
    const biasValues = withBias && bias ? floatValues(backend, bias) : null;
    if (!xValues || !filterValues || (withBias && bias && (!biasValues || bias.shape.length !== 1 || bias.shape[0] !== filter.shape[3]))) {
      return null;
    }
    const info = convInfo(x.shape, filter.shape, attrs, attrs.dilations as number | [number, number]);
    const y = newFloats(backend, sizeOf(info.outShape));
    addon.conv2dForward(geometryOf(info), xValues, filterValues, biasValues, y);
    return output(backend, info.outShape, y);
  };

  const fusedConv2D = (args: KernelArgs): tf.TensorInfo | null => {
    const { activation } = args.attrs ?? {};
    // Activations other than linear are rare in training (tfjs cannot differentiate them when fused).
    if (activation !== undefined && activation !== 'linear') return null;
    if (args.inputs.preluActivationWeights) return null;
    return conv2D(args, true);
  };

  const backpropInput = (args: KernelArgs): tf.TensorInfo | null => {
    const { backend, attrs = {} } = args;
    const { dy, filter } = args.inputs;
    if (!dy || !filter || !isNhwc(attrs)) return null;
    const dyValues = floatValues(backend, dy);
    const filterValues = floatValues(backend, filter);
    if (!dyValues || !filterValues) return null;
    const info = convInfo(attrs.inputShape as number[], filter.shape, attrs, 1);
    const dx = newFloats(backend, sizeOf(info.inShape));
    const geometry = geometryOf(info);
    // With a negative far pad (rows past the last window) some input rows get no gradient at all. oneDNN
    // 2.6 writes zeros there; the fill (rare, cheap) keeps recycled arrays safe should another version not.
    if (geometry[12] < 0 || geometry[14] < 0) dx.fill(0);
    addon.conv2dBackwardData(geometry, dyValues, filterValues, dx);
    return output(backend, info.inShape, dx);
  };

  const backpropFilter = (args: KernelArgs): tf.TensorInfo | null => {
    const { backend, attrs = {} } = args;
    const { x, dy } = args.inputs;
    if (!x || !dy || !isNhwc(attrs)) return null;
    const xValues = floatValues(backend, x);
    const dyValues = floatValues(backend, dy);
    if (!xValues || !dyValues) return null;
    const filterShape = attrs.filterShape as number[];
    const info = convInfo(x.shape, filterShape, attrs, 1);
    const dFilter = newFloats(backend, sizeOf(filterShape));
    addon.conv2dBackwardFilter(geometryOf(info), xValues, dyValues, dFilter, null);
    return output(backend, filterShape, dFilter);
  };

  const kernels: [string, NativeKernel][] = [
    [tf.Conv2D, (args) => conv2D(args, false)],
    [tf.FusedConv2D, fusedConv2D],
    [tf.Conv2DBackpropInput, backpropInput],
    [tf.Conv2DBackpropFilter, backpropFilter],
  ];
  return kernels.map(([kernelName, native]) => nativeKernel(kernelName, backendName, native));
}
