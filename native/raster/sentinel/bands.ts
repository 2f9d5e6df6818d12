/**
 * Finding bands by name. Users write Sentinel-2 band names (B04, B4, b8a); files say which band is which in
 * their band descriptions. A 13-band file without recognisable descriptions is taken to be in the standard
 * Sentinel-2 order; anything else we cannot resolve is an error that lists what the file has.
 */
import { InputError } from '../../errors.ts';
import type { RasterInfo } from '../tiff/raster-info.ts';

/** The 13 Sentinel-2 MSI bands in product order. */
export const S2_BAND_ORDER = ['B01', 'B02', 'B03', 'B04', 'B05', 'B06', 'B07', 'B08', 'B8A', 'B09', 'B10', 'B11', 'B12'] as const;

/** The canonical Sentinel-2 name ("B04", "B8A") for "B4", "b04", "B8a", "8A"…; null if it is not one. */
export function canonicalS2BandName(name: string): string | null {
  const match = /^\s*B?(\d{1,2}|8A)\s*$/i.exec(name);
  if (!match) return null;
  const id = match[1].toUpperCase();
  const canonical = id === '8A' ? 'B8A' : `B${id.padStart(2, '0')}`;
  return (S2_BAND_ORDER as readonly string[]).includes(canonical) ? canonical : null;
}

/** The name of band `index` (0-based) of a file without band descriptions: a 13-band file is in the standard Sentinel-2 order; else null. */
export function standardName(raster: Pick<RasterInfo, 'bandCount'>, index: number): string | null {
  return raster.bandCount === S2_BAND_ORDER.length ? S2_BAND_ORDER[index] : null;
}

/** "B04,B03, B02" → ["B04", "B03", "B02"]. */
export function parseBandList(text: string): string[] {
  return text
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
}

/**
 * The 0-based band indexes of `names` in the raster, in the order asked. A name matches a band whose
 * description equals it (case-insensitive) or names the same Sentinel-2 band ("B4" finds "B04").
 */
export function resolveBands(raster: Pick<RasterInfo, 'path' | 'bandCount' | 'bandNames'>, names: readonly string[]): number[] {
  if (names.length === 0) throw new InputError(raster.path, 'no bands were asked for');
  const byDescription = describedS2Bands(raster);
  const useStandardOrder = raster.bandCount === S2_BAND_ORDER.length && byDescription.size === 0;
  return names.map((name) => {
    const exact = indexesWhere(raster.bandNames, (description) => sameText(description, name));
    if (exact.length === 1) return exact[0];
    if (exact.length > 1) {
      throw new InputError(raster.path, `band name ${name} is ambiguous: bands ${exact.map((i) => i + 1).join(', ')} are all described so`);
    }
    const canonical = canonicalS2BandName(name);
    if (canonical !== null) {
      const described = byDescription.get(canonical);
      if (described !== undefined) return described;
      if (useStandardOrder) return (S2_BAND_ORDER as readonly string[]).indexOf(canonical);
    }
    throw new InputError(raster.path, `has no band ${name}; ${availableBands(raster)}`);
  });
}

/** Sentinel-2 band name → index, for bands whose description is one. */
function describedS2Bands(raster: Pick<RasterInfo, 'bandNames'>): Map<string, number> {
  const found = new Map<string, number>();
  raster.bandNames.forEach((description, index) => {
    const canonical = description === null ? null : canonicalS2BandName(description);
    if (canonical !== null && !found.has(canonical)) found.set(canonical, index);
  });
  return found;
}

function availableBands(raster: Pick<RasterInfo, 'bandCount' | 'bandNames'>): string {
  const described = raster.bandNames.filter((name): name is string => name !== null && name !== '');
  if (described.length === 0) {
    return `its ${raster.bandCount} band${raster.bandCount === 1 ? ' has' : 's have'} no descriptions ` +
      '(only a 13-band file is taken to be in the standard Sentinel-2 order)';
  }
  const shown = described.length > 20 ? [...described.slice(0, 20), `… (${described.length} in all)`] : described;
  return `available: ${shown.join(', ')}`;
}

function indexesWhere(names: readonly (string | null)[], matches: (name: string) => boolean): number[] {
  const indexes: number[] = [];
  names.forEach((name, index) => {
    if (name !== null && matches(name)) indexes.push(index);
  });
  return indexes;
}

function sameText(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}
