/**
 * `npm start`: builds the shell (electron/build.ts) and the renderer when it is missing, then launches
 * Electron on the built main process. Where the Electron binary is not installed (installed with
 * ELECTRON_SKIP_BINARY_DOWNLOAD=1, or an offline machine) it says so in one line, with browser mode as
 * the way to use Clearsky instead, and exits with status 1 — no stack trace.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildElectron, REPO_ROOT } from './build.ts';

/** The Electron binary `node_modules/electron` points to, or why there is none. */
export function findElectronBinary(root = REPO_ROOT, env: NodeJS.ProcessEnv = process.env): { binary: string } | { missing: string } {
  if (env.ELECTRON_OVERRIDE_DIST_PATH) {
    const candidate = path.join(env.ELECTRON_OVERRIDE_DIST_PATH, process.platform === 'win32' ? 'electron.exe' : process.platform === 'darwin' ? 'Electron.app/Contents/MacOS/Electron' : 'electron');
    return existsSync(candidate) ? { binary: candidate } : { missing: `ELECTRON_OVERRIDE_DIST_PATH has no Electron binary (${candidate})` };
  }
  const packageDir = path.join(root, 'node_modules', 'electron');
  if (!existsSync(path.join(packageDir, 'package.json'))) return { missing: 'the electron package is not installed (npm install)' };
  let relative: string;
  try {
    relative = readFileSync(path.join(packageDir, 'path.txt'), 'utf8').trim();
  } catch {
    return { missing: 'the Electron binary was not downloaded (installed with ELECTRON_SKIP_BINARY_DOWNLOAD=1 or offline)' };
  }
  const binary = path.join(packageDir, 'dist', relative);
  return existsSync(binary) ? { binary } : { missing: `the Electron binary is missing (${binary})` };
}

/**
 * Why Electron could not open a project with the installed native modules, or null: better-sqlite3 (the
 * catalogue) is compiled for one ABI, and `npm install` builds it for Node's; Electron 41 has its own. When it
 * loads in this Node and this Node's ABI is not Electron's, the app would fail at the first project.
 */
export function nativeModuleProblem(root = REPO_ROOT): string | null {
  let electronAbi: string;
  try {
    electronAbi = readFileSync(path.join(root, 'node_modules', 'electron', 'abi_version'), 'utf8').trim();
  } catch {
    return null;
  }
  if (electronAbi === process.versions.modules) return null;
  const probe = spawnSync(process.execPath, ['-e', "new (require('better-sqlite3'))(':memory:').close()"], { cwd: root, stdio: 'ignore' });
  if (probe.status !== 0) return null; // not built for this Node: presumably for Electron already
  return (
    `better-sqlite3 is built for Node (ABI ${process.versions.modules}), Electron needs ABI ${electronAbi}: ` +
    'run `npx electron-builder install-app-deps` (needs internet) first, and `npm rebuild better-sqlite3` to go back to Node for the command line and tests'
  );
}

export const BROWSER_MODE_HINT = 'use browser mode instead: npx clearsky serve --project DIR, then open the address it prints';

async function main(): Promise<number> {
  const found = findElectronBinary();
  if ('missing' in found) {
    console.error(`Clearsky: cannot start the desktop app: ${found.missing}; ${BROWSER_MODE_HINT}.`);
    return 1;
  }
  const problem = nativeModuleProblem();
  if (problem) {
    console.error(`Clearsky: cannot start the desktop app: ${problem}; or ${BROWSER_MODE_HINT}.`);
    return 1;
  }
  try {
    await buildElectron();
  } catch (error) {
    console.error(`Clearsky: building the desktop app failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    return 1;
  }
  if (!existsSync(path.join(REPO_ROOT, 'renderer', 'dist', 'index.html'))) {
    const built = spawnSync('npm', ['run', 'build:renderer'], { cwd: REPO_ROOT, stdio: 'inherit', shell: process.platform === 'win32' });
    if (built.status !== 0) {
      console.error('Clearsky: building the renderer failed (npm run build:renderer).');
      return 1;
    }
  }
  const env = { ...process.env };
  delete env.ELECTRON_RUN_AS_NODE;
  const child = spawn(found.binary, [REPO_ROOT, ...process.argv.slice(2)], { stdio: 'inherit', env });
  return new Promise((resolve) => {
    child.on('error', (error) => {
      console.error(`Clearsky: could not launch Electron (${error.message}); ${BROWSER_MODE_HINT}.`);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`Clearsky: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
      process.exit(1);
    },
  );
}
