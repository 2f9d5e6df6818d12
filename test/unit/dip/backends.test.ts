import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '../../../native/dip/tf.ts';
import { BACKEND_CHOICES, type BackendChoice } from '../../../native/api/contract.ts';
import { selectBackend } from '../../../native/dip/backends/select.ts';
import { createImage, createMask } from '../../../native/dip/image.ts';
import { setupMode } from '../../../native/dip/modes.ts';
import { fitDip } from '../../../native/dip/optimise.ts';

const explicit = BACKEND_CHOICES.filter((c): c is Exclude<BackendChoice, 'auto'> => c !== 'auto');

async function available(choice: Exclude<BackendChoice, 'auto'>): Promise<boolean> {
  try {
    await selectBackend(choice);
    return true;
  } catch (error) {
    assert.match(String(error), new RegExp(`backend ${choice} is not available here: ${choice}: .+`));
    return false;
  }
}

test('auto picks the best backend that works, best first, and says why it passed over the others', async () => {
  const works: Record<string, boolean> = {};
  let softwareGpu = false;
  for (const choice of explicit) works[choice] = await available(choice);
  if (works.webgpu) softwareGpu = (await selectBackend('webgpu')).adapter?.software === true;
  assert.ok(works.cpu && works.wasm, 'the portable backends always work');
  const auto = await selectBackend('auto');
  // A software WebGPU adapter (SwiftShader, lavapipe) works when asked for, but auto passes it over.
  const best = explicit.find((c) => works[c] && !(c === 'webgpu' && softwareGpu))!;
  assert.equal(auto.choice, best);
  assert.equal(tf.getBackend(), auto.tfBackend);
  assert.equal(auto.skipped.length, explicit.indexOf(best));
  for (const [i, reason] of auto.skipped.entries()) assert.ok(reason.startsWith(`${explicit[i]}: `), reason);
});

test('without a WebGPU adapter the webgpu choice fails cleanly and the engine keeps working', async () => {
  const hasAdapter = await available('webgpu');
  if (hasAdapter) return; // a machine with a GPU: nothing to fall back from
  await assert.rejects(selectBackend('webgpu'), /backend webgpu is not available here/);
  const info = await selectBackend('wasm');
  assert.equal(info.tfBackend, 'wasm');
  const s2 = createImage(16, 16, 3);
  s2.data.fill(0.4);
  const { problem } = setupMode('basic', { s2, mask: createMask(16, 16) });
  const fit = await fitDip(problem, { steps: 2, network: { downWidths: [4, 4] } });
  assert.equal(fit.backend, 'wasm');
});

test('the same engine code gives the same fit on every available CPU backend', async () => {
  const s2 = createImage(24, 20, 3);
  s2.data.forEach((_, i) => (s2.data[i] = 0.3 + 0.2 * Math.sin(i / 7)));
  const mask = createMask(24, 20);
  mask.data.fill(1, 100, 160);
  const { problem } = setupMode('basic', { s2, mask });
  const outputs: Record<string, Float32Array> = {};
  for (const choice of ['cpu', 'wasm', 'native'] as const) {
    if (!(await available(choice))) continue;
    // Backends round differently (~1e-6 in the activations). With LeakyReLU's kink, a pre-activation that
    // lands within rounding of 0 takes the other slope on one backend, its gradient changes by a factor of
    // 5, and Adam's normalised steps carry the difference into every weight (~lr per step): whether that
    // happens within a few steps depends only on the seed, on cpu against itself as well. leak = 1 takes
    // the kink out; every kernel of a training step still runs. A small learning rate for the same reason.
    const fit = await fitDip(problem, { steps: 8, seed: 3, learningRate: 1e-3, network: { downWidths: [8, 8, 8], leak: 1 } });
    outputs[choice] = fit.output.data;
  }
  for (const [name, data] of Object.entries(outputs)) {
    let worst = 0;
    for (let i = 0; i < data.length; i++) worst = Math.max(worst, Math.abs(data[i] - outputs.cpu[i]));
    assert.ok(worst < 1e-5, `${name} differs from cpu by ${worst}`);
  }
});
