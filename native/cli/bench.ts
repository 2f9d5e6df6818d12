/** `clearsky bench`: seconds per training step of the default network on random data, and peak memory. */
import { runBench } from '../commands/bench.ts';
import { parseBackendChoice, parsePrecision } from '../dip/backends/select.ts';
import { BACKEND, JSON_OUTPUT, PRECISION, STEPS, integer, type Options, type ParsedArgs } from './args.ts';

export const summary = 'time a training step on this machine';

export const usage = `clearsky bench [--size 256] [--outputs 8] [--steps 20] [--backend ...] [--precision fp32|bf16] [--json]`;

export const options = {
  ...BACKEND, ...PRECISION, ...STEPS, ...JSON_OUTPUT,
  size: { type: 'string', default: '256' },
  outputs: { type: 'string', default: '8' },
} satisfies Options;

export async function run({ values: v }: ParsedArgs): Promise<number> {
  const result = await runBench({
    size: integer(v.size, '--size'),
    outputs: integer(v.outputs, '--outputs'),
    steps: integer(v.steps ?? '20', '--steps'),
    backend: parseBackendChoice(v.backend as string),
    precision: v.precision === undefined ? undefined : parsePrecision(v.precision as string),
  });
  console.log(v.json ? JSON.stringify(result) : `${result.backend}: ${result.seconds_per_step.toFixed(3)} s/step at ${result.size}² × ${result.outputs}, peak RSS ${result.peak_rss_mb} MB`);
  return 0;
}
