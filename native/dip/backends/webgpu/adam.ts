/**
 * The fused Adam update of native/dip/adam.ts on webgpu: one dispatch per variable, which writes the new
 * value and updates m and v in place, instead of tfjs' ~15 ops (or three passes, one per output: a tfjs
 * program writes a single output). Dispatches, not arithmetic, are what a small step costs on a GPU: the
 * network has 110 variables.
 *
 * tfjs' program machinery binds every input read-only, so this kernel records its own pipeline into the
 * backend's command stream, as WebGPUBackend.recordAndSubmit does for tfjs' programs. In-place is safe
 * because the moments belong to FusedAdamOptimizer alone (never shared with another tensor); the value, which
 * a caller may have cloned, gets a fresh buffer.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ADAM_UPDATE_KERNEL, type AdamUpdateAttrs } from '../../adam.ts';

const WORKGROUP = 64;
/** WebGPU's guaranteed maxComputeWorkgroupsPerDimension; larger variables spread over y. */
const MAX_GROUPS = 65535;

const SHADER = `
struct Uniforms { size : u32, rows : u32, learningRate : f32, beta1 : f32, beta2 : f32, epsilon : f32, correction1 : f32, correction2 : f32 };
@group(0) @binding(0) var<storage, read_write> result : array<f32>;
@group(0) @binding(1) var<storage, read> value : array<f32>;
@group(0) @binding(2) var<storage, read> grad : array<f32>;
@group(0) @binding(3) var<storage, read_write> m : array<f32>;
@group(0) @binding(4) var<storage, read_write> v : array<f32>;
@group(0) @binding(5) var<uniform> uniforms : Uniforms;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) group : vec3<u32>, @builtin(local_invocation_index) local : u32) {
  let index = (group.y * uniforms.rows + group.x) * ${WORKGROUP}u + local;
  if (index >= uniforms.size) { return; }
  let g = grad[index];
  let newM = m[index] * uniforms.beta1 + g * (1.0 - uniforms.beta1);
  let newV = v[index] * uniforms.beta2 + g * g * (1.0 - uniforms.beta2);
  m[index] = newM;
  v[index] = newV;
  result[index] = value[index] - (newM / uniforms.correction1) / (sqrt(newV / uniforms.correction2) + uniforms.epsilon) * uniforms.learningRate;
}`;

/** What this kernel uses of tfjs-backend-webgpu's WebGPUBackend (public members of its class, untyped in its d.ts as GPU objects). */
interface Backend {
  device: GpuDevice;
  tensorMap: { get(dataId: tf.DataId): { resource: unknown; refCount: number } };
  commandEncoder: { beginComputePass(descriptor: object): ComputePass };
  computePassEncoder: ComputePass | null;
  commandQueueOwnedIds: WeakSet<tf.DataId>;
  dispatchCountInPass: number;
  uploadToGPU(dataId: tf.DataId): void;
  makeTensorInfo(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  makeUniforms(uniforms: { type: string; data: number[] }[]): object;
  incRef(dataId: tf.DataId): void;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
}
interface GpuDevice {
  createShaderModule(descriptor: { code: string }): object;
  createComputePipeline(descriptor: object): Pipeline;
  createBindGroup(descriptor: object): object;
}
interface Pipeline {
  getBindGroupLayout(index: number): object;
}
interface ComputePass {
  setPipeline(pipeline: Pipeline): void;
  setBindGroup(index: number, group: object): void;
  dispatchWorkgroups(x: number, y: number, z: number): void;
}

const pipelines = new WeakMap<GpuDevice, Pipeline>();

function pipelineOf(device: GpuDevice): Pipeline {
  let pipeline = pipelines.get(device);
  if (!pipeline) {
    pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: SHADER }), entryPoint: 'main' } });
    pipelines.set(device, pipeline);
  }
  return pipeline;
}

export const adamWebGpu: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { value, grad, m, v } = inputs as Record<'value' | 'grad' | 'm' | 'v', tf.TensorInfo>;
  const a = attrs as unknown as AdamUpdateAttrs;
  const gpu = backend as unknown as Backend;
  const length = tf.util.sizeFromShape(value.shape);
  const result = gpu.makeTensorInfo(value.shape, 'float32');
  // m and v are outputs too, in their own buffers: one more reference each, as tfjs' Identity returns its input.
  const outputs = [result, ...[m, v].map((t) => {
    gpu.incRef(t.dataId);
    return { dataId: t.dataId, shape: t.shape, dtype: t.dtype };
  })];
  if (length === 0) return outputs;
  for (const moment of [m, v]) {
    // A moment shared with another tensor would change under it (2: the optimizer's variable and our output).
    if (gpu.tensorMap.get(moment.dataId).refCount !== 2) throw new Error('ClearskyAdamUpdate on webgpu updates m and v in place: they must not be shared');
  }
  const tensors = [result, value, grad, m, v];
  for (const t of tensors) gpu.uploadToGPU(t.dataId);
  const groups = Math.ceil(length / WORKGROUP);
  const rows = Math.min(groups, MAX_GROUPS);
  const uniforms = gpu.makeUniforms([
    { type: 'uint32', data: [length] },
    { type: 'uint32', data: [rows] },
    ...[a.learningRate, a.beta1, a.beta2, a.epsilon, a.correction1, a.correction2].map((x) => ({ type: 'float32', data: [x] })),
  ]);
  const pipeline = pipelineOf(gpu.device);
  const bindGroup = gpu.device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [...tensors.map((t, binding) => ({ binding, resource: { buffer: gpu.tensorMap.get(t.dataId).resource } })), { binding: 5, resource: uniforms }],
  });
  // Buffers in a command not yet submitted are released only after the submit (see WebGPUBackend.disposeData).
  for (const t of tensors) gpu.commandQueueOwnedIds.add(t.dataId);
  gpu.ensureCommandEncoderReady();
  gpu.computePassEncoder ??= gpu.commandEncoder.beginComputePass({});
  gpu.computePassEncoder.setPipeline(pipeline);
  gpu.computePassEncoder.setBindGroup(0, bindGroup);
  gpu.computePassEncoder.dispatchWorkgroups(rows, Math.ceil(groups / rows), 1);
  gpu.dispatchCountInPass++;
  if ((tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number) <= gpu.dispatchCountInPass) {
    gpu.endComputePassEncoder();
    gpu.submitQueue();
  }
  return outputs;
};

export { ADAM_UPDATE_KERNEL };
