/** The provenance every Clearsky output carries in its GDAL metadata (QGIS shows it under Information). */
import { createRequire } from 'node:module';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

export const COPERNICUS_ATTRIBUTION = 'Contains modified Copernicus Sentinel data';

export interface RunDescription {
  mode: string;
  steps: number;
  seeds: number[];
  backend: string;
  stitch: boolean;
  inputs: Record<string, string>;
}

export function provenance(run: RunDescription): Record<string, string> {
  return {
    CLEARSKY_VERSION: version,
    CLEARSKY_METHOD: 'Deep Image Prior inpainting (Czerkawski et al., Remote Sensing 14(6):1342, 2022)',
    CLEARSKY_MODE: run.mode,
    CLEARSKY_STEPS: String(run.steps),
    CLEARSKY_SEEDS: run.seeds.join(','),
    CLEARSKY_BACKEND: run.backend,
    CLEARSKY_STITCH: run.stitch ? 'yes' : 'no',
    CLEARSKY_DATE: new Date().toISOString(),
    ...Object.fromEntries(Object.entries(run.inputs).map(([k, v]) => [`CLEARSKY_INPUT_${k.toUpperCase()}`, v])),
    ATTRIBUTION: COPERNICUS_ATTRIBUTION,
  };
}

/** The items every Clearsky output carries, whatever made it: version, creation time, attribution. */
export function commonProvenance(): Record<string, string> {
  return { CLEARSKY_VERSION: version, CLEARSKY_DATE: new Date().toISOString(), ATTRIBUTION: COPERNICUS_ATTRIBUTION };
}
