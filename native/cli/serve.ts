/** `clearsky serve`: browser mode, the app and its API on 127.0.0.1 behind a token, until Ctrl-C. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../http/server.ts';
import { Workspace } from '../project/workspace.ts';
import { BACKEND, JSON_OUTPUT, integer, optionalInteger, required, type Context, type Options, type ParsedArgs } from './args.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const summary = 'the app in your browser (browser mode, on 127.0.0.1 only)';

export const usage = `clearsky serve [--project DIR] [--root DIR ...] [--port N] [--workers N] [--backend ...] [--json]
               browser mode, on 127.0.0.1 only: open the address it prints (with its token); without
               --project the page opens or creates one; the page's projects, imports and exports
               stay inside the --root folders (default: the home folder)`;

export const options = {
  ...BACKEND, ...JSON_OUTPUT,
  project: { type: 'string' },
  root: { type: 'string', multiple: true },
  port: { type: 'string', default: '0' },
  workers: { type: 'string' },
} satisfies Options;

export async function run({ values: v }: ParsedArgs, context: Context): Promise<number> {
  const workspace = new Workspace(
    { workers: optionalInteger(v.workers, '--workers'), backend: v.backend as string },
    { roots: v.root as string[] | undefined, outsideHint: 'choose a place inside, or start clearsky serve with --root naming another folder' },
  );
  try {
    // Without --project the app starts on its project picker (open or create one from the page). The
    // folder named here is the user's own choice: it may lie outside the roots.
    if (v.project !== undefined) await workspace.unconfined.openProject({ dir: required(v.project, '--project') });
    const renderer = path.join(REPO_ROOT, 'renderer', 'dist');
    const server = await startServer({ api: workspace, projectDir: () => workspace.projectDir, port: integer(v.port, '--port'), staticDir: existsSync(renderer) ? renderer : undefined });
    const what = workspace.projectDir === null ? 'Clearsky (no project open yet)' : `Clearsky serves ${workspace.projectDir}`;
    // The one place the token is shown: the address to open.
    console.log(v.json ? JSON.stringify({ url: server.url, port: server.port, project: workspace.projectDir, roots: workspace.roots }) : `${what} at ${server.url} (Ctrl-C stops)`);
    await new Promise<void>((resolve) => context.signal.addEventListener('abort', () => resolve()));
    await server.close();
  } finally {
    await workspace.close();
  }
  return 0;
}
