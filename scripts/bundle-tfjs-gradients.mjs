// Bundles tfjs-core's gradient registrations into one CommonJS file the engine can require.
//
// Why: tfjs-core's Node entry (dist/tf-core.node.js) registers no gradients, and its ES-module files use
// extension-less imports that Node cannot load. The bundle carries its own copy of the core modules it
// touches, which is harmless: tfjs keeps the engine and the kernel and gradient registries in globals,
// and recognises tensors across copies, so the gradients land in the one registry everybody uses.
import { buildSync } from 'esbuild';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const corePackage = require.resolve('@tensorflow/tfjs-core/package.json');
buildSync({
  entryPoints: [path.join(path.dirname(corePackage), 'dist/register_all_gradients.js')],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  outfile: path.join(root, 'native/dip/generated/tfjs-gradients.cjs'),
  logLevel: 'error',
});
