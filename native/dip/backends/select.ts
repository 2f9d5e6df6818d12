/**
 * Picks the tfjs backend the engine runs on, best first, and says which one it got.
 *
 *   tensorflow  @tensorflow/tfjs-node-gpu (CUDA), then @tensorflow/tfjs-node (libtensorflow on the CPU);
 *               optional dependencies, absent where libtensorflow could not be downloaded at install
 *   webgpu      @tensorflow/tfjs-backend-webgpu on Dawn's Node bindings (`webgpu`, webgpu/adapter.ts) with
 *               our kernels where the stock ones are slow (webgpu/kernels.ts). `auto` takes it only on a
 *               hardware adapter: a software one (SwiftShader, lavapipe) is slower than `native`, but
 *               `--backend webgpu` uses it (that is how a machine without a GPU tests this path)
 *   native      'clearsky-cpu': tfjs' cpu backend with convolutions on oneDNN through our addon, in fp32 or
 *               (precision 'bf16', CPUs with AVX512-BF16 or AMX) bf16 inputs with fp32 accumulation
 *   wasm        tfjs wasm with the training kernels it lacks registered by us
 *   cpu         tfjs' plain JavaScript backend: complete but very slow for training
 */
import * as tf from '../tf.ts';
import { AUTO_ORDER, BACKEND_CHOICES, PRECISIONS, type BackendChoice, type Precision } from '../choices.ts';
import { InputError } from '../../errors.ts';
import type { AdapterInfo } from './webgpu/adapter.ts';

export type { AdapterInfo };

export interface BackendInfo {
  /** What the user asked for or got: one of BACKEND_CHOICES other than 'auto'. */
  choice: Exclude<BackendChoice, 'auto'>;
  /** The tfjs backend name now active. */
  tfBackend: string;
  /** A human description, e.g. "tensorflow (CUDA)". */
  description: string;
  /** Why better backends were passed over (for --backend auto). */
  skipped: string[];
  /** The GPU the webgpu backend runs on (vendor, architecture, driver). */
  adapter?: AdapterInfo;
  /** The native backend's convolution arithmetic. */
  precision?: Precision;
}

export interface BackendOptions {
  /** Native backend only; default {@link defaultNativePrecision}. */
  precision?: Precision;
}

/**
 * The native backend's precision when none is asked for: fp32. bf16 convolutions were measured faster on
 * 256² training steps but slower on 128² ones, and not level with fp32 in quality on Slovenia (masked SSIM
 * of mtfit 0.0017 lower; docs/measurements.md, "bf16 convolutions"), so they stay opt-in.
 */
export function defaultNativePrecision(): Precision {
  return 'fp32';
}

/** `auto`: whether auto is asking (it passes over a software GPU adapter). */
type Attempt = (auto: boolean, options: BackendOptions) => Promise<{ tfBackend: string; description: string; adapter?: AdapterInfo; precision?: Precision }>;

const attempts: Record<Exclude<BackendChoice, 'auto'>, Attempt> = {
  tensorflow: async () => {
    const failures: string[] = [];
    for (const [pkg, description] of [['@tensorflow/tfjs-node-gpu', 'tensorflow (CUDA)'], ['@tensorflow/tfjs-node', 'tensorflow (CPU)']]) {
      try {
        await importOptional(pkg);
        if (await tf.setBackend('tensorflow')) return { tfBackend: 'tensorflow', description };
        failures.push(`${pkg} loaded but its backend did not start`);
      } catch (error) {
        failures.push(`${pkg} not available (${firstLine(error)})`);
      }
    }
    throw new Error(failures.join('; '));
  },
  webgpu: async (auto) => {
    const { openWebGpu, probeWebGpu, describeAdapter } = await import('./webgpu/adapter.ts');
    if (auto) {
      const probed = await probeWebGpu();
      if (probed.software) throw new Error(`only a software adapter (${describeAdapter(probed)}), slower than the CPU backends; --backend webgpu uses it`);
    }
    const adapter = await openWebGpu();
    const description = `webgpu (${describeAdapter(adapter)})`;
    await import('@tensorflow/tfjs-backend-webgpu');
    const { registerWebGpuKernels } = await import('./webgpu/kernels.ts');
    registerWebGpuKernels();
    if (!(await tf.setBackend('webgpu'))) throw new Error('the webgpu backend did not start');
    return { tfBackend: 'webgpu', description, adapter };
  },
  native: async (_auto, options) => {
    const { registerNativeCpuBackend, nativeCpuUnavailableReason } = await import('./native/cpu.ts');
    const { loadNativeAddon } = await import('./native/addon.ts');
    if (!registerNativeCpuBackend()) throw new Error(nativeCpuUnavailableReason());
    const addon = loadNativeAddon()!;
    const precision = options.precision ?? defaultNativePrecision();
    if (precision === 'bf16' && !addon.info().bf16) {
      throw new InputError(undefined, '--precision bf16: this CPU has no bf16 instructions (AVX512-BF16 or AMX); use --precision fp32');
    }
    // Set every time: the addon keeps the last precision for the whole process. An addon built before
    // precisions existed (not rebuilt yet) has only fp32 and no setter.
    if (precision === 'bf16' || typeof addon.setConvPrecision === 'function') addon.setConvPrecision(precision === 'bf16' ? 1 : 0);
    if (!(await tf.setBackend('clearsky-cpu'))) throw new Error('the clearsky-cpu backend did not start');
    return { tfBackend: 'clearsky-cpu', description: `native (oneDNN CPU${precision === 'bf16' ? ', bf16 convolutions' : ''})`, precision };
  },
  wasm: async () => {
    await import('@tensorflow/tfjs-backend-wasm');
    const { registerWasmTrainingKernels } = await import('./wasm/kernels.ts');
    registerWasmTrainingKernels();
    if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not start');
    return { tfBackend: 'wasm', description: 'wasm (SIMD)' };
  },
  cpu: async () => {
    await import('@tensorflow/tfjs-backend-cpu');
    if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not start');
    return { tfBackend: 'cpu', description: 'cpu (JavaScript)' };
  },
};

/**
 * Activates a backend; with 'auto' the first that works. Throws when an explicit choice is unavailable, and
 * an InputError when a precision is asked of a backend that cannot give it (bf16: native only, on a CPU
 * with bf16 instructions; with 'auto' it means native).
 */
export async function selectBackend(choice: BackendChoice = 'auto', options: BackendOptions = {}): Promise<BackendInfo> {
  const bf16 = options.precision === 'bf16';
  if (bf16 && choice !== 'auto' && choice !== 'native') {
    throw new InputError(undefined, `--precision bf16 needs --backend native (bf16 convolutions are the oneDNN CPU backend's), not ${choice}`);
  }
  const order: readonly Exclude<BackendChoice, 'auto'>[] = choice === 'auto' && !bf16 ? AUTO_ORDER : [choice === 'auto' ? 'native' : choice];
  const skipped: string[] = [];
  for (const candidate of order) {
    try {
      const { tfBackend, description, adapter, precision } = await attempts[candidate](choice === 'auto', options);
      await tf.ready();
      return { choice: candidate, tfBackend, description, skipped, ...(adapter ? { adapter } : {}), ...(precision ? { precision } : {}) };
    } catch (error) {
      if (error instanceof InputError) throw error;
      skipped.push(`${candidate}: ${firstLine(error)}`);
    }
  }
  throw new Error(`backend ${choice} is not available here: ${skipped.join('; ')}`);
}

/**
 * What `auto` picks on this machine and every explicit choice that works, by starting each in turn. This
 * activates backends (tensorflow loads libtensorflow and CUDA, webgpu asks for an adapter): call it in a
 * throwaway process (native/jobs/pool.ts `probeBackends`), never in one that keeps working afterwards.
 */
export async function detectBackends(): Promise<{ detected: Exclude<BackendChoice, 'auto'>; available: Exclude<BackendChoice, 'auto'>[] }> {
  const available: Exclude<BackendChoice, 'auto'>[] = [];
  let detected: Exclude<BackendChoice, 'auto'> | undefined;
  for (const choice of AUTO_ORDER) {
    // auto takes the first that works for auto, in this same order; an explicit choice may work where auto
    // passes it over (webgpu on a software adapter).
    for (const auto of detected ? [false] : [true, false]) {
      try {
        await attempts[choice](auto, {});
        await tf.ready();
        if (auto) detected = choice;
        available.push(choice);
        break;
      } catch {
        // not available here (to auto, or at all)
      }
    }
  }
  if (!detected) throw new Error('no backend is available here');
  return { detected, available };
}

export function parseBackendChoice(text: string): BackendChoice {
  if (!(BACKEND_CHOICES as readonly string[]).includes(text)) {
    throw new Error(`unknown backend '${text}' (expected one of ${BACKEND_CHOICES.join(', ')})`);
  }
  return text as BackendChoice;
}

export function parsePrecision(text: string): Precision {
  if (!(PRECISIONS as readonly string[]).includes(text)) {
    throw new InputError(undefined, `--precision must be one of ${PRECISIONS.join(', ')}, not '${text}'`);
  }
  return text as Precision;
}

/** Imports an optional package by a name the type checker does not resolve (it may not be installed). */
async function importOptional(name: string): Promise<unknown> {
  return import(name);
}

function firstLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split('\n')[0];
}
