/**
 * `clearsky bench`: seconds per training step of the default network on random data, after warm-up.
 */
import { createAdam } from '../dip/adam.ts';
import * as tf from '../dip/tf.ts';
import type { BackendChoice } from '../api/contract.ts';
import type { Precision } from '../dip/choices.ts';
import { selectBackend, type AdapterInfo } from '../dip/backends/select.ts';
import { DipNetwork } from '../dip/network.ts';
import { meshgrid } from '../dip/optimise.ts';

export interface BenchOptions {
  size: number;
  outputs: number;
  steps: number;
  warmup?: number;
  backend?: BackendChoice;
  /** The native backend's convolutions: fp32 or bf16. */
  precision?: Precision;
}

export interface BenchResult {
  backend: string;
  size: number;
  outputs: number;
  steps: number;
  seconds_per_step: number;
  peak_rss_mb: number;
  /** The GPU, on webgpu: vendor, architecture, device, driver description, and whether it is software. */
  adapter?: AdapterInfo;
}

/** The benchmark's problem: the default network fitting random data, one training step at a time. */
export function benchProblem(size: number, outputs: number) {
  const network = new DipNetwork({ inputChannels: 2, outputChannels: outputs, seed: 0 });
  const z = meshgrid(size, size);
  const target = tf.randomUniform([1, size, size, outputs], 0, 1, 'float32', 1);
  const weights = tf.cast(tf.greater(tf.randomUniform([1, size, size, outputs], 0, 1, 'float32', 2), 0.2), 'float32');
  const weightSum = tf.sum(weights);
  const optimizer = createAdam(0.02);
  return {
    network,
    optimizer,
    /** One step with noise seed `i`, waited for on the device. */
    async step(i: number): Promise<void> {
      const loss = optimizer.minimize(() => {
        const out = network.apply(tf.add(z, tf.randomNormal(z.shape, 0, 0.1, 'float32', i)) as tf.Tensor4D);
        return tf.div(tf.sum(tf.mul(tf.squaredDifference(out, target), weights)), weightSum) as tf.Scalar;
      }, true, network.variables);
      await loss!.data(); // asynchronously: webgpu cannot read synchronously in Node
      loss!.dispose();
    },
    dispose(): void {
      optimizer.dispose();
      network.dispose();
      tf.dispose([z, target, weights, weightSum]);
    },
  };
}

export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const info = await selectBackend(options.backend ?? 'auto', { precision: options.precision });
  const { size, outputs } = options;
  const problem = benchProblem(size, outputs);
  try {
    for (let i = 0; i < (options.warmup ?? 2); i++) await problem.step(-1 - i);
    const start = performance.now();
    for (let i = 0; i < options.steps; i++) await problem.step(i);
    const seconds = (performance.now() - start) / 1000;
    return {
      backend: info.description,
      size,
      outputs,
      steps: options.steps,
      seconds_per_step: seconds / options.steps,
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
      ...(info.adapter ? { adapter: info.adapter } : {}),
    };
  } finally {
    problem.dispose();
  }
}
