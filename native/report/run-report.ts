/**
 * The QA report of a finished run: one self-contained HTML file (inline CSS, images as PNG data: URIs, no
 * script) that can be mailed and opened anywhere, and printed to PDF from a browser. It says what went in
 * (scene, mask, reference, SAR, method and parameters), shows the area before and after with the mask
 * outline, the scores against ground truth where the run had it, the seeds' spread where there were several,
 * each tile's loss curves (a line per seed; with many tiles all faint and their median bold), final loss and
 * seed spread (the quality signal without ground truth), where the result is least sure, and the provenance
 * tags of the result GeoTIFF.
 */
import type { RunRecord, TileLossCurves, TileRecord } from '../api/contract.ts';
import { curvePoints, medianCurve, plotGeometry, plotSvg, SEED_COLOURS } from './loss-plot.ts';
import { COPERNICUS_ATTRIBUTION } from '../reconstruction/provenance.ts';
import { readRasterInfo } from '../raster/tiff/geotiff-reader.ts';
import type { Window } from '../raster/tiff/raster-info.ts';
import { UNFOLLOWED, type TaskContext } from '../project/tasks.ts';
import {
  bandCuts,
  displayBands,
  drawOutline,
  pngDataUri,
  rampStrip,
  sampleRaster,
  stretchToRgba,
  thumbnailStep,
  uncertaintyToRgba,
} from './thumbnails.ts';

/** A named input of the run: what the catalogue calls it and its file (relative to the project). */
export interface NamedInput {
  id: number;
  name: string;
  file: string;
}

/** What the report is made from: the run as the catalogue holds it, its inputs, and absolute file paths. */
export interface RunReportInputs {
  projectName: string;
  run: RunRecord;
  tiles: TileRecord[];
  /** The loss curves of the run's finished tiles (RunStore.lossCurves). */
  curves: TileLossCurves[];
  scene: NamedInput & { acquired: string | null };
  mask: NamedInput;
  reference: NamedInput | null;
  sar: NamedInput | null;
  /** Absolute paths of the scene and the run's result layers. */
  files: { scene: string; reconstruction: string; mask: string | null; uncertainty: string | null };
}

/** The pictures of the report, as data: URIs. */
export interface RunReportImages {
  before: string;
  after: string;
  uncertainty: string | null;
  /** The value (the seeds' standard deviation, in the result's units) at the top of the ramp. */
  uncertaintyTop: number | null;
  ramp: string;
  width: number;
  height: number;
}

/** Reads the rasters and makes the report's HTML; the task hears which raster is read, and may stop it between reads. */
export async function buildRunReport(inputs: RunReportInputs, task: TaskContext = UNFOLLOWED): Promise<string> {
  const resultInfo = await readRasterInfo(inputs.files.reconstruction);
  const images = await renderImages(inputs, task);
  return reportHtml(inputs, images, resultInfo.metadata, new Date().toISOString());
}

async function renderImages(inputs: RunReportInputs, task: TaskContext): Promise<RunReportImages> {
  const { request } = inputs.run;
  const sceneInfo = await readRasterInfo(inputs.files.scene);
  const area: Window = request.area ?? { x: 0, y: 0, width: sceneInfo.width, height: sceneInfo.height };
  const step = thumbnailStep(area.width, area.height);
  const total = 2 + (inputs.files.mask ? 1 : 0) + (inputs.files.uncertainty ? 1 : 0);
  let done = 0;
  const sample = async (what: string, ...args: Parameters<typeof sampleRaster>) => {
    task.progress(done, total, `reading the ${what}`);
    const sampled = await sampleRaster(args[0], args[1], args[2], args[3], task.signal);
    task.progress(++done, total, `reading the ${what}`);
    return sampled;
  };
  const before = await sample('scene', inputs.files.scene, displayBands, step, area);
  // The result, mask and uncertainty are written on the run's area.
  const after = await sample('reconstruction', inputs.files.reconstruction, displayBands, step);
  const mask = inputs.files.mask ? await sample('mask', inputs.files.mask, () => [0], step) : null;
  // One stretch for both, from the scene: the same colours mean the same reflectance before and after.
  const cuts = bandCuts(after.bands === before.bands ? before : after);
  const beforeRgba = stretchToRgba(before, cuts);
  const afterRgba = stretchToRgba(after, after.bands === before.bands ? cuts : bandCuts(after));
  if (mask) {
    drawOutline(beforeRgba, mask);
    drawOutline(afterRgba, mask);
  }
  let uncertainty: string | null = null;
  let uncertaintyTop: number | null = null;
  if (inputs.files.uncertainty) {
    const spread = await sample('uncertainty', inputs.files.uncertainty, (r) => Array.from({ length: r.bandCount }, (_, i) => i), step);
    const { rgba, top } = uncertaintyToRgba(spread);
    uncertainty = pngDataUri(spread.width, spread.height, rgba);
    uncertaintyTop = top;
  }
  const strip = rampStrip();
  return {
    before: pngDataUri(before.width, before.height, beforeRgba),
    after: pngDataUri(after.width, after.height, afterRgba),
    uncertainty,
    uncertaintyTop,
    ramp: pngDataUri(strip.width, strip.height, strip.rgba),
    width: after.width,
    height: after.height,
  };
}

const escape = (text: unknown): string =>
  String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const figure = (value: number | null | undefined, digits: number): string => (value === null || value === undefined ? '–' : value.toFixed(digits));

function seconds(from: string | null, to: string | null): string {
  if (!from || !to) return '–';
  const s = (Date.parse(to) - Date.parse(from)) / 1000;
  return s >= 90 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(1)} s`;
}

function table(rows: [string, string][], testid: string): string {
  return `<table class="kv" data-testid="${testid}">${rows.map(([k, v]) => `<tr><th>${escape(k)}</th><td>${escape(v)}</td></tr>`).join('')}</table>`;
}

/** The report's HTML from its data (pure: no file is read). */
export function reportHtml(inputs: RunReportInputs, images: RunReportImages, provenance: Record<string, string>, madeAt: string): string {
  const { run, tiles } = inputs;
  const r = run.request;
  // Small areas are shown enlarged (pixelated, as the map shows them past full resolution).
  const scale = Math.max(1, Math.floor(320 / Math.max(images.width, images.height)));
  const size = `width="${images.width * scale}" height="${images.height * scale}"`;
  const title = `Clearsky QA report — run ${run.id}${run.name ? ` (${run.name})` : ''}`;
  const method = r.method === 'dip' ? `Deep Image Prior, ${r.mode} mode` : r.method;
  const cloudy = run.tiles.total - run.tiles.clear;
  const parameters: [string, string][] = [
    ['Project', inputs.projectName],
    ['Run', `${run.id}${run.name ? ` — ${run.name}` : ''}`],
    ['Status', run.status + (run.error ? ` (${run.error})` : '')],
    ['Scene', `${inputs.scene.name} (scene ${inputs.scene.id}${inputs.scene.acquired ? `, ${inputs.scene.acquired.slice(0, 10)}` : ''})`],
    ['Cloud mask', `${inputs.mask.name} (mask ${inputs.mask.id})`],
    ['Reference', inputs.reference ? `${inputs.reference.name} (reference ${inputs.reference.id})` : 'none'],
    ['SAR', inputs.sar ? `${inputs.sar.name} (scene ${inputs.sar.id})${r.sarBands ? `, VV band ${r.sarBands.vv}, VH band ${r.sarBands.vh}` : ''}${r.sarUnits ? `, ${r.sarUnits}` : ''}` : 'none'],
    ['Method', method],
    ['Bands', r.bands ? r.bands.join(', ') : 'all'],
    ['Steps', r.method === 'dip' ? String(r.steps) : `not used by ${r.method}`],
    ['Seeds', r.seeds.join(', ')],
    ['Tiles', `${r.tileSize} px, overlap ${r.overlap} px, ${r.stitch ? 'stitched' : 'not stitched'}; ${cloudy} cloudy of ${run.tiles.total} (${run.tiles.done} done, ${run.tiles.failed} failed, ${run.tiles.clear} clear)${r.tiles ? `; chosen: ${r.tiles.join(', ')}` : ''}`],
    ['Area', r.area ? `${r.area.width} × ${r.area.height} px at (${r.area.x}, ${r.area.y})` : 'the whole scene'],
    ['Ground truth', r.groundTruth ? 'yes: the pixels under the mask were hidden and the result is scored against them' : 'no'],
    ['Backend', run.backend ?? r.backend],
    ['Created', run.createdAt],
    ['Started', run.startedAt ?? '–'],
    ['Finished', run.finishedAt ?? '–'],
    ['Duration', seconds(run.startedAt, run.finishedAt)],
  ];

  const metrics = run.metrics
    ? `<table class="grid" data-testid="report-metrics"><tr><th></th><th>SSIM</th><th>RMSE</th><th>MAE</th><th>PSNR (dB)</th><th>SAM (rad)</th></tr>${(
        [
          [`Under the mask (${run.metrics.maskedPixels} px)`, run.metrics.masked],
          ['Whole area', run.metrics.whole],
        ] as const
      )
        .map(([label, s]) => `<tr><th>${escape(label)}</th><td>${figure(s.ssim, 3)}</td><td>${figure(s.rmse, 4)}</td><td>${figure(s.mae, 4)}</td><td>${figure(s.psnr, 1)}</td><td>${figure(s.sam, 3)}</td></tr>`)
        .join('')}</table><p class="note">Reflectance ÷ 2000 as in the paper (METHOD.md); PSNR with peak 2.0.</p>`
    : `<p data-testid="report-no-metrics">This run had no ground truth (the pixels under the mask were cloud), so it is not scored: judge it by eye.</p>`;

  const uncertainty = images.uncertainty
    ? `<figure data-testid="report-uncertainty"><img src="${images.uncertainty}" alt="uncertainty" ${size}><figcaption>Spread of the ${r.seeds.length} seeds (standard deviation, mean over bands)<br><img src="${images.ramp}" alt="ramp" class="ramp" width="240" height="12"><span class="ramp-labels"><span>0: seeds agree</span><span>${figure(images.uncertaintyTop, 4)} (98th percentile, the scene's units)</span></span></figcaption></figure>`
    : `<p data-testid="report-no-uncertainty">${r.seeds.length > 1 ? 'No uncertainty layer was written for this run.' : 'One seed: no uncertainty (a run with several seeds shows where they disagree).'}</p>`;

  const tileRows = tiles
    .filter((t) => t.status !== 'clear')
    .map((t) => `<tr><td>${t.index}</td><td>${t.window.width} × ${t.window.height} at (${t.window.x}, ${t.window.y})</td><td>${escape(t.status)}</td><td>${figure(t.loss, 5)}</td><td>${figure(t.spread, 1)}</td><td>${figure(t.seconds, 1)}</td><td>${t.metrics ? figure(t.metrics.masked.ssim, 3) : '–'}</td><td>${t.error ? escape(t.error) : ''}</td></tr>`)
    .join('');
  const losses = `${lossCurves(inputs)}<table class="grid" data-testid="report-tiles"><tr><th>Tile</th><th>Window (px)</th><th>Status</th><th>Final loss</th><th>Seed spread (DN)</th><th>Seconds</th><th>SSIM under mask</th><th>Note</th></tr>${tileRows || '<tr><td colspan="8">no cloudy tiles</td></tr>'}</table>
<p class="note">Final loss: the masked mean squared error over the known pixels the network fits, in the network's scale (each channel mapped to 1/6–5/6 of its range), last seed. Seed spread: the median over the tile's masked pixels of the seeds' standard deviation, in the scene's units (with several seeds).</p>`;

  const provenanceRows = Object.entries(provenance)
    .filter(([k]) => k.startsWith('CLEARSKY_') || k === 'ATTRIBUTION')
    .map(([k, v]) => [k, v] as [string, string]);

  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d232b; margin: 24px auto; max-width: 1040px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 24px 0 8px; border-bottom: 1px solid #d5dae0; padding-bottom: 3px; }
.sub, .note { color: #5a6572; font-size: 12px; }
table { border-collapse: collapse; } th, td { text-align: left; padding: 3px 10px 3px 0; vertical-align: top; }
table.kv th { font-weight: 600; white-space: nowrap; } table.grid td, table.grid th { border-bottom: 1px solid #e4e8ec; padding-right: 14px; }
.pair { display: flex; gap: 16px; flex-wrap: wrap; } figure { margin: 0; } figure img { max-width: 100%; height: auto; image-rendering: pixelated; background: #2a2f36; display: block; }
figcaption { font-size: 12px; color: #3b4550; margin-top: 4px; } img.ramp { image-rendering: auto; margin-top: 4px; }
.ramp-labels { display: flex; justify-content: space-between; width: 240px; font-size: 11px; }
td.wrap { word-break: break-all; }
.multiples { display: flex; flex-wrap: wrap; gap: 8px 16px; } .multiples figure { width: 240px; }
.seed-key { display: inline-block; width: 14px; height: 3px; vertical-align: middle; margin: 0 4px 0 10px; }
@media print { body { margin: 0; } h2 { break-after: avoid; } figure, table { break-inside: avoid; } }
</style></head>
<body>
<h1>${escape(title)}</h1>
<p class="sub">Made ${escape(madeAt)} by Clearsky ${escape(provenance.CLEARSKY_VERSION ?? '')}. ${escape(COPERNICUS_ATTRIBUTION)}.</p>
<h2>Inputs and parameters</h2>
${table(parameters, 'report-parameters')}
<h2>Before and after</h2>
<div class="pair">
<figure data-testid="report-before"><img src="${images.before}" alt="before" ${size}><figcaption>Scene as given${r.area ? ' (the run\'s area)' : ''}; mask outline in cyan</figcaption></figure>
<figure data-testid="report-after"><img src="${images.after}" alt="after" ${size}><figcaption>Reconstruction; same stretch (2–98 % of the scene), mask outline in cyan</figcaption></figure>
</div>
<h2>Scores against ground truth</h2>
${metrics}
<h2>Uncertainty</h2>
${uncertainty}
${unsure(inputs)}
<h2>Loss curves and tile quality</h2>
${losses}
<h2>Provenance</h2>
<p class="note">The metadata tags of the result GeoTIFF (QGIS shows them under Information).</p>
<table class="kv" data-testid="report-provenance">${provenanceRows.map(([k, v]) => `<tr><th>${escape(k)}</th><td class="wrap">${escape(v)}</td></tr>`).join('')}</table>
</body></html>
`;
}

/** Small multiples (a plot per tile, a line per seed) up to this many tiles; beyond, one plot of all. */
const SMALL_MULTIPLES = 12;

/** The loss curves: every tile and seed faint with the median bold, then per tile when there are few. */
function lossCurves({ run, curves }: RunReportInputs): string {
  const withCurves = curves.filter((t) => t.curves.some((c) => c.step.length > 0));
  if (withCurves.length === 0) {
    const why = run.request.method === 'dip' ? 'this run was made before Clearsky kept loss curves' : `${run.request.method} does not train a network`;
    return `<p class="note" data-testid="report-no-curve">No loss curve: ${escape(why)}.</p>`;
  }
  const seeds = run.request.seeds;
  const all = withCurves.flatMap((t) => t.curves);
  const overview = plotGeometry([...all.map((c) => ({ points: curvePoints(c), role: 'faint' as const })), { points: medianCurve(all), role: 'bold' }], 640, 240);
  const parts = [
    `<figure data-testid="report-loss-overview">${overview ? plotSvg(overview, `Loss curves of ${withCurves.length} tiles`, 'report-loss-plot') : ''}<figcaption>Loss per step of ${withCurves.length} tile${withCurves.length === 1 ? '' : 's'} × ${seeds.length} seed${seeds.length === 1 ? '' : 's'} (faint), and their median (bold); log scale. A curve far above the others marks a tile the network could not fit as well.</figcaption></figure>`,
  ];
  if (withCurves.length <= SMALL_MULTIPLES) {
    const key = seeds.map((seed, i) => `<span class="seed-key" style="background:${SEED_COLOURS[i % SEED_COLOURS.length]}"></span>seed ${escape(seed)}`).join('');
    const multiples = withCurves
      .map((t) => {
        const geometry = plotGeometry(t.curves.map((c, i) => ({ points: curvePoints(c), role: 'seed' as const, seedIndex: i })), 240, 150);
        return geometry ? `<figure>${plotSvg(geometry, `Tile ${t.index}`, `report-loss-tile-${t.index}`)}<figcaption>Tile ${t.index}: final loss ${figure(t.loss, 5)}${t.spread === null ? '' : `, seed spread ${figure(t.spread, 1)}`}</figcaption></figure>`
          : '';
      })
      .join('');
    parts.push(`<p class="note">Per tile, a line per seed:${key}</p><div class="multiples" data-testid="report-loss-multiples">${multiples}</div>`);
  }
  return parts.join('\n');
}

/** Where the result is least sure without ground truth: the tiles whose seeds disagree most. */
function unsure({ run, tiles }: RunReportInputs): string {
  if (run.request.seeds.length < 2) return '';
  const spread = tiles.filter((t) => t.spread !== null).sort((a, b) => b.spread! - a.spread!);
  if (spread.length === 0) return '';
  if (spread.length === 1) return `<p data-testid="report-unsure">The seeds' median spread under the mask: ${figure(spread[0].spread, 1)} (one tile).</p>`;
  const typical = spread[spread.length >> 1].spread!;
  const top = spread.slice(0, 3).map((t) => `tile ${t.index} (${t.window.width} × ${t.window.height} at ${t.window.x}, ${t.window.y}): ${figure(t.spread, 1)}`);
  return `<p data-testid="report-unsure">Least sure: ${escape(top.join('; '))} — the median seed spread under the mask, against ${figure(typical, 1)} for the typical tile. Look there first.</p>`;
}
