/**
 * The GeoTIFF writer's production layout: overviews (nodata-aware average, nearest), Cloud Optimized GeoTIFF
 * layout as GDAL's COG driver writes it (checked with GDAL's own validator), BigTIFF, memory bounded by the
 * tile size, and writes that fail cleanly on a full or read-only disk (a real tmpfs when we may mount one).
 * GDAL (`gdalinfo`, `gdal_translate`) and independently computed block means are the judges.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Image } from '../../../native/dip/image.ts';
import { InputError } from '../../../native/errors.ts';
import { openRaster, readBands, withRaster, type Raster } from '../../../native/raster/tiff/geotiff-reader.ts';
import { writeGeoTiff } from '../../../native/raster/tiff/geotiff-writer.ts';
import { downsampleRows, levelShapes } from '../../../native/raster/tiff/overviews.ts';
import { dataFile, REPO_ROOT } from '../../helpers/data.ts';
import { gdalinfo, gdalTranslate, validateCog } from '../../helpers/gdal.ts';
import { syntheticValue } from '../../helpers/streaming-write.ts';

const T33UUU = dataFile('T33UUU-20170216', 'S2L1C_T33UUU_20170216_10m.tif');
const ALL_BANDS = [...Array(13).keys()];
const STREAMING_CHILD = path.join(REPO_ROOT, 'test', 'helpers', 'streaming-write.ts');

let tmp: string;
before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-raster-cog-'));
});
after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

/** All bands of a GeoTIFF, pixel-interleaved (for an overview that GDAL extracted to a file of its own). */
async function readAll(file: string): Promise<Image> {
  return withRaster(file, (raster) => readBands(raster, [...Array(raster.bandCount).keys()]));
}

/** The level-2 overview computed here, independently of overviews.ts: mean of each 2×2 block's non-nodata pixels, rounded. */
function expectedAverage(image: Image, nodata: number): Image {
  const width = Math.ceil(image.width / 2);
  const height = Math.ceil(image.height / 2);
  const data = new Float32Array(width * height * image.bands);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let b = 0; b < image.bands; b++) {
        const valid: number[] = [];
        for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
          const sx = 2 * x + dx;
          const sy = 2 * y + dy;
          if (sx >= image.width || sy >= image.height) continue;
          const value = image.data[(sy * image.width + sx) * image.bands + b];
          if (value !== nodata && !Number.isNaN(value)) valid.push(value);
        }
        data[(y * width + x) * image.bands + b] =
          valid.length === 0 ? nodata : Math.round(valid.reduce((sum, value) => sum + value, 0) / valid.length);
      }
    }
  }
  return { width, height, bands: image.bands, data };
}

/** Sets some band values to `nodata` (so 2×2 blocks have 0–4 valid pixels) and one patch of all bands. */
function punchNodata(image: Image, nodata: number): void {
  for (let y = 0; y < Math.min(300, image.height); y++) {
    for (let x = 0; x < Math.min(600, image.width); x++) {
      for (let b = 0; b < image.bands; b++) {
        const hash = Math.imul((x * 73856093) ^ (y * 19349663) ^ (b * 83492791), 2654435761) >>> 0;
        if (hash % 3 === 0) image.data[(y * image.width + x) * image.bands + b] = nodata;
      }
    }
  }
  for (let y = 401; y < 481; y++) {
    for (let x = 801; x < 1001; x++) image.data.fill(nodata, (y * image.width + x) * image.bands, (y * image.width + x + 1) * image.bands);
  }
}

function bytesOf(file: string, length: number): Promise<Buffer> {
  return fs.readFile(file).then((bytes) => bytes.subarray(0, length));
}

describe('overview levels and 2×2 downsampling', () => {
  it('halves until a level fits in one tile, sizes rounded up as GDAL does', () => {
    const sizes = levelShapes(10980, 10980, 256, true).map((level) => `${level.width}x${level.height}`);
    assert.deepEqual(sizes, ['10980x10980', '5490x5490', '2745x2745', '1373x1373', '687x687', '344x344', '172x172']);
    assert.deepEqual(levelShapes(1536, 768, 256, true).map((level) => level.width), [1536, 768, 384, 192]);
    assert.deepEqual(levelShapes(200, 100, 256, true).length, 1);
    assert.deepEqual(levelShapes(1536, 768, 256, false).length, 1);
  });

  it('averages only valid pixels, keeps nodata for empty blocks, and handles odd edges', () => {
    // 3 × 3, one band, nodata 0: blocks are [1,2,4,5] [3,6] [7,8] [9] after the nodata is left out.
    const source = new Uint16Array([1, 0, 3, 4, 5, 6, 0, 8, 9]);
    const target = new Uint16Array(4);
    const spec = { resampling: 'average' as const, bands: 1, nodata: 0, integer: true, min: 0, max: 65535 };
    assert.equal(downsampleRows(source, 3, 3, target, 0, spec), 2);
    assert.deepEqual([...target], [Math.round((1 + 4 + 5) / 3), Math.round((3 + 6) / 2), 8, 9]);
    const empty = new Uint16Array(1);
    downsampleRows(new Uint16Array([0, 0, 0, 0]), 2, 2, empty, 0, { ...spec });
    assert.deepEqual([...empty], [0]);

    const floats = new Float32Array([NaN, 2, NaN, NaN, NaN, NaN, NaN, 1.5]); // 2 × 2, two bands; band 1 all NaN
    const out = new Float32Array(2);
    downsampleRows(floats, 2, 2, out, 0, { resampling: 'average', bands: 2, nodata: NaN, integer: false, min: -Infinity, max: Infinity });
    assert.ok(Number.isNaN(out[0]), 'a block of NaN only stays NaN');
    assert.equal(out[1], 1.75, 'NaN is left out of the mean');

    const nearest = new Uint8Array(2);
    downsampleRows(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), 4, 2, nearest, 0, { ...spec, resampling: 'nearest' });
    assert.deepEqual([...nearest], [1, 3], 'nearest takes the top-left pixel of each block');
  });
});

describe('Cloud Optimized GeoTIFFs with overviews', () => {
  let input: Raster;
  let original: Image;
  before(async () => {
    input = await openRaster(T33UUU);
    original = await readBands(input, ALL_BANDS);
    punchNodata(original, 0);
  });
  after(async () => {
    await input.close();
  });

  it('writes T33UUU as a valid COG: the input grid, bands and nodata; overviews the nodata-aware means', async () => {
    const out = path.join(tmp, 't33uuu-cog.tif');
    const started = performance.now();
    await writeGeoTiff(out, original, {
      dataType: 'uint16',
      like: input,
      bandNames: input.bandNames,
      nodata: 0,
      metadata: { CLEARSKY_METHOD: 'test' },
    });
    const seconds = (performance.now() - started) / 1000;
    const size = (await fs.stat(out)).size;
    console.log(`# ${input.width}×${input.height}×13 UInt16 with 3 overviews: ${seconds.toFixed(2)} s, ${(size / 1e6).toFixed(2)} MB`);

    const validation = validateCog(out);
    assert.ok(validation.valid, validation.output);
    assert.match(validation.output, /is a valid cloud optimized GeoTIFF/);

    const gdalIn = gdalinfo(T33UUU);
    const gdalOut = gdalinfo(out);
    assert.equal(gdalOut.metadata.IMAGE_STRUCTURE.LAYOUT, 'COG');
    assert.equal(gdalOut.metadata.IMAGE_STRUCTURE.COMPRESSION, 'DEFLATE');
    assert.deepEqual(gdalOut.size, [1536, 768]);
    assert.deepEqual(gdalOut.geoTransform, gdalIn.geoTransform);
    assert.equal(gdalOut.coordinateSystem?.wkt, gdalIn.coordinateSystem?.wkt);
    assert.deepEqual(gdalOut.bands.map((b) => b.description), gdalIn.bands.map((b) => b.description));
    assert.equal(gdalOut.metadata[''].CLEARSKY_METHOD, 'test');
    for (const band of gdalOut.bands) {
      assert.equal(band.type, 'UInt16');
      assert.equal(band.noDataValue, 0);
      assert.deepEqual(band.block, [256, 256]);
      assert.deepEqual(band.overviews?.map((o) => o.size.join('x')), ['768x384', '384x192', '192x96'], `band ${band.band}`);
    }

    // Full resolution reads back exactly (our reader), and the layout is as GDAL's COG driver writes it.
    assert.deepEqual(await withRaster(out, (copy) => readBands(copy, ALL_BANDS)), original);
    const head = await bytesOf(out, 200);
    assert.equal(head.readUInt16LE(2), 42);
    assert.match(head.toString('latin1', 8, 51), /^GDAL_STRUCTURAL_METADATA_SIZE=000140 bytes\n/);

    // Level 2 as GDAL extracts it equals the means computed here; GDAL's own COG AVERAGE of our full
    // resolution agrees on every level (it too leaves nodata out, and makes each level from the one before).
    const level2 = path.join(tmp, 't33uuu-level2.tif');
    gdalTranslate(['-oo', 'OVERVIEW_LEVEL=0', out, level2]);
    const expected = expectedAverage(original, 0);
    const got = await readAll(level2);
    assert.deepEqual(got, expected);
    let partial = 0;
    for (let i = 0; i < expected.data.length; i++) if (expected.data[i] === 0) partial++;
    assert.ok(partial > 100, 'some blocks are all nodata, so the test sees that case');

    const gdalCog = path.join(tmp, 't33uuu-gdal-cog.tif');
    gdalTranslate(['-of', 'COG', '-co', 'COMPRESS=DEFLATE', '-co', 'RESAMPLING=AVERAGE', out, gdalCog]);
    const ours = gdalinfo(out, ['-checksum']);
    const gdals = gdalinfo(gdalCog, ['-checksum']);
    assert.deepEqual(
      ours.bands.map((b) => b.overviews?.map((o) => o.checksum)),
      gdals.bands.map((b) => b.overviews?.map((o) => o.checksum)),
    );
  });

  it('BigTIFF on request: magic 43, GDAL and our reader read it as the classic file', async () => {
    const window = { x: 100, y: 50, width: 700, height: 400 };
    const image = await readBands(input, [3, 2, 1], window);
    const options = { dataType: 'uint16', like: input, pixelOffset: window, bandNames: ['B04', 'B03', 'B02'], nodata: 0 } as const;
    const classic = path.join(tmp, 'classic.tif');
    const big = path.join(tmp, 'big.tif');
    await writeGeoTiff(classic, image, options);
    await writeGeoTiff(big, image, { ...options, bigTiff: 'always' });

    const head = await bytesOf(big, 16);
    assert.equal(head.toString('latin1', 0, 2), 'II');
    assert.equal(head.readUInt16LE(2), 43);
    assert.equal(head.readUInt16LE(4), 8);
    assert.equal(head.readBigUInt64LE(8), 16n + 184n, 'first IFD right after the header and the ghost area');
    assert.equal((await bytesOf(classic, 4)).readUInt16LE(2), 42, "'auto' stays classic below 4 GB");

    assert.deepEqual(await withRaster(big, (raster) => readBands(raster, [0, 1, 2])), image);
    const gdalBig = gdalinfo(big, ['-checksum']);
    const gdalClassic = gdalinfo(classic, ['-checksum']);
    assert.deepEqual(gdalBig.bands, gdalClassic.bands);
    assert.deepEqual(gdalBig.geoTransform, gdalClassic.geoTransform);
    assert.equal(gdalBig.metadata.IMAGE_STRUCTURE.LAYOUT, 'COG');
    assert.deepEqual(gdalBig.bands[0].overviews?.map((o) => o.size.join('x')), ['350x200', '175x100']);
    const validation = validateCog(big);
    assert.ok(validation.valid, validation.output);
  });

  it("'nearest' overviews copy pixels (masks, classes); 'none' writes none", async () => {
    const classes: Image = { width: 600, height: 300, bands: 1, data: new Float32Array(600 * 300) };
    for (let i = 0; i < classes.data.length; i++) classes.data[i] = (i * 7 + Math.floor(i / 600)) % 5;
    const nearest = path.join(tmp, 'classes.tif');
    await writeGeoTiff(nearest, classes, { dataType: 'uint8', overviews: 'nearest', tileSize: 128 });
    const info = gdalinfo(nearest);
    assert.deepEqual(info.bands[0].overviews?.map((o) => o.size.join('x')), ['300x150', '150x75', '75x38']);
    const level2 = path.join(tmp, 'classes-level2.tif');
    gdalTranslate(['-oo', 'OVERVIEW_LEVEL=0', nearest, level2]);
    const got = await readAll(level2);
    for (let y = 0; y < got.height; y++) {
      for (let x = 0; x < got.width; x++) {
        assert.equal(got.data[y * got.width + x], classes.data[2 * y * classes.width + 2 * x], `(${x}, ${y})`);
      }
    }
    assert.ok(validateCog(nearest).valid);

    const none = path.join(tmp, 'no-overviews.tif');
    await writeGeoTiff(none, classes, { dataType: 'uint8', overviews: 'none', tileSize: 128 });
    assert.equal(gdalinfo(none).bands[0].overviews, undefined);
    assert.deepEqual(await readAll(none), classes);
  });

  it('float32: NaN is left out of the means, an all-NaN block stays NaN', async () => {
    const image: Image = { width: 520, height: 300, bands: 2, data: new Float32Array(520 * 300 * 2) };
    for (let i = 0; i < image.data.length; i++) image.data[i] = Math.sin(i / 97) * 20 - 15;
    for (let y = 0; y < 40; y++) for (let x = 0; x < 60; x++) image.data[(y * 520 + x) * 2] = NaN; // band 1, a patch
    for (let i = 0; i < image.data.length; i += 7) image.data[i] = NaN; // both bands, scattered
    const out = path.join(tmp, 'float-nan.tif');
    await writeGeoTiff(out, image, { dataType: 'float32', nodata: NaN });
    const level2 = path.join(tmp, 'float-level2.tif');
    gdalTranslate(['-oo', 'OVERVIEW_LEVEL=0', out, level2]);
    const got = await readAll(level2);
    assert.deepEqual([got.width, got.height], [260, 150]);
    for (let y = 0; y < got.height; y++) {
      for (let x = 0; x < got.width; x++) {
        for (let b = 0; b < 2; b++) {
          const valid: number[] = [];
          for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
            const value = image.data[((2 * y + dy) * 520 + 2 * x + dx) * 2 + b];
            if (!Number.isNaN(value)) valid.push(value);
          }
          const value = got.data[(y * got.width + x) * 2 + b];
          if (valid.length === 0) assert.ok(Number.isNaN(value), `(${x}, ${y}, ${b}) is NaN`);
          else assert.equal(value, Math.fround(valid.reduce((s, v) => s + v, 0) / valid.length), `(${x}, ${y}, ${b})`);
        }
      }
    }
  });
});

describe('memory bounded by the tile size', () => {
  it('streams a 2000 × 8000 × 4 block source in a fresh process: tile-sized reads, peak memory far below the image', async () => {
    const [width, height, bands] = [2000, 8000, 4];
    const out = path.join(tmp, 'streamed.tif');
    const report = JSON.parse(
      execFileSync(process.execPath, ['--import', 'tsx', STREAMING_CHILD, out, String(width), String(height), String(bands)], {
        encoding: 'utf8',
        cwd: REPO_ROOT,
      }),
    ) as { before: number; after: number; seconds: number; reads: number; largestRead: number };
    const imageBytes = width * height * bands * 4; // the image as float32, as the source hands it over
    const growth = report.after - report.before;
    console.log(
      `# ${width}×${height}×${bands} UInt16: ${report.seconds.toFixed(2)} s, peak RSS grew ${(growth / 2 ** 20).toFixed(0)} MiB ` +
        `(the image is ${(imageBytes / 2 ** 20).toFixed(0)} MiB as float32, ${(imageBytes / 2 ** 21).toFixed(0)} MiB as UInt16)`,
    );
    assert.equal(report.reads, 8 * 32, 'each 256 × 256 tile read once');
    assert.equal(report.largestRead, 256 * 256);
    assert.ok(growth < imageBytes / 3, `peak RSS grew by ${growth} bytes`);

    const info = gdalinfo(out);
    assert.deepEqual(info.bands[0].overviews?.map((o) => o.size.join('x')), ['1000x4000', '500x2000', '250x1000', '125x500', '63x250']);
    await withRaster(out, async (raster) => {
      const window = { x: 1900, y: 7000, width: 100, height: 50 };
      const got = await readBands(raster, [0, 1, 2, 3], window);
      for (let row = 0; row < window.height; row++) {
        for (let col = 0; col < window.width; col++) {
          for (let b = 0; b < bands; b++) {
            assert.equal(got.data[(row * window.width + col) * bands + b], syntheticValue(window.x + col, window.y + row, b));
          }
        }
      }
    });
    assert.deepEqual((await fs.readdir(tmp)).filter((name) => name.endsWith('.tmp')), [], 'no temporary files left');
  });
});

describe('failed writes: a full disk, a read-only folder', () => {
  /** Mounts a tmpfs of `size` (e.g. '1m') on a fresh folder; skips the test where mounting is not allowed. */
  async function mountTmpfs(t: TestContext, options: string): Promise<string | null> {
    const folder = await fs.mkdtemp(path.join(tmp, 'mnt-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', folder], { stdio: 'pipe' });
    } catch (error) {
      t.skip(`cannot mount a tmpfs here (${(error as Error).message.split('\n')[0]}): needs root and CAP_SYS_ADMIN`);
      return null;
    }
    t.after(() => {
      execFileSync('umount', [folder]);
    });
    return folder;
  }

  let image: Image;
  before(async () => {
    image = await withRaster(T33UUU, (raster) => readBands(raster, ALL_BANDS));
  });

  for (const [size, where] of [
    ['1m', 'while the tiles are encoded (the temporary tile file)'],
    ['20m', 'while the file is assembled (the output itself)'],
  ] as const) {
    it(`a full disk ${where}: an InputError naming the output, nothing left`, async (t) => {
      const folder = await mountTmpfs(t, `size=${size}`);
      if (!folder) return;
      const out = path.join(folder, 'result.tif');
      await assert.rejects(
        writeGeoTiff(out, image, { dataType: 'uint16', nodata: 0 }),
        (error: unknown) => error instanceof InputError && error.file === out && /disk full while writing/.test(error.message),
      );
      assert.deepEqual(await fs.readdir(folder), []);
    });
  }

  it('a read-only folder: an InputError naming the output', async (t) => {
    const folder = await mountTmpfs(t, 'size=1m,ro');
    if (!folder) return;
    const out = path.join(folder, 'result.tif');
    await assert.rejects(
      writeGeoTiff(out, image, { dataType: 'uint16' }),
      (error: unknown) => error instanceof InputError && error.file === out && /read-only/.test(error.message),
    );
  });

  it('unknown option values: a RangeError before anything is written', async () => {
    await assert.rejects(writeGeoTiff(path.join(tmp, 'x.tif'), image, { dataType: 'uint16', bigTiff: 'sometimes' as never }), RangeError);
    await assert.rejects(writeGeoTiff(path.join(tmp, 'x.tif'), image, { dataType: 'uint16', overviews: 'cubic' as never }), RangeError);
  });
});
