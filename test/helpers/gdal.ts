/**
 * GDAL's command-line tools (Debian `gdal-bin`) as independent judges of the GeoTIFFs we write, and as a way
 * to make test variants of the real data (other compressions, layouts). Tests that need them fail loudly
 * when they are missing: `.ci/run` installs gdal-bin.
 */
import { execFileSync } from 'node:child_process';

function run(tool: string, args: string[]): string {
  try {
    return execFileSync(tool, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error(`${tool} not found: install gdal-bin (apt-get install -y gdal-bin)`);
    throw new Error(`${tool} ${args.join(' ')} failed: ${e.stderr ?? e.message}`);
  }
}

/** `gdalinfo -json` of a file, parsed; `extra` e.g. ['-checksum']. */
export function gdalinfo(path: string, extra: string[] = []): GdalInfo {
  return JSON.parse(run('gdalinfo', ['-json', ...extra, path])) as GdalInfo;
}

/** `gdal_translate -q <args>`: e.g. ['-co', 'COMPRESS=LZW', src, dst]. */
export function gdalTranslate(args: string[]): void {
  run('gdal_translate', ['-q', ...args]);
}

export interface GdalInfo {
  size: [number, number];
  geoTransform?: number[];
  coordinateSystem?: { wkt: string };
  metadata: Record<string, Record<string, string>>;
  bands: {
    band: number;
    block: [number, number];
    type: string;
    description?: string;
    noDataValue?: number | string;
    checksum?: number;
  }[];
  stac?: Record<string, unknown>;
}
