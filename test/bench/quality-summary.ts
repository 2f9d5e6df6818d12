/**
 * `npm run bench:quality:summary -- FILE.jsonl...`: the README's quality table from bench:quality's JSON lines
 * (several files, e.g. one per seed, are pooled). Per mask: SSIM / RMSE inside the mask for each method
 * (the mean over the seeds run, with their count); then, per mode, the paired difference Clearsky − PyTorch
 * over every (mask, seed) both engines ran, with its standard error: "no worse within run-to-run spread"
 * reads as a mean difference above −2 standard errors.
 */
import fs from 'node:fs';
import type { EvalRow } from '../../native/commands/eval.ts';

type Row = EvalRow & { engine: string };
const files = process.argv.slice(2);
if (files.length === 0) throw new Error('usage: quality-summary FILE.jsonl...');
const rows: Row[] = files.flatMap((f) => fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Row));

const columns = ['basic', 'pytorch basic', 'mt', 'pytorch mt', 'reference-fit', 'idw-fill'];
const titles = ['Clearsky basic', 'PyTorch basic', 'Clearsky MT', 'PyTorch MT', 'reference-fit', 'idw-fill'];
const masks = [...new Set(rows.map((r) => r.mask))].sort((a, b) => a - b);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const cell = (mask: number, method: string) => {
  // Baselines are deterministic: one value whatever the seed.
  const found = rows.filter((r) => r.mask === mask && r.method === method);
  const seeds = new Map(found.map((r) => [r.seed, r]));
  const runs = [...seeds.values()];
  if (runs.length === 0) return '–';
  const text = `${mean(runs.map((r) => r.ssim_mask)).toFixed(3)} / ${mean(runs.map((r) => r.rmse_mask)).toFixed(3)}`;
  return runs.length > 1 ? `${text} (${runs.length} seeds)` : text;
};

console.log(`| mask (cover) | ${titles.join(' | ')} |`);
console.log(`|---|${titles.map(() => '---').join('|')}|`);
for (const mask of masks) {
  const cover = rows.find((r) => r.mask === mask)!.cover;
  console.log(`| ${mask} (${Math.round(cover * 100)} %) | ${columns.map((c) => cell(mask, c)).join(' | ')} |`);
}
const meanRow = columns.map((c) => {
  const perMask = masks.map((m) => rows.filter((r) => r.mask === m && r.method === c)).filter((rs) => rs.length > 0).map((rs) => mean(rs.map((r) => r.ssim_mask)));
  return perMask.length ? mean(perMask).toFixed(3) : '–';
});
console.log(`| mean SSIM over masks | ${meanRow.join(' | ')} |`);

for (const mode of ['basic', 'mt']) {
  const diffs: number[] = [];
  for (const ours of rows.filter((r) => r.method === mode)) {
    const theirs = rows.find((r) => r.method === `pytorch ${mode}` && r.mask === ours.mask && r.seed === ours.seed);
    if (theirs) diffs.push(ours.ssim_mask - theirs.ssim_mask);
  }
  if (diffs.length < 2) continue;
  const m = mean(diffs);
  const sd = Math.sqrt(diffs.reduce((a, d) => a + (d - m) ** 2, 0) / (diffs.length - 1));
  const se = sd / Math.sqrt(diffs.length);
  console.log(`\n${mode}: Clearsky − PyTorch SSIM in the mask over ${diffs.length} paired runs: mean ${m >= 0 ? '+' : ''}${m.toFixed(3)}, sd ${sd.toFixed(3)}, standard error ${se.toFixed(3)} → ${m >= -2 * se ? 'no worse within the spread' : 'WORSE than PyTorch beyond the spread'}`);
}
