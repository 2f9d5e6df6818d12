/**
 * Stages of the whole-scene bench (scene.bench.ts), each run as its own process so its peak RSS is its own.
 * Prints one JSON line {seconds, peak_rss_mb}.
 *
 *   build SCENE.tif MASK.tif SIZE CLOUD_EVERY   a SIZE² 13-band scene repeating the real T33UUU scene, and a mask
 *                                               repeating the real Scotland cloud mask in one 2048-px block of CLOUD_EVERY
 *   import SCENE.tif COPY.tif                   copyRaster: what importing into a project does
 */
import { copyRaster } from '../../native/raster/tiff/copy-raster.ts';
import { readBands, withRaster } from '../../native/raster/tiff/geotiff-reader.ts';
import { writeGeoTiffFromBlocks } from '../../native/raster/tiff/geotiff-writer.ts';
import type { Window } from '../../native/raster/tiff/raster-info.ts';
import { dataFile } from '../helpers/data.ts';

const [stage, ...args] = process.argv.slice(2);
const start = performance.now();

if (stage === 'build') {
  const [scenePath, maskPath, sizeText, everyText] = args;
  const size = Number(sizeText);
  const every = Number(everyText);
  await withRaster(dataFile('T33UUU-20170216', 'S2L1C_T33UUU_20170216_10m.tif'), async (source) => {
    const bands = source.bandNames.map((_, band) => band);
    const pixels = await readBands(source, bands);
    const repeat = (window: Window) => {
      const out = new Float32Array(window.width * window.height * pixels.bands);
      for (let row = 0; row < window.height; row++) {
        const sourceRow = (window.y + row) % pixels.height;
        for (let col = 0; col < window.width; col++) {
          const from = (sourceRow * pixels.width + ((window.x + col) % pixels.width)) * pixels.bands;
          out.set(pixels.data.subarray(from, from + pixels.bands), (row * window.width + col) * pixels.bands);
        }
      }
      return out;
    };
    await writeGeoTiffFromBlocks(scenePath, { width: size, height: size, bands: bands.length, read: repeat }, {
      dataType: source.dataType,
      like: source,
      bandNames: source.bandNames,
      nodata: source.nodata,
    });
    await withRaster(dataFile('scotland-2020', 'cloudmask.tif'), async (maskSource) => {
      const cloud = await readBands(maskSource, [0]);
      const read = (window: Window) => {
        const out = new Float32Array(window.width * window.height);
        for (let row = 0; row < window.height; row++) {
          for (let col = 0; col < window.width; col++) {
            const x = window.x + col;
            const y = window.y + row;
            const block = Math.floor(x / 2048) + 3 * Math.floor(y / 2048);
            if (block % every === 0) out[row * window.width + col] = cloud.data[(y % cloud.height) * cloud.width + (x % cloud.width)];
          }
        }
        return out;
      };
      await writeGeoTiffFromBlocks(maskPath, { width: size, height: size, bands: 1, read }, { dataType: 'uint8', like: source, bandNames: ['cloud mask'] });
    });
  });
} else if (stage === 'import') {
  await copyRaster(args[0], args[1]);
} else {
  throw new Error(`unknown stage ${stage}`);
}

console.log(JSON.stringify({ seconds: (performance.now() - start) / 1000, peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) }));
