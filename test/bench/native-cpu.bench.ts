/**
 * Seconds per training step of the METHOD.md network on a tfjs backend, with a per-kernel profile.
 *
 *   node --import tsx test/bench/native-cpu.bench.ts [--backend clearsky-cpu] [--size 256] [--outputs 8]
 *        [--steps 10] [--threads 2] [--adam fused|tfjs] [--profile]
 *
 * The step is the engine's (native/dip/optimise.ts): fresh input noise, forward, masked MSE, backward, Adam.
 * --profile times one extra step kernel by kernel (tf.profile) and prints where the time goes, with GFLOP/s
 * for the convolutions.
 */
import { parseArgs } from 'node:util';
import * as tf from '../../native/dip/tf.ts';
import { DipNetwork } from '../../native/dip/network.ts';
import { createAdam } from '../../native/dip/adam.ts';
import { meshgrid } from '../../native/dip/optimise.ts';
import { loadNativeAddon } from '../../native/dip/backends/native/addon.ts';
import { registerNativeCpuBackend, nativeCpuUnavailableReason } from '../../native/dip/backends/native/cpu.ts';
import { fallbackCounts } from '../../native/dip/backends/native/kernel-util.ts';

const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'clearsky-cpu' },
    size: { type: 'string', default: '256' },
    outputs: { type: 'string', default: '8' },
    steps: { type: 'string', default: '10' },
    threads: { type: 'string' },
    profile: { type: 'boolean', default: false },
    // 'fused': Adam as one kernel per variable (native/dip/adam.ts); 'tfjs': tf.train.adam.
    adam: { type: 'string', default: 'fused' },
  },
});
const size = Number(args.size);
const outputs = Number(args.outputs);
const steps = Number(args.steps);

if (args.backend === 'clearsky-cpu' && !registerNativeCpuBackend()) {
  console.error(`clearsky-cpu unavailable: ${nativeCpuUnavailableReason()}`);
  process.exit(1);
}
if (args.backend === 'cpu') await import('@tensorflow/tfjs-backend-cpu');
await tf.setBackend(args.backend);
if (args.threads) loadNativeAddon()?.setNumThreads(Number(args.threads));

const network = new DipNetwork({ inputChannels: 2, outputChannels: outputs, seed: 0 });
const z = meshgrid(size, size);
const target = tf.randomUniform([1, size, size, outputs], 0, 1, 'float32', 1);
// As the engine builds it: known elements 1, masked 0, from a Float32Array.
const mask = Float32Array.from({ length: size * size * outputs }, (_, i) => ((i * 2654435761) % 10 < 7 ? 1 : 0));
const weights = tf.tensor4d(mask, [1, size, size, outputs]);
const weightSum = tf.sum(weights);
const optimizer: tf.Optimizer = args.adam === 'tfjs' ? tf.train.adam(0.02, 0.9, 0.999, 1e-8) : createAdam(0.02, 0.9, 0.999, 1e-8);

let stepIndex = 0;
const phaseSeconds = { gradients: 0, update: 0 };
/** One training step, as optimizer.minimize does it, timing the gradients and the Adam update apart. */
function step(): void {
  stepIndex += 1;
  const t0 = performance.now();
  const { value: loss, grads } = tf.variableGrads(() => {
    const noisy = tf.add(z, tf.randomNormal(z.shape, 0, 0.1, 'float32', stepIndex)) as tf.Tensor4D;
    const out = network.apply(noisy);
    return tf.div(tf.sum(tf.mul(tf.squaredDifference(out, target), weights)), weightSum) as tf.Scalar;
  }, network.variables);
  const t1 = performance.now();
  optimizer.applyGradients(grads as unknown as Parameters<tf.Optimizer['applyGradients']>[0]);
  tf.dispose(grads);
  loss.dataSync();
  loss.dispose();
  phaseSeconds.gradients += (t1 - t0) / 1000;
  phaseSeconds.update += (performance.now() - t1) / 1000;
}

/** Multiply-adds ×2 of a convolution kernel call, from its input and output shapes. */
function convFlops(name: string, inputShapes: number[][], outputShape: number[]): number {
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const [, filterH, filterW, inC] = [0, ...(name === 'Conv2DBackpropFilter' ? outputShape : inputShapes[1]).slice(0, 3)];
  const dy = name === 'Conv2D' || name === 'FusedConv2D' ? outputShape : name === 'Conv2DBackpropInput' ? inputShapes[0] : inputShapes[1];
  return 2 * size(dy) * filterH * filterW * inC;
}

for (let i = 0; i < 3; i++) step();  // warm-up: primitive creation, JIT
phaseSeconds.gradients = phaseSeconds.update = 0;
const start = performance.now();
const cpuStart = process.cpuUsage();
for (let i = 0; i < steps; i++) step();
const secondsPerStep = (performance.now() - start) / 1000 / steps;
// CPU seconds (all threads): on a busy machine wall time varies with other processes, CPU time much less.
const cpu = process.cpuUsage(cpuStart);
const cpuSecondsPerStep = (cpu.user + cpu.system) / 1e6 / steps;
console.log(JSON.stringify({
  backend: tf.getBackend(), adam: args.adam, size, outputs, steps, seconds_per_step: Number(secondsPerStep.toFixed(4)),
  cpu_seconds_per_step: Number(cpuSecondsPerStep.toFixed(4)),
  gradients_seconds_per_step: Number((phaseSeconds.gradients / steps).toFixed(4)),
  update_seconds_per_step: Number((phaseSeconds.update / steps).toFixed(4)),
  threads: loadNativeAddon()?.info().threads, rss_mb: Math.round(process.memoryUsage().rss / 2 ** 20),
  fallbacks: Object.fromEntries(fallbackCounts),
}));

if (args.profile) {
  const profile = await tf.profile(() => step());
  type Entry = { ms: number; calls: number; flops: number };
  const byKernel = new Map<string, Entry>();
  const byConvShape = new Map<string, Entry>();
  const add = (map: Map<string, Entry>, key: string, ms: number, flops: number) => {
    const entry = map.get(key) ?? { ms: 0, calls: 0, flops: 0 };
    entry.ms += ms;
    entry.calls += 1;
    entry.flops += flops;
    map.set(key, entry);
  };
  for (const kernel of profile.kernels) {
    // Scopes wrapping kernels (fused conv op, customGrad ops), not kernels: their time is counted inside.
    if (kernel.name === 'fusedConv2d__op' || kernel.name === 'unnamed scope') continue;
    const ms = Number(await kernel.kernelTimeMs);
    const isConv = kernel.name.startsWith('Conv2D') || kernel.name === 'FusedConv2D';
    const flops = isConv ? convFlops(kernel.name, kernel.inputShapes, kernel.outputShapes[0]) : 0;
    add(byKernel, kernel.name, ms, flops);
    if (isConv) add(byConvShape, `${kernel.name} ${kernel.inputShapes.slice(0, 2).map((s) => `[${s.join(',')}]`).join(' ')}`, ms, flops);
  }
  const print = (map: Map<string, Entry>, width: number) => {
    for (const [name, e] of [...map.entries()].sort((a, b) => b[1].ms - a[1].ms)) {
      const gflops = e.flops ? `${(e.flops / (e.ms / 1000) / 1e9).toFixed(1).padStart(7)} GFLOP/s` : '';
      console.log(`${name.padEnd(width)} ${e.ms.toFixed(2).padStart(9)} ms ${String(e.calls).padStart(4)} calls ${gflops}`);
    }
  };
  const total = [...byKernel.values()].reduce((sum, e) => sum + e.ms, 0);
  console.log(`kernel time in the profiled step: ${total.toFixed(1)} ms`);
  print(byKernel, 28);
  console.log('\nconvolutions by shape:');
  print(byConvShape, 60);
}
tf.dispose([z, target, weights, weightSum]);
optimizer.dispose();
network.dispose();
