/**
 * The `clearsky` command line: parses flags and hands typed options to native/commands/*.
 * User mistakes (InputError, bad flags) print one line and exit 2; cancellation exits 130; a project run
 * cancelled or taken over from another process exits 3.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InputError } from './errors.ts';
import { parseBackendChoice } from './dip/backends/select.ts';
import { runBench } from './commands/bench.ts';
import { formatReferenceSummary, runReference } from './commands/reference.ts';
import { formatMaskSummary, runMask } from './commands/mask.ts';
import { INPAINT_METHODS, runInpaint } from './commands/inpaint.ts';
import { cancelCommand, exportCommand, reportCommand, formatLease, formatRuns, listRunsCommand, resumeCommand, runCommand } from './commands/runs.ts';
import { IMPORT_KINDS, isFinishedRun, type ApiEvent } from './api.ts';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './server.ts';
import { workerCommand } from './commands/worker.ts';
import { parseQueueUrl } from './jobs/queue/queue-url.ts';
import { Workspace } from './workspace.ts';
import { runEval, formatEvalTable } from './commands/eval.ts';
import { createProjectCommand, formatImportOutcomes, formatProjectListing, importCommand, listProjectCommand } from './commands/project.ts';
import { parseMode, type Mode } from './dip/modes.ts';
import { parseBandList } from './raster/bands.ts';
import type { SarUnits } from './raster/preprocess.ts';

const USAGE = `usage:
  clearsky inpaint --target S2.tif --mask M.tif [--mask-band N] [--reference R.tif ...] [--sar S1.tif]
                   [--sar-bands VV,VH] [--sar-units linear|db] [--bands B04,B03,B02] --mode basic|ms|mt|msmt|msr|mtr|mtfit [--steps 4000]
                   [--method dip|reference-fit|idw-fill]
                   [--seed 0 | --seeds 0,1,2,3] [--backend auto|tensorflow|webgpu|native|wasm|cpu] [--stitch]
                   [--tile 256] [--overlap 32] [--uncertainty SPREAD.tif] [--mask-out MASK.tif] [--resample]
                   [--queue redis://[user:password@]host:port[/db]] --out OUT.tif [--json]
  clearsky eval --target CLEAR.tif --masks MASKS.tif --mask-bands 14,19 [--reference R.tif ...] [--sar S1.tif]
                [--bands ...] --modes basic,mt,... [--steps N | --steps 100,250,500] [--seeds 0,...] [--stitch] [--backend ...] [--json]
  clearsky run DIR --target SCENE_ID --mask MASK_ID [--reference REF_ID] [--sar SCENE_ID] [--bands ...]
               [--method dip|reference-fit|idw-fill] [--mode basic|...] [--steps 4000] [--seeds 0,1]
               [--no-stitch] [--tile 256] [--overlap 32] [--area X,Y,W,H] [--tiles 0,8] [--workers N] [--backend ...]
               [--ground-truth] [--queue redis://…] [--detach] [--json]
  clearsky resume DIR [--workers N] [--queue redis://…] [--json]
                                                  work the unfinished runs no live process works to their end
                   --queue: tiles go to \`clearsky worker\` processes through Redis (the project keeps the URL)
  clearsky runs DIR [--json]
  clearsky cancel DIR RUN_ID
  clearsky export DIR RESULT_ID OUT.tif             a run's result layer (ids: clearsky runs DIR)
  clearsky report DIR RUN_ID --out REPORT.html      a finished run's QA report: one HTML file (print it to PDF)
  clearsky serve [--project DIR] [--root DIR ...] [--port N] [--workers N]
                   browser mode, on 127.0.0.1 only: open the address it prints (with its token); without
                   --project the page opens or creates one; the page's projects, imports and exports
                   stay inside the --root folders (default: the home folder)
  clearsky project create DIR [--name NAME]
  clearsky project import DIR PATH... [--kind S2|S1|mask|scl|probability|reference] [--json]
  clearsky project list DIR [--json]               scenes, references and masks with their ids
  clearsky worker --queue redis://[user:password@]host:port[/db] [--backend ...] [--concurrency N]
                   take tile tasks from a queue (BullMQ on Redis; rediss:// for TLS) until stopped:
                   SIGTERM finishes the tiles under way, a second one hands them back to the queue
  clearsky bench [--size 256] [--outputs 8] [--steps 20] [--backend ...] [--json]
  clearsky reference --out REF.tif SCENE.tif ... [--masks M.tif[:BAND] ... | --masks M.tif --mask-bands 1,4,...]
                     [--bands B04,B03,B02] [--dynamic --date YYYY-MM-DD [--age AGE.tif]] [--json]
  clearsky mask --out MASK.tif (--from M.tif | --from-scl SCL.tif [--classes 3,8,9,10]
                | --from-probability P.tif --threshold 0.4 [--scale 255]) [--band N] [--dilate N]
                [--like TARGET.tif] [--geojson OUTLINE.geojson] [--json]
  clearsky mask --detect S2.tif --out MASK.tif [--threshold 0.2] [--dilate N] [--shadows | --no-shadows]
                [--sun-azimuth DEG --sun-zenith DEG] [--offset DN] [--geojson OUTLINE.geojson] [--json]
                finds cloud and shadow in an L1C/L2A scene's own bands; an SCL layer or a cloud
                probability, where you have one, is the better source (--from-scl, --from-probability)`;

class UsageError extends Error {}

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

type Options = NonNullable<ParseArgsConfig['options']>;
const common: Options = {
  backend: { type: 'string', default: 'auto' },
  steps: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
};
const sources: Options = {
  target: { type: 'string' },
  reference: { type: 'string', multiple: true },
  sar: { type: 'string' },
  'sar-bands': { type: 'string' },
  'sar-units': { type: 'string' },
  bands: { type: 'string' },
  seed: { type: 'string' },
  seeds: { type: 'string' },
};

// Ctrl-C stops the optimisation between two steps; a second Ctrl-C exits at once (`clearsky worker` handles its own).
// One listener for the whole life of the process: swapping `once` listeners leaves an instant with none, and a
// SIGINT landing then kills the process by signal instead of exiting 130.
const interrupt = new AbortController();
let ownSignals = false;
process.on('SIGINT', () => {
  if (!interrupt.signal.aborted) interrupt.abort();
  else if (!ownSignals) process.exit(130);
});

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'inpaint': {
      const { values: v } = parse(rest, { ...common, ...sources, mask: { type: 'string' }, 'mask-band': { type: 'string' }, mode: { type: 'string' }, stitch: { type: 'boolean', default: false }, out: { type: 'string' }, tile: { type: 'string' }, overlap: { type: 'string' }, uncertainty: { type: 'string' }, method: { type: 'string', default: 'dip' }, resample: { type: 'boolean', default: false }, 'mask-out': { type: 'string' }, queue: { type: 'string' } });
      const result = await runInpaint({
        target: required(v.target, '--target'),
        mask: required(v.mask, '--mask'),
        maskBand: v['mask-band'] === undefined ? 1 : integer(v['mask-band'], '--mask-band'),
        references: (v.reference as string[] | undefined) ?? [],
        sar: v.sar as string | undefined,
        ...sarOptions(v),
        bands: v.bands === undefined ? undefined : parseBandList(v.bands as string),
        method: oneOf(v.method as string, INPAINT_METHODS, '--method'),
        mode: v.mode === undefined ? undefined : parseMode(v.mode as string),
        steps: v.steps === undefined ? undefined : integer(v.steps, '--steps'),
        seeds: seedsFrom(v),
        backend: parseBackendChoice(v.backend as string),
        stitch: v.stitch as boolean,
        out: required(v.out, '--out'),
        tileSize: v.tile === undefined ? undefined : integer(v.tile, '--tile'),
        overlap: v.overlap === undefined ? undefined : integer(v.overlap, '--overlap'),
        uncertainty: v.uncertainty as string | undefined,
        resample: v.resample as boolean,
        maskOut: v['mask-out'] as string | undefined,
        queue: v.queue as string | undefined,
        signal: interrupt.signal,
        onProgress: progressPrinter(),
        onTileDone: tilePrinter(),
      });
      if (v.json) console.log(JSON.stringify(result));
      else console.error(`wrote ${result.out} (${result.tiles.reconstructed} of ${result.tiles.total} tiles reconstructed, ${result.backend}, ${result.seconds.toFixed(1)} s, ${result.seconds_per_step.toFixed(3)} s/step)`);
      if (result.tiles.without_clear_pixels > 0) console.error(`warning: ${result.tiles.without_clear_pixels} tiles are entirely cloud and keep the input; try a larger --tile`);
      return 0;
    }
    case 'eval': {
      const { values: v } = parse(rest, { ...common, ...sources, masks: { type: 'string' }, 'mask-bands': { type: 'string' }, modes: { type: 'string', default: 'basic,mt' }, stitch: { type: 'boolean', default: false } });
      const rows = await runEval({
        target: required(v.target, '--target'),
        masks: required(v.masks, '--masks'),
        maskBands: integerList(required(v['mask-bands'], '--mask-bands'), '--mask-bands'),
        references: (v.reference as string[] | undefined) ?? [],
        sar: v.sar as string | undefined,
        ...sarOptions(v),
        bands: v.bands === undefined ? undefined : parseBandList(v.bands as string),
        modes: (v.modes as string).split(',').map((m): Mode => parseMode(m.trim())),
        steps: v.steps === undefined ? undefined : integerList(v.steps as string, '--steps'),
        seeds: seedsFrom(v),
        engine: { stitch: v.stitch as boolean },
        backend: parseBackendChoice(v.backend as string),
        signal: interrupt.signal,
        onProgress: progressPrinter(),
      });
      console.log(v.json ? JSON.stringify(rows) : formatEvalTable(rows));
      return 0;
    }
    case 'bench': {
      const { values: v } = parse(rest, { ...common, size: { type: 'string', default: '256' }, outputs: { type: 'string', default: '8' } });
      const result = await runBench({
        size: integer(v.size, '--size'),
        outputs: integer(v.outputs, '--outputs'),
        steps: integer(v.steps ?? '20', '--steps'),
        backend: parseBackendChoice(v.backend as string),
      });
      console.log(v.json ? JSON.stringify(result) : `${result.backend}: ${result.seconds_per_step.toFixed(3)} s/step at ${result.size}² × ${result.outputs}, peak RSS ${result.peak_rss_mb} MB`);
      return 0;
    }
    case 'worker': {
      const { values: v } = parse(rest, { backend: common.backend, help: common.help, queue: { type: 'string' }, concurrency: { type: 'string' } });
      const concurrency = v.concurrency === undefined ? undefined : integer(v.concurrency, '--concurrency');
      if (concurrency !== undefined && concurrency < 1) throw new UsageError('--concurrency must be at least 1');
      ownSignals = true;
      return workerCommand({ url: parseQueueUrl(required(v.queue, '--queue')), backend: parseBackendChoice(v.backend as string), concurrency });
    }
    case 'reference': {
      // `--masks a.tif b.tif`: every word after --masks up to the next flag is a mask (scenes are the other words).
      let flag = '';
      const args = rest.flatMap((arg) => {
        if (arg.startsWith('-')) flag = arg;
        return arg === '--masks' ? [] : flag === '--masks' && !arg.startsWith('-') ? ['--masks', arg] : [arg];
      });
      if (rest.includes('--masks') && !args.includes('--masks')) throw new UsageError('--masks needs one mask file per scene');
      const { values: v, positionals: scenes } = parseArgs({ args, strict: true, allowPositionals: true, options: {
        out: { type: 'string' }, masks: { type: 'string', multiple: true }, 'mask-bands': { type: 'string' }, bands: { type: 'string' },
        dynamic: { type: 'boolean', default: false }, date: { type: 'string' }, age: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } });
      if (v.help) {
        console.log(USAGE);
        return 0;
      }
      if (scenes.length === 0) throw new UsageError('reference needs at least one scene (SCENE.tif ...)');
      let masks = v.masks as string[] | undefined;
      if (v['mask-bands'] !== undefined) {
        if (masks?.length !== 1) throw new UsageError('--mask-bands needs exactly one --masks file');
        masks = (v['mask-bands'] as string).split(',').map((band) => `${masks![0]}:${band.trim()}`);
      }
      if (masks && masks.length !== scenes.length) throw new UsageError(`${masks.length} mask${masks.length === 1 ? '' : 's'} for ${scenes.length} scene${scenes.length === 1 ? '' : 's'}: give one mask per scene, in the same order`);
      if (!v.dynamic && (v.date !== undefined || v.age !== undefined)) throw new UsageError('--date and --age are for a dynamic reference: add --dynamic');
      const summary = await runReference({
        scenes, masks, bands: v.bands === undefined ? undefined : parseBandList(v.bands as string),
        method: v.dynamic ? 'dynamic' : 'static', date: v.dynamic ? required(v.date, '--date') : undefined,
        out: required(v.out, '--out'), age: v.age as string | undefined,
      });
      if (v.json) console.log(JSON.stringify(summary));
      else console.error(formatReferenceSummary(summary));
      return 0;
    }
    case 'mask': {
      const { values: v } = parse(rest, { out: { type: 'string' }, from: { type: 'string' }, 'from-scl': { type: 'string' }, 'from-probability': { type: 'string' },
        classes: { type: 'string' }, threshold: { type: 'string' }, scale: { type: 'string' }, band: { type: 'string' }, dilate: { type: 'string' },
        like: { type: 'string' }, geojson: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false },
        detect: { type: 'string' }, shadows: { type: 'boolean' }, 'no-shadows': { type: 'boolean' }, 'sun-azimuth': { type: 'string' }, 'sun-zenith': { type: 'string' }, offset: { type: 'string' } });
      const given = (['from', 'from-scl', 'from-probability', 'detect'] as const).filter((flag) => v[flag] !== undefined);
      if (given.length !== 1) throw new UsageError('mask needs exactly one of --from, --from-scl, --from-probability, --detect');
      const detectOnly = (['shadows', 'no-shadows', 'sun-azimuth', 'sun-zenith', 'offset'] as const).filter((flag) => v[flag] !== undefined);
      if (given[0] === 'detect') {
        if (v.shadows && v['no-shadows']) throw new UsageError('give --shadows or --no-shadows, not both');
        if ((v['sun-azimuth'] === undefined) !== (v['sun-zenith'] === undefined)) throw new UsageError('--sun-azimuth and --sun-zenith go together');
        if (v.band !== undefined || v.classes !== undefined || v.scale !== undefined) throw new UsageError('--band, --classes and --scale are not for --detect');
        const summary = await runMask({
          out: required(v.out, '--out'),
          detect: {
            path: v.detect as string,
            options: {
              threshold: v.threshold === undefined ? undefined : decimal(v.threshold, '--threshold'),
              shadows: !v['no-shadows'],
              sun: v['sun-azimuth'] === undefined ? undefined : { azimuth: decimal(v['sun-azimuth'], '--sun-azimuth'), zenith: decimal(v['sun-zenith'], '--sun-zenith') },
              offset: v.offset === undefined ? undefined : decimal(v.offset, '--offset'),
            },
          },
          dilate: v.dilate === undefined ? 0 : integer(v.dilate, '--dilate'),
          like: v.like as string | undefined,
          geojson: v.geojson as string | undefined,
        });
        if (v.json) console.log(JSON.stringify(summary));
        else console.error(formatMaskSummary(summary));
        return 0;
      }
      if (detectOnly.length) throw new UsageError(`--${detectOnly[0]} is for --detect`);
      const kind = given[0] === 'from' ? 'binary' : given[0] === 'from-scl' ? 'scl' : 'probability';
      if (v.classes !== undefined && kind !== 'scl') throw new UsageError('--classes is for --from-scl');
      if ((v.threshold !== undefined || v.scale !== undefined) && kind !== 'probability') throw new UsageError('--threshold and --scale are for --from-probability');
      const summary = await runMask({
        out: required(v.out, '--out'),
        source: {
          kind,
          path: required(v[given[0]], `--${given[0]}`),
          band: v.band === undefined ? undefined : integer(v.band, '--band'),
          classes: v.classes === undefined ? undefined : integerList(v.classes as string, '--classes'),
          threshold: kind === 'probability' ? decimal(required(v.threshold, '--threshold'), '--threshold') : undefined,
          scale: v.scale === undefined ? undefined : decimal(v.scale, '--scale'),
        },
        dilate: v.dilate === undefined ? 0 : integer(v.dilate, '--dilate'),
        like: v.like as string | undefined,
        geojson: v.geojson as string | undefined,
      });
      if (v.json) console.log(JSON.stringify(summary));
      else console.error(formatMaskSummary(summary));
      return 0;
    }
    case 'run': {
      const { values: v, positionals } = parse(rest, {
        ...common,
        target: { type: 'string' }, mask: { type: 'string' }, reference: { type: 'string' }, sar: { type: 'string' }, bands: { type: 'string' },
        method: { type: 'string', default: 'dip' }, mode: { type: 'string', default: 'basic' }, seed: { type: 'string' }, seeds: { type: 'string' },
        'no-stitch': { type: 'boolean', default: false }, tile: { type: 'string' }, overlap: { type: 'string' }, area: { type: 'string' }, tiles: { type: 'string' },
        workers: { type: 'string' }, detach: { type: 'boolean', default: false }, name: { type: 'string' },
        'ground-truth': { type: 'boolean', default: false }, queue: { type: 'string' },
      }, true);
      const area = v.area === undefined ? undefined : integerList(v.area as string, '--area');
      if (area && area.length !== 4) throw new UsageError('--area takes x,y,width,height in pixels of the target');
      const run = await runCommand(projectDir(positionals), {
        name: v.name as string | undefined,
        targetSceneId: integer(required(v.target, '--target'), '--target'),
        maskId: integer(required(v.mask, '--mask'), '--mask'),
        refId: v.reference === undefined ? undefined : integer(v.reference, '--reference'),
        sarSceneId: v.sar === undefined ? undefined : integer(v.sar, '--sar'),
        bands: v.bands === undefined ? undefined : parseBandList(v.bands as string),
        method: oneOf(v.method as string, INPAINT_METHODS, '--method'),
        mode: parseMode(v.mode as string),
        steps: v.steps === undefined ? undefined : integer(v.steps, '--steps'),
        seeds: seedsFrom(v),
        stitch: !v['no-stitch'],
        tileSize: v.tile === undefined ? undefined : integer(v.tile, '--tile'),
        overlap: v.overlap === undefined ? undefined : integer(v.overlap, '--overlap'),
        area: area && { x: area[0], y: area[1], width: area[2], height: area[3] },
        tiles: v.tiles === undefined ? undefined : integerList(v.tiles as string, '--tiles'),
        backend: parseBackendChoice(v.backend as string),
        groundTruth: v['ground-truth'] as boolean,
        queue: v.queue !== undefined,
      }, { queueUrl: v.queue as string | undefined, detach: v.detach as boolean, workers: v.workers === undefined ? undefined : integer(v.workers, '--workers'), backend: v.backend as string, signal: interrupt.signal, onEvent: eventPrinter() });
      console.log(v.json ? JSON.stringify(run) : formatRuns([run]));
      // Ended elsewhere: this process did not finish the run, and a script must not take it for done.
      if (run.status === 'cancelled') {
        console.error(`clearsky: run ${run.id} was cancelled from another process (clearsky cancel or the app); its finished tiles are kept`);
        return 3;
      }
      if (!isFinishedRun(run.status) && !v.detach) {
        console.error(`clearsky: run ${run.id} was taken over by another process (${run.lease ? formatLease(run.lease) : 'now free'}); it goes on there, not here`);
        return 3;
      }
      return run.status === 'failed' ? 1 : 0;
    }
    case 'resume': {
      const { values: v, positionals } = parse(rest, { ...common, workers: { type: 'string' }, queue: { type: 'string' } }, true);
      const { runs, leftAlone } = await resumeCommand(projectDir(positionals), { queueUrl: v.queue as string | undefined, workers: v.workers === undefined ? undefined : integer(v.workers, '--workers'), backend: v.backend as string, signal: interrupt.signal, onEvent: eventPrinter() });
      for (const r of leftAlone) console.error(`run ${r.id}: left alone, ${r.lease ? formatLease(r.lease) : 'another process took it meanwhile'}`);
      console.log(v.json ? JSON.stringify(runs) : runs.length ? formatRuns(runs) : leftAlone.length ? 'no unfinished runs to take over' : 'no unfinished runs');
      return 0;
    }
    case 'runs': {
      const { values: v, positionals } = parse(rest, common, true);
      const runs = await listRunsCommand(projectDir(positionals));
      console.log(v.json ? JSON.stringify(runs) : formatRuns(runs));
      return 0;
    }
    case 'cancel': {
      const { values: v, positionals } = parse(rest, common, true);
      if (positionals.length !== 2) throw new UsageError('usage: clearsky cancel DIR RUN_ID');
      const run = await cancelCommand(positionals[0], integer(positionals[1], 'RUN_ID'));
      console.log(v.json ? JSON.stringify(run) : formatRuns([run]));
      return 0;
    }
    case 'project': {
      const [sub, ...args] = rest;
      const { values: v, positionals } = parseArgs({ args, strict: true, allowPositionals: true, options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false }, name: { type: 'string' }, kind: { type: 'string' } } });
      if (v.help) {
        console.log(USAGE);
        return 0;
      }
      const oneFolder = () => {
        if (positionals.length !== 1) throw new UsageError(`usage: clearsky project ${sub} DIR`);
        return positionals[0];
      };
      if (sub !== 'import' && v.kind !== undefined) throw new UsageError('--kind is for `clearsky project import`');
      if (sub !== 'create' && v.name !== undefined) throw new UsageError('--name is for `clearsky project create`');
      if (sub === 'create') {
        const summary = createProjectCommand(oneFolder(), v.name as string | undefined);
        console.log(v.json ? JSON.stringify(summary) : `created project ${summary.name} in ${summary.dir}`);
        return 0;
      }
      if (sub === 'import') {
        if (positionals.length < 2) throw new UsageError('usage: clearsky project import DIR PATH... [--kind K]');
        const kind = v.kind === undefined ? undefined : oneOf(v.kind as string, IMPORT_KINDS, '--kind');
        const outcomes = await importCommand(positionals[0], { paths: positionals.slice(1), kind }, (done, total, file) => {
          if (!v.json && total > 1) console.error(`[${done + 1}/${total}] ${file}`);
        });
        console.log(v.json ? JSON.stringify(outcomes) : formatImportOutcomes(outcomes));
        return outcomes.some((o) => o.status === 'failed' || o.status === 'unsure') ? 1 : 0;
      }
      if (sub === 'list') {
        const listing = listProjectCommand(oneFolder());
        console.log(v.json ? JSON.stringify(listing) : formatProjectListing(listing));
        return 0;
      }
      throw new UsageError(`usage: clearsky project create|import|list DIR ...${sub === undefined ? '' : ` (not '${sub}')`}`);
    }
    case 'export': {
      const { positionals } = parse(rest, common, true);
      if (positionals.length !== 3) throw new UsageError('usage: clearsky export DIR RESULT_ID OUT.tif');
      console.error(`wrote ${await exportCommand(positionals[0], integer(positionals[1], 'RESULT_ID'), positionals[2])}`);
      return 0;
    }
    case 'report': {
      const { values: v, positionals } = parse(rest, { ...common, out: { type: 'string' } }, true);
      if (positionals.length !== 2 || typeof v.out !== 'string') throw new UsageError('usage: clearsky report DIR RUN_ID --out REPORT.html');
      console.error(`wrote ${await reportCommand(positionals[0], integer(positionals[1], 'RUN_ID'), v.out)}`);
      return 0;
    }
    case 'serve': {
      const { values: v } = parse(rest, { ...common, project: { type: 'string' }, root: { type: 'string', multiple: true }, port: { type: 'string', default: '0' }, workers: { type: 'string' } });
      const workspace = new Workspace(
        { workers: v.workers === undefined ? undefined : integer(v.workers, '--workers'), backend: v.backend as string },
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
        await new Promise<void>((resolve) => interrupt.signal.addEventListener('abort', () => resolve()));
        await server.close();
      } finally {
        await workspace.close();
      }
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return 0;
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

function parse(args: string[], options: Options, allowPositionals = false) {
  const parsed = parseArgs({ args, options, strict: true, allowPositionals });
  if (parsed.values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  return parsed;
}

function projectDir(positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError('give the project folder: clearsky <command> DIR [options]');
  return positionals[0];
}

/** Run events on stderr: tile and run changes as they come, step progress at most every 2 s. */
function eventPrinter() {
  let last = 0;
  return (event: ApiEvent) => {
    if (event.type === 'progress') {
      const now = performance.now();
      if (now - last < 2000) return;
      last = now;
      console.error(`run ${event.runId} tile ${event.tileIndex}: step ${event.step}/${event.steps} loss ${event.loss.toFixed(5)}${event.etaSeconds !== null ? `, ~${event.etaSeconds.toFixed(0)} s left` : ''}${event.runEtaSeconds !== null ? ` (run ~${event.runEtaSeconds.toFixed(0)} s)` : ''}`);
    } else if (event.type === 'tile') {
      if (event.tile.status === 'done' || event.tile.status === 'failed') console.error(`run ${event.tile.runId} tile ${event.tile.index}: ${event.tile.status}${event.tile.error ? ` (${event.tile.error})` : ''}`);
    } else {
      const t = event.run.tiles;
      console.error(`run ${event.run.id}: ${event.run.status} (${t.done}/${t.total - t.clear} cloudy tiles done${t.failed ? `, ${t.failed} failed` : ''})`);
    }
  };
}

function required(value: unknown, flag: string): string {
  if (typeof value !== 'string' || value === '') throw new UsageError(`${flag} is required`);
  return value;
}

function integer(value: unknown, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new UsageError(`${flag} must be an integer, not '${String(value)}'`);
  return n;
}

function oneOf<T extends string>(value: string, allowed: readonly T[], flag: string): T {
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, not '${value}'`);
  return value as T;
}

function decimal(value: unknown, flag: string): number {
  const n = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${flag} must be a number, not '${String(value)}'`);
  return n;
}

/** `--sar-bands 2,1` (1-based VV then VH) and `--sar-units linear|db`. */
function sarOptions(v: Record<string, unknown>): { sarBands?: { vv: number; vh: number }; sarUnits?: SarUnits } {
  let sarBands: { vv: number; vh: number } | undefined;
  if (v['sar-bands'] !== undefined) {
    const bands = integerList(v['sar-bands'] as string, '--sar-bands');
    if (bands.length !== 2 || bands.some((b) => b < 1)) throw new UsageError(`--sar-bands takes the 1-based VV and VH band numbers, e.g. 2,1; got ${String(v['sar-bands'])}`);
    sarBands = { vv: bands[0], vh: bands[1] };
  }
  const sarUnits = v['sar-units'] === undefined ? undefined : oneOf(v['sar-units'] as string, ['linear', 'db'] as const, '--sar-units');
  return { sarBands, sarUnits };
}

function integerList(text: string, flag: string): number[] {
  return text.split(',').map((part) => integer(part.trim(), flag));
}

function seedsFrom(v: Record<string, unknown>): number[] {
  if (v.seeds !== undefined) return integerList(v.seeds as string, '--seeds');
  if (v.seed !== undefined) return [integer(v.seed, '--seed')];
  return [0];
}

/** Progress on stderr: a line at most every 2 s, so logs of long runs stay readable. */
function progressPrinter() {
  let last = 0;
  return (p: { label?: string; step: number; steps: number; loss: number; elapsedSeconds: number }) => {
    const now = performance.now();
    if (now - last < 2000 && p.step !== p.steps) return;
    last = now;
    const eta = p.step > 0 ? (p.elapsedSeconds / p.step) * (p.steps - p.step) : 0;
    console.error(`${p.label ? p.label + ' ' : ''}step ${p.step}/${p.steps} loss ${p.loss.toFixed(5)} ${p.elapsedSeconds.toFixed(0)} s elapsed, ~${eta.toFixed(0)} s left`);
  };
}

/** Tiles done on stderr, at most every 2 s (and the last). */
function tilePrinter() {
  let last = 0;
  return (done: number, total: number) => {
    const now = performance.now();
    if (now - last < 2000 && done !== total) return;
    last = now;
    console.error(`${done}/${total} cloudy tiles done`);
  };
}

/** The API's flag names, for its schemas' complaints (`clearsky run` and `export` go through the API). */
const FLAG_OF_FIELD: Record<string, string> = {
  tileSize: '--tile', overlap: '--overlap', steps: '--steps', seeds: '--seeds', targetSceneId: '--target', maskId: '--mask', refId: '--reference',
  sarSceneId: '--sar', area: '--area', tiles: '--tiles', bands: '--bands', name: '--name', method: '--method', mode: '--mode', backend: '--backend', resultId: 'RESULT_ID', destination: 'OUT.tif',
};

/** A schema error (zod) as one line per flag: `--tile must be at least 64`, not its JSON. */
function schemaProblems(error: unknown): string | undefined {
  const issues = (error as { name?: string; issues?: unknown } | null)?.name === 'ZodError' ? (error as { issues: unknown }).issues : undefined;
  if (!Array.isArray(issues)) return undefined;
  return (issues as { path: PropertyKey[]; code?: string; origin?: string; minimum?: unknown; maximum?: unknown; inclusive?: boolean; message: string }[]).map((issue) => {
    const field = issue.path.map(String).join('.');
    const flag = FLAG_OF_FIELD[String(issue.path[0])] ?? field;
    const bound = issue.code === 'too_small' ? issue.minimum : issue.code === 'too_big' ? issue.maximum : undefined;
    const problem = bound === undefined || typeof bound === 'object'
      ? `: ${issue.message.replace(/\s+/g, ' ')}`
      : issue.origin === 'array' || issue.origin === 'string'
        ? ` takes ${issue.code === 'too_small' ? 'at least' : 'at most'} ${String(bound)} ${issue.origin === 'array' ? 'values' : 'characters'}`
        : ` must be ${issue.code === 'too_small' ? (issue.inclusive === false ? 'more than' : 'at least') : issue.inclusive === false ? 'less than' : 'at most'} ${String(bound)}`;
    return `${flag}${issue.path.length > 1 ? ` (${field})` : ''}${problem}`;
  }).join('; ');
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  const schemaProblem = schemaProblems(error);
  if (schemaProblem !== undefined) {
    console.error(`clearsky: ${schemaProblem}`);
    process.exitCode = 2;
  } else if (error instanceof InputError || error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    console.error(`clearsky: ${(error as Error).message.replace(/\s*\n\s*/g, ' ')}`); // one line, also for parseArgs' hints
    if (error instanceof UsageError || (error as { code?: string }).code) console.error('run `clearsky --help` for usage');
    process.exitCode = 2;
  } else if ((error as Error).name === 'AbortError') {
    // Runs in a project are not cancelled by Ctrl-C, only left to resume; everything else is cancelled.
    console.error(`clearsky: ${(error as Error).message.startsWith('stopped') ? (error as Error).message : 'cancelled'}`);
    process.exitCode = 130;
  } else {
    console.error(`clearsky: ${(error as Error).message?.split('\n')[0] ?? String(error)}`);
    if (process.env.CLEARSKY_DEBUG) console.error(error);
    process.exitCode = 1;
  }
}
