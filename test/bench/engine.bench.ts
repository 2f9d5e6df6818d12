/**
 * `npm run bench`: the engine's speed and memory figures, printed, never asserted.
 *
 * Seconds per training step of the METHOD.md network (256², 8 outputs) on each CPU backend that runs
 * here, side by side with PyTorch on the same network (test/bench/torch_dip.py, Debian's python3-torch),
 * in alternating rounds so that machine load hits both alike. Each measurement is its own process, so peak
 * RSS is per backend.
 *
 * Where a hardware WebGPU adapter exists (a GPU with a Vulkan/D3D12/Metal driver), `webgpu` is measured too,
 * named by its adapter, beside PyTorch on CUDA when it has a GPU (scripts/gpu-check does the same in one go on
 * a bare GPU machine). A software adapter (SwiftShader) is not: it is far slower than the CPU backends.
 *
 * Environment: BENCH_ROUNDS (default 2), BENCH_STEPS (default 10), BENCH_SIZE (256), BENCH_BACKENDS
 * (default "native,wasm", plus "webgpu" on a hardware adapter).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../helpers/data.ts';
import { probeBackends } from '../../native/jobs/pool.ts';

const run = promisify(execFile);
// Debian's python3 has python3-torch; a pyenv python3 earlier on PATH does not.
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const steps = Number(process.env.BENCH_STEPS ?? 10);
const size = Number(process.env.BENCH_SIZE ?? 256);
// auto takes webgpu only on a hardware adapter.
const gpu = (await probeBackends().catch(() => ({ detected: '' }))).detected === 'webgpu';
const backends = (process.env.BENCH_BACKENDS ?? (gpu ? 'webgpu,native,wasm' : 'native,wasm')).split(',');

interface Figure {
  engine: string;
  seconds_per_step: number;
  peak_rss_mb?: number;
}

async function clearskyBench(backend: string): Promise<Figure | string> {
  try {
    const { stdout } = await run(process.execPath, [path.join(REPO_ROOT, 'bin/clearsky.js'), 'bench', '--size', String(size), '--outputs', '8', '--steps', String(steps), '--backend', backend, '--json'], { maxBuffer: 1 << 24 });
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!);
    return { engine: `clearsky ${r.backend}`, seconds_per_step: r.seconds_per_step, peak_rss_mb: r.peak_rss_mb };
  } catch (error) {
    return `clearsky ${backend}: unavailable (${String((error as { stderr?: string }).stderr ?? error).trim().split('\n').at(-1)})`;
  }
}

async function torchBench(device = 'cpu'): Promise<Figure | string> {
  try {
    const { stdout } = await run(PYTHON, [path.join(REPO_ROOT, 'test/bench/torch_dip.py'), 'bench', '--size', String(size), '--outputs', '8', '--steps', String(steps), '--threads', '2', '--device', device], {
      maxBuffer: 1 << 24,
      // Sleeping, not spinning, OpenMP threads, as our native backend uses: spinning threads lose badly to
      // any other process on a 2-core machine, which would flatter us.
      env: { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' },
    });
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!);
    return { engine: device === 'cpu' ? `pytorch (${r.threads} threads)` : `pytorch ${device} (${r.device})`, seconds_per_step: r.seconds_per_step };
  } catch (error) {
    return `pytorch ${device}: unavailable (${String(error).split('\n')[0]}; apt-get install python3-torch)`;
  }
}

const results = new Map<string, number[]>();
const rss = new Map<string, number>();
for (let round = 1; round <= rounds; round++) {
  for (const measure of [() => torchBench(), ...(gpu ? [() => torchBench('cuda')] : []), ...backends.map((b) => () => clearskyBench(b))]) {
    const figure = await measure();
    if (typeof figure === 'string') {
      if (round === 1) console.log(figure);
      continue;
    }
    console.log(`round ${round}: ${figure.engine}: ${figure.seconds_per_step.toFixed(3)} s/step${figure.peak_rss_mb ? `, peak RSS ${figure.peak_rss_mb} MB` : ''}`);
    results.set(figure.engine, [...(results.get(figure.engine) ?? []), figure.seconds_per_step]);
    if (figure.peak_rss_mb) rss.set(figure.engine, Math.max(rss.get(figure.engine) ?? 0, figure.peak_rss_mb));
  }
}

const best = (engine: string) => Math.min(...results.get(engine)!);
const torch = [...results.keys()].find((k) => k.startsWith('pytorch ('));
const torchCuda = [...results.keys()].find((k) => k.startsWith('pytorch cuda'));
console.log(`\nTraining step, ${size}² × 8 outputs, best of ${rounds} rounds of ${steps} steps:`);
for (const engine of results.keys()) {
  // GPU engines against PyTorch on the same GPU, CPU engines against PyTorch on the CPU.
  const yardstick = engine.startsWith('clearsky webgpu') && torchCuda ? torchCuda : torch;
  const ratio = yardstick && !engine.startsWith('pytorch') ? ` = ${(best(engine) / best(yardstick)).toFixed(2)}× ${yardstick.split(' (')[0]}` : '';
  console.log(`  ${engine.padEnd(34)} ${best(engine).toFixed(3)} s/step${ratio}${rss.has(engine) ? `, peak RSS ${rss.get(engine)} MB` : ''}`);
}
