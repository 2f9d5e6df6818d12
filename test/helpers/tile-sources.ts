/**
 * One tile's sources read from the real Nigeria SEN12MS-CR scene (Sentinel-2 with its Sentinel-1), with a
 * rectangular cloud, as the owner of a run reads them for the queue (pipeline.ts readTileSources).
 */
import { createMask } from '../../native/dip/image.ts';
import type { TileSources } from '../../native/reconstruction/pipeline.ts';
import { openSources } from '../../native/reconstruction/source-files.ts';
import { dataFile } from './data.ts';

export const NIGERIA_S2 = dataFile('nigeria-sen12mscr', 's2_cloudy.tif');
export const NIGERIA_S1 = dataFile('nigeria-sen12mscr', 's1.tif');

export async function nigeriaTile(options: { x?: number; y?: number; size?: number; bands?: string[]; sar?: boolean; reference?: boolean } = {}): Promise<TileSources> {
  const size = options.size ?? 64;
  const sources = await openSources({ target: NIGERIA_S2, bands: options.bands, sar: options.sar ? NIGERIA_S1 : undefined, references: options.reference ? [NIGERIA_S2] : undefined });
  try {
    const window = await sources.read({ x: options.x ?? 96, y: options.y ?? 96, width: size, height: size });
    const cloud = createMask(size, size);
    const from = Math.floor(size / 4);
    for (let row = from; row < size - from; row++) cloud.data.fill(1, row * size + from, row * size + size - from);
    return { window, cloud, bandNames: sources.target.bandNames.map((name, band) => name ?? `band ${band + 1}`) };
  } finally {
    await sources.close();
  }
}
