/**
 * Loss curves as an SVG plot: the steps on a linear x axis, the loss on a log y axis (DIP's loss falls over
 * decades), a line per seed of a tile, or every tile of a run faint with the median across them bold.
 *
 * Pure (no DOM, no Node), so the report writes it as a string and the app draws the same geometry from this
 * very module (the renderer may import it: docs/architecture.md).
 */
import type { LossCurve } from '../api/contract.ts';

export type LineRole = 'faint' | 'bold' | 'seed';
export interface PlotLine {
  /** [step, loss] in step order; points with a loss that is not positive and finite are left out. */
  points: [number, number][];
  role: LineRole;
  /** Index of the seed, for its colour (role 'seed'). */
  seedIndex?: number;
}

export interface PlotGeometry {
  width: number;
  height: number;
  frame: { left: number; top: number; right: number; bottom: number };
  paths: { d: string; role: LineRole; colour: string }[];
  xTicks: { x: number; label: string }[];
  yTicks: { y: number; label: string }[];
}

export const SEED_COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];

/** A curve's mean loss per point as plot points. */
export function curvePoints(curve: LossCurve): [number, number][] {
  return curve.step.map((s, i) => [s, curve.loss[i]]);
}

/** The loss of a curve at `step`: its last point at or before it (its first, before it starts). */
function valueAt(curve: LossCurve, step: number): number {
  let lo = 0;
  let hi = curve.step.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (curve.step[mid] <= step) lo = mid;
    else hi = mid - 1;
  }
  return curve.loss[lo];
}

/** The median across curves at the steps of the longest one (curves of one run share their steps, unless one stopped early). */
export function medianCurve(curves: readonly LossCurve[]): [number, number][] {
  const withPoints = curves.filter((c) => c.step.length > 0);
  if (withPoints.length === 0) return [];
  const longest = withPoints.reduce((a, b) => (b.step.length > a.step.length ? b : a));
  return longest.step.map((step) => {
    const values = withPoints.filter((c) => c.step[0] <= step).map((c) => valueAt(c, step)).sort((a, b) => a - b);
    const mid = values.length >> 1;
    return [step, values.length % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2];
  });
}

/** Round steps for the x axis: 1, 2 or 5 × 10^k, about `count` of them. */
function niceStep(range: number, count: number): number {
  const raw = range / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = [1, 2, 5, 10].find((m) => m * power >= raw) ?? 10;
  return unit * power;
}

const fmt = (value: number): string =>
  value === 0 ? '0' : value >= 0.01 && value < 1000 ? String(Number(value.toPrecision(2))) : value.toExponential(1).replace(/\.0e/, 'e').replace('e+', 'e');

/** The plot's geometry, or null when no line has a point to draw. */
export function plotGeometry(lines: readonly PlotLine[], width = 360, height = 200): PlotGeometry | null {
  const usable = lines.map((l) => ({ ...l, points: l.points.filter(([, v]) => Number.isFinite(v) && v > 0) })).filter((l) => l.points.length > 0);
  if (usable.length === 0) return null;
  const all = usable.flatMap((l) => l.points);
  const maxStep = Math.max(...all.map(([s]) => s));
  let lowLog = Math.log10(Math.min(...all.map(([, v]) => v)));
  let highLog = Math.log10(Math.max(...all.map(([, v]) => v)));
  if (highLog - lowLog < 0.3) {
    const mid = (highLog + lowLog) / 2;
    lowLog = mid - 0.15;
    highLog = mid + 0.15;
  }
  const frame = { left: 50, top: 8, right: width - 10, bottom: height - 26 };
  const x = (step: number) => frame.left + (step / Math.max(1, maxStep)) * (frame.right - frame.left);
  const y = (loss: number) => frame.bottom - ((Math.log10(loss) - lowLog) / (highLog - lowLog)) * (frame.bottom - frame.top);
  const px = (v: number) => v.toFixed(1);
  const paths = usable.map((line) => ({
    // One reading (a run shorter than the reading interval) is a short dash, not an invisible zero-length path.
    d: line.points.length === 1
      ? `M${px(x(line.points[0][0]) - 3)} ${px(y(line.points[0][1]))}h6`
      : line.points.map(([s, v], i) => `${i === 0 ? 'M' : 'L'}${px(x(s))} ${px(y(v))}`).join(''),
    role: line.role,
    colour: line.role === 'seed' ? SEED_COLOURS[(line.seedIndex ?? 0) % SEED_COLOURS.length] : line.role === 'bold' ? '#111827' : '#94a3b8',
  }));
  const stepTick = niceStep(Math.max(1, maxStep), 4);
  const xTicks: PlotGeometry['xTicks'] = [];
  for (let s = 0; s <= maxStep; s += stepTick) xTicks.push({ x: x(s), label: fmt(s) });
  // Decades, and 2 and 5 within them when the range is less than two decades.
  const yTicks: PlotGeometry['yTicks'] = [];
  const multiples = highLog - lowLog < 2 ? [1, 2, 5] : [1];
  for (let k = Math.floor(lowLog); k <= Math.ceil(highLog); k++) {
    for (const m of multiples) {
      const value = m * 10 ** k;
      const log = Math.log10(value);
      if (log >= lowLog - 1e-9 && log <= highLog + 1e-9) yTicks.push({ y: y(value), label: fmt(value) });
    }
  }
  // A narrow range holds fewer than two of those: label its ends instead (two significant digits).
  if (yTicks.length < 2) {
    yTicks.length = 0;
    for (const log of [lowLog, highLog]) {
      const value = Number((10 ** log).toPrecision(2));
      yTicks.push({ y: Math.min(frame.bottom, Math.max(frame.top, y(value))), label: fmt(value) });
    }
  }
  return { width, height, frame, paths, xTicks, yTicks };
}

const escape = (text: string): string => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** The geometry as standalone SVG markup (for the report). */
export function plotSvg(geometry: PlotGeometry, title: string, testid: string): string {
  const { width, height, frame, paths, xTicks, yTicks } = geometry;
  const stroke = { faint: 'stroke-width="0.8" stroke-opacity="0.55"', bold: 'stroke-width="2.2"', seed: 'stroke-width="1.5"' };
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" data-testid="${escape(testid)}"><title>${escape(title)}</title>`
    + `<rect x="${frame.left}" y="${frame.top}" width="${frame.right - frame.left}" height="${frame.bottom - frame.top}" fill="#fff" stroke="#9aa5b1" stroke-width="0.8"/>`
    + yTicks.map((t) => `<line x1="${frame.left}" x2="${frame.right}" y1="${t.y.toFixed(1)}" y2="${t.y.toFixed(1)}" stroke="#e4e8ec" stroke-width="0.8"/><text x="${frame.left - 3}" y="${(t.y + 3).toFixed(1)}" text-anchor="end" font-size="10" fill="#5a6572">${escape(t.label)}</text>`).join('')
    + xTicks.map((t) => `<text x="${t.x.toFixed(1)}" y="${frame.bottom + 13}" text-anchor="middle" font-size="10" fill="#5a6572">${escape(t.label)}</text>`).join('')
    + paths.map((p) => `<path d="${p.d}" fill="none" stroke="${p.colour}" ${stroke[p.role]} data-role="${p.role}"/>`).join('')
    + `<text x="${(frame.left + frame.right) / 2}" y="${height - 2}" text-anchor="middle" font-size="10" fill="#5a6572">step</text>`
    + `<text transform="rotate(-90)" x="${-(frame.top + frame.bottom) / 2}" y="10" text-anchor="middle" font-size="10" fill="#5a6572">loss (log)</text>`
    + `</svg>`;
}
