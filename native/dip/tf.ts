/**
 * The one place the engine imports tfjs from: tfjs-core with every gradient registered.
 *
 * tfjs-core's Node entry registers no gradients (the full `@tensorflow/tfjs` bundle does); ours come from a
 * bundle that `npm install` generates (scripts/bundle-tfjs-gradients.mjs).
 */
import { createRequire } from 'node:module';

createRequire(import.meta.url)('./generated/tfjs-gradients.cjs');

export * from '@tensorflow/tfjs-core';

import { enableProdMode } from '@tensorflow/tfjs-core';

// Production mode skips per-op debug checks and the "install tfjs-node" console banner.
enableProdMode();
