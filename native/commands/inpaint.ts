/**
 * `clearsky inpaint`: reconstructs the cloudy pixels of a scene and writes a georeferenced GeoTIFF in the
 * input's digital numbers. Inputs are all checked before the (long) optimisation starts, and the output is
 * written atomically, so a failure leaves no partial file.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors.ts';
import { selectBackend, type BackendChoice } from '../dip/backends/select.ts';
import { maskCover } from '../dip/image.ts';
import { inpaint, type InpaintOptions } from '../dip/inpaint.ts';
import type { Mode } from '../dip/modes.ts';
import { DEFAULT_STEPS, type FitProgress } from '../dip/optimise.ts';
import { writeGeoTiff } from '../raster/geotiff-writer.ts';
import { denormaliseS2 } from '../raster/preprocess.ts';
import { provenance } from './provenance.ts';
import { loadMask, loadSources } from './sources.ts';

export interface InpaintCommand {
  target: string;
  mask: string;
  /** 1-based. */
  maskBand: number;
  references: string[];
  sar?: string;
  sarBands?: string[];
  bands?: string[];
  mode: Mode;
  steps?: number;
  seeds: number[];
  backend: BackendChoice;
  stitch: boolean;
  out: string;
  engine?: Omit<InpaintOptions, 'seeds' | 'stitch' | 'steps' | 'onProgress' | 'signal'>;
  signal?: AbortSignal;
  onProgress?: (progress: FitProgress & { label: string }) => void;
}

export interface InpaintSummary {
  out: string;
  mode: Mode;
  backend: string;
  steps: number;
  seeds: number[];
  cloud_cover: number;
  seconds: number;
  seconds_per_step: number;
  final_loss: number;
}

export async function runInpaint(command: InpaintCommand): Promise<InpaintSummary> {
  await assertWritableFolder(command.out);
  const sources = await loadSources({
    target: command.target,
    bands: command.bands,
    references: command.references,
    sar: command.sar,
    sarBands: parseSarBands(command.sarBands),
  });
  const mask = await loadMask(command.mask, command.maskBand, sources.target.info);
  const backend = await selectBackend(command.backend);
  const steps = command.steps ?? DEFAULT_STEPS;
  const start = performance.now();
  const result = await inpaint(command.mode, { ...sources, mask }, {
    ...command.engine,
    steps,
    seeds: command.seeds,
    stitch: command.stitch,
    signal: command.signal,
    onProgress: command.onProgress && ((p) => command.onProgress!({ ...p, label: p.seeds > 1 ? `seed ${p.seed} (${p.seedIndex + 1}/${p.seeds})` : '' })),
  });
  const { info, bandNames, nodata } = sources.target;
  const output = denormaliseS2(result.reconstruction, info.dataType);
  if (nodata && info.nodata !== null) {
    for (let p = 0; p < nodata.data.length; p++) if (nodata.data[p]) output.data.fill(info.nodata, p * output.bands, (p + 1) * output.bands);
  }
  await writeGeoTiff(command.out, output, {
    dataType: info.dataType,
    like: info,
    bandNames,
    nodata: info.nodata,
    metadata: provenance({
      mode: command.mode,
      steps,
      seeds: command.seeds,
      backend: backend.description,
      stitch: command.stitch,
      inputs: { target: path.basename(command.target), mask: `${path.basename(command.mask)}:${command.maskBand}`, ...(command.references.length ? { reference: command.references.map((r) => path.basename(r)).join(',') } : {}), ...(command.sar ? { sar: path.basename(command.sar) } : {}) },
    }),
  });
  const seconds = (performance.now() - start) / 1000;
  const stepsRun = result.runs.reduce((n, r) => n + r.steps, 0);
  return {
    out: command.out,
    mode: command.mode,
    backend: backend.description,
    steps,
    seeds: command.seeds,
    cloud_cover: maskCover(mask),
    seconds,
    seconds_per_step: result.runs.reduce((n, r) => n + r.seconds, 0) / Math.max(1, stepsRun),
    final_loss: result.runs.at(-1)!.finalLoss,
  };
}

/** Fail before hours of optimisation, not after, when the result could not be written. */
async function assertWritableFolder(out: string): Promise<void> {
  const folder = path.dirname(path.resolve(out));
  try {
    await fs.access(folder, fs.constants.W_OK);
  } catch {
    throw new InputError(out, `cannot write here: folder ${folder} does not exist or is not writable`);
  }
}

function parseSarBands(bands: string[] | undefined): { vv: number; vh: number } | undefined {
  if (!bands) return undefined;
  const [vv, vh] = bands.map(Number);
  if (bands.length !== 2 || !Number.isInteger(vv) || !Number.isInteger(vh)) throw new InputError(undefined, `--sar-bands takes the VV and VH band numbers, e.g. 2,1; got ${bands.join(',')}`);
  return { vv, vh };
}
