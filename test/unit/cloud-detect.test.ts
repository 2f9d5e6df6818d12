/**
 * The cloud and shadow detector (native/raster/cloud-detect.ts) on real Sentinel-2 scenes: how well it finds the
 * clouds of the SEN12MS-CR pairs, that it finds the shadows beside Nigeria's clouds on the side away from the
 * sun, that baseline-04.00 offsets and missing bands are handled, and that streaming by windows gives the
 * same mask as one read of the whole scene.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InputError } from '../../native/errors.ts';
import { metadataOffset, openCloudDetector, sceneSun, shadowStep, sunPosition } from '../../native/raster/cloud-detect.ts';
import { openRaster, readBands } from '../../native/raster/geotiff-reader.ts';
import { writeGeoTiff } from '../../native/raster/geotiff-writer.ts';
import { dataFile } from '../helpers/data.ts';
import { detectWhole, PAIRS, referenceMask, scores } from '../helpers/detect-reference.ts';

const NIGERIA = dataFile('nigeria-sen12mscr/s2_cloudy.tif');
let dir: string;
before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-detect-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** Share of masked pixels in a window of a 256-wide mask. */
function share(mask: { width: number; data: Uint8Array }, x0: number, y0: number, width: number, height: number): number {
  let n = 0;
  for (let y = y0; y < y0 + height; y++) for (let x = x0; x < x0 + width; x++) n += mask.data[y * mask.width + x];
  return n / (width * height);
}

describe('cloud detection on real scenes', () => {
  // Measured with --dilate 2 (README): IoU 0.663, 0.509 and 0.487; the floors leave 0.05 for harmless change.
  const FLOORS: Record<string, number> = { 'congo-spring': 0.61, 'italy-summer': 0.46, 'colombia-fall': 0.43 };
  for (const pair of PAIRS) {
    it(`finds the clouds of the SEN12MS-CR ${pair.name} pair: IoU against the cloudy/clear difference above ${FLOORS[pair.name]}`, async () => {
      const { mask } = await detectWhole(pair.cloudy, { dilate: 2 });
      const s = scores(mask, await referenceMask(pair.cloudy, pair.clear));
      assert.ok(s.iou > FLOORS[pair.name], `IoU ${s.iou.toFixed(3)} (precision ${s.precision.toFixed(3)}, recall ${s.recall.toFixed(3)})`);
      assert.ok(s.precision > 0.65, `precision ${s.precision.toFixed(3)}`);
    });
  }

  it('finds nothing on a clear scene (Slovenia 2015-09-09)', async () => {
    const { mask } = await detectWhole(dataFile('slovenia-2015/S2L1C_20150909.tif'));
    assert.equal(mask.data.reduce((a, b) => a + b, 0), 0);
  });

  it('finds the shadow beside Nigeria’s clouds, on the side away from the sun, and only there', async () => {
    // The dark patch west of the cumulus at the lower right is its shadow (the overlay shows it); the sun is
    // not in the file, so the direction is searched.
    const withShadows = await detectWhole(NIGERIA);
    const cloudOnly = await detectWhole(NIGERIA, { shadows: false });
    assert.ok(share(withShadows.mask, 185, 195, 40, 30) > 0.5, `shadow patch ${share(withShadows.mask, 185, 195, 40, 30)}`);
    assert.ok(share(cloudOnly.mask, 185, 195, 40, 30) < 0.05);
    assert.match(withShadows.description.CLEARSKY_MASK_SHADOWS, /sun direction searched; shadows matched \d+–\d+ px/);
    let shadow = 0;
    for (let i = 0; i < withShadows.mask.data.length; i++) shadow += withShadows.mask.data[i] & (1 - cloudOnly.mask.data[i]);
    assert.ok(shadow > 0.03 * 65536, `${shadow} shadow pixels`);

    // Told the sun is in the east, shadows fall west, as searched; told it is in the west, there is no dark
    // ground east of the clouds to match, and no shadow.
    const east = await detectWhole(NIGERIA, { sun: { azimuth: 90, zenith: 30 } });
    assert.ok(share(east.mask, 185, 195, 40, 30) > 0.5);
    const west = await detectWhole(NIGERIA, { sun: { azimuth: 270, zenith: 30 } });
    assert.deepEqual(west.mask.data, cloudOnly.mask.data);
    assert.match(west.description.CLEARSKY_MASK_SHADOWS, /azimuth 270\.0°, zenith 30\.0° \(given\); no shadow found/);
  });

  it('streams by windows: the written windows give the same mask as one read of the whole scene', async () => {
    const whole = await detectWhole(NIGERIA, { dilate: 1 });
    const detector = await openCloudDetector(NIGERIA, { dilate: 1 });
    try {
      for (const [x, y] of [[0, 0], [100, 60], [192, 192]]) {
        const window = { x, y, width: 64, height: 64 };
        const part = await detector.read(window);
        for (let row = 0; row < 64; row++) {
          assert.deepEqual(part.data.subarray(row * 64, row * 64 + 64), whole.mask.data.subarray((y + row) * 256 + x, (y + row) * 256 + x + 64), `window ${x},${y} row ${row}`);
        }
      }
    } finally {
      await detector.close();
    }
  });

  it('reads the +1000 DN offset of processing baseline 04.00 from the metadata', async () => {
    // The congo cloudy scene re-written as a baseline-04.00 product would hold it: every DN + 1000.
    const shifted = path.join(dir, 'baseline-04.tif');
    const raster = await openRaster(PAIRS[0].cloudy);
    try {
      const image = await readBands(raster, Array.from({ length: 13 }, (_, b) => b));
      for (let i = 0; i < image.data.length; i++) image.data[i] += 1000;
      await writeGeoTiff(shifted, image, { dataType: 'uint16', like: raster, metadata: { PROCESSING_BASELINE: '04.00' } });
    } finally {
      await raster.close();
    }
    const original = await detectWhole(PAIRS[0].cloudy);
    const read = await detectWhole(shifted);
    assert.equal(read.description.CLEARSKY_MASK_DN_OFFSET, '-1000');
    assert.deepEqual(read.mask.data, original.mask.data);
    // Without the offset the scene looks 0.1 brighter everywhere: far more "cloud".
    const ignored = await detectWhole(shifted, { offset: 0 });
    assert.ok(ignored.mask.data.reduce((a, b) => a + b, 0) > 1.5 * original.mask.data.reduce((a, b) => a + b, 0));
    assert.equal(metadataOffset({ BOA_ADD_OFFSET_B2: '-1000' }), -1000);
    assert.equal(metadataOffset({ PROCESSING_BASELINE: '02.14' }), 0);
    assert.equal(metadataOffset({}), null);
  });

  it('a scene without a band it needs is refused, naming the file and the band', async () => {
    const rgb = dataFile('scotland-2020/S2L2A_mean_2019_B04B03B02.tif');
    await assert.rejects(openCloudDetector(rgb), (e: Error) => e instanceof InputError && e.message.startsWith(rgb) && /needs bands B02, B03, B04, B08, B11.*no band B08/.test(e.message));
    await assert.rejects(openCloudDetector(NIGERIA, { threshold: 1.5 }), /threshold must be between 0 and 1/);
    await assert.rejects(openCloudDetector(NIGERIA, { sun: { azimuth: 90, zenith: 95 } }), /zenith must be between 0° and 90°/);
  });
});

describe('the sun', () => {
  it('stands due south at local noon, at latitude − declination (NOAA equations)', () => {
    // 2021-06-21, solstice (declination 23.44°); solar noon at longitude 0 is 12:01:45 UTC (equation of time −1.7 min).
    const noon = sunPosition(new Date('2021-06-21T12:01:45Z'), 0, 52);
    assert.ok(Math.abs(noon.zenith - (52 - 23.44)) < 0.2, `zenith ${noon.zenith}`);
    assert.ok(Math.abs(noon.azimuth - 180) < 1, `azimuth ${noon.azimuth}`);
    const morning = sunPosition(new Date('2021-06-21T08:00:00Z'), 0, 52);
    assert.ok(morning.azimuth > 90 && morning.azimuth < 130 && morning.zenith > noon.zenith, JSON.stringify(morning));
    // South of the equator the noon sun is in the north.
    assert.ok(Math.abs(sunPosition(new Date('2021-06-21T12:01:45Z'), 0, -30).azimuth % 360) < 1);
  });

  it('comes from the acquisition time and place of T33UUU: low in the south-south-east in February', async () => {
    const raster = await openRaster(dataFile('T33UUU-20170216/S2L1C_T33UUU_20170216_10m.tif'));
    await raster.close();
    const found = sceneSun(raster);
    assert.equal(found?.source, 'acquisition time');
    assert.ok(found!.sun.azimuth > 155 && found!.sun.azimuth < 170 && found!.sun.zenith > 62 && found!.sun.zenith < 70, JSON.stringify(found));
    assert.equal(sceneSun({ ...raster, metadata: { MEAN_SUN_AZIMUTH_ANGLE: '150.5', MEAN_SUN_ZENITH_ANGLE: '40' } })?.source, 'metadata');
    assert.equal(sceneSun({ ...raster, metadata: {} }), null);
    // Shadows fall away from the sun: a sun in the south casts them north (up the image).
    const step = shadowStep(180);
    assert.ok(Math.abs(step.dx) < 1e-9 && step.dy === -1);
  });
});
