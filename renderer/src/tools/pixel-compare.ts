/**
 * The pixel inspector's comparison, as pure functions: the scene, the reconstruction and the reference side by
 * side per band (matched by name) with their differences, the SAR values (with dB for linear sigma0), a small
 * spectral plot's polylines, and on which side of the map the panel goes so that it never covers the pixel.
 */
import type { PixelValues } from '../../../native/api/contract.ts';

export interface CompareRow {
  band: string;
  scene: number | null;
  reconstruction: number | null;
  reference: number | null;
  /** reconstruction − scene, and reconstruction − reference; null where either is missing. */
  minusScene: number | null;
  minusReference: number | null;
}

type Layer = PixelValues['layers'][number];

function byName(layer: Layer | undefined): Map<string, number | null> {
  return new Map((layer?.bands ?? []).map((b) => [b.name.toUpperCase(), b.value]));
}

const minus = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : a - b);

/** One row per band of the scene (then any band only the others have), values matched by band name. */
export function compareRows(values: PixelValues): CompareRow[] {
  const layer = (kind: Layer['kind']) => values.layers.find((l) => l.kind === kind);
  const scene = layer('scene');
  const recon = byName(layer('reconstruction'));
  const ref = byName(layer('reference'));
  const names: string[] = [];
  for (const l of [scene, layer('reconstruction'), layer('reference')]) for (const b of l?.bands ?? []) if (!names.some((n) => n.toUpperCase() === b.name.toUpperCase())) names.push(b.name);
  const sceneValues = byName(scene);
  return names.map((band) => {
    const key = band.toUpperCase();
    const s = sceneValues.get(key) ?? null;
    const r = recon.get(key) ?? null;
    const f = ref.get(key) ?? null;
    return { band, scene: s, reconstruction: r, reference: f, minusScene: minus(r, s), minusReference: minus(r, f) };
  });
}

/** The SAR layer's bands with their value in dB (10·log10 of linear sigma0; as it is when the scene is in dB). */
export function sarValues(values: PixelValues): { name: string; value: number | null; db: number | null }[] {
  const sar = values.layers.find((l) => l.kind === 'sar');
  if (!sar) return [];
  const linear = /\(linear\)/.test(sar.label);
  return sar.bands.map((b) => ({ name: b.name, value: b.value, db: b.value === null ? null : linear ? (b.value > 0 ? 10 * Math.log10(b.value) : null) : b.value }));
}

export type Series = 'scene' | 'reconstruction' | 'reference';

/** Polylines ("x,y x,y …") of each series over the bands in a width × height box, with the value range drawn. */
export function spectralPlot(rows: readonly CompareRow[], width: number, height: number, pad = 4): { lines: { series: Series; points: string }[]; min: number; max: number } {
  const series: Series[] = ['scene', 'reconstruction', 'reference'];
  const all = rows.flatMap((r) => series.map((s) => r[s])).filter((v): v is number => v !== null);
  const min = all.length ? Math.min(0, ...all) : 0;
  const max = all.length ? Math.max(...all) : 1;
  const span = max - min || 1;
  const x = (i: number) => pad + (rows.length <= 1 ? (width - 2 * pad) / 2 : (i * (width - 2 * pad)) / (rows.length - 1));
  const y = (v: number) => height - pad - ((v - min) * (height - 2 * pad)) / span;
  const lines = series
    .map((s) => ({
      series: s,
      points: rows
        .map((r, i) => (r[s] === null ? null : `${x(i).toFixed(1)},${y(r[s]!).toFixed(1)}`))
        .filter(Boolean)
        .join(' '),
    }))
    .filter((l) => l.points !== '');
  return { lines, min, max };
}

/** The side of the map the panel goes on: away from the clicked pixel (x in map pixels), so it never covers it. */
export function inspectorSide(pixelX: number | null, mapWidth: number): 'left' | 'right' {
  if (pixelX === null) return 'left';
  return pixelX < mapWidth / 2 ? 'right' : 'left';
}
