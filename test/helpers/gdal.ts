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

/** Where Debian's gdal-bin (through its python3-gdal dependency) puts GDAL's COG validator. */
const COG_VALIDATOR = '/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_cloud_optimized_geotiff.py';

/**
 * GDAL's own Cloud Optimized GeoTIFF validator (`validate_cloud_optimized_geotiff.py --full-check=yes`, which
 * also checks every tile's size leader and trailer). Runs under the system Python, which has the osgeo
 * bindings; a pyenv `python3` on PATH may not.
 */
export function validateCog(path: string): { valid: boolean; output: string } {
  const python = ['/usr/bin/python3', 'python3'].find((candidate) => {
    try {
      execFileSync(candidate, ['-c', 'import osgeo.gdal'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  if (!python) throw new Error('no python3 with the GDAL bindings: install gdal-bin (it brings python3-gdal)');
  try {
    const output = execFileSync(python, [COG_VALIDATOR, '--full-check=yes', path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { valid: / is a valid cloud optimized GeoTIFF/.test(output), output };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    return { valid: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message };
  }
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
    overviews?: { size: [number, number]; checksum?: number }[];
  }[];
  stac?: Record<string, unknown>;
}
