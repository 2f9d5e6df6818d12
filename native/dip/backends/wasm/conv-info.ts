/**
 * Geometry of a convolution gradient from the attributes tfjs passes its kernels: 'same', 'valid', a
 * number, or explicit [[0, 0], [top, bottom], [left, right], [0, 0]] padding; strides; channels-last only
 * (tfjs only supports dilation 1 in convolution gradients).
 */
import * as tf from '@tensorflow/tfjs-core';

interface ConvGradientAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

export function nhwcConvInfo(
  kernelName: string,
  inputShape: number[],
  filterShape: number[],
  attrs: ConvGradientAttrs,
): tf.backend_util.Conv2DInfo {
  if (attrs.dataFormat === 'NCHW') {
    throw new Error(`${kernelName} on wasm supports dataFormat 'NHWC' only`);
  }
  return tf.backend_util.computeConv2DInfo(
    inputShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}
