/**
 * The backends the engine knows, in the order `auto` tries them (best first). Kept apart from select.ts, which
 * loads tfjs, so that native/api.ts (and through it the renderer) can list them without pulling in the engine.
 */
export const AUTO_ORDER = ['tensorflow', 'webgpu', 'native', 'wasm', 'cpu'] as const;
export const BACKEND_CHOICES = ['auto', ...AUTO_ORDER] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
