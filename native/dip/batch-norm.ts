/**
 * Batch normalisation with the batch's own statistics (training mode, as METHOD.md prescribes even for
 * the final output), as one differentiable op.
 *
 * tf.moments + tf.batchNorm differentiate into ~30 element-wise ops per layer; this op's gradient is the
 * closed form dx = γ·σ⁻¹·(dy − mean(dy) − x̂·mean(dy·x̂)), dγ = Σ dy·x̂, dβ = Σ dy. A backend that
 * registers the kernels below (the native 'clearsky-cpu') runs each direction in two passes; every other
 * backend gets the same maths from standard tfjs ops.
 */
import * as tf from './tf.ts';

/** Inputs x, scale, offset; attr epsilon; outputs y, mean, invStd (per channel, of the last axis). */
export const BATCH_NORM_TRAIN_KERNEL = 'ClearskyBatchNormTrain';
/** Inputs dy, x, mean, invStd, scale; outputs dx, dScale, dOffset. */
export const BATCH_NORM_TRAIN_GRAD_KERNEL = 'ClearskyBatchNormTrainGrad';

/**
 * Batch norm followed by LeakyReLU, as the network applies them back to back: inputs x, scale, offset; attrs
 * epsilon, leak; outputs y and stats ([2, C]: the mean, then invStd). Its gradient: inputs dy, x, stats, scale,
 * offset; attr leak; outputs dx, dScale, dOffset. A GPU backend registers them to save the activation's
 * passes (backends/webgpu/batch-norm.ts); every other backend composes the two ops.
 */
export const BATCH_NORM_LEAKY_RELU_KERNEL = 'ClearskyBatchNormLeakyRelu';
export const BATCH_NORM_LEAKY_RELU_GRAD_KERNEL = 'ClearskyBatchNormLeakyReluGrad';

function backendHas(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}

function forward(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D] {
  if (backendHas(BATCH_NORM_TRAIN_KERNEL)) {
    return tf.engine().runKernel(BATCH_NORM_TRAIN_KERNEL, { x, scale: gamma, offset: beta }, { epsilon }) as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D];
  }
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  const y = tf.batchNorm(x, mean, variance, beta, gamma, epsilon) as tf.Tensor4D;
  return [y, mean as tf.Tensor1D, tf.rsqrt(tf.add(variance, epsilon)) as tf.Tensor1D];
}

function backward(dy: tf.Tensor4D, x: tf.Tensor4D, gamma: tf.Tensor1D, mean: tf.Tensor1D, invStd: tf.Tensor1D): tf.Tensor[] {
  if (backendHas(BATCH_NORM_TRAIN_GRAD_KERNEL)) {
    return tf.engine().runKernel(BATCH_NORM_TRAIN_GRAD_KERNEL, { dy, x, mean, invStd, scale: gamma }, {}) as tf.Tensor[];
  }
  const axes = [0, 1, 2];
  const count = x.size / x.shape[3];
  const xHat = tf.mul(tf.sub(x, mean), invStd);
  const dBeta = tf.sum(dy, axes);
  const dGamma = tf.sum(tf.mul(dy, xHat), axes);
  const centred = tf.sub(dy, tf.div(tf.add(dBeta, tf.mul(xHat, dGamma)), count));
  const dx = tf.mul(centred, tf.mul(gamma, invStd));
  return [dx, dGamma, dBeta];
}

/**
 * (x − mean) / √(variance + ε) · γ + β with mean and (population) variance of x over [0, 1, 2], per
 * channel. Differentiable in x, γ and β.
 */
export function batchNormTraining(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): tf.Tensor4D {
  // A backend with only the fused pair (webgpu) runs batch norm as the pair with slope 1: fewer passes.
  if (!backendHas(BATCH_NORM_TRAIN_KERNEL) && backendHas(BATCH_NORM_LEAKY_RELU_KERNEL)) return batchNormLeakyRelu(x, gamma, beta, epsilon, 1);
  const op = tf.customGrad((xIn, gammaIn, betaIn, save) => {
    const [y, mean, invStd] = forward(xIn as tf.Tensor4D, gammaIn as tf.Tensor1D, betaIn as tf.Tensor1D, epsilon);
    (save as tf.GradSaveFunc)([xIn as tf.Tensor4D, gammaIn as tf.Tensor1D, mean, invStd]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
        const [xs, gammaS, meanS, invStdS] = saved as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
        return backward(dy, xs, gammaS, meanS, invStdS);
      },
    };
  });
  return op(x, gamma, beta) as tf.Tensor4D;
}

/** leakyRelu(batchNormTraining(x, γ, β, ε), leak), in one op where the backend fuses them. Differentiable in x, γ and β. */
export function batchNormLeakyRelu(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number, leak: number): tf.Tensor4D {
  if (!backendHas(BATCH_NORM_LEAKY_RELU_KERNEL) || !backendHas(BATCH_NORM_LEAKY_RELU_GRAD_KERNEL)) {
    return tf.leakyRelu(batchNormTraining(x, gamma, beta, epsilon), leak);
  }
  const op = tf.customGrad((xIn, gammaIn, betaIn, save) => {
    const [y, stats] = tf.engine().runKernel(BATCH_NORM_LEAKY_RELU_KERNEL, { x: xIn as tf.Tensor, scale: gammaIn as tf.Tensor, offset: betaIn as tf.Tensor }, { epsilon, leak }) as [tf.Tensor4D, tf.Tensor2D];
    (save as tf.GradSaveFunc)([xIn as tf.Tensor4D, gammaIn as tf.Tensor1D, betaIn as tf.Tensor1D, stats]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
        const [xs, scale, offset, statsS] = saved;
        return tf.engine().runKernel(BATCH_NORM_LEAKY_RELU_GRAD_KERNEL, { dy, x: xs, stats: statsS, scale, offset }, { leak }) as tf.Tensor[];
      },
    };
  });
  return op(x, gamma, beta) as tf.Tensor4D;
}
