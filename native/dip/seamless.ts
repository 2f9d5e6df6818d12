/**
 * Seamless cloning of a reconstruction into the clear pixels around its clouds (Pérez, Gangnet & Blake 2003,
 * *Poisson image editing*; for clouds and a reference scene, Lin et al. 2013, *Cloud removal from multitemporal
 * satellite images using information cloning*, IEEE TGRS 51(1)).
 *
 * A reconstruction's cloudy pixels keep their own detail (their gradients) but are moved by the smooth field that
 * makes them meet the clear pixels at the cloud's edge: the mismatch d = input − reconstruction on the clear pixels,
 * continued under the cloud as the harmonic function (Laplace's equation, ∇²d = 0) with those values on the edge.
 * Why: a reference of another date, fitted with one gain and offset per band (reference-fit, mtfit), is right on
 * average but off by a slowly varying amount from place to place (haze, phenology, the fit's own error); the
 * edge says by how much here, and the harmonic continuation carries it inward, fading towards the cloud's middle.
 * Measured on the Slovenia masks in docs/measurements.md ("Seamless cloning").
 */
import type { Image, Mask } from './image.ts';

/**
 * Residual, relative to its size at the start, at which the solve stops: on a 256² tile under 47 % cloud the result is
 * then within 0.1 DN of the exact solution (at 1e-4, 2 DN off).
 */
const TOLERANCE = 1e-5;

/**
 * A copy of `reconstruction` whose masked pixels are moved by the harmonic continuation of (input − reconstruction)
 * from the clear pixels. Clear pixels are left as they are. `excluded` pixels (nodata, held-out pixels) are neither
 * edge values nor solved for: the field flows around them as around the image's border (zero normal derivative).
 * A cloud that touches no usable clear pixel (a tile under one cloud) is left as it is.
 */
export function cloneSeamlessly(reconstruction: Image, input: Image, mask: Mask, excluded?: Mask): Image {
  const { width, height, bands } = reconstruction;
  const out = { ...reconstruction, data: Float32Array.from(reconstruction.data) };
  const state = new Uint8Array(width * height);
  const field = new Float64Array(width * height * bands);
  for (let p = 0; p < state.length; p++) {
    if (excluded?.data[p]) state[p] = EXCLUDED;
    else if (mask.data[p]) state[p] = UNKNOWN;
    else {
      state[p] = EDGE;
      for (let c = 0, i = p * bands; c < bands; c++, i++) field[i] = input.data[i] - reconstruction.data[i];
    }
  }
  harmonicFill({ width, height, bands, state, field });
  for (let p = 0; p < state.length; p++) {
    if (state[p] === UNKNOWN) for (let c = 0, i = p * bands; c < bands; c++, i++) out.data[i] += field[i];
  }
  return out;
}

const EDGE = 0;
const UNKNOWN = 1;
const EXCLUDED = 2;

/** A field on a grid: known (EDGE) values, pixels to solve (UNKNOWN) and pixels that take no part (EXCLUDED). */
interface Field {
  width: number;
  height: number;
  bands: number;
  state: Uint8Array;
  /** Per pixel and band: read at the EDGE pixels, written at the UNKNOWN ones. */
  field: Float64Array;
}

/**
 * Solves the 5-point Laplace equation at the UNKNOWN pixels with the EDGE values as boundary (zero normal
 * derivative at EXCLUDED pixels and at the grid's border), in place.
 */
function harmonicFill(grid: Field): void {
  const { width, height, bands, state, field } = grid;
  const index = new Int32Array(state.length).fill(-1);
  let n = 0;
  for (let p = 0; p < state.length; p++) if (state[p] === UNKNOWN) index[p] = n++;
  if (n === 0) return;
  const pixels = new Int32Array(n);
  for (let p = 0; p < index.length; p++) if (index[p] >= 0) pixels[index[p]] = p;

  // The system A·u = b in compressed rows: per unknown, its usable neighbours (the diagonal), the unknown ones
  // (off-diagonal −1) and the edge ones, whose values go into b.
  const diagonal = new Float64Array(n);
  const rowStart = new Int32Array(n + 1);
  const columns: number[] = [];
  const b = new Float64Array(n * bands);
  for (let k = 0; k < n; k++) {
    const p = pixels[k];
    const row = Math.floor(p / width);
    const col = p - row * width;
    for (const q of [col > 0 ? p - 1 : -1, col < width - 1 ? p + 1 : -1, row > 0 ? p - width : -1, row < height - 1 ? p + width : -1]) {
      if (q < 0 || state[q] === EXCLUDED) continue;
      diagonal[k]++;
      if (state[q] === UNKNOWN) columns.push(index[q]);
      else for (let c = 0; c < bands; c++) b[k * bands + c] += field[q * bands + c];
    }
    rowStart[k + 1] = columns.length;
  }
  const u = solve({ diagonal, rowStart, columns: Int32Array.from(columns) }, b, bands);
  for (let k = 0; k < n; k++) for (let c = 0; c < bands; c++) field[pixels[k] * bands + c] = u[k * bands + c];
}

interface Laplacian {
  diagonal: Float64Array;
  /** Row k's off-diagonal columns (each −1) are columns[rowStart[k] .. rowStart[k + 1]). */
  rowStart: Int32Array;
  columns: Int32Array;
}

/**
 * Conjugate gradients with a Jacobi preconditioner, for every band at once (the bands share A, so one pass over
 * it serves them all; each band keeps its own step sizes and stops on its own). A is symmetric, positive definite
 * on every cloud that touches a clear pixel; a cloud that touches none has b = 0 there, so its part of every
 * residual and direction stays 0 and its solution 0 (no correction), which is why the singular blocks need no
 * special case.
 */
function solve({ diagonal, rowStart, columns }: Laplacian, b: Float64Array, bands: number): Float64Array {
  const n = diagonal.length;
  const size = n * bands;
  const x = new Float64Array(size);
  const r = Float64Array.from(b);
  const z = new Float64Array(size);
  const p = new Float64Array(size);
  const ap = new Float64Array(size);
  const inverse = diagonal.map((d) => (d > 0 ? 1 / d : 0));
  const rr = new Float64Array(bands);
  const rz = new Float64Array(bands);
  const next = new Float64Array(bands);
  const pap = new Float64Array(bands);
  const alpha = new Float64Array(bands);
  const beta = new Float64Array(bands);
  // Stop a band when its residual is TOLERANCE of its start (b); a band with b = 0 has nothing to solve.
  const limit = new Float64Array(bands);
  for (let i = 0; i < size; i++) limit[i % bands] += b[i] * b[i];
  const active = new Uint8Array(bands);
  for (let c = 0; c < bands; c++) {
    limit[c] *= TOLERANCE * TOLERANCE;
    active[c] = limit[c] > 0 ? 1 : 0;
  }
  for (let k = 0, i = 0; k < n; k++) {
    for (let c = 0; c < bands; c++, i++) {
      z[i] = r[i] * inverse[k];
      p[i] = z[i];
      rz[c] += r[i] * z[i];
    }
  }
  // CG needs at most n steps in exact arithmetic; the Laplacian's usually far fewer (about the cloud's diameter).
  for (let iteration = 0; iteration < n && active.includes(1); iteration++) {
    pap.fill(0);
    for (let k = 0, i = 0; k < n; k++) {
      const first = rowStart[k];
      const last = rowStart[k + 1];
      for (let c = 0; c < bands; c++, i++) {
        let v = diagonal[k] * p[i];
        for (let j = first; j < last; j++) v -= p[columns[j] * bands + c];
        ap[i] = v;
        pap[c] += p[i] * v;
      }
    }
    for (let c = 0; c < bands; c++) alpha[c] = active[c] ? rz[c] / pap[c] : 0;
    rr.fill(0);
    next.fill(0);
    for (let k = 0, i = 0; k < n; k++) {
      for (let c = 0; c < bands; c++, i++) {
        x[i] += alpha[c] * p[i];
        r[i] -= alpha[c] * ap[i];
        z[i] = r[i] * inverse[k];
        rr[c] += r[i] * r[i];
        next[c] += r[i] * z[i];
      }
    }
    for (let c = 0; c < bands; c++) {
      if (rr[c] <= limit[c]) active[c] = 0;
      beta[c] = active[c] ? next[c] / rz[c] : 0;
      rz[c] = next[c];
    }
    for (let i = 0; i < size; i++) {
      const c = i % bands;
      if (active[c]) p[i] = z[i] + beta[c] * p[i];
    }
  }
  return x;
}
