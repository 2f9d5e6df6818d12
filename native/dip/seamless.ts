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

/** Relative residual at which the solve stops; far below what a float32 image shows. */
const TOLERANCE = 1e-6;

/**
 * A copy of `reconstruction` whose masked pixels are moved by the harmonic continuation of (input − reconstruction)
 * from the clear pixels. Clear pixels are left as they are. `excluded` pixels (nodata, held-out pixels) are neither
 * edge values nor solved for: the field flows around them as around the image's border (zero normal derivative).
 * A cloud that touches no usable clear pixel (a tile under one cloud) is left as it is.
 */
export function cloneSeamlessly(reconstruction: Image, input: Image, mask: Mask, excluded?: Mask): Image {
  const { width, height, bands } = reconstruction;
  const out = { ...reconstruction, data: Float32Array.from(reconstruction.data) };
  const usable = (p: number): boolean => !excluded?.data[p];
  // Unknowns: the usable masked pixels, numbered.
  const index = new Int32Array(width * height).fill(-1);
  const pixels: number[] = [];
  for (let p = 0; p < index.length; p++) if (mask.data[p] && usable(p)) index[p] = pixels.push(p) - 1;
  const n = pixels.length;
  if (n === 0) return out;

  // The system A·u = b of the 5-point Laplacian: per unknown, its usable neighbours (diagonal), the unknown ones
  // (off-diagonal −1) and the clear ones (their d goes into b).
  const diagonal = new Float64Array(n);
  const neighbours: number[][] = [];
  const clearNeighbours: number[][] = [];
  for (let k = 0; k < n; k++) {
    const p = pixels[k];
    const row = Math.floor(p / width);
    const col = p - row * width;
    const unknown: number[] = [];
    const clear: number[] = [];
    for (const q of [col > 0 ? p - 1 : -1, col < width - 1 ? p + 1 : -1, row > 0 ? p - width : -1, row < height - 1 ? p + width : -1]) {
      if (q < 0 || !usable(q)) continue;
      if (index[q] >= 0) unknown.push(index[q]);
      else clear.push(q);
    }
    diagonal[k] = unknown.length + clear.length;
    neighbours.push(unknown);
    clearNeighbours.push(clear);
  }
  const b = new Float64Array(n);
  for (let band = 0; band < bands; band++) {
    b.fill(0);
    for (let k = 0; k < n; k++) {
      for (const q of clearNeighbours[k]) b[k] += input.data[q * bands + band] - reconstruction.data[q * bands + band];
    }
    const u = solve(diagonal, neighbours, b);
    for (let k = 0; k < n; k++) out.data[pixels[k] * bands + band] += u[k];
  }
  return out;
}

/**
 * Conjugate gradients with a Jacobi preconditioner. A is symmetric, positive definite on every cloud that touches a
 * clear pixel; a cloud that touches none has b = 0 there, so its part of every residual and direction stays 0 and
 * its solution 0 (no correction), which is why the singular blocks need no special case.
 */
function solve(diagonal: Float64Array, neighbours: number[][], b: Float64Array): Float64Array {
  const n = b.length;
  const x = new Float64Array(n);
  const r = Float64Array.from(b);
  const z = new Float64Array(n);
  const p = new Float64Array(n);
  const ap = new Float64Array(n);
  const precondition = (): void => {
    for (let k = 0; k < n; k++) z[k] = diagonal[k] > 0 ? r[k] / diagonal[k] : 0;
  };
  const bNorm = Math.sqrt(dot(b, b));
  if (bNorm === 0) return x;
  precondition();
  p.set(z);
  let rz = dot(r, z);
  // CG needs at most n steps in exact arithmetic; the Laplacian's usually far fewer (about the cloud's diameter).
  for (let iteration = 0; iteration < n && Math.sqrt(dot(r, r)) > TOLERANCE * bNorm; iteration++) {
    for (let k = 0; k < n; k++) {
      let v = diagonal[k] * p[k];
      for (const j of neighbours[k]) v -= p[j];
      ap[k] = v;
    }
    const alpha = rz / dot(p, ap);
    for (let k = 0; k < n; k++) {
      x[k] += alpha * p[k];
      r[k] -= alpha * ap[k];
    }
    precondition();
    const next = dot(r, z);
    const beta = next / rz;
    rz = next;
    for (let k = 0; k < n; k++) p[k] = z[k] + beta * p[k];
  }
  return x;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += a[k] * b[k];
  return s;
}
