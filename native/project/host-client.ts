/**
 * The desktop app's `ClearskyApi` in the main process: a proxy of the `Workspace` that runs in the workspace
 * host, a child process of its own (native/project/host.ts), so that an import, a reference build or an export
 * never freezes the window. Calls and their answers, the API's events and "a project was opened" travel over
 * the child's IPC channel (V8's structured clone: the same values the Workspace gives in-process).
 *
 * It has what electron/main.ts used of the Workspace: `projectDir` (known here as soon as a project opened, for
 * the protocol handler, which asks synchronously), `onProjectOpened`, `unconfined` (the menu's own paths) and
 * `close`. Errors come back as they are in-process: an `InputError` with the host's one-line message for the
 * user's errors; an Error with the first line of the host's message for the others (the host logged its stack).
 *
 * If the host dies (a crash, a `kill -9`), it is started again at once, the project that was open is opened
 * again (its catalogue is SQLite, and the dead host's runs are taken over through their leases), and
 * `onRestart` says so; the calls that were in flight fail, the next ones work. A host that keeps dying
 * (MAX_FAILED_STARTS times in a row before it could answer, or soon after) is not started again: every call
 * then fails saying why.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMANDS, type ApiEvent, type ClearskyApi, type CommandName, type ProjectInfo } from '../api/contract.ts';
import type { Outcome } from '../api/dispatch.ts';
import { CancelledError, InputError } from '../errors.ts';
import type { WorkerLaunch } from '../jobs/pool.ts';
import type { ServiceOptions } from './service.ts';
import type { UnconfinedApi, WorkspaceOptions } from './workspace.ts';

const HOST = path.join(path.dirname(fileURLToPath(import.meta.url)), 'host.ts');
/** Hosts that die before they are ready this many times in a row mean a broken installation, not bad luck. */
export const MAX_FAILED_STARTS = 3;
/** A host that stops within this long of being ready counts towards MAX_FAILED_STARTS too (a crash at every open). */
const SHORT_LIFE_MS = 10_000;
/** How long `close` waits for the host to close its project before it is killed. */
const CLOSE_TIMEOUT_MS = 30_000;

/** Messages from the main process to the host. */
export type ToHost =
  /** First: how to build the Workspace (plain values only: they cross the process boundary). */
  | { type: 'init'; service: ServiceOptions; workspace: WorkspaceOptions }
  /** A command; `unconfined`: one of the menu's own paths (openProject, importFiles, exportResult). */
  | { type: 'call'; id: number; name: string; args: unknown[]; unconfined?: boolean }
  | { type: 'close' };

/** Messages from the host to the main process. */
export type FromHost =
  | { type: 'ready'; pid: number }
  /** The Workspace could not be built (e.g. a root folder is missing); the host exits. */
  | { type: 'failed'; error: string }
  | { type: 'reply'; id: number; outcome: Outcome }
  | { type: 'event'; event: ApiEvent }
  /** Sent before the reply of the call that opened it. */
  | { type: 'opened'; info: ProjectInfo }
  | { type: 'closed' };

export interface ApiHostOptions {
  /** How the host is started (default: this Node with tsx on native/project/host.ts); the app gives its own binary and the bundled host. */
  launch?: WorkerLaunch;
  /** The host's Workspace's service options (its workers' launch, their number, …). */
  service?: ServiceOptions;
  workspace?: WorkspaceOptions;
  /** Where the proxy says what happened to the host (default stderr). */
  log?: (message: string) => void;
}

interface Pending {
  child: ChildProcess;
  name: string;
  resolve: (outcome: Outcome) => void;
  reject: (error: Error) => void;
}

/** The proxy without its command methods (startApiHost adds one per command). */
export class ApiHost implements Pick<ClearskyApi, 'subscribe'> {
  private child: ChildProcess | undefined;
  /** Settles once the current host is ready (and the project reopened after a restart); calls wait for it. */
  private ready: Promise<void>;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<(event: ApiEvent) => void>();
  private nextId = 1;
  private dir: string | null = null;
  /** When the current host became ready, and how many hosts in a row stopped soon after. */
  private readyAt = 0;
  private shortLives = 0;
  private closing: Promise<void> | undefined;
  private readonly log: (message: string) => void;
  /** Told after each project was opened, before `openProject` answers (as the Workspace's own). */
  onProjectOpened: (info: ProjectInfo) => void = () => undefined;
  /** Told after the host stopped unexpectedly and was started again: why it stopped, and the project reopened (or null). */
  onRestart: (reason: string, reopened: string | null) => void = () => undefined;

  constructor(private readonly options: ApiHostOptions = {}) {
    this.log = options.log ?? ((message: string) => console.error(message));
    this.ready = this.launch(null);
    this.ready.catch(() => undefined); // answered to each call that waits for it
  }

  /** The open project's folder (absolute), or null, as the host last said. */
  get projectDir(): string | null {
    return this.dir;
  }

  /** The host's process id (undefined while none runs). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Resolves once the host is ready to answer (rejects when it cannot start). */
  whenReady(): Promise<void> {
    return this.ready;
  }

  readonly unconfined: UnconfinedApi = {
    openProject: (request) => this.command('openProject', [request], true) as Promise<ProjectInfo>,
    importFiles: (request) => this.command('importFiles', [request], true) as ReturnType<UnconfinedApi['importFiles']>,
    importFolder: (request) => this.command('importFolder', [request], true) as ReturnType<UnconfinedApi['importFolder']>,
    exportResult: (request) => this.command('exportResult', [request], true) as ReturnType<UnconfinedApi['exportResult']>,
    runReport: (request) => this.command('runReport', [request], true) as ReturnType<UnconfinedApi['runReport']>,
  };

  subscribe(listener: (event: ApiEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Closes the host's project (its runs stop and resume when it is opened again) and ends the host. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.ready.catch(() => undefined);
      const child = this.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const timer = setTimeout(() => child.kill('SIGKILL'), CLOSE_TIMEOUT_MS);
      child.send({ type: 'close' } satisfies ToHost);
      await exited;
      clearTimeout(timer);
    })();
    return this.closing;
  }

  /** Calls the host's command `name` (its arguments are checked there). */
  async command(name: CommandName, args: unknown[], unconfined = false): Promise<unknown> {
    if (this.closing) throw new Error(`${name}: the workspace is closed`);
    await this.ready;
    const child = this.child;
    if (!child) throw new Error(`${name}: the workspace process is not running`);
    const outcome = await this.request(child, name, args, unconfined);
    if (outcome.ok) return outcome.value;
    if (outcome.kind === 'internal') throw new Error(outcome.message);
    if (outcome.kind === 'cancelled') throw new CancelledError(outcome.error);
    throw new InputError(undefined, outcome.error);
  }

  private request(child: ChildProcess, name: string, args: unknown[], unconfined: boolean): Promise<Outcome> {
    return new Promise<Outcome>((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { child, name, resolve, reject });
      child.send({ type: 'call', id, name, args, ...(unconfined ? { unconfined } : {}) } satisfies ToHost, (error) => {
        if (error && this.pending.delete(id)) reject(new Error(`the workspace process could not be reached (${error.message})`));
      });
    });
  }

  /** Starts a host (trying again when it dies before it is ready), then reopens `reopen` in it. */
  private async launch(reopen: string | null): Promise<void> {
    let child: ChildProcess;
    for (let attempt = 1; ; attempt++) {
      try {
        child = await this.spawn();
        this.child = child;
        this.readyAt = Date.now();
        break;
      } catch (error) {
        if (attempt >= MAX_FAILED_STARTS || this.closing) {
          const reason = error instanceof Error ? error.message : String(error);
          throw new Error(`the workspace process cannot start (${attempt} tries): ${reason}`);
        }
      }
    }
    if (reopen === null) return;
    const outcome = await this.request(child, 'openProject', [{ dir: reopen }], true);
    if (!outcome.ok) {
      this.log(`clearsky: ${reopen} could not be opened again: ${outcome.kind === 'internal' ? outcome.message : outcome.error}`);
      this.dir = null;
    }
  }

  private spawn(): Promise<ChildProcess> {
    const launch = this.options.launch;
    const child = fork(launch?.script ?? HOST, [], {
      execPath: launch?.execPath,
      execArgv: launch ? (launch.execArgv ?? []) : ['--import', import.meta.resolve('tsx')],
      env: { ...process.env, ...launch?.env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    return new Promise<ChildProcess>((resolve, reject) => {
      let ready = false;
      child.on('message', (message: FromHost) => {
        if (message.type === 'ready') {
          ready = true;
          resolve(child);
        } else if (message.type === 'failed') reject(new Error(message.error.split('\n')[0]));
        else this.receive(message);
      });
      child.on('error', (error) => {
        if (!ready) reject(error);
        else this.log(`clearsky: the workspace process: ${error.message}`);
      });
      child.on('exit', (code, signal) => {
        const reason = signal ? `killed by ${signal}` : `exit code ${code}`;
        if (!ready) reject(new Error(`it stopped before it was ready (${reason})`));
        else this.exited(child, reason);
      });
      child.send({ type: 'init', service: this.options.service ?? {}, workspace: this.options.workspace ?? {} } satisfies ToHost);
    });
  }

  private receive(message: FromHost): void {
    if (message.type === 'reply') {
      const pending = this.pending.get(message.id);
      this.pending.delete(message.id);
      pending?.resolve(message.outcome);
    } else if (message.type === 'event') {
      for (const listener of [...this.listeners]) {
        try {
          listener(message.event);
        } catch {
          // One broken listener must not stop the others.
        }
      }
    } else if (message.type === 'opened') {
      this.dir = message.info.dir;
      try {
        this.onProjectOpened(message.info);
      } catch (error) {
        this.log(`clearsky: after opening ${message.info.dir}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      }
    }
  }

  /** A ready host ended: what it was doing fails; unless the proxy is closing, a new host takes over. */
  private exited(child: ChildProcess, reason: string): void {
    if (child !== this.child) return;
    this.child = undefined;
    for (const [id, pending] of this.pending) {
      if (pending.child !== child) continue;
      this.pending.delete(id);
      pending.reject(new Error(this.closing ? `${pending.name}: the workspace is closed` : `the workspace process stopped (${reason}) during ${pending.name}; it was started again`));
    }
    if (this.closing) return;
    this.shortLives = Date.now() - this.readyAt < SHORT_LIFE_MS ? this.shortLives + 1 : 0;
    if (this.shortLives >= MAX_FAILED_STARTS) {
      const message = `the workspace process keeps stopping (${reason}, ${this.shortLives} times in a row soon after it started): it is not started again; quit and restart Clearsky`;
      this.log(`clearsky: ${message}`);
      this.ready = Promise.reject(new Error(message));
      this.ready.catch(() => undefined);
      return;
    }
    const reopen = this.dir;
    this.log(`clearsky: the workspace process stopped (${reason}); starting it again${reopen ? ` and reopening ${reopen}` : ''}`);
    this.ready = this.launch(reopen).then(
      () => {
        try {
          this.onRestart(reason, this.dir);
        } catch (error) {
          this.log(`clearsky: after restarting the workspace process: ${String(error)}`);
        }
      },
      (error: unknown) => {
        this.log(`clearsky: ${error instanceof Error ? error.message : String(error)}`);
        throw error;
      },
    );
    this.ready.catch(() => undefined);
  }
}

/** A `ClearskyApi` over a new workspace host process (started now; calls wait until it is ready). */
export type ApiHostClient = ApiHost & ClearskyApi;

export function startApiHost(options: ApiHostOptions = {}): ApiHostClient {
  const host = new ApiHost(options);
  // One method per command of COMMANDS, as the preload and the HTTP client build theirs: new commands need nothing here.
  const methods = Object.fromEntries((Object.keys(COMMANDS) as CommandName[]).map((name) => [name, (...args: unknown[]) => host.command(name, args)]));
  return Object.assign(host, methods) as unknown as ApiHostClient;
}
