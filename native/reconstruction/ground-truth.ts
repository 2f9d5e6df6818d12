/**
 * Ground-truth runs: the paper's evaluation protocol inside a project. The target is clear under the mask (a
 * real cloud mask of another date pasted on it), so its pixels there are the truth. The method never sees them
 * (pipeline.ts hides them) and the finished result is scored against them here, in METHOD.md's ÷2000 scale:
 * under the mask and over the whole area, and per reconstructed tile.
 *
 * The area is read in blocks, so a whole 10980² scene is scored in bounded memory; each block carries a halo
 * as wide as the SSIM window, so the figures are those of the whole image at once (dip/metrics.ts BlockScores).
 */
import type { QualityScores, RunMetrics } from '../api/contract.ts';
import type { Image, Mask, PixelWindow } from '../dip/image.ts';
import { BlockScores, scoreReconstruction, ssimBorder, type ReconstructionScores, type Scores } from '../dip/metrics.ts';
import type { RunInputs } from './pipeline.ts';
import { openRaster, readBands } from '../raster/tiff/geotiff-reader.ts';
import { nodataMask } from '../raster/sentinel/mask.ts';
import { normaliseS2 } from '../raster/sentinel/preprocess.ts';
import type { Tile } from '../raster/tiles/tiling.ts';

/** Largest side of the blocks the area is scored in: about 13 MB of float32 per image for 13 bands. */
const BLOCK = 512;

export interface GroundTruthScores {
  run: RunMetrics;
  tiles: { index: number; metrics: RunMetrics }[];
}

/**
 * Scores the run's result (`resultFile`, the area's size, the target's bands as digital numbers) against the
 * target under the run's mask; `tiles` are the reconstructed tiles, each also scored on its own window. With
 * `within` (a run of chosen tiles: their windows) only the mask inside them counts: elsewhere the result is the
 * input, which here is the truth itself, and would flatter the scores.
 */
export async function scoreGroundTruth(inputs: RunInputs, resultFile: string, tiles: Tile[], within?: PixelWindow[]): Promise<GroundTruthScores> {
  const result = await openRaster(resultFile);
  try {
    const { width, height } = inputs.area;
    const bands = Array.from({ length: result.bandCount }, (_, band) => band);
    const read = async (window: PixelWindow): Promise<{ truth: Image; pred: Image; mask: Mask }> => {
      const raw = await inputs.sources.readRaw(window);
      const truth = normaliseS2(raw, inputs.files.target, inputs.target.info.nodata);
      const pred = normaliseS2(await readBands(result, bands, window), resultFile, result.nodata);
      // Nodata pixels (outside the swath) were neither hidden nor reconstructed: not scored as cloud.
      const mask = await inputs.mask.read(window);
      const invalid = nodataMask(raw, inputs.target.info.nodata);
      if (invalid) for (let p = 0; p < mask.data.length; p++) if (invalid.data[p]) mask.data[p] = 0;
      if (within) keepWithin(mask, window, within);
      return { truth, pred, mask };
    };

    const whole = new BlockScores(width, height);
    const halo = ssimBorder();
    for (const [y, blockHeight] of split(height)) {
      for (const [x, blockWidth] of split(width)) {
        const core = { x, y, width: blockWidth, height: blockHeight };
        const block = grow(core, halo, width, height);
        const { truth, pred, mask } = await read(block);
        whole.add(truth, pred, mask, block, core);
      }
    }
    const scored = whole.result();
    const perTile: GroundTruthScores['tiles'] = [];
    for (const tile of tiles) {
      const { truth, pred, mask } = await read(tile.window);
      const scores = scoreReconstruction(truth, pred, mask);
      perTile.push({ index: tile.index, metrics: runMetrics(scores, count(mask)) });
    }
    return { run: runMetrics(scored, scored.maskedPixels), tiles: perTile };
  } finally {
    await result.close();
  }
}

/** JSON-safe scores: NaN (nothing to score) and an infinite PSNR (no error at all) become null. */
export function qualityScores(scores: Scores): QualityScores {
  const finite = (value: number) => (Number.isFinite(value) ? value : null);
  return { ssim: finite(scores.ssim), rmse: finite(scores.rmse), mae: finite(scores.mae), psnr: finite(scores.psnr), sam: finite(scores.sam) };
}

function runMetrics(scores: ReconstructionScores, maskedPixels: number): RunMetrics {
  return { masked: qualityScores(scores.masked), whole: qualityScores(scores.whole), maskedPixels };
}

/** Clears the mask (of `window`) outside every one of `windows`. */
function keepWithin(mask: Mask, window: PixelWindow, windows: PixelWindow[]): void {
  const inside = new Uint8Array(window.width * window.height);
  for (const w of windows) {
    const [x0, x1] = [Math.max(w.x, window.x), Math.min(w.x + w.width, window.x + window.width)];
    const [y0, y1] = [Math.max(w.y, window.y), Math.min(w.y + w.height, window.y + window.height)];
    for (let y = y0; y < y1; y++) inside.fill(1, (y - window.y) * window.width + (x0 - window.x), (y - window.y) * window.width + (x1 - window.x));
  }
  for (let p = 0; p < mask.data.length; p++) if (!inside[p]) mask.data[p] = 0;
}

function count(mask: Mask): number {
  let n = 0;
  for (const v of mask.data) n += v;
  return n;
}

/** [start, length] of near-equal parts of at most BLOCK pixels (none a sliver the SSIM window cannot fit). */
function split(length: number): [number, number][] {
  const parts = Math.ceil(length / BLOCK);
  return Array.from({ length: parts }, (_, i) => {
    const start = Math.round((i * length) / parts);
    return [start, Math.round(((i + 1) * length) / parts) - start];
  });
}

/** `core` grown by `halo` pixels on every side, within the area. */
function grow(core: PixelWindow, halo: number, width: number, height: number): PixelWindow {
  const x = Math.max(0, core.x - halo);
  const y = Math.max(0, core.y - halo);
  return { x, y, width: Math.min(width, core.x + core.width + halo) - x, height: Math.min(height, core.y + core.height + halo) - y };
}
