/**
 * A child process for the malformed-TIFF tests: opens and fully reads each file named on the command line
 * as the app does (openRaster + readBands of every band, in windows), one JSON line per file on stdout:
 * {file, outcome: 'read' | 'refused' | 'error', message, startKiB, openKiB (peak after opening), peakKiB}.
 * Run with --expose-gc so that each file's peak RSS is its own: garbage is collected and the kernel's peak
 * (VmHWM) reset before each. `--first-window` reads only the first window (for files too large to read whole).
 */
import fs from 'node:fs';
import { InputError } from '../../native/errors.ts';
import { openRaster, readBands } from '../../native/raster/tiff/geotiff-reader.ts';

/** Pixels × bands one read asks for, as a caller reading a large scene window by window would. */
const WINDOW_VALUES = 4 * 1024 * 1024;

function statusKiB(field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) : NaN;
}

let openKiB = 0;

async function readFully(file: string, firstWindowOnly: boolean): Promise<number> {
  const raster = await openRaster(file);
  openKiB = statusKiB('VmHWM');
  try {
    const bands = Array.from({ length: raster.bandCount }, (_, i) => i);
    const rows = Math.max(1, Math.floor(WINDOW_VALUES / (raster.width * bands.length)));
    let windowBytes = 0;
    for (let y = 0; y < raster.height; y += rows) {
      const height = Math.min(rows, raster.height - y);
      const image = await readBands(raster, bands, { x: 0, y, width: raster.width, height });
      windowBytes = Math.max(windowBytes, image.data.byteLength);
      if (firstWindowOnly) break;
    }
    return windowBytes;
  } finally {
    await raster.close();
  }
}

const gc = (globalThis as { gc?: () => void }).gc;
const firstWindowOnly = process.argv.includes('--first-window');
for (const file of process.argv.slice(2).filter((arg) => arg !== '--first-window')) {
  gc?.();
  // "5" resets the peak resident set size (VmHWM) to the current one (Linux ≥ 4.0).
  fs.writeFileSync('/proc/self/clear_refs', '5');
  const startKiB = statusKiB('VmRSS');
  let outcome: string;
  let message = '';
  let windowBytes = 0;
  openKiB = 0;
  try {
    windowBytes = await readFully(file, firstWindowOnly);
    outcome = 'read';
  } catch (error) {
    outcome = error instanceof InputError ? 'refused' : 'error';
    message = error instanceof Error ? (error instanceof InputError ? error.message : String(error.stack)) : String(error);
  }
  process.stdout.write(`${JSON.stringify({ file, outcome, message, windowBytes, startKiB, openKiB, peakKiB: statusKiB('VmHWM') })}\n`);
}
