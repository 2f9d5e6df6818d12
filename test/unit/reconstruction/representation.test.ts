/**
 * The network's representation of the target (modes.ts): S2 above 2000 DN must be reconstructable under the
 * sigmoid head, and a reconstruction capped at the head's bounds under the clouds is refused, not handed out.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { selectBackend } from '../../../native/dip/backends/select.ts';
import { createImage, createMask, cropImage, cropMask, hideMasked, maskCover, type Image, type Mask } from '../../../native/dip/image.ts';
import { inpaint } from '../../../native/dip/inpaint.ts';
import { checkRepresentation, HEADROOM, RepresentationError, setupMode } from '../../../native/dip/modes.ts';
import { S2_SCALE } from '../../../native/raster/sentinel/preprocess.ts';
import { openRunInputs, planRun, reconstructTile, surveyTiles } from '../../../native/reconstruction/pipeline.ts';
import { loadMask, loadSources } from '../../../native/reconstruction/source-files.ts';
import { dataFile } from '../../helpers/data.ts';

/** Two bands: a visible one around 800 DN and a NIR one around 2700 DN (÷2000 above 1); pixel 5 cloudy. */
function nirScene() {
  const s2 = createImage(4, 3, 2);
  for (let p = 0; p < 12; p++) {
    s2.data[p * 2] = (700 + 20 * p) / S2_SCALE;
    s2.data[p * 2 + 1] = (2400 + 50 * p) / S2_SCALE;
  }
  const mask = createMask(4, 3);
  mask.data[5] = 1;
  return { s2, mask };
}

test('every channel the network must reproduce lies inside the sigmoid\'s range with headroom, and decodes back to ÷2000', () => {
  const { s2, mask } = nirScene();
  const reference = createImage(4, 3, 2);
  reference.data.forEach((_, i) => (reference.data[i] = i % 2 ? 1.6 : 0.4));
  reference.data[3] = 1.7;
  const sar = createImage(4, 3, 2);
  sar.data.forEach((_, i) => (sar.data[i] = 1 + (i % 5) / 5)); // SAR in [0, 2], above 1 too
  for (const mode of ['basic', 'mt', 'ms', 'msmt'] as const) {
    const { problem, decode } = setupMode(mode, { s2, mask, reference, sar });
    assert.equal(problem.head, 'sigmoid');
    for (let c = 0; c < problem.target.bands; c++) {
      const known: number[] = [];
      for (let p = 0; p < 12; p++) if (problem.weights[p * problem.target.bands + c]) known.push(problem.target.data[p * problem.target.bands + c]);
      const lowest = HEADROOM / (1 + 2 * HEADROOM);
      assert.ok(Math.min(...known) >= lowest - 1e-6 && Math.max(...known) <= 1 - lowest + 1e-6, `${mode} channel ${c}: ${Math.min(...known)}..${Math.max(...known)}`);
    }
    const back = decode(problem.target);
    for (let i = 0; i < back.data.length; i++) if (!mask.data[Math.floor(i / 2)]) assert.ok(Math.abs(back.data[i] - s2.data[i]) < 1e-5);
    // A network output at the top of its range decodes above anything seen: the headroom is reachable.
    const top = createImage(4, 3, problem.target.bands);
    top.data.fill(1);
    assert.ok(decode(top).data[1] * S2_SCALE > 2400 + 50 * 11, 'the NIR band can go above its brightest clear pixel');
  }
  // The old representation (÷2000 as is) puts the NIR band above 1, where a sigmoid cannot go.
  const plain = setupMode('basic', { s2, mask }, { representation: 'plain' });
  assert.ok(plain.problem.target.data[1] > 1);
});

test('a network output whose masked pixels of a band sit at the sigmoid\'s bound is refused, naming the band and the share', () => {
  const { s2 } = nirScene();
  const mask = createMask(4, 3);
  mask.data.fill(1, 0, 10); // 10 masked pixels, 2 clear
  const { problem } = setupMode('basic', { s2, mask });
  const output = createImage(4, 3, 2);
  output.data.fill(0.5);
  for (const p of [10, 11]) output.data[p * 2 + 1] = 1; // clear pixels at the bound do not count
  checkRepresentation(problem, output, { s2, mask }, ['B04', 'B08']);
  output.data[0 * 2 + 1] = 0.995; // 1 of 10 masked pixels of B08 at the upper bound: 10 %
  assert.throws(() => checkRepresentation(problem, output, { s2, mask }, ['B04', 'B08']), (error: Error) => {
    assert.ok(error instanceof RepresentationError);
    assert.match(error.message, /B08 10 % at the upper limit/);
    assert.doesNotMatch(error.message, /B04/);
    return true;
  });
  // Pixels outside the scene are not part of the share; a linear head has no bound.
  const invalid = createMask(4, 3);
  invalid.data.fill(1, 0, 1);
  checkRepresentation(problem, output, { s2, mask, invalid: { ...invalid, data: invalid.data } }, ['B04', 'B08']);
  checkRepresentation({ ...problem, head: 'linear' }, output, { s2, mask });
});

/**
 * Real data: a SEN12MS-CR cloud-free summer-green patch (DR Congo; B08 mostly above 2000 DN), 64×64 px, with
 * a real s2cloudless cloud shape (from the Slovenia masks) pasted on.
 */
async function realTask(): Promise<{ truth: Image; mask: Mask; names: string[] }> {
  const bands = ['B02', 'B03', 'B04', 'B08'];
  const patch = await loadSources({ target: dataFile('sen12mscr-pairs', 's2_cloudfree', 'ROIs1158_spring_s2_39_p100.tif'), bands });
  const window = { x: 96, y: 96, width: 64, height: 64 };
  const slovenia = await loadSources({ target: dataFile('slovenia-2015', 'S2L1C_20150909.tif'), bands: ['B02'] });
  const shape = await loadMask(dataFile('slovenia-2015', 'cloudmasks_s2cloudless_2015-2017.tif'), 37, slovenia.target.info);
  return { truth: cropImage(patch.s2, window), mask: cropMask(shape, { x: 20, y: 20, width: 64, height: 64 }), names: bands };
}

function maskedB08(image: Image, mask: Mask): number[] {
  const values: number[] = [];
  for (let p = 0; p < mask.data.length; p++) if (mask.data[p]) values.push(image.data[p * image.bands + 3] * S2_SCALE);
  return values.sort((a, b) => a - b);
}

const median = (sorted: number[]) => sorted[sorted.length >> 1];

before(async () => {
  await selectBackend('native');
});

test('real data: B08 reconstructed under a real cloud shape follows the clear B08 distribution, not a cap at 2000 DN', async () => {
  const { truth, mask, names } = await realTask();
  const cover = maskCover(mask);
  assert.ok(cover > 0.1 && cover < 0.6, `cover ${cover}`);
  const trueB08 = maskedB08(truth, mask);
  assert.ok(trueB08.filter((v) => v > 2000).length / trueB08.length > 0.8, 'the task is one where most of B08 is above 2000 DN');
  const sources = { s2: hideMasked(truth, mask), mask };
  const result = await inpaint('basic', sources, { steps: 300, seeds: [0], bandNames: names });
  const b08 = maskedB08(result.reconstruction, mask);
  const atCap = b08.filter((v) => Math.abs(v - 2000) <= 10).length / b08.length;
  assert.ok(atCap < 0.05, `${(atCap * 100).toFixed(1)} % of masked B08 at 2000 DN`);
  assert.ok(Math.abs(median(b08) - median(trueB08)) / median(trueB08) < 0.1, `masked B08 median ${median(b08).toFixed(0)} DN, truth ${median(trueB08).toFixed(0)} DN`);
  // The old representation (÷2000 under the sigmoid) on the same task caps B08: the check refuses it.
  // A checkpoint stands for a run of that many steps: it says it would be refused too (eval scores it as failed).
  const checkpoints: { step: number; refused?: string }[] = [];
  await assert.rejects(inpaint('basic', sources, { steps: 300, seeds: [0], bandNames: names, representation: 'plain', checkpoints: [299], onCheckpoint: ({ step, refused }) => void checkpoints.push({ step, refused }) }), (error: Error) => {
    assert.ok(error instanceof RepresentationError, String(error));
    assert.match(error.message, /B08 \d+ % at the upper limit/);
    return true;
  });
  assert.equal(checkpoints.length, 1);
  assert.match(checkpoints[0].refused ?? '', /^reconstruction refused: under the clouds, B08 \d+ % at the upper limit/);
});

test('a run\'s tile whose B08 would come out capped fails with a message naming the band (the old ÷2000 representation forced)', async () => {
  const inputs = await openRunInputs({
    target: dataFile('slovenia-2015', 'S2L1C_20150909.tif'),
    bands: ['B04', 'B08'],
    mask: dataFile('slovenia-2015', 'cloudmasks_s2cloudless_2015-2017.tif'),
    maskBand: 37,
    area: { x: 20, y: 20, width: 48, height: 48 },
  });
  try {
    const plan = planRun(inputs, { tileSize: 48, overlap: 0 });
    const [tile] = (await surveyTiles(plan, inputs)).cloudy;
    const settings = { method: 'dip' as const, mode: 'basic' as const, steps: 200, seeds: [0], stitch: true, groundTruth: true, engine: { representation: 'plain' as const } };
    await assert.rejects(reconstructTile(inputs, tile, settings), /reconstruction refused: under the clouds, B08 \d+ % at the upper limit/);
  } finally {
    await inputs.close();
  }
});
