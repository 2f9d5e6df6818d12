/**
 * The WebGPU adapter in Node: Dawn's Node bindings (the `webgpu` package, a Node-API addon that ships as
 * dist/<platform>-<arch>/dawn.node, so neither a download at install nor a rebuild for Electron) provide
 * `navigator.gpu`, which tfjs-backend-webgpu asks for its adapter.
 *
 * Dawn talks to the system's Vulkan loader (libvulkan1) on Linux, D3D12 on Windows, Metal on macOS. Which
 * adapters exist: Dawn lists them (backend and name) when asked for one that does not exist (listWebGpuAdapters);
 * `create` takes `adapter=<name>` to pin a process to the first whose device name contains it, which
 * CLEARSKY_WEBGPU_ADAPTER passes through (the worker pool pins one worker per adapter: native/jobs/pool.ts).
 * On Linux the Vulkan loader's VK_ICD_FILENAMES chooses the drivers Dawn sees at all: the tests point it at
 * Chromium's SwiftShader (a software Vulkan) to run this path on a machine without a GPU.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  /** The driver's own description, e.g. "SwiftShader driver 5.0.0" or "NVIDIA: 550.54.14". */
  description: string;
  /** A CPU implementation (SwiftShader, lavapipe/llvmpipe): slower than our native CPU backend. */
  software: boolean;
}

interface GpuAdapterLike {
  info: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean };
}
interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<GpuAdapterLike | null>;
}

/** Software Vulkan drivers Dawn does not always flag as fallback adapters. */
const SOFTWARE = /swiftshader|llvmpipe|lavapipe|softpipe|software/i;

let opened: Promise<AdapterInfo> | undefined;

/**
 * Loads Dawn into this process (once) and returns the adapter tfjs-backend-webgpu will get: the
 * high-performance one, or the one CLEARSKY_WEBGPU_ADAPTER names. Throws when there is none.
 */
export function openWebGpu(): Promise<AdapterInfo> {
  opened ??= open();
  // A failure is final for this process (Dawn reads the drivers once), but let a later call say so again.
  return opened;
}

/**
 * Which adapter Dawn would give, asked of a short-lived child process. Dawn writes its warnings about drivers it
 * cannot use (e.g. Mesa's lavapipe on a machine without a GPU) straight to stderr, where they would break the
 * command line's one-line messages: `auto` asks here first and loads Dawn into this process only for a
 * hardware adapter it will use.
 */
export async function probeWebGpu(): Promise<AdapterInfo> {
  quietWithoutDesktopSession();
  const env: NodeJS.ProcessEnv = { ...process.env, CLEARSKY_DAWN_URL: import.meta.resolve('webgpu'), CLEARSKY_DAWN_FLAGS: JSON.stringify(adapterFlags()) };
  // Electron's binary runs scripts as Node only when asked to (as the workers are).
  if (process.versions.electron) env.ELECTRON_RUN_AS_NODE = '1';
  const script = `
    const reply = (value) => { process.stdout.write(JSON.stringify(value)); process.exit(0); };
    try {
      const dawn = await import(process.env.CLEARSKY_DAWN_URL);
      const adapter = await dawn.create(JSON.parse(process.env.CLEARSKY_DAWN_FLAGS)).requestAdapter({ powerPreference: 'high-performance' });
      const info = adapter && adapter.info;
      reply(info ? { info: { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description, isFallbackAdapter: info.isFallbackAdapter } } : { info: null });
    } catch (error) {
      reply({ error: String((error && error.message) || error) });
    }`;
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { env, timeout: 60_000 }, (error, out) => (error ? reject(error) : resolve(out)));
  }).catch((error: unknown) => {
    throw new Error(`the WebGPU probe failed (${String((error as Error).message).split('\n')[0]})`);
  });
  const reply = JSON.parse(stdout) as { info?: GpuAdapterLike['info'] | null; error?: string };
  if (reply.error !== undefined) throw new Error(noAdapterNamed(reply.error));
  if (!reply.info) throw new Error(NO_ADAPTER);
  return adapterInfo(reply.info);
}

/** An adapter as Dawn lists it: the backend (vulkan, d3d12, metal) and the device name `adapter=` matches. */
export interface ListedAdapter {
  backend: string;
  name: string;
  software: boolean;
}

/** A name no adapter has: Dawn then rejects, listing every adapter it enumerated. */
const LIST_ADAPTERS = 'clearsky:list-adapters';

/**
 * Every adapter Dawn enumerates for the platform's backend, in the order requestAdapter searches them (by power
 * preference, as Clearsky asks). dawn.node has no call that enumerates adapters: it lists them only in the error
 * for an `adapter=` name none of them has, so a short-lived child asks for one. Synchronous, for the worker pool,
 * which plans its workers before starting them; [] when Dawn or a driver is missing.
 */
export function listWebGpuAdapters(extraEnv: Record<string, string> = {}): ListedAdapter[] {
  const script = `
    let message = '';
    try {
      const dawn = await import(process.env.CLEARSKY_DAWN_URL);
      await dawn.create(JSON.parse(process.env.CLEARSKY_DAWN_FLAGS)).requestAdapter({ powerPreference: 'high-performance' });
    } catch (error) {
      message = String((error && error.message) || error);
    }
    process.stdout.write(JSON.stringify(message));
    process.exit(0);`;
  let message: string;
  try {
    quietWithoutDesktopSession();
    const env: NodeJS.ProcessEnv = { ...process.env, ...extraEnv, CLEARSKY_DAWN_URL: import.meta.resolve('webgpu'), CLEARSKY_DAWN_FLAGS: JSON.stringify([`adapter=${LIST_ADAPTERS}`]) };
    if (process.versions.electron) env.ELECTRON_RUN_AS_NODE = '1';
    message = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { env, timeout: 30_000, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as string;
  } catch {
    // No Dawn for this platform, or a driver that crashes it: no WebGPU adapter to pin workers to.
    return [];
  }
  return [...message.matchAll(/\* backend: '([^']*)', name: '([^']*)'/g)].map(([, backend, name]) => ({ backend, name, software: SOFTWARE.test(name) }));
}

const NO_ADAPTER = 'no WebGPU adapter on this machine (no Vulkan/D3D12/Metal driver found)';

function adapterFlags(): string[] {
  return process.env.CLEARSKY_WEBGPU_ADAPTER ? [`adapter=${process.env.CLEARSKY_WEBGPU_ADAPTER}`] : [];
}

function noAdapterNamed(message: string): string {
  return `no WebGPU adapter named '${process.env.CLEARSKY_WEBGPU_ADAPTER}' (${message.replace(/\s+/g, ' ').trim()})`;
}

function adapterInfo({ vendor, architecture, device, description, isFallbackAdapter }: GpuAdapterLike['info']): AdapterInfo {
  const software = Boolean(isFallbackAdapter) || SOFTWARE.test(`${vendor} ${architecture} ${device} ${description}`);
  return { vendor, architecture, device, description, software };
}

async function open(): Promise<AdapterInfo> {
  let gpu = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
  if (!gpu) {
    // Imported by a name the type checker does not resolve: types.d.ts of `webgpu` pulls in @webgpu/types.
    const dawn = (await import(String('webgpu'))) as { create(flags: string[]): GpuLike; globals: object };
    quietWithoutDesktopSession();
    Object.assign(globalThis, dawn.globals);
    gpu = dawn.create(adapterFlags());
    // Node 20 has no navigator; tfjs-backend-webgpu reads navigator.gpu.
    const navigator = (globalThis as { navigator?: object }).navigator;
    if (navigator) Object.defineProperty(navigator, 'gpu', { value: gpu, configurable: true });
    else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  }
  let adapter: GpuAdapterLike | null;
  try {
    // The same request tfjs-backend-webgpu makes, so this is the adapter it will use.
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (error) {
    // Dawn throws (listing the adapters it has) when CLEARSKY_WEBGPU_ADAPTER names none of them.
    throw new Error(noAdapterNamed(String((error as Error).message ?? error)));
  }
  if (!adapter) throw new Error(NO_ADAPTER);
  return adapterInfo(adapter.info);
}

/**
 * Outside a desktop session (CI, a server, a worker started over SSH) XDG_RUNTIME_DIR is unset, and the Vulkan
 * window-system layers Dawn loads print "error: XDG_RUNTIME_DIR is invalid…" straight to stderr, which would
 * break the command line's one-line errors. Clearsky never draws on a window here: a private runtime folder
 * silences them.
 */
function quietWithoutDesktopSession(): void {
  if (process.env.XDG_RUNTIME_DIR) return;
  const folder = path.join(os.tmpdir(), `clearsky-runtime-${os.userInfo().uid}`);
  try {
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = folder;
  } catch {
    // Only noise on stderr is at stake.
  }
}

/** One line for results and provenance, e.g. "SwiftShader driver 5.0.0; google swiftshader; software". */
export function describeAdapter(info: AdapterInfo): string {
  const parts = [info.description || info.device || 'unnamed adapter', [info.vendor, info.architecture].filter(Boolean).join(' ')];
  if (info.software) parts.push('software');
  return parts.filter(Boolean).join('; ');
}
