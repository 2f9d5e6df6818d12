/**
 * Child process for the writer's memory test: writes a synthetic width × height × bands block source with
 * writeGeoTiffFromBlocks and prints, as JSON, the peak resident memory before and after (the kernel's
 * high-water mark VmHWM: exact, not sampled) and what the source was asked for. A fresh process, so that no
 * earlier test's heap hides the growth. (Not getrusage's maxRSS: after fork + exec it starts from the
 * parent's size.) Usage: node --import tsx test/helpers/streaming-write.ts OUT WIDTH HEIGHT BANDS
 */
import { readFileSync } from 'node:fs';
import { writeGeoTiffFromBlocks, type BlockSource } from '../../native/raster/tiff/geotiff-writer.ts';

/** Peak resident bytes of this process so far (Linux); elsewhere the current RSS, a lower bound. */
function peakRss(): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match) return Number(match[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.memoryUsage.rss();
}

/** The synthetic pixel values; the test checks a window of the output against them. */
export function syntheticValue(x: number, y: number, b: number): number {
  return ((x * 3 + y * 5) >> 2) + b * 1000;
}

async function main(): Promise<void> {
  const [out, width, height, bands] = [process.argv[2], ...process.argv.slice(3, 6).map(Number)];
  let reads = 0;
  let largestRead = 0;
  const source: BlockSource = {
    width,
    height,
    bands,
    read: ({ x, y, width: w, height: h }) => {
      reads++;
      largestRead = Math.max(largestRead, w * h);
      const block = new Float32Array(w * h * bands);
      for (let row = 0; row < h; row++) {
        for (let col = 0; col < w; col++) {
          for (let b = 0; b < bands; b++) block[(row * w + col) * bands + b] = syntheticValue(x + col, y + row, b);
        }
      }
      return block;
    },
  };
  const before = peakRss();
  const started = performance.now();
  await writeGeoTiffFromBlocks(out, source, { dataType: 'uint16', deflateLevel: 1 });
  const seconds = (performance.now() - started) / 1000;
  const after = peakRss();
  process.stdout.write(JSON.stringify({ before, after, seconds, reads, largestRead }));
}

if (process.argv[1]?.endsWith('streaming-write.ts')) await main();
