/**
 * electron-builder.yml without the Electron binary or the network: loaded and validated by electron-builder's
 * own configuration code (app-builder-lib's getConfig + validateConfiguration, the JSON-schema check that
 * `electron-builder --dir` runs first), and checked for what the app needs at run time: the bundles, the
 * renderer and native/ in the package, native modules and wasm unpacked, the four targets.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { buildElectron } from '../../../electron/build.ts';
import { startApiHost } from '../../../native/project/host-client.ts';
import { REPO_ROOT } from '../../helpers/data.ts';

interface BuilderConfig {
  files?: unknown[];
  asarUnpack?: string[];
  linux?: { target?: string[] };
  win?: { target?: string };
  mac?: { target?: string };
  npmRebuild?: boolean;
  [key: string]: unknown;
}

const require = createRequire(import.meta.url);
const configModule = require('app-builder-lib/out/util/config/config.js') as {
  getConfig(projectDir: string, configPath: string | null, configFromOptions: unknown): Promise<BuilderConfig>;
  validateConfiguration(config: BuilderConfig, debugLogger: unknown): Promise<void>;
};

const { DebugLogger, log, setPrinter } = require('builder-util') as {
  DebugLogger: new (enabled?: boolean) => unknown;
  log: { stream: NodeJS.WritableStream };
  setPrinter(printer: ((message: string) => void) | null): void;
};
// electron-builder logs ("loaded configuration") on stdout, where node:test's child process reports its
// results as serialized messages: a log line written in between can corrupt one, and the whole file fails
// ("Unable to deserialize cloned data"). Its `log.info`/`warn` write to `log.stream`, `log.log` to the printer.
const builderLog: string[] = [];
setPrinter((message) => builderLog.push(message));
log.stream = new Writable({
  write(chunk: Buffer | string, _encoding, done) {
    builderLog.push(String(chunk));
    done();
  },
});

function load(): Promise<BuilderConfig> {
  return configModule.getConfig(REPO_ROOT, path.join(REPO_ROOT, 'electron-builder.yml'), null);
}

function validate(config: BuilderConfig): Promise<void> {
  return configModule.validateConfiguration(config, new DebugLogger(false));
}

/** The `files` patterns, which electron-builder normalises into `[{ filter: [...] }]`. */
function filePatterns(config: BuilderConfig): unknown[] {
  return (config.files ?? []).flatMap((entry: unknown) => (typeof entry === 'string' ? [entry] : ((entry as { filter?: string[] }).filter ?? [])));
}

test('electron-builder accepts electron-builder.yml (its own schema validation)', async () => {
  const config = await load();
  await validate(config);
});

test('the validation used above does reject a broken configuration', async () => {
  const config = { ...(await load()), asarUnpacked: ['**/*.node'] };
  await assert.rejects(validate(config), /asarUnpacked/);
  const misspelt = { ...(await load()), nsis: { oneClik: false } };
  await assert.rejects(validate(misspelt), /configuration\.nsis/);
});

test('the package holds what the app loads, native modules and wasm stay outside the asar', async () => {
  const config = await load();
  const pkg = require(path.join(REPO_ROOT, 'package.json')) as { main: string; devDependencies: Record<string, string>; optionalDependencies: Record<string, string>; dependencies: Record<string, string> };
  assert.equal(pkg.main, 'dist/electron/main.js');
  assert.match(pkg.devDependencies.electron, /^\^?~?41\./);
  assert.ok(pkg.devDependencies['electron-builder'], 'electron-builder is a dev dependency');
  assert.ok(pkg.optionalDependencies['@tensorflow/tfjs-node-gpu'] && !pkg.dependencies['@tensorflow/tfjs-node-gpu'], 'the GPU backend stays optional');
  for (const pattern of ['dist/electron/**', 'renderer/dist/**', 'native/**', 'package.json']) assert.ok(filePatterns(config).includes(pattern), pattern);
  for (const pattern of ['**/*.node', '**/*.wasm']) assert.ok(config.asarUnpack?.includes(pattern), pattern);
  // The webgpu backend's Dawn (dist/<platform>/dawn.node, unpacked by '**/*.node') ships with every install.
  assert.ok(pkg.dependencies.webgpu, 'webgpu (Dawn) is a dependency');
  assert.deepEqual(config.linux?.target, ['AppImage', 'deb']);
  assert.equal(config.win?.target, 'nsis');
  assert.equal(config.mac?.target, 'dmg');
  assert.equal(config.npmRebuild, true, 'native modules are rebuilt for Electronʼs ABI when packaging');
  assert.ok(existsSync(path.join(REPO_ROOT, 'electron', 'main.ts')));
});

test('the build bundles the workspace host beside main, preload and worker; the bundled host runs without tsx', async () => {
  const outdir = path.join(REPO_ROOT, '.tmp', `electron-packaging-${process.pid}`);
  const projects = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-packaging-'));
  try {
    const built = await buildElectron(outdir);
    assert.equal(built.apiHost, path.join(outdir, 'api-host.js'));
    for (const file of [built.main, built.preload, built.apiHost, built.worker]) assert.ok(existsSync(file), file);
    // main.js starts the host by that name (electron/main.ts), and the package holds dist/electron/** (above).
    const main = readFileSync(built.main, 'utf8');
    assert.match(main, /["']api-host\.js["']/);
    // The catalogue is the host's: main needs only the project folder's names (catalogue/layout.ts), so it
    // does not load better-sqlite3 (a native module built for Electron's ABI) at start. The host does.
    assert.doesNotMatch(main, /better-sqlite3/, 'main.js loads better-sqlite3');
    assert.match(readFileSync(built.apiHost, 'utf8'), /from ["']better-sqlite3["']/);
    // Started as the app starts it: no tsx loader, so the bundle must hold every module of native/ it needs.
    const host = startApiHost({ launch: { execPath: process.execPath, script: built.apiHost, env: { ELECTRON_RUN_AS_NODE: '1' } }, service: { jobs: false }, workspace: { roots: [projects] } });
    try {
      assert.equal(await host.project(), null);
      const info = await host.openProject({ dir: path.join(projects, 'packaged'), create: true, name: 'Packaged' });
      assert.equal(info.name, 'Packaged');
      assert.deepEqual(await host.listScenes(), []);
    } finally {
      await host.close();
    }
  } finally {
    await fs.rm(outdir, { recursive: true, force: true });
    await fs.rm(projects, { recursive: true, force: true });
  }
});
