/**
 * Malformed TIFFs are refused with one line naming the file, or read, in bounded memory and time: a corpus
 * made by test/helpers/tiff-corpus.ts (truncations, a changed byte in every field of every directory entry,
 * huge counts, directory loops, the issue's hand-built headers, classic and BigTIFF) is opened and fully read
 * by real child processes (test/helpers/read-tiffs.ts), each file's peak RSS measured by the child. Also:
 * pipes, devices, sockets and folders refused before opening, the command line on the issue's files, and
 * every real data file still read as before.
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GeoTIFF } from 'geotiff';
import { LocalFileSource } from '../../../native/raster/tiff/file-source.ts';
import { openRaster, readBands, READ_BUDGET_BYTES, withRaster } from '../../../native/raster/tiff/geotiff-reader.ts';
import { DATA_DIR, dataFile, REPO_ROOT } from '../../helpers/data.ts';
import { buildTiff, makeBases, makeCorpus, type CorpusFile } from '../../helpers/tiff-corpus.ts';

/** The bounds docs/cli.md states: opening holds at most 100 MiB of directory; a read, besides the window asked for (4 bytes a value), twice the read budget. */
const OPEN_BOUND_BYTES = 100 * 2 ** 20;
const MEMORY_BOUND_BYTES = OPEN_BOUND_BYTES + 2 * READ_BUDGET_BYTES;
/** A hang detector, not a speed assertion: no file may keep the reader silent this long. */
const HANG_MS = 20_000;
/** A child past this is killed at once (the machine is shared); the file it was on fails. */
const KILL_RSS_KiB = 3 * 1024 * 1024;

interface Outcome {
  file: string;
  outcome: 'read' | 'refused' | 'error' | 'hung' | 'crashed';
  message: string;
  windowBytes: number;
  startKiB: number;
  openKiB: number;
  peakKiB: number;
}

/** Runs `command` with a silence timeout and an RSS watchdog; resolves with its stdout lines, exit code, stderr. */
function runWatched(args: string[]): Promise<{ lines: string[]; code: number | null; signal: string | null; stderr: string; killedFor?: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let partial = '';
    let stderr = '';
    let killedFor: string | undefined;
    let silence = setTimeout(() => kill('hung'), HANG_MS);
    const kill = (why: string): void => {
      killedFor ??= why;
      child.kill('SIGKILL');
    };
    const watchdog = setInterval(() => {
      void fs.readFile(`/proc/${child.pid}/status`, 'utf8').then(
        (status) => {
          const rss = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
          if (rss > KILL_RSS_KiB) kill(`over ${KILL_RSS_KiB} KiB resident`);
        },
        () => undefined,
      );
    }, 100);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      clearTimeout(silence);
      silence = setTimeout(() => kill('hung'), HANG_MS);
      partial += chunk;
      const parts = partial.split('\n');
      partial = parts.pop()!;
      lines.push(...parts);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    child.on('close', (code, signal) => {
      clearTimeout(silence);
      clearInterval(watchdog);
      resolve({ lines, code, signal, stderr, killedFor });
    });
  });
}

/** Reads every file in children of `batch` files; a child that hangs or dies fails the file it was on and the rest go on. */
async function readAll(files: string[], options: { batch?: number; firstWindowOnly?: boolean } = {}): Promise<Map<string, Outcome>> {
  const batch = options.batch ?? 400;
  const results = new Map<string, Outcome>();
  let pending = [...files];
  while (pending.length > 0) {
    const chunk = pending.slice(0, batch);
    const flags = options.firstWindowOnly ? ['--first-window'] : [];
    const run = await runWatched(['--expose-gc', '--import', 'tsx', 'test/helpers/read-tiffs.ts', ...flags, ...chunk]);
    for (const line of run.lines) {
      const outcome = JSON.parse(line) as Outcome;
      results.set(outcome.file, outcome);
    }
    const done = run.lines.length;
    if (done < chunk.length) {
      const file = chunk[done];
      const how = run.killedFor === 'hung' ? 'hung' : 'crashed';
      const message = `${run.killedFor ?? `exit ${run.code ?? run.signal}`}: ${run.stderr.slice(-600)}`;
      results.set(file, { file, outcome: how, message, windowBytes: 0, startKiB: 0, openKiB: 0, peakKiB: 0 });
      pending = [...chunk.slice(done + 1), ...pending.slice(chunk.length)];
    } else {
      pending = pending.slice(chunk.length);
    }
  }
  return results;
}

let tmp: string;
let corpus: CorpusFile[];
let bases: CorpusFile[];
let results: Map<string, Outcome>;

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-malformed-'));
  bases = await makeBases(dataFile('slovenia-2015', 'S2L1C_20150909.tif'), path.join(tmp, 'bases'));
  corpus = await makeCorpus(bases, path.join(tmp, 'corpus'));
});
after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

function outcomeOf(name: string): Outcome {
  const file = corpus.find((f) => f.name === name) ?? bases.find((f) => f.name === name);
  assert.ok(file, `no corpus file ${name}`);
  const outcome = results.get(file.path);
  assert.ok(outcome, `no outcome for ${name}`);
  return outcome;
}

describe('a corpus of malformed TIFFs, each opened and fully read by a child process', () => {
  before(async () => {
    results = await readAll([...bases, ...corpus].map((f) => f.path));
  });

  it('is large: every field of every directory entry of four layouts, truncations, hand-built headers', () => {
    assert.ok(corpus.length > 1000, `${corpus.length} files`);
    assert.equal(results.size, corpus.length + bases.length);
  });

  it('every file is read or refused with one line naming it: no crash, no hang, no other error', () => {
    const bad = [...results.values()].filter((r) => r.outcome !== 'read' && r.outcome !== 'refused');
    assert.deepEqual(bad.map((r) => `${path.basename(r.file)}: ${r.outcome}: ${r.message.split('\n').slice(0, 3).join(' | ')}`), []);
    for (const r of results.values()) {
      if (r.outcome !== 'refused') continue;
      assert.ok(r.message.startsWith(`${r.file}: `), r.message);
      assert.ok(!r.message.includes('\n'), r.message);
    }
  });

  it(`no file takes more memory than the stated bound (${MEMORY_BOUND_BYTES / 2 ** 20} MiB besides the pixels asked for)`, () => {
    for (const r of results.values()) {
      if (r.openKiB > 0) assert.ok((r.openKiB - r.startKiB) * 1024 <= OPEN_BOUND_BYTES, `${path.basename(r.file)} opening: ${r.openKiB - r.startKiB} KiB`);
    }
    const over = [...results.values()]
      .filter((r) => (r.peakKiB - r.startKiB) * 1024 > MEMORY_BOUND_BYTES + 4 * r.windowBytes)
      .map((r) => `${path.basename(r.file)}: ${r.peakKiB - r.startKiB} KiB`);
    assert.deepEqual(over, []);
    // The measure itself works: a child's baseline is tens of MiB.
    const any = results.values().next().value!;
    assert.ok(any.startKiB > 10_000 && any.peakKiB >= any.startKiB, JSON.stringify(any));
  });

  it('the valid bases and hand-built files read', () => {
    for (const name of ['base-tiled', 'base-striped', 'base-planarBigEndian', 'base-bigtiff', 'hand-valid', 'hand-valid-bigtiff']) {
      assert.equal(outcomeOf(name).outcome, 'read', `${name}: ${outcomeOf(name).message}`);
    }
  });

  it("refuses the issue's files, saying what is wrong", () => {
    const expected: Record<string, RegExp> = {
      'hand-billion-strips': /StripOffsets claims 1000000000 values .* past the end of the file \(234 bytes\)/,
      'hand-billion-strips-bigtiff': /StripOffsets claims 1000000000 values .* past the end of the file \(234 bytes\)/,
      'hand-strip-count-billion': /StripOffsets claims 1000000000 values .* past the end of the file/,
      'hand-100000-square': /one strip decodes to 9537 MiB, more than the 64 MiB a read may take/,
      'hand-100000-square-tiled': /TileOffsets claims 152881 values .* past the end of the file/,
      'hand-width-2097152': /image of 2097152 × 16 px is beyond the 1048576 px a side Clearsky reads/,
      'hand-rows-per-strip-float': /RowsPerStrip must be one unsigned integer, not 1 × FLOAT/,
      'hand-rows-per-strip-float-tiny': /RowsPerStrip must be one unsigned integer/,
      'hand-rows-per-strip-33': /RowsPerStrip must be one unsigned integer, not 33 × LONG/,
      'hand-zero-strips': /StripOffsets lists 0 strips, but a 16 × 16 px image in strips of 8 rows has 2/,
      'hand-strip-past-end': /truncated or corrupt TIFF: strip 2 runs from byte 1000000/,
      'hand-loop-two': /directory chain loops/,
      'hand-loop-self-bigtiff': /directory chain loops/,
      'hand-3000-directories': /more than 1024 directories/,
      'hand-one-row-strips-wide': /outside the file|implausible|take/,
      'base-tiled-next-loops-to-itself': /directory chain loops/,
      'base-bigtiff-tag324-count-huge': /TileOffsets claims 70368744177664 values/,
      'base-striped-tag278-type-float': /RowsPerStrip must be one unsigned integer, not 1 × FLOAT/,
      'base-striped-tag278-count-33': /RowsPerStrip must be one unsigned integer, not 33 × /,
      'base-tiled-cut-0': /not a TIFF file \(only 0 bytes\)/,
      'base-tiled-magic': /not a TIFF file/,
    };
    for (const [name, problem] of Object.entries(expected)) {
      const outcome = outcomeOf(name);
      assert.equal(outcome.outcome, 'refused', `${name}: ${outcome.message}`);
      assert.match(outcome.message, problem, name);
    }
  });

  it('a truncated file is refused, whichever part is cut off', () => {
    const cuts = corpus.filter((f) => /^base-.*-cut-\d+$/.test(f.name));
    assert.ok(cuts.length > 60);
    for (const cut of cuts) assert.equal(results.get(cut.path)?.outcome, 'refused', cut.name);
  });
});

describe('a file at the limits', () => {
  it(`2^22 tiles of 16 × 16 px (classic and BigTIFF) open within ${OPEN_BOUND_BYTES / 2 ** 20} MiB and read a window of 16384 tiles within the bound`, async () => {
    const blocks = 2 ** 22;
    const files: string[] = [];
    for (const big of [false, true]) {
      const file = path.join(tmp, `max-blocks${big ? '-bigtiff' : ''}.tif`);
      const type = big ? 16 : 4;
      // Sparse tiles (offset and byte count 0): the file is its directory, 32 or 64 MiB of offsets and counts.
      const entries = [
        { tag: 256, type: 4, count: 1, values: [32768] },
        { tag: 257, type: 4, count: 1, values: [32768] },
        { tag: 258, type: 3, count: 1, values: [8] },
        { tag: 322, type: 4, count: 1, values: [16] },
        { tag: 323, type: 4, count: 1, values: [16] },
        { tag: 324, type, count: blocks, values: new Array<number>(blocks).fill(0) },
        { tag: 325, type, count: blocks, values: new Array<number>(blocks).fill(0) },
      ];
      await fs.writeFile(file, buildTiff([entries], { big }));
      files.push(file);
    }
    const outcomes = await readAll(files, { firstWindowOnly: true });
    for (const file of files) {
      const r = outcomes.get(file)!;
      assert.equal(r.outcome, 'read', `${file}: ${r.message}`);
      assert.equal(r.windowBytes, 32768 * 128 * 4);
      assert.ok((r.openKiB - r.startKiB) * 1024 <= OPEN_BOUND_BYTES, `opening took ${r.openKiB - r.startKiB} KiB`);
      assert.ok((r.peakKiB - r.startKiB) * 1024 <= MEMORY_BOUND_BYTES + 4 * r.windowBytes, `reading took ${r.peakKiB - r.startKiB} KiB`);
    }
  });
});

describe('paths that are not files', () => {
  it('a named pipe, a device, a socket and a folder are refused by what they are, without waiting', async () => {
    const fifo = path.join(tmp, 'scene-pipe.tif');
    execFileSync('mkfifo', [fifo]);
    const socketPath = path.join(tmp, 'scene-socket.tif');
    const server = net.createServer().listen(socketPath);
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const outcomes = await readAll([fifo, '/dev/zero', socketPath, tmp]);
      const expected: [string, RegExp][] = [
        [fifo, /is a named pipe, not a GeoTIFF file$/],
        ['/dev/zero', /is a device, not a GeoTIFF file$/],
        [socketPath, /is a socket, not a GeoTIFF file$/],
        [tmp, /is a directory, not a GeoTIFF file$/],
      ];
      for (const [file, problem] of expected) {
        const outcome = outcomes.get(file)!;
        assert.equal(outcome.outcome, 'refused', `${file}: ${outcome.outcome} ${outcome.message}`);
        assert.ok(outcome.message.startsWith(`${file}: `));
        assert.match(outcome.message, problem);
      }
    } finally {
      server.close();
    }
  });
});

describe('the command line on the issue files', () => {
  it('clearsky inpaint exits 2 with one line naming the file, and leaves no tile folder', async () => {
    for (const name of ['hand-billion-strips', 'hand-rows-per-strip-33', 'base-striped-tag278-type-float']) {
      const file = corpus.find((f) => f.name === name)!.path;
      const outDir = await fs.mkdtemp(path.join(tmp, 'out-'));
      const out = path.join(outDir, 'out.tif');
      const run = await runWatched([path.join(REPO_ROOT, 'bin/clearsky.js'), 'inpaint', '--mode', 'basic', '--target', file, '--mask', file, '--out', out]);
      assert.equal(run.killedFor, undefined, name);
      assert.equal(run.code, 2, `${name}: ${run.stderr}`);
      const lines = run.stderr.trim().split('\n');
      assert.equal(lines.length, 1, run.stderr);
      assert.ok(lines[0].includes(file), lines[0]);
      assert.deepEqual(await fs.readdir(outDir), [], name);
    }
  });
});

describe('reading stays as it was', () => {
  async function realFiles(dir: string): Promise<string[]> {
    const entries = await fs.readdir(dir, { withFileTypes: true, recursive: true });
    return entries.filter((e) => e.isFile() && e.name.endsWith('.tif')).map((e) => path.join(e.parentPath, e.name)).sort();
  }

  it('every real data file reads the same pixels as geotiff.js reads without the checks', async () => {
    const files = await realFiles(DATA_DIR);
    assert.ok(files.length >= 12, `${files.length} files in ${DATA_DIR}`);
    for (const file of files) {
      const source = await LocalFileSource.open(file);
      let direct: ArrayLike<number>;
      try {
        direct = await (await (await GeoTIFF.fromSource(source)).getImage(0)).readRasters({ interleave: true });
      } finally {
        await source.close();
      }
      const image = await withRaster(file, (raster) => readBands(raster, Array.from({ length: raster.bandCount }, (_, i) => i)));
      assert.equal(image.data.length, direct.length, file);
      // Copies: geotiff's arrays carry width and height properties that are no pixels.
      assert.deepEqual(new Float32Array(image.data), new Float32Array(direct), file);
    }
  });

  it('a window read in many small chunks (a tiny budget) gives the same pixels as one read', async () => {
    const file = dataFile('T33UUU-20170216', 'S2L1C_T33UUU_20170216_10m.tif');
    const raster = await openRaster(file);
    try {
      const window = { x: 200, y: 100, width: 700, height: 600 };
      const bands = [3, 2, 1, 12];
      const whole = await readBands(raster, bands, window);
      const chunked = await readBands(raster, bands, window, { budgetBytes: 1 });
      assert.deepEqual(chunked, whole);
    } finally {
      await raster.close();
    }
  });
});
