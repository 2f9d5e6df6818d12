/**
 * The set-up the end-to-end tests of the app share: the built renderer, a real project made in a fresh folder
 * with the real files imported through the service (and whatever else `prepare` adds: masks, runs), then a
 * real `clearsky serve --project` on it and Debian's Chromium. `close()` undoes it all.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import type { ImportOutcome } from '../../native/api/contract.ts';
import { createProject } from '../../native/catalogue/project.ts';
import { Service } from '../../native/project/service.ts';
import { buildRenderer, CHROMIUM, launchChromium, startServe, type Served } from './browser.ts';
import { REPO_ROOT } from './data.ts';

export const ARTIFACTS = path.join(REPO_ROOT, 'test/e2e/artifacts');

export interface AppSessionOptions {
  /** Prefix of the temporary folder, e.g. `clearsky-detect-ui-`. */
  prefix: string;
  /** The project's folder inside it (default `project`) and its name. */
  folder?: string;
  name?: string;
  /** Files imported into the project; each must be imported (not a duplicate, not unsure). */
  imports: string[];
  /** More set-up on the open project (masks, runs), before the server opens it. */
  prepare?: (service: Service, imported: ImportOutcome[]) => Promise<void>;
  /** Serve with `--root <the temporary folder>` (the page exports there) and this many workers. */
  root?: boolean;
  workers?: number;
  /** Told what the set-up has done. */
  step?: (what: string) => void;
}

export interface AppSession {
  /** The temporary folder (its real path) and the project in it. */
  work: string;
  projectDir: string;
  server: Served;
  /** The address `clearsky serve` printed, with its token. */
  url: string;
  context: BrowserContext;
  imported: ImportOutcome[];
  close(): Promise<void>;
}

export async function startAppSession(options: AppSessionOptions): Promise<AppSession> {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (scripts/setup does)`);
  const step = options.step ?? (() => undefined);
  await fs.mkdir(ARTIFACTS, { recursive: true });
  const work = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), options.prefix)));
  let server: Served | undefined;
  let context: BrowserContext | undefined;
  const close = async (): Promise<void> => {
    await context?.close();
    await server?.stop(5000);
    await fs.rm(work, { recursive: true, force: true });
  };
  try {
    const projectDir = path.join(work, options.folder ?? 'project');
    await buildRenderer();
    step('renderer built');
    createProject(projectDir, options.name).close();
    const service = Service.open(projectDir, { workers: options.workers ?? 1 });
    let imported: ImportOutcome[];
    try {
      imported = await service.importFiles({ paths: options.imports });
      const bad = imported.filter((o) => o.status !== 'imported');
      assert.deepEqual(bad, [], 'every file is imported');
      await options.prepare?.(service, imported);
    } finally {
      await service.close();
    }
    step(`project ${path.basename(projectDir)}: ${imported.length} records imported`);
    const args = ['--project', projectDir, ...(options.root ? ['--root', work] : []), ...(options.workers !== undefined ? ['--workers', String(options.workers)] : [])];
    server = await startServe(args, REPO_ROOT, 30_000);
    context = await launchChromium(path.join(work, 'chromium-profile'));
    step(`serving ${server.url}`);
    return { work, projectDir, server, url: server.url, context, imported, close };
  } catch (error) {
    await close();
    throw error;
  }
}
