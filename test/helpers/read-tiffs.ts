/**
 * A child process for the malformed-TIFF tests: opens and fully reads each file named on the command line
 * as the app does (openRaster + readBands of every band, in windows), one JSON line per file on stdout:
 * {file, outcome: 'read' | 'refused' | 'error', message, startKiB, peakKiB}. Run with --expose-gc so that
 * each file's peak RSS is its own: garbage is collected and the kernel's peak (VmHWM) reset before each.
 */
import fs from 'node:fs';
import { InputError } from '../../native/errors.ts';
import { openRaster, readBands } from '../../native/raster/geotiff-reader.ts';

/** Pixels × bands one read asks for, as a caller reading a large scene window by window would. */
const WINDOW_VALUES = 4 * 1024 * 1024;

function statusKiB(field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) : NaN;
}

async function readFully(file: string): Promise<number> {
  const raster = await openRaster(file);
  try {
    const bands = Array.from({ length: raster.bandCount }, (_, i) => i);
    const rows = Math.max(1, Math.floor(WINDOW_VALUES / (raster.width * bands.length)));
    let windowBytes = 0;
    for (let y = 0; y < raster.height; y += rows) {
      const height = Math.min(rows, raster.height - y);
      const image = await readBands(raster, bands, { x: 0, y, width: raster.width, height });
      windowBytes = Math.max(windowBytes, image.data.byteLength);
    }
    return windowBytes;
  } finally {
    await raster.close();
  }
}

const gc = (globalThis as { gc?: () => void }).gc;
for (const file of process.argv.slice(2)) {
  gc?.();
  // "5" resets the peak resident set size (VmHWM) to the current one (Linux ≥ 4.0).
  fs.writeFileSync('/proc/self/clear_refs', '5');
  const startKiB = statusKiB('VmRSS');
  let outcome: string;
  let message = '';
  let windowBytes = 0;
  try {
    windowBytes = await readFully(file);
    outcome = 'read';
  } catch (error) {
    outcome = error instanceof InputError ? 'refused' : 'error';
    message = error instanceof Error ? (error instanceof InputError ? error.message : String(error.stack)) : String(error);
  }
  process.stdout.write(`${JSON.stringify({ file, outcome, message, windowBytes, startKiB, peakKiB: statusKiB('VmHWM') })}\n`);
}
