/**
 * A season of real Slovenia scenes in one folder, as a consultant would have it: the five 2015 scenes and one
 * cloud mask file for 2015-09-09 (the real s2cloudless shape of 2016-05-16, band 19 of the stack: 19 % cloud,
 * named for the day it is given to). Detected cover of the scenes: 07-11 all cloud, 07-31 hazy (about 30 %),
 * 08-20, 08-30 and 09-09 clear.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { writeCloudMask } from '../../native/raster/sentinel/cloud-masks.ts';
import { dataFile } from './data.ts';

export const SEASON_SCENES = ['S2L1C_20150711.tif', 'S2L1C_20150731.tif', 'S2L1C_20150820.tif', 'S2L1C_20150830.tif', 'S2L1C_20150909.tif'];
export const SEASON_MASK = 'S2L1C_20150909_cloudmask.tif';
export const SEASON_MASK_BAND = 19;

/** Makes the season folder in `dir` (created); answers its path. */
export async function makeSeasonFolder(dir: string, scenes: readonly string[] = SEASON_SCENES): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  for (const scene of scenes) await fs.copyFile(dataFile('slovenia-2015', scene), path.join(dir, scene));
  await writeCloudMask(path.join(dir, SEASON_MASK), { kind: 'binary', path: dataFile('slovenia-2015', 'cloudmasks_s2cloudless_2015-2017.tif'), band: SEASON_MASK_BAND });
  return dir;
}
