/**
 * Element-wise, broadcast and reduction kernels of 'clearsky-cpu', run natively on both cores.
 *
 * tfjs' cpu backend computes an index per element whenever operands are broadcast, and reduces over
 * leading axes by transposing first; in a training step with batch norm (per-channel vectors against NHWC
 * tensors, sums over [0, 1, 2]) that made element-wise ops 40x the time of the convolutions. The native
 * kernels cover those patterns: same-shape operands, a scalar, and a per-channel vector along the last
 * axis; everything else goes to tfjs' kernel.
 */
import * as tf from '../../tf.ts';
import type { NativeAddon } from './addon.ts';
import { newFloats } from './cpu-backend.ts';
import { floatOutput, floatValues, nativeKernel, sizeOf, type KernelArgs, type NativeKernel } from './kernel-util.ts';

/** Op codes of the addon's binary(), see native/addon/src/elementwise.h. */
const BINARY_OPS: Record<string, number> = {
  [tf.Add]: 0, [tf.Sub]: 1, [tf.Multiply]: 2, [tf.RealDiv]: 3, [tf.SquaredDifference]: 4,
};
const UNARY_OPS: Record<string, number> = {
  [tf.Neg]: 0, [tf.Square]: 1, [tf.Sqrt]: 2, [tf.Rsqrt]: 3, [tf.Sigmoid]: 4, [tf.LeakyRelu]: 5, [tf.Relu]: 6, [tf.Exp]: 7, [tf.Abs]: 8,
};
enum Broadcast { Same = 0, ScalarB = 1, ScalarA = 2, VectorB = 3, VectorA = 4 }

/** True when `shape`, broadcast to `outShape`, is one vector along the last axis (all other dims 1). */
function isChannelVector(shape: number[], outShape: number[]): boolean {
  const channels = outShape[outShape.length - 1];
  return shape.length > 0 && shape[shape.length - 1] === channels && shape.slice(0, -1).every((d) => d === 1);
}

function broadcastOf(aShape: number[], bShape: number[], outShape: number[]): Broadcast | null {
  const n = sizeOf(outShape), aSize = sizeOf(aShape), bSize = sizeOf(bShape);
  if (aSize === n && bSize === n) return Broadcast.Same;
  if (aSize === n && bSize === 1) return Broadcast.ScalarB;
  if (bSize === n && aSize === 1) return Broadcast.ScalarA;
  if (aSize === n && isChannelVector(bShape, outShape)) return Broadcast.VectorB;
  if (bSize === n && isChannelVector(aShape, outShape)) return Broadcast.VectorA;
  return null;
}

function binaryKernel(addon: NativeAddon, op: number): NativeKernel {
  return ({ inputs: { a, b }, backend }) => {
    const aValues = floatValues(backend, a), bValues = floatValues(backend, b);
    if (!a || !b || !aValues || !bValues) return null;
    const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const mode = broadcastOf(a.shape, b.shape, outShape);
    if (mode === null) return null;
    const out = newFloats(backend, sizeOf(outShape));
    addon.binary(op, mode, aValues, bValues, out, outShape[outShape.length - 1] ?? 1);
    return floatOutput(backend, outShape, out);
  };
}

function unaryKernel(addon: NativeAddon, op: number): NativeKernel {
  return ({ inputs: { x }, backend, attrs }) => {
    const xValues = floatValues(backend, x);
    if (!x || !xValues) return null;
    const out = newFloats(backend, xValues.length);
    addon.unary(op, xValues, out, (attrs?.alpha as number | undefined) ?? 0);
    return floatOutput(backend, x.shape, out);
  };
}

/**
 * Sum and Mean over one contiguous block of axes, seen as [outer, reduced, inner] → [outer, inner]: the
 * per-channel sums of batch norm (axes [0, 1, 2]) and full sums (all axes). Reductions of the last axis
 * over many rows (inner = 1, large outer) stay with tfjs.
 */
function reduceKernel(addon: NativeAddon, mean: boolean): NativeKernel {
  return ({ inputs: { x }, backend, attrs }) => {
    const xValues = floatValues(backend, x);
    if (!x || !xValues || xValues.length === 0) return null;
    const axes = tf.util.parseAxisParam(attrs?.axis as number | number[], x.shape).sort((p, q) => p - q);
    if (axes.length === 0 || axes.some((axis, i) => axis !== axes[0] + i)) return null;
    const outer = sizeOf(x.shape.slice(0, axes[0]));
    const reduced = sizeOf(axes.map((axis) => x.shape[axis]));
    const inner = sizeOf(x.shape.slice(axes[axes.length - 1] + 1));
    if (outer > 64) return null;
    const [outShape] = tf.backend_util.computeOutAndReduceShapes(x.shape, axes);
    const out = newFloats(backend, outer * inner);
    const scale = mean ? 1 / reduced : 1;
    for (let o = 0; o < outer; o++) {
      const block = xValues.subarray(o * reduced * inner, (o + 1) * reduced * inner);
      addon.reduceRows(block, inner, scale, out.subarray(o * inner, (o + 1) * inner));
    }
    const shape = attrs?.keepDims ? tf.backend_util.expandShapeToKeepDim(outShape, axes) : outShape;
    return floatOutput(backend, shape, out);
  };
}

/** Tile of a per-channel vector ([1, …, 1, C]) over the leading axes: batch norm's gradient does this. */
function tileKernel(addon: NativeAddon): NativeKernel {
  return ({ inputs: { x }, backend, attrs }) => {
    const xValues = floatValues(backend, x);
    const reps = attrs?.reps as number[] | undefined;
    if (!x || !xValues || !reps || reps.length !== x.shape.length || reps[reps.length - 1] !== 1) return null;
    if (!x.shape.slice(0, -1).every((d) => d === 1) || xValues.length === 0) return null;
    const outShape = x.shape.map((d, i) => d * reps[i]);
    const out = newFloats(backend, sizeOf(outShape));
    addon.broadcastRows(xValues, out);
    return floatOutput(backend, outShape, out);
  };
}

function batchNormKernel(addon: NativeAddon): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const { x } = inputs;
    const xValues = floatValues(backend, x);
    if (!x || !xValues || x.shape.length === 0) return null;
    const channels = x.shape[x.shape.length - 1];
    const param = (name: string) => {
      const t = inputs[name];
      if (!t) return undefined;
      const values = floatValues(backend, t);
      return values && (values.length === 1 || values.length === channels) ? values : null;
    };
    const mean = param('mean'), variance = param('variance'), offset = param('offset'), scale = param('scale');
    if (!mean || !variance || offset === null || scale === null || channels === 0) return null;
    const y = newFloats(backend, xValues.length);
    addon.batchNorm(xValues, channels, mean, variance, offset ?? null, scale ?? null, (attrs?.varianceEpsilon as number | undefined) ?? 0.001, y);
    return floatOutput(backend, x.shape, y);
  };
}

/** x > scalar, as LeakyRelu's gradient asks. */
function greaterKernel(addon: NativeAddon): NativeKernel {
  return ({ inputs: { a, b }, backend }) => {
    const aValues = floatValues(backend, a), bValues = floatValues(backend, b);
    if (!a || !b || !aValues || !bValues || bValues.length !== 1) return null;
    const out = new Uint8Array(aValues.length);
    addon.greaterScalar(aValues, bValues[0], out);
    return backend.makeTensorInfo(a.shape, 'bool', out);
  };
}

function selectKernel(addon: NativeAddon): NativeKernel {
  return ({ inputs: { condition, t, e }, backend }: KernelArgs) => {
    const tValues = floatValues(backend, t), eValues = floatValues(backend, e);
    if (!condition || !t || !tValues || !eValues || condition.dtype !== 'bool') return null;
    const conditionValues = backend.data.get(condition.dataId).values;
    if (!(conditionValues instanceof Uint8Array) || conditionValues.length !== tValues.length || eValues.length !== tValues.length) return null;
    const out = newFloats(backend, tValues.length);
    addon.select(conditionValues, tValues, eValues, out);
    return floatOutput(backend, t.shape, out);
  };
}

export function nativeElementwiseKernels(addon: NativeAddon, backendName: string): tf.KernelConfig[] {
  const kernels: [string, NativeKernel][] = [
    ...Object.entries(BINARY_OPS).map(([name, op]): [string, NativeKernel] => [name, binaryKernel(addon, op)]),
    ...Object.entries(UNARY_OPS).map(([name, op]): [string, NativeKernel] => [name, unaryKernel(addon, op)]),
    [tf.Sum, reduceKernel(addon, false)],
    [tf.Mean, reduceKernel(addon, true)],
    [tf.Tile, tileKernel(addon)],
    [tf.FusedBatchNorm, batchNormKernel(addon)],
    [tf.Greater, greaterKernel(addon)],
    [tf.Select, selectKernel(addon)],
  ];
  return kernels.map(([name, native]) => nativeKernel(name, backendName, native));
}
