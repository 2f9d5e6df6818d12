/**
 * Loads clearsky_native, the optional oneDNN addon built from native/addon (`npm run build:native`).
 *
 * The addon is an accelerator, never a requirement: when it is not built, or libdnnl is missing, loading
 * reports why instead of throwing, and the engine runs on another backend.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The convolution shape as 17 int32 fields; see native/addon/src/conv.h (ConvGeometry). */
export type ConvGeometry = Int32Array;

export interface NativeAddon {
  conv2dForward(geometry: ConvGeometry, x: Float32Array, filter: Float32Array, bias: Float32Array | null, y: Float32Array): void;
  conv2dBackwardData(geometry: ConvGeometry, dy: Float32Array, filter: Float32Array, dx: Float32Array): void;
  conv2dBackwardFilter(geometry: ConvGeometry, x: Float32Array, dy: Float32Array, dFilter: Float32Array, dBias: Float32Array | null): void;
  /** The oneDNN kernel used for a shape: pass 0 forward, 1 backward-data, 2 backward-filter. */
  convImplementation(geometry: ConvGeometry, pass: 0 | 1 | 2, withBias: boolean): string;
  /** 0 plain (NHWC/HWIO as given), 1 blocked (oneDNN's layouts, with reorders), 2 by shape (default). */
  setConvLayout(forward: number, backwardData: number, backwardFilter: number): void;
  /** 0 fp32 convolutions, 1 bf16 (inputs rounded to bfloat16, fp32 accumulation and outputs); 1 throws where info().bf16 is false. */
  setConvPrecision(precision: 0 | 1): void;
  /** op: see BINARY_OPS; broadcast: see Broadcast; out's length is the element count. */
  binary(op: number, broadcast: number, a: Float32Array, b: Float32Array, out: Float32Array, channels: number): void;
  /** op: see UNARY_OPS; alpha is LeakyRelu's slope. */
  unary(op: number, x: Float32Array, out: Float32Array, alpha: number): void;
  /** out[c] = scale · Σ over rows of x[row · channels + c] (summed in double). */
  reduceRows(x: Float32Array, channels: number, scale: number, out: Float32Array): void;
  /** out[i] = vector[i mod vector.length]. */
  broadcastRows(vector: Float32Array, out: Float32Array): void;
  batchNorm(x: Float32Array, channels: number, mean: Float32Array, variance: Float32Array, offset: Float32Array | null,
    scale: Float32Array | null, epsilon: number, y: Float32Array): void;
  greaterScalar(a: Float32Array, threshold: number, out: Uint8Array): void;
  select(condition: Uint8Array, a: Float32Array, b: Float32Array, out: Float32Array): void;
  batchNormTrainForward(x: Float32Array, channels: number, scale: Float32Array | null, offset: Float32Array | null, epsilon: number,
    y: Float32Array, mean: Float32Array, invStd: Float32Array): void;
  batchNormTrainBackward(dy: Float32Array, x: Float32Array, channels: number, mean: Float32Array, invStd: Float32Array,
    scale: Float32Array | null, dx: Float32Array, dScale: Float32Array, dOffset: Float32Array): void;
  /** Nearest upsampling by integer factors fy, fx of a [batch, height, width, channels] image. */
  resizeNearestUp(x: Float32Array, batch: number, height: number, width: number, channels: number, fy: number, fx: number, out: Float32Array): void;
  resizeNearestUpGrad(dy: Float32Array, batch: number, height: number, width: number, channels: number, fy: number, fx: number, dx: Float32Array): void;
  /** hyper: learningRate, beta1, beta2, epsilon, 1 − β₁ᵗ, 1 − β₂ᵗ. */
  adamUpdate(value: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, hyper: Float32Array,
    newValue: Float32Array, newM: Float32Array, newV: Float32Array): void;
  setNumThreads(threads: number): void;
  /** isa: oneDNN's cpu_isa value in use; bf16: whether it has bf16 instructions (AVX512-BF16 or AMX). */
  info(): { onednn: string; threads: number; isa: number; bf16: boolean };
}

const ADDON_FILE = 'clearsky_native.node';
/** Overrides where the addon is looked for (a full path to clearsky_native.node). */
export const ADDON_PATH_VARIABLE = 'CLEARSKY_NATIVE_ADDON';

let loaded: NativeAddon | null | undefined;
let failure = '';

/** Where the built addon may be: beside the sources (tsx, tests) or from a compiled dist/ tree. */
function candidatePaths(): string[] {
  const override = process.env[ADDON_PATH_VARIABLE];
  if (override) return [override];
  const here = dirname(fileURLToPath(import.meta.url));
  return [
    resolve(here, '../../../addon/build/Release', ADDON_FILE),
    resolve(here, '../../../../../native/addon/build/Release', ADDON_FILE),
  ];
}

/**
 * libgomp reads its settings once, when it is loaded with the addon. Passive waiting makes idle OpenMP
 * threads sleep instead of spinning: on a busy machine spinning threads fight other processes for the
 * cores and convolutions were measured 3x slower than with passive waiting.
 */
function configureOpenMp(): void {
  process.env.OMP_WAIT_POLICY ??= 'passive';
}

/** The path of the built addon, or null when it is not built. */
export function nativeAddonPath(): string | null {
  return candidatePaths().find((p) => existsSync(p)) ?? null;
}

/** The addon, or null when it cannot be used (see {@link nativeAddonUnavailableReason}). */
export function loadNativeAddon(): NativeAddon | null {
  if (loaded !== undefined) return loaded;
  const path = nativeAddonPath();
  if (!path) {
    failure = `the native addon is not built (run \`npm run build:native\`; looked for ${candidatePaths().join(', ')})`;
    loaded = null;
    return loaded;
  }
  try {
    configureOpenMp();
    loaded = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (error) {
    // Typically "libdnnl.so.2: cannot open shared object file" when oneDNN is not installed.
    failure = `the native addon at ${path} does not load: ${(error as Error).message}`;
    loaded = null;
  }
  return loaded;
}

/** Why {@link loadNativeAddon} returns null; empty when the addon is available. */
export function nativeAddonUnavailableReason(): string {
  loadNativeAddon();
  return failure;
}
