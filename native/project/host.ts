/**
 * The workspace host: a process of its own that holds the desktop app's `Workspace` (the SQLite catalogue,
 * import, references, mask edits, export and the job runner with its workers), so that a long command never
 * blocks Electron's main process, which only brokers (window, menu, IPC, protocol). The main process talks to
 * it through native/project/host-client.ts, an ordinary `ClearskyApi`; the messages are listed there.
 *
 * Started with an IPC channel (jobs/pool.ts's way of starting workers: Node with tsx on this file, or in the
 * app Electron's binary with ELECTRON_RUN_AS_NODE=1 on the bundled dist/electron/api-host.js). The first
 * message says how to build the Workspace; every call is checked and answered by native/api/dispatch.ts, as on the
 * other transports; internal errors are logged here, with their stacks (stderr, shared with the parent).
 * It exits when the parent says `close` (after closing the project: runs stop and resume when it is opened
 * again) or when the channel to the parent goes away.
 */
import { call, checkArguments, describe, isCommand, type Outcome } from '../api/dispatch.ts';
import type { ClearskyApi } from '../api/contract.ts';
import { Workspace } from './workspace.ts';
import type { FromHost, ToHost } from './host-client.ts';

if (!process.send) throw new Error('native/project/host.ts runs as a child process with an IPC channel (native/project/host-client.ts starts it)');
const send = (message: FromHost): void => {
  // The parent may be gone already (it is then exiting too): nothing to tell.
  if (process.connected) process.send!(message);
};
const log = (message: string): void => console.error(message);
let workspace: Workspace | undefined;

process.on('disconnect', () => {
  // The parent died without saying close: let the project go as a close would (its runs resume elsewhere).
  void (workspace?.close() ?? Promise.resolve()).finally(() => process.exit(0));
});

process.on('message', (message: ToHost) => {
  if (message.type === 'init') {
    try {
      workspace = new Workspace(message.service, message.workspace);
    } catch (error) {
      // Told before exiting (a send is asynchronous), so the parent hears why.
      process.send!({ type: 'failed', error: describe(error) } satisfies FromHost, () => process.exit(1));
      return;
    }
    workspace.onProjectOpened = (info) => send({ type: 'opened', info });
    workspace.subscribe((event) => send({ type: 'event', event }));
    send({ type: 'ready', pid: process.pid });
  } else if (message.type === 'call') {
    void answer(message.name, message.args, message.unconfined === true).then((outcome) => send({ type: 'reply', id: message.id, outcome }));
  } else if (message.type === 'close') {
    void (workspace?.close() ?? Promise.resolve()).then(
      () => send({ type: 'closed' }),
      (error: unknown) => log(`clearsky host: closing the project failed: ${describe(error)}`),
    ).finally(() => process.disconnect());
  }
});

/** The paths the person at the machine chose (the app's menu dialogs) go around the roots. */
const UNCONFINED = new Set(['openProject', 'importFiles', 'exportResult', 'runReport']);

async function answer(name: string, args: unknown[], unconfined: boolean): Promise<Outcome> {
  if (!workspace) return { ok: false, kind: 'internal', error: `${name}: the workspace host was not started`, message: 'the workspace host was not started' };
  if (!isCommand(name) || (unconfined && !UNCONFINED.has(name))) return { ok: false, kind: 'unknown', error: `unknown command "${String(name).slice(0, 100)}"` };
  // Checked again here: the host trusts no message it did not check (the parent checked them already).
  const checked = checkArguments(name, args);
  if (typeof checked === 'string') return { ok: false, kind: 'arguments', error: checked };
  const api = unconfined ? (workspace.unconfined as ClearskyApi) : workspace;
  return call(api, name, checked.args, log, 'clearsky host');
}
