/**
 * `npm run bench:parity`: is Clearsky's DIP the same algorithm as PyTorch's, number for number?
 *
 * On the quality protocol's hardest case (Slovenia 2015-09-09, MT, real mask 37), for each seed: Clearsky
 * builds the network and writes its initial weights; test/bench/parity.py loads the very same weights into
 * the PyTorch network of torch_dip.py. Both then (1) compute the step-1 loss and every parameter's gradient,
 * compared tensor by tensor, and (2) train PARITY_STEPS steps with Adam and no input noise (so nothing random
 * is left), and are scored like the quality bench. It shows how far float rounding alone carries two runs of
 * the same algorithm from the same start: the run-to-run spread the quality comparison must be read against.
 *
 * Environment: PARITY_SEEDS (0,1,2,3), PARITY_STEPS (300), PARITY_MASK (37), QUALITY_BACKEND (auto).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { BackendChoice } from '../../native/api/contract.ts';
import { selectBackend } from '../../native/dip/backends/select.ts';
import { createAdam } from '../../native/dip/adam.ts';
import { setupMode } from '../../native/dip/modes.ts';
import { DipNetwork } from '../../native/dip/network.ts';
import { meshgrid } from '../../native/dip/optimise.ts';
import * as tf from '../../native/dip/tf.ts';
import { loadMask, loadSources } from '../../native/reconstruction/source-files.ts';
import { REPO_ROOT, dataFile } from '../helpers/data.ts';

const seeds = (process.env.PARITY_SEEDS ?? '0,1,2,3').split(',').map(Number);
const steps = Number(process.env.PARITY_STEPS ?? 300);
const maskBand = Number(process.env.PARITY_MASK ?? 37);
const workDir = path.join(REPO_ROOT, '.tmp/parity');
const slovenia = (name: string) => dataFile('slovenia-2015', name);
const bytes = (t: tf.Tensor) => Buffer.from((t.dataSync() as Float32Array).slice().buffer);

const backend = await selectBackend((process.env.QUALITY_BACKEND ?? 'auto') as BackendChoice);
const sources = await loadSources({ target: slovenia('S2L1C_20150909.tif'), bands: ['B04', 'B03', 'B02'], references: [slovenia('S2L1C_20150711.tif'), slovenia('S2L1C_20150830.tif')] });
const mask = await loadMask(slovenia('cloudmasks_s2cloudless_2015-2017.tif'), maskBand, sources.target.info);
const { problem } = setupMode('mt', { ...sources, mask });
const { target } = problem;
await fs.mkdir(workDir, { recursive: true });
console.log(`backend ${backend.description}; mask ${maskBand}, MT, ${steps} steps without input noise`);

for (const seed of seeds) {
  const network = new DipNetwork({ inputChannels: 2, outputChannels: target.bands, head: problem.head, seed });
  const size = network.sizeMultiple * Math.ceil(Math.max(target.height, target.width) / network.sizeMultiple);
  const pad = (data: Float32Array) => tf.tidy(() => tf.pad(tf.tensor4d(data, [1, target.height, target.width, target.bands]), [[0, 0], [0, size - target.height], [0, size - target.width], [0, 0]]) as tf.Tensor4D);
  const z = meshgrid(size, size);
  const targetT = pad(target.data);
  const weightsT = pad(problem.weights);
  const weightSum = tf.sum(weightsT);
  const loss = () => tf.div(tf.sum(tf.mul(tf.squaredDifference(network.apply(z), targetT), weightsT)), weightSum) as tf.Scalar;

  await fs.writeFile(path.join(workDir, 'shapes.json'), JSON.stringify({ size, maskBand, steps, shapes: network.variables.map((v) => v.shape) }));
  await fs.writeFile(path.join(workDir, 'weights.bin'), Buffer.concat(network.variables.map(bytes)));
  const { grads } = tf.variableGrads(loss, network.variables);
  await fs.writeFile(path.join(workDir, 'grads.bin'), Buffer.concat(network.variables.map((v) => bytes(grads[v.name]))));
  tf.dispose(Object.values(grads));

  const optimizer = createAdam(0.02);
  const losses: number[] = [];
  for (let step = 1; step <= steps; step++) {
    const value = optimizer.minimize(loss, true, network.variables)!;
    losses.push(value.dataSync()[0]);
    value.dispose();
  }
  const output = network.apply(z);
  await fs.writeFile(path.join(workDir, 'output.bin'), bytes(output));
  await fs.writeFile(path.join(workDir, 'losses.json'), JSON.stringify(losses));
  tf.dispose([output, z, targetT, weightsT, weightSum, ...network.variables]);
  optimizer.dispose();

  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const report = execFileSync(python, [path.join(REPO_ROOT, 'test/bench/parity.py'), workDir], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
  console.log(`seed ${seed}: ${report.trim()}`);
}
