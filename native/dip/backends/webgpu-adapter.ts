/**
 * The WebGPU adapter in Node: Dawn's Node bindings (the `webgpu` package, a Node-API addon that ships as
 * dist/<platform>-<arch>/dawn.node, so neither a download at install nor a rebuild for Electron) provide
 * `navigator.gpu`, which tfjs-backend-webgpu asks for its adapter.
 *
 * Dawn talks to the system's Vulkan loader (libvulkan1) on Linux, D3D12 on Windows, Metal on macOS. Which
 * adapters exist: Dawn lists them (backend and name) when asked for one that does not exist; `create` takes
 * `adapter=<name>` to pin a process to one, which CLEARSKY_WEBGPU_ADAPTER passes through (one worker per
 * GPU). On Linux the Vulkan loader's VK_ICD_FILENAMES chooses the drivers Dawn sees at all: the tests point
 * it at Chromium's SwiftShader (a software Vulkan) to run this path on a machine without a GPU.
 */

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

async function open(): Promise<AdapterInfo> {
  let gpu = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
  if (!gpu) {
    // Imported by a name the type checker does not resolve: types.d.ts of `webgpu` pulls in @webgpu/types.
    const dawn = (await import(String('webgpu'))) as { create(flags: string[]): GpuLike; globals: object };
    const flags = process.env.CLEARSKY_WEBGPU_ADAPTER ? [`adapter=${process.env.CLEARSKY_WEBGPU_ADAPTER}`] : [];
    Object.assign(globalThis, dawn.globals);
    gpu = dawn.create(flags);
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
    throw new Error(`no WebGPU adapter named '${process.env.CLEARSKY_WEBGPU_ADAPTER}' (${String((error as Error).message ?? error).replace(/\s+/g, ' ').trim()})`);
  }
  if (!adapter) throw new Error('no WebGPU adapter on this machine (no Vulkan/D3D12/Metal driver found)');
  const { vendor, architecture, device, description, isFallbackAdapter } = adapter.info;
  const software = Boolean(isFallbackAdapter) || SOFTWARE.test(`${vendor} ${architecture} ${device} ${description}`);
  return { vendor, architecture, device, description, software };
}

/** One line for results and provenance, e.g. "SwiftShader driver 5.0.0; google swiftshader; software". */
export function describeAdapter(info: AdapterInfo): string {
  const parts = [info.description || info.device || 'unnamed adapter', [info.vendor, info.architecture].filter(Boolean).join(' ')];
  if (info.software) parts.push('software');
  return parts.filter(Boolean).join('; ');
}
