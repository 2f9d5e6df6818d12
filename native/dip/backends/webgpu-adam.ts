/**
 * The fused Adam update of native/dip/adam.ts on webgpu: three element-wise passes per variable (new
 * value, m and v, each computed from the old m and v) instead of tfjs' ~15 ops. Dispatches, not
 * arithmetic, are what a small step costs on a GPU: the network has 45 variables.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { ADAM_UPDATE_KERNEL, type AdamUpdateAttrs } from '../adam.ts';

const WORKGROUP = 64;
type Output = 'value' | 'm' | 'v';

/** Each pass binds only the inputs it reads: WebGPU's automatic layout drops unused bindings. */
const PASSES: Record<Output, { inputs: ('value' | 'grad' | 'm' | 'v')[]; code: string }> = {
  m: { inputs: ['grad', 'm'], code: 'result[index] = m[index] * uniforms.beta1 + grad[index] * (1.0 - uniforms.beta1);' },
  v: { inputs: ['grad', 'v'], code: 'let g = grad[index];\n        result[index] = v[index] * uniforms.beta2 + g * g * (1.0 - uniforms.beta2);' },
  value: {
    inputs: ['value', 'grad', 'm', 'v'],
    code: `let g = grad[index];
        let newM = m[index] * uniforms.beta1 + g * (1.0 - uniforms.beta1);
        let newV = v[index] * uniforms.beta2 + g * g * (1.0 - uniforms.beta2);
        result[index] = value[index] - (newM / uniforms.correction1) / (sqrt(newV / uniforms.correction2) + uniforms.epsilon) * uniforms.learningRate;`,
  },
};

function adamProgram(output: Output, length: number) {
  return {
    variableNames: PASSES[output].inputs as string[],
    outputShape: [length],
    shaderKey: `clearskyAdam_${output}`,
    dispatchLayout: { x: [0] },
    dispatch: [Math.ceil(length / WORKGROUP), 1, 1] as [number, number, number],
    workgroupSize: [WORKGROUP, 1, 1] as [number, number, number],
    size: true,
    uniforms: 'learningRate : f32, beta1 : f32, beta2 : f32, epsilon : f32, correction1 : f32, correction2 : f32,',
    getUserCode: () => `
      fn main(index : i32) {
        if (index >= uniforms.size) { return; }
        ${PASSES[output].code}
      }
    `,
  };
}

export const adamWebGpu: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { value, grad, m, v } = inputs as Record<'value' | 'grad' | 'm' | 'v', tf.TensorInfo>;
  const a = attrs as unknown as AdamUpdateAttrs;
  const gpu = backend as unknown as WebGPUBackend;
  const length = tf.util.sizeFromShape(value.shape);
  // Flat views of the inputs, so the programs index them as 1-D arrays of one length.
  const flat = { value, grad, m, v } as Record<string, tf.TensorInfo>;
  for (const [name, t] of Object.entries(flat)) flat[name] = { dataId: t.dataId, shape: [length], dtype: t.dtype };
  const uniforms = [a.learningRate, a.beta1, a.beta2, a.epsilon, a.correction1, a.correction2].map((x) => ({ type: 'float32', data: [x] }));
  const run = gpu.runWebGPUProgram.bind(gpu) as unknown as (program: ReturnType<typeof adamProgram>, inputs: tf.TensorInfo[], dtype: tf.DataType, uniforms: { type: string; data: number[] }[], output: tf.TensorInfo) => tf.TensorInfo;
  // Each output has the variable's shape; the program sees it flat (its size uniform is the length).
  return (['value', 'm', 'v'] as const).map((output) => run(adamProgram(output, length), PASSES[output].inputs.map((name) => flat[name]), 'float32', uniforms, gpu.makeTensorInfo(value.shape, 'float32')));
};

export { ADAM_UPDATE_KERNEL };
