/**
 * What the end-to-end tests share: the built renderer, a real `clearsky serve`, Debian's Chromium (never a
 * downloaded browser) with the flags that make OpenLayers' WebGL render through SwiftShader, a watch for
 * anything going wrong in the page, and a progress log. What they measure on screenshots is in screenshot.ts.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { REPO_ROOT } from './data.ts';

/** Re-exported for test/bench/pan.bench.ts, which imports it from here. */
export type { Box } from './screenshot.ts';

export const CHROMIUM = process.env.CLEARSKY_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A progress logger for a test file: `step('what')` prints `# 12.3 s: what`, the seconds since `stepClock()` was called. */
export function stepClock(): (what: string) => void {
  const started = Date.now();
  return (what) => console.log(`# ${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`);
}

export async function buildRenderer(): Promise<void> {
  await promisify(execFile)(process.execPath, [path.join(REPO_ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'renderer/vite.config.ts', '--logLevel', 'warn'], {
    cwd: REPO_ROOT,
    maxBuffer: 1 << 24,
  });
}

export interface Served {
  url: string;
  process: ChildProcess;
  /** Ctrl-C as a user would, then a kill if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts `clearsky serve --port 0 --json ARGS` and waits for the address it prints. */
export async function startServe(args: string[], cwd: string, timeoutMs = 60_000): Promise<Served> {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/clearsky.js'), 'serve', ...args, '--port', '0', '--json'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const stop = async (graceMs = 10_000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`clearsky serve printed no address in ${timeoutMs / 1000} s: ${stderr}`)), timeoutMs);
    child.once('exit', (code) => reject(new Error(`clearsky serve exited with ${code}: ${stderr}`)));
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { url: string }).url);
    });
  }).catch(async (error: unknown) => {
    await stop(1000);
    throw error;
  });
  return { url, process: child, stop };
}

/** Headless Chromium with a fresh profile in `profileDir`, 1280 × 800. */
export async function launchChromium(profileDir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    timeout: 60_000,
    args: CHROMIUM_ARGS,
  });
}

/** Collects console errors, page errors, failed requests, HTTP errors and requests to hosts other than 127.0.0.1. */
export function watchPage(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => {
    // The event stream is aborted when the page closes; anything else failing is a problem.
    if (!request.url().endsWith('/api/events')) problems.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`);
  });
  page.on('request', (request) => {
    const requestUrl = new URL(request.url());
    if (!['127.0.0.1', ''].includes(requestUrl.hostname) && !['data:', 'blob:'].includes(requestUrl.protocol)) problems.push(`request to another host: ${request.url()}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
  });
  return problems;
}
