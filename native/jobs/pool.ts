/**
 * A pool of worker processes (native/jobs/worker.ts), each loading the engine once and doing one task at a time.
 * A worker that dies is replaced, and whoever gave it the task hears that the task failed. Workers are forked
 * child processes with an IPC channel, in the desktop app too (Electron's binary as Node: see `WorkerLaunch`).
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FromWorker, ProbeAnswer, Task } from './protocol.ts';
import { listWebGpuAdapters, type ListedAdapter } from '../dip/backends/webgpu/adapter.ts';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker.ts');
// Resolved here, not by the worker: `--import tsx` would be looked up from the current folder, which can be anywhere.
const TSX = import.meta.resolve('tsx');
/** Workers that die before they are ready this many times in a row mean a broken installation, not bad luck. */
const MAX_FAILED_STARTS = 3;

/**
 * How worker processes are started when not this Node with tsx on native/jobs/worker.ts: the Electron shell gives
 * its own binary (`process.execPath` with ELECTRON_RUN_AS_NODE=1) and the worker bundled to JavaScript.
 */
export interface WorkerLaunch {
  /** The executable (default: this process's). */
  execPath?: string;
  /** The worker script (JavaScript: no tsx loader is added). */
  script: string;
  /** Flags for the executable (default none). */
  execArgv?: string[];
  /** Added to the worker's environment, e.g. `{ ELECTRON_RUN_AS_NODE: '1' }`. */
  env?: Record<string, string>;
}

export interface PoolOptions {
  /** How workers are started (default: `node --import tsx native/jobs/worker.ts`). */
  launch?: WorkerLaunch;
  /** How many workers. Default: one per GPU where the GPU backend can run, else one per two cores. */
  workers?: number;
  /** GPU device ids to pin workers to (default: CLEARSKY_GPUS, else `nvidia-smi -L` when tfjs-node-gpu is installed). */
  gpus?: string[];
  /**
   * WebGPU adapters as Dawn lists them (default: asked of Dawn when the backend is webgpu or auto and no CUDA
   * GPU is pinned, unless CLEARSKY_WEBGPU_ADAPTER already pins every worker).
   */
  webgpuAdapters?: ListedAdapter[];
  /** Backend choice for the workers ('auto' by default). */
  backend?: string;
  /** Called for every message a worker sends, with the worker's name. */
  onMessage(worker: string, message: FromWorker): void;
  /** A worker died while doing `task` (undefined when it was idle). */
  onCrash(worker: string, task: Task | undefined, reason: string): void;
  /** Workers cannot start at all; the pool has stopped trying. */
  onBroken(reason: string): void;
}

interface Slot {
  name: string;
  child: ChildProcess;
  ready: boolean;
  task: Task | undefined;
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private closing = false;
  private counter = 0;
  private failedStarts = 0;
  private broken = false;
  readonly size: number;
  /** What each worker's environment adds (its threads, the GPU it is pinned to). */
  readonly plan: WorkerEnvironment[];

  constructor(private readonly options: PoolOptions) {
    const backend = options.backend ?? 'auto';
    const gpus = backend === 'tensorflow' || backend === 'auto' ? (options.gpus ?? detectGpus()) : [];
    let adapters: string[] = [];
    if (gpus.length === 0 && (backend === 'webgpu' || backend === 'auto') && (options.webgpuAdapters || !process.env.CLEARSKY_WEBGPU_ADAPTER)) {
      // auto takes webgpu only on a hardware adapter; --backend webgpu takes a software one when there is nothing else.
      const { pins, unpinnable } = webgpuPins(options.webgpuAdapters ?? listWebGpuAdapters(options.launch?.env), backend === 'webgpu');
      if (unpinnable.length > 0) console.warn(`clearsky: Dawn cannot tell these WebGPU adapters from one listed before them by name, so no worker runs on them: ${unpinnable.join(', ')}`);
      adapters = pins;
    }
    this.plan = workerPlan(os.availableParallelism(), gpus, options.workers, adapters);
    this.size = this.plan.length;
    for (let i = 0; i < this.size; i++) this.slots.push(this.spawn(i));
  }

  /** A worker that is ready and has nothing to do, or undefined. */
  idle(): string | undefined {
    return this.slots.find((s) => s.ready && !s.task && !this.closing)?.name;
  }

  /** The runs the workers are busy with. */
  busyRuns(): number[] {
    return [...new Set(this.slots.flatMap((s) => (s.task ? [s.task.run.runId] : [])))];
  }

  /** The process id of a worker busy with the run (for diagnostics and tests), if any. */
  pidBusyWith(runId: number): number | undefined {
    return this.slots.find((s) => s.task?.run.runId === runId)?.child.pid;
  }

  assign(worker: string, task: Task): void {
    const slot = this.slot(worker);
    slot.task = task;
    slot.child.send({ type: 'task', task });
  }

  /** Asks the workers busy with a run to stop; one that has not stopped within `graceMs` is killed (and replaced). */
  cancel(runId: number, graceMs = 1000): void {
    for (const slot of this.slots.filter((s) => s.task?.run.runId === runId)) {
      slot.child.send({ type: 'cancel', runId });
      const child = slot.child;
      // The same task, not just the same run: a run resumed at once may already have its next tile on this worker.
      const task = slot.task;
      setTimeout(() => {
        if (slot.child === child && slot.task === task) child.kill('SIGKILL');
      }, graceMs).unref();
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.slots.map(
        (slot) =>
          new Promise<void>((resolve) => {
            if (slot.child.exitCode !== null || slot.child.signalCode !== null) return resolve();
            slot.child.once('exit', () => resolve());
            slot.child.kill('SIGTERM');
          }),
      ),
    );
  }

  private slot(name: string): Slot {
    const slot = this.slots.find((s) => s.name === name);
    if (!slot) throw new RangeError(`no worker ${name}`);
    return slot;
  }

  private spawn(position: number): Slot {
    const name = `worker-${++this.counter}`;
    const launch = this.options.launch;
    const child = fork(launch?.script ?? WORKER, [], {
      execPath: launch?.execPath,
      execArgv: launch ? (launch.execArgv ?? []) : ['--import', TSX],
      env: { ...process.env, ...launch?.env, CLEARSKY_WORKER_BACKEND: this.options.backend ?? 'auto', ...this.plan[position] },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
    });
    const slot: Slot = { name, child, ready: false, task: undefined };
    child.on('message', (message: FromWorker) => {
      if (message.type === 'ready') {
        slot.ready = true;
        this.failedStarts = 0;
      }
      if (message.type === 'done' || message.type === 'failed') slot.task = undefined;
      this.options.onMessage(name, message);
    });
    child.on('exit', (code, signal) => {
      const index = this.slots.indexOf(slot);
      if (index < 0) return;
      const task = slot.task;
      slot.task = undefined;
      if (this.closing || this.broken) return;
      const reason = signal ? `worker killed by ${signal}` : `worker exited with code ${code}`;
      if (!slot.ready && ++this.failedStarts >= MAX_FAILED_STARTS) {
        this.broken = true;
        this.options.onBroken(`the worker process cannot start (${reason}, ${this.failedStarts} times; its error is on stderr)`);
        return;
      }
      this.slots[index] = this.spawn(index);
      this.options.onCrash(name, task, reason);
    });
    return slot;
  }
}

/** What each worker's environment adds: its share of the CPU threads, and with GPUs its own device. */
export type WorkerEnvironment = Record<string, string>;

/**
 * One worker per GPU, each pinned to its device, when there are GPUs: CUDA ones by id (CUDA_VISIBLE_DEVICES),
 * else WebGPU adapters by Dawn's name for them (CLEARSKY_WEBGPU_ADAPTER); otherwise the requested number
 * (default one per two cores), each worker's native backend given its share of the cores.
 */
export function workerPlan(cores: number, gpus: readonly string[], requested?: number, webgpuAdapters: readonly string[] = []): WorkerEnvironment[] {
  const adapters = gpus.length > 0 ? [] : webgpuAdapters;
  const devices = gpus.length + adapters.length;
  const count = Math.max(1, requested ?? (devices > 0 ? devices : Math.floor(cores / 2)));
  const threads = String(Math.max(1, Math.floor(cores / count)));
  return Array.from({ length: count }, (_, i) => ({
    OMP_NUM_THREADS: threads,
    OMP_WAIT_POLICY: 'PASSIVE',
    ...(gpus.length > 0 ? { CUDA_VISIBLE_DEVICES: gpus[i % gpus.length] } : {}),
    ...(adapters.length > 0 ? { CLEARSKY_WEBGPU_ADAPTER: adapters[i % adapters.length] } : {}),
  }));
}

/**
 * Which WebGPU adapters can each have a worker pinned to them, by the name CLEARSKY_WEBGPU_ADAPTER passes to Dawn
 * (`adapter=NAME`). Dawn takes the first adapter, in the listed order, whose device name *contains* NAME: an
 * adapter is pinnable only when no adapter before it matches its name, so of identical GPUs (same name) only
 * the first is (dawn.node offers no index or PCI id to pick among them). Hardware adapters only, unless
 * `softwareIfNothingElse` and there is none (--backend webgpu on SwiftShader).
 */
export function webgpuPins(adapters: readonly ListedAdapter[], softwareIfNothingElse: boolean): { pins: string[]; unpinnable: string[] } {
  const hardware = adapters.some((a) => !a.software);
  const pins: string[] = [];
  const unpinnable: string[] = [];
  adapters.forEach((adapter, index) => {
    if (adapter.software ? hardware || !softwareIfNothingElse : false) return;
    const first = adapters.findIndex((a) => a.name.includes(adapter.name));
    if (first === index) pins.push(adapter.name);
    else unpinnable.push(`${adapter.name} (#${index + 1})`);
  });
  return { pins, unpinnable };
}

/** GPU ids the TensorFlow backend could use: CLEARSKY_GPUS, or what nvidia-smi lists when tfjs-node-gpu is installed. */
function detectGpus(): string[] {
  if (process.env.CLEARSKY_GPUS !== undefined) return process.env.CLEARSKY_GPUS.split(',').map((g) => g.trim()).filter(Boolean);
  try {
    import.meta.resolve('@tensorflow/tfjs-node-gpu');
  } catch {
    return [];
  }
  try {
    return execFileSync('nvidia-smi', ['-L'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')
      .map((line) => /^GPU (\d+):/.exec(line)?.[1])
      .filter((id): id is string => id !== undefined);
  } catch {
    return [];
  }
}

/** Give up on a backend probe after this long (tensorflow with CUDA can take a while to load). */
const PROBE_TIMEOUT_MS = 120_000;
const probes = new Map<string, Promise<{ detected: string; available: string[] }>>();

/**
 * Which backends work on this machine and what `auto` picks, asked of a worker process started just for it
 * (the same launch as the pool's, so Electron's bundled worker answers for Electron) that then exits: the
 * heavy ones (libtensorflow, CUDA, a WebGPU device) are never loaded into the caller. The machine does not
 * change while we run, so each launch is probed once; a failed probe is forgotten and tried again next time.
 */
export function probeBackends(launch?: WorkerLaunch): Promise<{ detected: string; available: string[] }> {
  const key = JSON.stringify(launch ?? null);
  let probe = probes.get(key);
  if (!probe) {
    probe = runProbe(launch);
    probes.set(key, probe);
    probe.catch(() => probes.delete(key));
  }
  return probe;
}

function runProbe(launch: WorkerLaunch | undefined): Promise<{ detected: string; available: string[] }> {
  return new Promise((resolve, reject) => {
    const child = fork(launch?.script ?? WORKER, [], {
      execPath: launch?.execPath,
      execArgv: launch ? (launch.execArgv ?? []) : ['--import', TSX],
      env: { ...process.env, ...launch?.env, CLEARSKY_WORKER_PROBE: '1' },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'json',
    });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-2000)));
    let answer: { detected: string; available: string[] } | undefined;
    const timer = setTimeout(() => child.kill(), PROBE_TIMEOUT_MS);
    child.on('message', (message: ProbeAnswer) => {
      if (message.type === 'backends') answer = { detected: message.detected, available: message.available };
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (answer) resolve(answer);
      else reject(new Error(`the backend probe ${signal ? `was killed by ${signal}` : `exited with code ${code}`} without an answer${stderr.trim() ? `: ${stderr.trim().split('\n').pop()}` : ''}`));
    });
  });
}
