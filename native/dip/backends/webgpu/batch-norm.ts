/**
 * Batch normalisation (training statistics) on webgpu, as the network uses it: batch norm then LeakyReLU in two
 * dispatches forward and three back, instead of ~10 tfjs ops each way plus the activation's 1 and 3. A batch norm
 * without an activation is the same kernel with slope 1 (batch-norm.ts routes it here).
 *   forward   mean and invStd (per channel, one workgroup: the mean, then the variance around it), then y
 *   gradient  Σ g and Σ g·x̂ (per channel), then dx; g = dy gated by the sign of the pre-activation, recomputed
 * x is NHWC and the channel is the last axis, so a flat index i belongs to channel i % C. The same per-channel
 * reduction gives the bias gradients (sumWebGpu).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { BATCH_NORM_LEAKY_RELU_GRAD_KERNEL, BATCH_NORM_LEAKY_RELU_KERNEL } from '../../batch-norm.ts';

const WORKGROUP = 64;

interface Pass {
  inputs: string[];
  /** WGSL of the body; `c` is the channel, `channels` and `count` (elements per channel) are defined. */
  code: string;
}

/** Per channel: one workgroup of 64 sums its channel's elements, `term(p)` for element p·C + c. */
function reduction(inputs: string[], term: string, finish: string): Pass {
  return {
    inputs,
    code: `
        let t = i32(localId.x);
        ${sumInto(term)}
        if (t == 0) { result[c] = ${finish}; }`,
  };
}

/** Sums term(i) over the channel's elements into partial[0], in every invocation of the workgroup. */
function sumInto(term: string): string {
  return `{
        var s = 0.0;
        for (var p = t; p < count; p += ${WORKGROUP}) { let i = p * channels + c; s += ${term}; }
        partial[t] = s;
        workgroupBarrier();
        for (var stride = ${WORKGROUP / 2}; stride > 0; stride /= 2) {
          if (t < stride) { partial[t] += partial[t + stride]; }
          workgroupBarrier();
        }
        }`;
}

// The fused pair keeps mean and invStd in one [2, C] tensor (stats): every pass then fits WebGPU's default
// 8 storage buffers, and the forward statistics are one dispatch.
const X_HAT = '(x[i] - stats[c]) * stats[channels + c]';
/** dy through LeakyReLU's gate: tfjs' gradient passes dy where the activation's input is > 0, else dy·leak. */
const GATED = `select(dy[i] * uniforms.leak, dy[i], ${X_HAT} * scale[c] + offset[c] > 0.0)`;
const GATE_INPUTS = ['dy', 'x', 'stats', 'scale', 'offset'];

const PASSES = {
  stats: {
    inputs: ['x'],
    code: `
        let t = i32(localId.x);
        ${sumInto('x[i]')}
        let mean = partial[0] / f32(count);
        workgroupBarrier(); // all have read partial[0] before it is reused
        ${sumInto('(x[i] - mean) * (x[i] - mean)')}
        if (t == 0) {
          result[c] = mean;
          result[channels + c] = inverseSqrt(partial[0] / f32(count) + uniforms.epsilon);
        }`,
  },
  yLeaky: {
    inputs: ['x', 'stats', 'scale', 'offset'],
    code: `let i = index;
        let z = ${X_HAT} * scale[c] + offset[c];
        result[index] = select(uniforms.leak * z, z, z > 0.0);`,
  },
  sumG: reduction(GATE_INPUTS, GATED, 'partial[0]'),
  sumGXHat: reduction(GATE_INPUTS, `${GATED} * ${X_HAT}`, 'partial[0]'),
  dxLeaky: {
    inputs: [...GATE_INPUTS, 'dScale', 'dOffset'],
    code: `let i = index;
        let xHat = ${X_HAT};
        result[index] = (${GATED} - (dOffset[c] + xHat * dScale[c]) / f32(count)) * scale[c] * stats[channels + c];`,
  },
  channelSum: reduction(['x'], 'x[i]', 'partial[0]'),
} satisfies Record<string, Pass>;

type PassName = keyof typeof PASSES;
const PER_CHANNEL: PassName[] = ['channelSum', 'stats', 'sumG', 'sumGXHat'];

function program(name: PassName, x: tf.TensorInfo, output: number[]) {
  const perChannel = PER_CHANNEL.includes(name);
  const channels = x.shape[x.shape.length - 1];
  const size = tf.util.sizeFromShape(x.shape);
  return {
    variableNames: PASSES[name].inputs,
    outputShape: output,
    shaderKey: `clearskyBatchNorm_${name}`,
    dispatchLayout: { x: output.map((_, i) => i) },
    dispatch: [perChannel ? channels : Math.ceil(size / WORKGROUP), 1, 1] as [number, number, number],
    workgroupSize: [WORKGROUP, 1, 1] as [number, number, number],
    size: true,
    uniforms: 'channels : i32, count : i32, epsilon : f32, leak : f32,',
    getUserCode: () => `
      ${perChannel ? `var<workgroup> partial : array<f32, ${WORKGROUP}>;` : ''}
      fn main(index : i32) {
        let channels = uniforms.channels;
        let count = uniforms.count;
        ${perChannel ? 'let c = i32(workgroupId.x);' : 'if (index >= uniforms.size) { return; }\n        let c = index % channels;'}
        ${PASSES[name].code}
      }
    `,
  };
}

type Runner = (name: PassName, inputs: Record<string, tf.TensorInfo>, output: number[]) => tf.TensorInfo;

function runner(backend: unknown, x: tf.TensorInfo, epsilon: number, leak = 0): Runner {
  const gpu = backend as WebGPUBackend;
  const channels = x.shape[x.shape.length - 1];
  const uniforms = [
    { type: 'int32', data: [channels] },
    { type: 'int32', data: [tf.util.sizeFromShape(x.shape) / channels] },
    { type: 'float32', data: [epsilon] },
    { type: 'float32', data: [leak] },
  ];
  const run = gpu.runWebGPUProgram.bind(gpu) as unknown as (p: ReturnType<typeof program>, inputs: tf.TensorInfo[], dtype: tf.DataType, u: typeof uniforms) => tf.TensorInfo;
  return (name, inputs, output) => run(program(name, x, output), PASSES[name].inputs.map((n) => inputs[n]), 'float32', uniforms);
}

/**
 * Sum over every axis but the last (a bias gradient: Σ dy per channel) in one dispatch. tfjs' Sum moves the
 * reduced axes innermost first (a transpose, one more dispatch per convolution of the network); other sums go
 * to the stock kernel.
 */
export function sumWebGpu(args: Parameters<tf.KernelFunc>[0], stock: tf.KernelFunc): tf.TensorInfo | tf.TensorInfo[] {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
  const rank = x.shape.length;
  const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
  const perChannel = rank >= 2 && x.dtype === 'float32' && axes.length === rank - 1 && axes.every((a, i) => a === i);
  if (!perChannel || tf.util.sizeFromShape(x.shape) === 0) return stock(args);
  const channels = x.shape[rank - 1];
  const sum = runner(args.backend, x, 0)('channelSum', { x }, [channels]);
  if (!keepDims) return sum;
  // The same buffer with the kept axes as ones: the channel sums lie in the same order.
  return { dataId: sum.dataId, shape: [...axes.map(() => 1), channels], dtype: sum.dtype };
}

export const batchNormLeakyReluWebGpu: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, scale, offset } = inputs as Record<'x' | 'scale' | 'offset', tf.TensorInfo>;
  const { epsilon, leak } = attrs as { epsilon: number; leak: number };
  const run = runner(backend, x, epsilon, leak);
  const stats = run('stats', { x }, [2, x.shape[x.shape.length - 1]]);
  const y = run('yLeaky', { x, stats, scale, offset }, x.shape);
  return [y, stats];
};

export const batchNormLeakyReluGradWebGpu: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, x, stats, scale, offset } = inputs as Record<'dy' | 'x' | 'stats' | 'scale' | 'offset', tf.TensorInfo>;
  const run = runner(backend, x, 0, (attrs as { leak: number }).leak);
  const channels = [x.shape[x.shape.length - 1]];
  const gate = { dy, x, stats, scale, offset };
  const dOffset = run('sumG', gate, channels);
  const dScale = run('sumGXHat', gate, channels);
  const dx = run('dxLeaky', { ...gate, dScale, dOffset }, x.shape);
  return [dx, dScale, dOffset];
};

export { BATCH_NORM_LEAKY_RELU_GRAD_KERNEL, BATCH_NORM_LEAKY_RELU_KERNEL };
