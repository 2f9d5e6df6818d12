/**
 * Where a DIP training step's time goes on tfjs `wasm`: the METHOD.md network (8 outputs) with Adam on
 * random data, every wasm kernel wrapped to add up its CPU time. CPU time, not wall time, because the
 * cores are shared: it is what the step costs this process.
 * Run: node --import tsx test/bench/wasm-step-profile.bench.ts [--size 256] [--steps 5] [--stock]
 *   --stock  leave tfjs-backend-wasm's own kernels (no Conv2DBackpropFilter: fails on training)
 */
import { parseArgs } from 'node:util';
import * as tf from '../../native/dip/tf.ts';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../../native/dip/backends/wasm/kernels.ts';
import { DipNetwork } from '../../native/dip/network.ts';

const { values: options } = parseArgs({
  options: { size: { type: 'string', default: '256' }, steps: { type: 'string', default: '5' }, stock: { type: 'boolean', default: false } },
});
const size = Number(options.size);
const steps = Number(options.steps);

const cpuMs = (since?: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
};

await tf.setBackend('wasm');
if (!options.stock) registerWasmTrainingKernels();
const kernelMs = new Map<string, number>();
for (const kernel of tf.getKernelsForBackend('wasm')) {
  const run = kernel.kernelFunc;
  tf.unregisterKernel(kernel.kernelName, 'wasm');
  tf.registerKernel({
    ...kernel,
    kernelFunc: (args) => {
      const start = process.cpuUsage();
      const out = run(args);
      kernelMs.set(kernel.kernelName, (kernelMs.get(kernel.kernelName) ?? 0) + cpuMs(start));
      return out;
    },
  });
}

const network = new DipNetwork({ inputChannels: 2, outputChannels: 8 });
const z = tf.randomUniform([1, size, size, 2]) as tf.Tensor4D;
const target = tf.randomUniform([1, size, size, 8]);
const optimizer = tf.train.adam(0.02);
const step = () =>
  tf.tidy(() => {
    optimizer.minimize(() => tf.mean(tf.square(tf.sub(network.apply(z), target))) as tf.Scalar, false, network.variables);
  });

step(); // warm-up: XNNPACK setup, heap growth
kernelMs.clear();
const wallStart = performance.now();
const cpuStart = process.cpuUsage();
for (let i = 0; i < steps; i++) step();
const cpuPerStep = cpuMs(cpuStart) / steps;
const wallPerStep = (performance.now() - wallStart) / steps;

const inKernels = [...kernelMs.values()].reduce((a, b) => a + b, 0) / steps;
console.log(`wasm, ${size}², 8 outputs: ${(cpuPerStep / 1000).toFixed(3)} s CPU per step (${(wallPerStep / 1000).toFixed(3)} s wall), ` +
  `${(inKernels / 1000).toFixed(3)} s of it in kernels`);
for (const [name, ms] of [...kernelMs].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
  console.log(`  ${name.padEnd(26)} ${(ms / steps).toFixed(1).padStart(7)} ms  ${((100 * ms) / steps / cpuPerStep).toFixed(0).padStart(3)} %`);
}
