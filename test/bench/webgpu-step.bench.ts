/**
 * The webgpu backend's training step, counted and timed (printed, never asserted):
 *   - GPU dispatches per step of the default network (all of them, and Adam's), the figure that matters on a
 *     GPU, where a step of small kernels costs its dispatches more than its arithmetic;
 *   - seconds per step;
 *   - `--conv-input`: tfjs' two Conv2DBackpropInput programs (the naive one, its default, and the
 *     matrix-product one, WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE=false) at the network's shapes, and at stride 1
 *     the forward convolution with the flipped filter that could replace them.
 *
 * Without CLEARSKY_TEST_GPU=1 it runs on SwiftShader (a software Vulkan: timings are indicative only).
 *   node --import tsx test/bench/webgpu-step.bench.ts [--size 64] [--outputs 8] [--steps 3] [--conv-input]
 */
import { parseArgs } from 'node:util';
import { benchProblem } from '../../native/commands/bench.ts';
import { selectBackend } from '../../native/dip/backends/select.ts';
import * as tf from '../../native/dip/tf.ts';

if (process.env.CLEARSKY_TEST_GPU !== '1') process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';
const { values: options } = parseArgs({ options: { size: { type: 'string', default: '64' }, outputs: { type: 'string', default: '8' }, steps: { type: 'string', default: '3' }, 'conv-input': { type: 'boolean', default: false } } });
const info = await selectBackend('webgpu');
console.log(info.description);

/** Counts every dispatch recorded while counting is on: each kernel, tfjs' or ours, ends in dispatchWorkgroups. */
let dispatches = 0;
const pass = (globalThis as unknown as { GPUComputePassEncoder: { prototype: { dispatchWorkgroups: (...args: number[]) => void } } }).GPUComputePassEncoder.prototype;
const dispatch = pass.dispatchWorkgroups;
pass.dispatchWorkgroups = function (this: unknown, ...args: number[]) {
  dispatches++;
  return dispatch.apply(this, args);
};

if (options['conv-input']) await convInput();
else await step(Number(options.size), Number(options.outputs), Number(options.steps));

async function step(size: number, outputs: number, steps: number): Promise<void> {
  const problem = benchProblem(size, outputs);
  // Adam's share: the dispatches recorded inside applyGradients.
  let adam = 0;
  const { optimizer } = problem;
  const apply = optimizer.applyGradients.bind(optimizer);
  optimizer.applyGradients = (grads) => {
    const before = dispatches;
    apply(grads);
    adam += dispatches - before;
  };
  await problem.step(-1); // Adam's moments and the pipelines appear at the first step
  dispatches = 0;
  adam = 0;
  const start = performance.now();
  for (let i = 0; i < steps; i++) await problem.step(i);
  const seconds = (performance.now() - start) / 1000 / steps;
  console.log(JSON.stringify({ size, outputs, variables: problem.network.variables.length, dispatches_per_step: dispatches / steps, adam_dispatches_per_step: adam / steps, seconds_per_step: Number(seconds.toFixed(3)) }));
  problem.dispose();
}

async function convInput(): Promise<void> {
  // [input shape, filter shape, stride]: the network's input gradients at 64² (default widths), then a 256² one.
  const cases: [number[], number[], number][] = [
    [[1, 64, 64, 32], [5, 5, 32, 16], 1], // up0.conv1
    [[1, 32, 32, 32], [3, 3, 32, 32], 1], // down1.conv2
    [[1, 32, 32, 16], [3, 3, 16, 32], 2], // down1.conv1
    [[1, 64, 64, 16], [1, 1, 16, 16], 1], // up0.conv2
    [[1, 8, 8, 128], [5, 5, 128, 128], 1], // up3.conv1
    [[1, 256, 256, 32], [5, 5, 32, 16], 1], // up0.conv1 at 256²
  ];
  for (const [inputShape, filterShape, stride] of cases) {
    const outShape = tf.backend_util.computeConv2DInfo(inputShape as [number, number, number, number], filterShape as [number, number, number, number], stride, 1, 'same').outShape;
    const dy = tf.randomUniform(outShape);
    const filter = tf.randomUniform(filterShape);
    const row: Record<string, unknown> = { input: inputShape.join('×'), filter: filterShape.join('×'), stride };
    for (const naive of [true, false]) {
      tf.env().set('WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE', naive);
      const once = async () => {
        const dx = tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter }, { strides: stride, pad: 'same', dataFormat: 'NHWC', inputShape }) as tf.Tensor;
        await dx.data();
        dx.dispose();
      };
      await once(); // compiles the pipeline
      const repeats = 3;
      const start = performance.now();
      for (let i = 0; i < repeats; i++) await once();
      row[naive ? 'naive_ms' : 'matmul_ms'] = Number(((performance.now() - start) / repeats).toFixed(1));
    }
    if (stride === 1) {
      // The candidate replacement: tfjs' forward convolution of dy with the flipped, transposed filter (the flip
      // itself, a small dispatch, is left out).
      const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
      const once = async () => {
        const dx = tf.conv2d(dy as tf.Tensor4D, flipped, 1, 'same');
        await dx.data();
        dx.dispose();
      };
      await once();
      const start = performance.now();
      for (let i = 0; i < 3; i++) await once();
      row.flipped_conv_ms = Number(((performance.now() - start) / 3).toFixed(1));
      flipped.dispose();
    }
    console.log(JSON.stringify(row));
    tf.dispose([dy, filter]);
  }
}
