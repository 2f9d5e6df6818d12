/**
 * The engine's choices: its input modes, and the backends it knows in the order `auto` tries them (best first).
 * Kept apart from modes.ts and backends/select.ts, which load tfjs and the rasters, so that native/api/contract.ts (and
 * through it the renderer) can list them without pulling in the engine.
 */
/** mtfit (beyond the paper): the reference-fit baseline plus the network's correction (modes.ts). */
export const MODES = ['basic', 'ms', 'mt', 'msmt', 'msr', 'mtr', 'mtfit'] as const;
export type Mode = (typeof MODES)[number];
/** The modes that learn from a multi-temporal reference, and cannot run without one. */
export const REFERENCE_MODES: ReadonlySet<Mode> = new Set(['mt', 'msmt', 'mtr', 'mtfit']);
/** The modes that learn from a Sentinel-1 scene, and cannot run without one. */
export const SAR_MODES: ReadonlySet<Mode> = new Set(['ms', 'msmt', 'msr']);

export const AUTO_ORDER = ['tensorflow', 'webgpu', 'native', 'wasm', 'cpu'] as const;
export const BACKEND_CHOICES = ['auto', ...AUTO_ORDER] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
/** The convolutions' arithmetic on the native backend: fp32, or bf16 inputs with fp32 accumulation (backends/select.ts). */
export const PRECISIONS = ['fp32', 'bf16'] as const;
export type Precision = (typeof PRECISIONS)[number];
