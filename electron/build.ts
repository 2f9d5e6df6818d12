/**
 * The shell's build: esbuild turns the TypeScript that Electron runs into JavaScript under dist/electron/
 * (Electron runs neither TypeScript nor tsx):
 *
 * - `main.js`: the main process (ESM, Electron 41 runs ESM mains), with native/ bundled in;
 * - `preload.cjs`: the preload (CommonJS: sandboxed preloads cannot be ES modules, nor require packages, so
 *   everything it uses is bundled; only `electron` stays a require);
 * - `api-host.js`: native/project/host.ts, the workspace host (catalogue, import, export, the job runner), which the
 *   main process forks with its own binary and ELECTRON_RUN_AS_NODE=1 so that it never blocks the window;
 * - `worker.js`: native/jobs/worker.ts, which the workspace host forks the same way for DIP work.
 *
 * Packages stay outside the bundles (`node_modules`, with their native modules, ship beside them). Modules
 * of native/ find files next to themselves through `import.meta.url` (package.json, the native addon, the
 * generated gradients): in a bundle that would be the bundle's URL, so each `import.meta.url` is rewritten to
 * the URL of the module's own source file, relative to the bundle. The source tree ships in the package too
 * (electron-builder.yml), so those files are where they were.
 *
 * `node --import tsx electron/build.ts [OUTDIR]` builds; `npm start` builds before launching.
 */
import { build, type Plugin } from 'esbuild';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_OUTDIR = path.join(REPO_ROOT, 'dist', 'electron');

export interface BuildResult {
  main: string;
  preload: string;
  apiHost: string;
  worker: string;
}

/** Rewrites `import.meta.url` in the project's own modules to their source file's URL, relative to `outdir`. */
function sourceUrlPlugin(outdir: string): Plugin {
  return {
    name: 'clearsky-source-url',
    setup(builder) {
      builder.onLoad({ filter: /\.ts$/ }, async (args) => {
        const source = await fs.readFile(args.path, 'utf8');
        if (args.path.includes(`${path.sep}node_modules${path.sep}`) || !source.includes('import.meta.url')) return { contents: source, loader: 'ts' };
        const relative = path.relative(outdir, args.path).split(path.sep).join('/');
        const contents = source.replaceAll('import.meta.url', `new URL(${JSON.stringify(relative)}, import.meta.url).href`);
        return { contents, loader: 'ts' };
      });
    },
  };
}

export async function buildElectron(outdir = DEFAULT_OUTDIR): Promise<BuildResult> {
  await fs.mkdir(outdir, { recursive: true });
  const common = {
    bundle: true,
    platform: 'node' as const,
    target: 'node22',
    sourcemap: 'linked' as const,
    logLevel: 'warning' as const,
    absWorkingDir: REPO_ROOT,
  };
  const result: BuildResult = {
    main: path.join(outdir, 'main.js'),
    preload: path.join(outdir, 'preload.cjs'),
    apiHost: path.join(outdir, 'api-host.js'),
    worker: path.join(outdir, 'worker.js'),
  };
  await Promise.all([
    build({
      ...common,
      entryPoints: [path.join(REPO_ROOT, 'electron', 'main.ts')],
      outfile: result.main,
      format: 'esm',
      packages: 'external',
      external: ['electron'],
      plugins: [sourceUrlPlugin(outdir)],
    }),
    build({
      ...common,
      entryPoints: [path.join(REPO_ROOT, 'native', 'project', 'host.ts')],
      outfile: result.apiHost,
      format: 'esm',
      packages: 'external',
      plugins: [sourceUrlPlugin(outdir)],
    }),
    build({
      ...common,
      entryPoints: [path.join(REPO_ROOT, 'native', 'jobs', 'worker.ts')],
      outfile: result.worker,
      format: 'esm',
      packages: 'external',
      plugins: [sourceUrlPlugin(outdir)],
    }),
    build({
      ...common,
      entryPoints: [path.join(REPO_ROOT, 'electron', 'preload.ts')],
      outfile: result.preload,
      format: 'cjs',
      // zod comes with the command schemas; minified, the preload is a fraction of its size.
      minify: true,
      // Sandboxed preloads get a small `require` that knows `electron` and a few Node built-ins only.
      external: ['electron'],
    }),
  ]);
  return result;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outdir = process.argv[2] ? path.resolve(process.argv[2]) : DEFAULT_OUTDIR;
  buildElectron(outdir).then(
    (built) => console.log(`built ${[built.main, built.preload, built.apiHost, built.worker].map((file) => path.relative(process.cwd(), file)).join(', ')}`),
    (error: unknown) => {
      console.error(`electron build failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
