/**
 * The network's representation of the target, old (÷2000 under the sigmoid: 'plain') against new (per-channel
 * map fitted on the known elements: 'fitted'), on the quality protocol's task: Slovenia 20150909 with real
 * s2cloudless masks pasted, MT with the clear reference (mean of 20150820 and 20150830), same seeds.
 * Per run: masked and whole-image RMSE and SSIM (÷2000 scale, as `clearsky eval`), the masked RMSE of each
 * band, the loss over the clear S2 elements in the ÷2000 scale, the network's own final loss, and the share
 * of masked pixels at or above 2000 DN per band. Nothing is refused (refuseCapped: false): this measures the cap.
 *
 * Environment: REP_BANDS (B04,B03,B02), REP_MASKS (21,48), REP_MODES (basic,mt), REP_SEEDS (0,1), REP_STEPS (500),
 * REP_OUT (.tmp/representation.jsonl; runs already in it are skipped).
 */
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { selectBackend } from '../../native/dip/backends/select.ts';
import { hideMasked, maskCover, type Image, type Mask } from '../../native/dip/image.ts';
import { inpaint } from '../../native/dip/inpaint.ts';
import { scoreReconstruction } from '../../native/dip/metrics.ts';
import type { Mode, Representation } from '../../native/dip/modes.ts';
import { loadMask, loadSources } from '../../native/reconstruction/source-files.ts';
import { REPO_ROOT, dataFile } from '../helpers/data.ts';

const env = (name: string, fallback: string) => (process.env[name] ?? fallback).split(',');
const bands = env('REP_BANDS', 'B04,B03,B02');
const masks = env('REP_MASKS', '21,48').map(Number);
const modes = env('REP_MODES', 'basic,mt') as Mode[];
const seeds = env('REP_SEEDS', '0,1').map(Number);
const steps = Number(process.env.REP_STEPS ?? 500);
const outFile = path.resolve(REPO_ROOT, process.env.REP_OUT ?? '.tmp/representation.jsonl');
const slovenia = (date: string) => dataFile('slovenia-2015', `S2L1C_${date}.tif`);

function bandScores(truth: Image, pred: Image, mask: Mask, select: (p: number) => boolean) {
  const sq = new Array<number>(truth.bands).fill(0);
  const atCap = new Array<number>(truth.bands).fill(0);
  let n = 0;
  for (let p = 0; p < mask.data.length; p++) {
    if (!select(p)) continue;
    n++;
    for (let b = 0; b < truth.bands; b++) {
      const i = p * truth.bands + b;
      sq[b] += (pred.data[i] - truth.data[i]) ** 2;
      if (pred.data[i] >= 0.999) atCap[b]++;
    }
  }
  return { rmse: sq.map((s) => Math.sqrt(s / n)), mse: sq.reduce((a, s) => a + s, 0) / (n * truth.bands), atCap: atCap.map((c) => c / n) };
}

const sources = await loadSources({ target: slovenia('20150909'), bands, references: [slovenia('20150820'), slovenia('20150830')] });
await selectBackend('auto');
await fs.mkdir(path.dirname(outFile), { recursive: true });
const done = new Set(existsSync(outFile) ? (await fs.readFile(outFile, 'utf8')).split('\n').filter(Boolean).map((l) => { const r = JSON.parse(l); return `${r.bands}|${r.mask}|${r.mode}|${r.seed}|${r.representation}`; }) : []);
for (const maskBand of masks) {
  const mask = await loadMask(dataFile('slovenia-2015', 'cloudmasks_s2cloudless_2015-2017.tif'), maskBand, sources.target.info);
  const truth = sources.s2;
  const cloudy = hideMasked(truth, mask);
  for (const mode of modes) {
    for (const seed of seeds) {
      for (const representation of ['plain', 'fitted'] as Representation[]) {
        const key = `${bands.join(',')}|${maskBand}|${mode}|${seed}|${representation}`;
        if (done.has(key)) continue;
        const result = await inpaint(mode, { ...sources, s2: cloudy, mask }, { steps, seeds: [seed], representation, refuseCapped: false });
        const scores = scoreReconstruction(truth, result.reconstruction, mask);
        const masked = bandScores(truth, result.reconstruction, mask, (p) => mask.data[p] === 1);
        const clear = bandScores(truth, result.reconstruction, mask, (p) => mask.data[p] === 0);
        const row = {
          bands: bands.join(','), mask: maskBand, cover: maskCover(mask), mode, seed, representation, steps,
          ssim_mask: scores.masked.ssim, rmse_mask: scores.masked.rmse, ssim_whole: scores.whole.ssim, rmse_whole: scores.whole.rmse,
          rmse_mask_band: Object.fromEntries(bands.map((b, i) => [b, masked.rmse[i]])),
          at_2000dn_mask_band: Object.fromEntries(bands.map((b, i) => [b, masked.atCap[i]])),
          clear_loss: clear.mse, network_loss: result.runs[0].finalLoss, seconds: result.runs[0].seconds,
        };
        await fs.appendFile(outFile, JSON.stringify(row) + '\n');
        console.error(key, row.rmse_mask.toFixed(4), row.ssim_mask.toFixed(3), `${row.seconds.toFixed(0)} s`);
      }
    }
  }
}
