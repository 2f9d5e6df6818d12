/**
 * The service behind the API: one open project, its catalogue and its job runner. Both transports (Electron
 * IPC, HTTP in browser mode) and the command line call this and nothing else. Arguments arrive validated by
 * ../api/contract.ts's schemas, and are validated again here for callers inside Node.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  ExportRequest,
  RunReportRequest,
  ImportRequest,
  ImportFolderRequest,
  CloudyDatesRequest,
  CancelBatchRequest,
  isActiveRun,
  type CloudyDate,
  type CloudyDatesRequestInput,
  type CloudyDatesResult,
  type ImportFolderResult,
  InspectPixelRequest,
  isOwnMask,
  PreviewTilesRequest,
  RunRequest,
  SetSceneDateRequest,
  DeleteItemRequest,
  ItemRef,
  RenameRequest,
  type Dependents,
  type ItemKind,
  SetQueueRequest,
  type ApiEvent,
  type BackendInfo,
  type ClearskyApi,
  type BuildReferenceRequestInput,
  type EditMaskRequestInput,
  type DetectMaskRequestInput,
  type DetectionPreview,
  type PreviewDetectionRequestInput,
  type PixelValues,
  type PreviewTilesRequestInput,
  type TilePreview,
  type ImportOutcome,
  type MaskRecord,
  type ProjectInfo,
  type RefRecord,
  type RunRecord,
  type RunRequestInput,
  type SceneRecord,
  type TileRecord,
  LossCurvesRequest,
  type LossCurvesRequestInput,
  type TileLossCurves,
  REFERENCE_METHODS,
} from '../api/contract.ts';
import { backupIfDue, openProject, RUNS_FOLDER, type Project } from '../catalogue/project.ts';
import { SCHEMA_VERSION } from '../catalogue/schema.ts';
import { InputError, throwIfCancelled } from '../errors.ts';
import { qualityFile, qualityPath } from '../report/quality-file.ts';
import { prepareOutputs } from './output-guard.ts';
import { JobRunner, type RunnerOptions } from '../jobs/runner.ts';
import { RunStore } from '../jobs/run-store.ts';
import { projectQueueUrl, redactQueueUrl, setProjectQueueUrl } from '../jobs/queue/project-queue.ts';
import { censusTiles, openRunInputs, planRun, type RunInputFiles } from '../reconstruction/pipeline.ts';
import { probeBackends } from '../jobs/pool.ts';
import { copyRaster } from '../raster/tiff/copy-raster.ts';
import { writeFileAtomically } from '../raster/tiff/atomic-file.ts';
import { buildRunReport } from '../report/run-report.ts';
import { planTiles } from '../raster/tiles/tiling.ts';
import { buildReference } from '../catalogue/build-reference.ts';
import { importFiles, setSceneDate } from '../catalogue/import.ts';
import { deleteItem, dependentsOf, renameItem } from '../catalogue/manage.ts';
import { editMask } from '../catalogue/edit-mask.ts';
import { detectMask, previewDetection } from '../catalogue/detect-mask.ts';
import { inspectPixel } from '../catalogue/inspect.ts';
import { getMask, listMasks, maskFile } from '../catalogue/masks.ts';
import { assertFilePresent } from '../catalogue/records.ts';
import { getRef, listRefs, refFile } from '../catalogue/refs.ts';
import { getScene, listScenes, sceneFile } from '../catalogue/scenes.ts';
import { detectedCover, ensureCloudCover } from '../catalogue/cloud-cover.ts';
import { randomBytes } from 'node:crypto';
import { REFERENCE_MODES } from '../dip/choices.ts';
import { ssimBorder } from '../dip/metrics.ts';
import { Tasks } from './tasks.ts';

export interface ServiceOptions extends RunnerOptions {
  /** Run jobs in this process's worker pool (default). Without, runs are only queued, listed and cancelled. */
  jobs?: boolean;
  /** How often an open project checks whether its daily catalogue backup is due (default: hourly). */
  backupCheckMs?: number;
  /** Sets the project's queue (runs sent to a queue go there) before any run is worked: `clearsky run|resume --queue URL`. */
  queueUrl?: string;
}

/** The API of one open project: everything but choosing the project (native/project/workspace.ts does that). */
export type ProjectApi = Omit<ClearskyApi, 'openProject' | 'project'> & { project(): Promise<ProjectInfo> };

export class Service implements ProjectApi {
  private readonly runner: JobRunner | undefined;
  private readonly store: RunStore;
  private readonly backupTimer: NodeJS.Timeout;
  /** Imports, references, detections, exports and reports going on: their progress and Cancel (tasks.ts). */
  private readonly tasks = new Tasks();

  private constructor(
    readonly catalogue: Project,
    private readonly options: ServiceOptions,
  ) {
    if (options.queueUrl !== undefined) setProjectQueueUrl(catalogue.db, options.queueUrl, '--queue');
    if (options.jobs !== false) {
      this.runner = new JobRunner(catalogue, options);
      this.runner.start();
    }
    this.store = this.runner?.store ?? new RunStore(catalogue.db);
    // Opening backs up once a day; the app or `clearsky serve` may stay open for days.
    this.backupTimer = setInterval(() => backupIfDue(catalogue), options.backupCheckMs ?? 60 * 60 * 1000).unref();
  }

  static open(dir: string, options: ServiceOptions = {}): Service {
    const project = openProject(dir);
    try {
      return new Service(project, options);
    } catch (error) {
      project.close(); // a bad --queue URL, say: the catalogue is not left open
      throw error;
    }
  }

  async project(): Promise<ProjectInfo> {
    const row = this.catalogue.db.prepare('SELECT name, created_at FROM project WHERE id = 1').get() as { name: string; created_at: string };
    const queue = projectQueueUrl(this.catalogue.db);
    return { dir: this.catalogue.dir, name: row.name, createdAt: row.created_at, schemaVersion: SCHEMA_VERSION, queue: queue === null ? null : redactQueueUrl(queue) };
  }

  /** Sets (or clears) the queue the project's runs may be sent to; runs already sent there follow it on their next tile. */
  async setQueue(request: SetQueueRequest): Promise<ProjectInfo> {
    setProjectQueueUrl(this.catalogue.db, SetQueueRequest.parse(request).url);
    return this.project();
  }

  async listScenes(): Promise<SceneRecord[]> {
    return listScenes(this.catalogue);
  }

  async listRefs(): Promise<RefRecord[]> {
    return listRefs(this.catalogue);
  }

  async listMasks(): Promise<MaskRecord[]> {
    return listMasks(this.catalogue);
  }

  async importFiles(request: ImportRequest): Promise<ImportOutcome[]> {
    const parsed = ImportRequest.parse(request);
    const label = parsed.paths.length === 1 ? `Import ${path.basename(parsed.paths[0])}` : `Import ${parsed.paths.length} files and folders`;
    return this.tasks.run(label, (task) => importFiles(this.catalogue, parsed, undefined, task));
  }

  /**
   * Imports every raster of a folder as a task (its events: the file under way, n of N), then estimates the cloud
   * cover of the Sentinel-2 scenes it brought that got none from their file or a mask of their day (a step per
   * scene). Cancelled (cancelTask, or `signal`: Ctrl-C), it stops between files and answers what it did: the
   * files done stay imported, the rest are listed as not imported, and its task ends 'cancelled'.
   */
  async importFolder(input: ImportFolderRequest, signal?: AbortSignal): Promise<ImportFolderResult> {
    const request = ImportFolderRequest.parse(input);
    const folder = path.resolve(request.folder);
    const stat = await fs.stat(folder).catch(() => null);
    if (!stat) throw new InputError(request.folder, 'no such folder');
    if (!stat.isDirectory()) throw new InputError(request.folder, 'is not a folder: import a file with importFiles');
    return this.tasks.run(`Import ${path.basename(folder)}`, async (task) => {
      const notImported: string[] = [];
      task.progress(0, 0, 'looking for rasters');
      // No task passed down: a cancel lets the file under way finish (never half imported) and stops before the next.
      const outcomes = await importFiles(this.catalogue, { paths: [folder], kind: request.kind }, (done, count, file) => task.progress(done, count, path.basename(file)), undefined, {
        signal: task.signal,
        onNotImported: (file) => notImported.push(file),
      });
      // Duplicates too: an import cancelled before the cloud cover, run again, gives the scenes it kept theirs.
      const scenes = outcomes.flatMap((o) => ((o.status === 'imported' || o.status === 'duplicate') && o.kind === 'scene' ? [o.status === 'imported' ? o.record.id : o.id] : []));
      const uncovered = scenes.filter((id) => {
        const scene = getScene(this.catalogue, id);
        return scene.sensor === 'S2' && scene.cloudCover === null;
      });
      for (const [index, sceneId] of uncovered.entries()) {
        if (task.signal.aborted) break;
        task.progress(index, uncovered.length, `cloud cover of ${getScene(this.catalogue, sceneId).name}`);
        try {
          await ensureCloudCover(this.catalogue, sceneId, task.signal);
        } catch (error) {
          if (task.signal.aborted) break;
          // A scene the detector cannot read (bands missing) keeps no cover; the import itself stands.
          console.error(`clearsky: cloud cover of scene ${sceneId}: ${(error as Error).message}`);
        }
      }
      // Re-read: the scenes' records now carry their cover.
      const fresh = outcomes.map((o) => (o.status === 'imported' && o.kind === 'scene' ? { ...o, record: getScene(this.catalogue, o.record.id) } : o));
      return { outcomes: fresh, cancelled: task.signal.aborted, notImported };
    }, { signal });
  }

  async setSceneDate(request: SetSceneDateRequest): Promise<SceneRecord> {
    const { sceneId, date } = SetSceneDateRequest.parse(request);
    return setSceneDate(this.catalogue, sceneId, date);
  }

  async buildReference(request: BuildReferenceRequestInput): Promise<RefRecord> {
    const scenes = Array.isArray(request?.sceneIds) ? request.sceneIds.length : 0;
    return this.tasks.run(`Build a reference from ${scenes} scene${scenes === 1 ? '' : 's'}`, (task) => buildReference(this.catalogue, request, task));
  }

  async startRun(input: RunRequestInput): Promise<RunRecord> {
    const request = RunRequest.parse(input);
    // Each raster is looked up and checked to be on disk now, not hours later in a worker.
    const relative = (absolute: string) => this.catalogue.relative(absolute);
    const mask = maskFile(this.catalogue, request.maskId);
    if (REFERENCE_METHODS.has(request.method) && request.refId === undefined) throw new InputError(undefined, `the ${request.method} baseline needs a reference (refId)`);
    // Refused now rather than as a run whose every tile fails.
    if (request.method === 'dip' && REFERENCE_MODES.has(request.mode) && request.refId === undefined) throw new InputError(undefined, `mode ${request.mode} needs a multi-temporal reference (refId)`);
    if (request.groundTruth) checkGroundTruth(this.catalogue, request);
    if (request.tiles) checkTiles(this.catalogue, request, request.tiles);
    if (request.sarBands && request.sarSceneId !== undefined) {
      // Band numbers are checked now, not when a worker first reads the SAR scene.
      const sar = getScene(this.catalogue, request.sarSceneId);
      const wrong = [request.sarBands.vv, request.sarBands.vh].find((b) => b > sar.bands.length);
      if (wrong !== undefined) throw new InputError(undefined, `SAR band ${wrong} is not in '${sar.name}', which has ${sar.bands.length} band${sar.bands.length === 1 ? '' : 's'}`);
      if (request.sarBands.vv === request.sarBands.vh) throw new InputError(undefined, `SAR bands: VV and VH are both band ${request.sarBands.vv} of '${sar.name}'`);
    }
    if (request.queue && projectQueueUrl(this.catalogue.db) === null) throw new InputError(undefined, 'the run is to be sent to a queue, but the project has none set: set one first (clearsky run … --queue redis://host:port, or the app’s project settings)');
    const inputs: RunInputFiles = {
      target: relative(sceneFile(this.catalogue, request.targetSceneId)),
      mask: relative(mask.file),
      maskBand: mask.band,
      bands: request.bands,
      references: request.refId !== undefined ? [relative(refFile(this.catalogue, request.refId))] : undefined,
      sar: request.sarSceneId !== undefined ? relative(sceneFile(this.catalogue, request.sarSceneId)) : undefined,
      sarBands: request.sarSceneId !== undefined ? request.sarBands : undefined,
      sarUnits: request.sarSceneId !== undefined ? request.sarUnits : undefined,
      area: request.area,
    };
    // The run is this process's from the start (its lease): another process open on the project leaves it alone.
    const runId = this.store.createRun(request, inputs, request, this.runner?.owner);
    this.runner?.submitted(runId);
    return this.store.record(runId);
  }

  /**
   * One run per cloudy date: every Sentinel-2 scene asked for whose cloud cover is within (minCover, maxCover)
   * gets a run of the same parameters, named by its date and tagged with the batch's id; the runner works
   * them one after another (or on its workers). The reference is given or built once from clear dates. Each
   * date that is not run says why (clear, too cloudy to reconstruct, no mask found, a refusal of startRun).
   */
  async runCloudyDates(input: CloudyDatesRequestInput): Promise<CloudyDatesResult> {
    const request = CloudyDatesRequest.parse(input);
    const all = listScenes(this.catalogue);
    const asked = request.sceneIds ?? all.filter((s) => s.sensor === 'S2').map((s) => s.id);
    const scenes = asked.map((id) => getScene(this.catalogue, id));
    const sar = scenes.find((s) => s.sensor !== 'S2');
    if (sar) throw new InputError(undefined, `scene ${sar.id} (${sar.name}) is Sentinel-1: runs are made for cloudy Sentinel-2 dates`);
    if (['ms', 'msmt', 'msr'].includes(request.run.mode)) throw new InputError(undefined, `mode ${request.run.mode} needs a Sentinel-1 scene of each date; a run per cloudy date takes basic, mt or mtr`);
    const needsReference = ['mt', 'mtr'].includes(request.run.mode) || REFERENCE_METHODS.has(request.run.method);
    if (needsReference && request.refId === undefined && request.referenceFrom === undefined) {
      throw new InputError(undefined, `mode ${request.run.mode}${REFERENCE_METHODS.has(request.run.method) ? ` (${request.run.method})` : ''} needs a reference: give one (refId) or the clear dates to build it from (referenceFrom)`);
    }
    const masks = listMasks(this.catalogue);
    const ownMask = (sceneId: number) => masks.filter((m) => m.sceneId === sceneId).sort((a, b) => b.version - a.version || b.id - a.id)[0];
    const dates: CloudyDate[] = [];
    const cloudy: { date: CloudyDate; maskId: number | null }[] = [];
    for (const scene of [...scenes].sort((a, b) => (a.acquired ?? '9999').localeCompare(b.acquired ?? '9999') || a.id - b.id)) {
      const date: CloudyDate = { sceneId: scene.id, name: scene.name, acquired: scene.acquired, cloudCover: null, state: 'skipped', reason: null, runId: null, maskId: null };
      dates.push(date);
      if (request.referenceFrom?.includes(scene.id)) {
        date.cloudCover = scene.cloudCover;
        date.reason = 'one of the clear dates the reference is built from';
        continue;
      }
      const own = request.masks === 'own' ? ownMask(scene.id) : undefined;
      try {
        // With detected masks, the detector's cover decides (the scene's may be a mask's or its file's).
        date.cloudCover = request.masks === 'detected' && scene.cloudCoverSource !== 'detected' && scene.cloudCover !== null
          ? await detectedCover(sceneFile(this.catalogue, scene.id))
          : (own?.cloudCover ?? (own ? null : await ensureCloudCover(this.catalogue, scene.id)));
      } catch (error) {
        date.reason = `its cloud cover could not be found: ${(error as Error).message}`;
        continue;
      }
      if (date.cloudCover === null) {
        date.reason = 'its cloud cover is not known';
      } else if (date.cloudCover <= request.minCover) {
        date.state = 'clear';
        date.reason = `${percent(date.cloudCover)} cloud: at most ${percent(request.minCover)} counts as clear`;
      } else if (date.cloudCover >= request.maxCover) {
        date.state = 'too-cloudy';
        date.reason = `${percent(date.cloudCover)} cloud: too little clear sky to reconstruct from (the limit is ${percent(request.maxCover)})`;
      } else {
        cloudy.push({ date, maskId: own?.id ?? null });
      }
    }
    let reference: RefRecord | null = request.refId !== undefined ? getRef(this.catalogue, request.refId) : null;
    if (request.referenceFrom && cloudy.length > 0) {
      // Each clear date's clouds are hidden by its own mask where every one has one; clear dates without masks count whole.
      const withMasks = request.referenceFrom.every((id) => ownMask(id) !== undefined);
      reference = await buildReference(this.catalogue, { sceneIds: request.referenceFrom, masks: withMasks ? 'own' : 'none', bands: request.run.bands });
    }
    const batch = `batch-${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '')}-${randomBytes(3).toString('hex')}`;
    const runs: RunRecord[] = [];
    for (const { date, maskId } of cloudy) {
      try {
        let mask = maskId;
        if (mask === null) {
          const detected = await detectMask(this.catalogue, { sceneId: date.sceneId });
          mask = detected.id;
          if (detected.cloudCover !== null) date.cloudCover = detected.cloudCover;
        }
        date.maskId = mask;
        const run = await this.startRun({
          ...request.run,
          name: `${date.acquired ?? date.name} · ${request.run.method === 'dip' ? request.run.mode : request.run.method}`,
          targetSceneId: date.sceneId,
          maskId: mask,
          refId: reference?.id,
          batch,
        });
        date.state = 'queued';
        date.runId = run.id;
        runs.push(run);
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
        date.reason = error.message;
      }
    }
    return { batch, reference, runs, dates };
  }

  /** Cancels every run of the batch still to finish; answers all its runs. */
  async cancelBatch(input: { batch: string }): Promise<RunRecord[]> {
    const { batch } = CancelBatchRequest.parse(input);
    const mine = this.store.list().filter((run) => run.request.batch === batch);
    if (mine.length === 0) throw new InputError(undefined, `there is no batch ${batch} in this project`);
    for (const run of mine) if (isActiveRun(run.status)) await this.cancelRun(run.id);
    return this.store.list().filter((run) => run.request.batch === batch);
  }

  /** This process's id as the owner of the runs it works (lease.ts); undefined without jobs. */
  get owner(): string | undefined {
    return this.runner?.owner;
  }

  /** The unfinished runs this process works now. */
  ownedRuns(): number[] {
    return this.runner?.owned() ?? [];
  }

  async listRuns(): Promise<RunRecord[]> {
    return this.store.list();
  }

  async getRun(runId: number): Promise<RunRecord & { tileList: TileRecord[] }> {
    return { ...this.store.record(runId), tileList: this.store.tiles(runId) };
  }

  async runLossCurves(request: LossCurvesRequestInput): Promise<{ runId: number; tiles: TileLossCurves[] }> {
    const { runId, tiles, points } = LossCurvesRequest.parse(request);
    return { runId, tiles: this.store.lossCurves(runId, tiles, points) };
  }

  async cancelRun(runId: number): Promise<RunRecord> {
    this.store.record(runId); // an unknown run is an InputError
    // A runner in another process notices the cancel in the catalogue within a second.
    if (this.runner) this.runner.cancel(runId);
    else this.store.cancel(runId);
    return this.store.record(runId);
  }

  /** A cancelled run goes on with the tiles still to do; those finished are kept, not computed again. */
  async resumeRun(runId: number): Promise<RunRecord> {
    return this.reopen(runId, 'resume');
  }

  /** A cancelled run finished as it is: the mosaic of its finished tiles, the input elsewhere (the run ends partial). */
  async finishRun(runId: number): Promise<RunRecord> {
    return this.reopen(runId, 'finish');
  }

  /**
   * Deletes a run that is over: its record, tiles and result layers, and its folder (runs/<id>/: tile results,
   * mosaics). Exports written outside the project stay. A run going on is refused: cancel it first.
   */
  async deleteRun(runId: number): Promise<{ runId: number }> {
    this.store.deleteRun(runId);
    await fs.rm(path.join(this.catalogue.dir, RUNS_FOLDER, String(runId)), { recursive: true, force: true });
    return { runId };
  }

  async renameItem(request: RenameRequest): Promise<{ kind: ItemKind; id: number; name: string }> {
    const { kind, id: itemId, name } = RenameRequest.parse(request);
    renameItem(this.catalogue, kind, itemId, name);
    return { kind, id: itemId, name: name.trim() };
  }

  async dependents(request: ItemRef): Promise<Dependents> {
    const { kind, id: itemId } = ItemRef.parse(request);
    return dependentsOf(this.catalogue, kind, itemId);
  }

  async deleteItem(request: DeleteItemRequest): Promise<{ kind: ItemKind; id: number }> {
    const { kind, id: itemId } = DeleteItemRequest.parse(request);
    deleteItem(this.catalogue, kind, itemId);
    return { kind, id: itemId };
  }

  private reopen(runId: number, how: 'resume' | 'finish'): RunRecord {
    this.store.reopen(runId, how, this.runner?.owner);
    this.runner?.submitted(runId);
    return this.store.record(runId);
  }

  /**
   * Copies a result layer out of the project (e.g. into a QGIS project folder), atomically, as a COG; with
   * `quality`, a reconstruction also gets its run's per-tile quality file beside it (report/quality-file.ts).
   */
  async exportResult(request: ExportRequest): Promise<{ path: string; quality?: string }> {
    const { resultId, destination, quality } = ExportRequest.parse(request);
    const row = this.catalogue.db.prepare('SELECT file, kind, run_id AS runId FROM results WHERE id = ?').get(resultId) as { file: string; kind: string; runId: number } | undefined;
    if (!row) throw new InputError(undefined, `there is no result ${resultId} in this project`);
    if (quality && row.kind !== 'reconstruction') throw new InputError(undefined, `result ${resultId} is the run's ${row.kind}: a quality file goes beside the reconstruction`);
    const source = assertFilePresent(this.catalogue, row.file);
    const target = path.resolve(destination);
    const qualityTarget = quality ? qualityPath(target) : undefined;
    // Never onto the result itself, another project's data, or anywhere in this project (its rasters feed runs).
    await prepareOutputs({
      inputs: [{ path: source, what: `result ${resultId}` }],
      outputs: [{ path: target, what: 'the export' }, ...(qualityTarget ? [{ path: qualityTarget, what: 'the quality file' }] : [])],
      closedFolders: [this.catalogue.dir],
    });
    await fs.mkdir(path.dirname(target), { recursive: true });
    await this.tasks.run(`Export ${path.basename(target)}`, (task) =>
      copyRaster(source, target, { signal: task.signal, onProgress: (done, total) => task.progress(done, total, 'writing a Cloud Optimized GeoTIFF, tile by tile') }),
    );
    if (!qualityTarget) return { path: target };
    const content = qualityFile(this.store.record(row.runId), this.store.tiles(row.runId), this.store.lossCurves(row.runId));
    await writeFileAtomically(qualityTarget, (file) => file.writeFile(`${JSON.stringify(content, null, 1)}\n`, 'utf8'));
    return { path: target, quality: qualityTarget };
  }

  /**
   * Writes the QA report of a finished run (done or partial) as one self-contained HTML file, atomically,
   * through the output guard: never onto the run's inputs or results, nor anywhere in this project.
   */
  async runReport(request: RunReportRequest): Promise<{ path: string }> {
    const { runId, destination } = RunReportRequest.parse(request);
    const run = this.store.record(runId);
    if (run.status !== 'done' && run.status !== 'partial') throw new InputError(undefined, `run ${runId} is ${run.status}: a report is made for a run that finished (done or partial)`);
    const r = run.request;
    const resultFile = (kind: string) => {
      const result = run.results.find((x) => x.kind === kind);
      return result ? assertFilePresent(this.catalogue, result.file) : null;
    };
    const reconstruction = resultFile('reconstruction');
    if (!reconstruction) throw new InputError(undefined, `run ${runId} has no reconstruction to report on`);
    const scene = getScene(this.catalogue, r.targetSceneId);
    const mask = getMask(this.catalogue, r.maskId);
    const files = { scene: sceneFile(this.catalogue, r.targetSceneId), reconstruction, mask: resultFile('mask'), uncertainty: resultFile('uncertainty') };
    const target = path.resolve(destination);
    const inputs = [{ path: files.scene, what: `the run's scene` }, ...run.results.map((x) => ({ path: this.catalogue.resolve(x.file), what: `result ${x.id}` }))];
    await prepareOutputs({ inputs, outputs: [{ path: target, what: 'the report' }], closedFolders: [this.catalogue.dir] });
    const reference = r.refId === undefined ? null : getRef(this.catalogue, r.refId);
    const sar = r.sarSceneId === undefined ? null : getScene(this.catalogue, r.sarSceneId);
    const html = await this.tasks.run(`QA report of run ${runId}`, async (task) => {
      const made = await buildRunReport({
      projectName: (await this.project()).name,
      run,
      tiles: this.store.tiles(runId),
      curves: this.store.lossCurves(runId),
      scene: { id: scene.id, name: scene.name, file: scene.file, acquired: scene.acquired },
      mask: { id: mask.id, name: mask.name, file: mask.file },
      reference: reference && { id: reference.id, name: reference.name, file: reference.file },
      sar: sar && { id: sar.id, name: sar.name, file: sar.file },
      files,
      }, task);
      throwIfCancelled(task.signal);
      return made;
    });
    await fs.mkdir(path.dirname(target), { recursive: true });
    await writeFileAtomically(target, (file) => file.writeFile(html, 'utf8'));
    return { path: target };
  }

  /**
   * The tiles a run with these settings would reconstruct, found by the runs' own planning and survey code
   * (pipeline.ts) from one read of the mask: clear (kept as is), cloudy, or all cloud (kept too: nothing to
   * fit to). Windows are in the target scene's pixels, also when the run is over an area of it.
   */
  async previewTiles(input: PreviewTilesRequestInput): Promise<TilePreview[]> {
    const request = PreviewTilesRequest.parse(input);
    const mask = maskFile(this.catalogue, request.maskId);
    const inputs = await openRunInputs({ target: sceneFile(this.catalogue, request.targetSceneId), mask: mask.file, maskBand: mask.band, area: request.area });
    try {
      let plan;
      try {
        plan = planRun(inputs, request);
      } catch (error) {
        if (error instanceof RangeError) throw new InputError(undefined, error.message);
        throw error;
      }
      const { x, y } = inputs.area;
      return (await censusTiles(plan, inputs)).map(({ tile, cloudy, clear }) => ({
        index: tile.index,
        window: { ...tile.window, x: tile.window.x + x, y: tile.window.y + y },
        state: cloudy === 0 ? 'clear' : clear === 0 ? 'all-cloud' : 'cloudy',
        cloudFraction: cloudy + clear === 0 ? 0 : cloudy / (cloudy + clear),
      }));
    } finally {
      await inputs.close();
    }
  }

  /** Every band's value under a map coordinate, in the scene and the reference and run results asked for (1×1 reads). */
  async inspectPixel(request: InspectPixelRequest): Promise<PixelValues> {
    return inspectPixel(this.catalogue, this.store, InspectPixelRequest.parse(request));
  }

  /** Polygons added (cloud) and erased (clear) on a mask, saved as its next version: a new mask record. */
  async editMask(request: EditMaskRequestInput): Promise<MaskRecord> {
    return editMask(this.catalogue, request);
  }

  /** Clouds and shadows found in a Sentinel-2 scene, saved as its next mask version (source 'detected'). */
  async detectMask(request: DetectMaskRequestInput): Promise<MaskRecord> {
    return this.tasks.run(`Detect clouds in ${this.sceneName(request.sceneId)}`, (task) => detectMask(this.catalogue, request, task));
  }

  /** The outline detection would save, over the scene or a window of it; nothing is written. */
  async previewDetection(request: PreviewDetectionRequestInput): Promise<DetectionPreview> {
    // A newer preview (the slider moved on) cancels the one still going: only the last one is wanted.
    return this.tasks.run(`Preview clouds in ${this.sceneName(request.sceneId)}`, (task) => {
      task.progress(0, 1, 'detecting in the part in view');
      return previewDetection(this.catalogue, request, task.signal);
    }, { group: 'previewDetection' });
  }

  /** What `auto` picks here and the backends that work, asked of a worker process (nothing heavy is loaded here). */
  async backends(): Promise<BackendInfo> {
    return probeBackends(this.options.launch);
  }

  /** A scene's name for a task's label (its id when there is no such scene: the task itself then says so). */
  private sceneName(sceneId: number): string {
    try {
      return getScene(this.catalogue, sceneId).name;
    } catch {
      return `scene ${sceneId}`;
    }
  }

  /** Stops an import, reference, detection, export or report going on (tasks.ts); false when it is over. */
  async cancelTask(taskId: string): Promise<{ taskId: string; cancelled: boolean }> {
    return { taskId, cancelled: this.tasks.cancel(taskId) };
  }

  subscribe(listener: (event: ApiEvent) => void): () => void {
    const runs = this.runner ? this.runner.subscribe(listener) : () => undefined;
    const tasks = this.tasks.subscribe(listener);
    return () => {
      runs();
      tasks();
    };
  }

  async close(): Promise<void> {
    this.tasks.cancelAll();
    clearInterval(this.backupTimer);
    await this.runner?.close();
    this.catalogue.close();
  }
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(fraction < 0.1 && fraction > 0 ? 1 : 0)} %`;
}

/**
 * A ground-truth run scores the result against the target under the mask, which only means something when the
 * target is clear there: the mask must come from another date than the target (its own marks its own clouds).
 */
function checkGroundTruth(project: Project, request: RunRequest): void {
  const scene = getScene(project, request.targetSceneId);
  const mask = getMask(project, request.maskId);
  if (isOwnMask(scene, mask)) {
    throw new InputError(undefined, `mask '${mask.name}' is the cloud mask of '${scene.name}' itself: under it lies cloud, not ground truth. For a ground-truth run, choose a clear target and a mask of another date`);
  }
  const area = request.area ?? scene.grid;
  const smallest = 2 * ssimBorder() + 1;
  if (area.width < smallest || area.height < smallest) {
    throw new InputError(undefined, `a ground-truth run is scored with SSIM, whose window needs an area of at least ${smallest}×${smallest} pixels, not ${area.width}×${area.height}`);
  }
}

/** Chosen tiles must be tiles of the run's plan (the plan is the scene's, or the area's, cut as asked). */
function checkTiles(project: Project, request: RunRequest, tiles: number[]): void {
  const area = request.area ?? getScene(project, request.targetSceneId).grid;
  let count: number;
  try {
    count = planTiles(area.width, area.height, request).tiles.length;
  } catch (error) {
    if (error instanceof RangeError) throw new InputError(undefined, error.message);
    throw error;
  }
  const outside = tiles.filter((index) => index >= count);
  if (outside.length > 0) {
    throw new InputError(undefined, `tiles ${outside.slice(0, 5).join(', ')}${outside.length > 5 ? ', …' : ''} are not in the run's plan: ${area.width}×${area.height} px in ${request.tileSize}-px tiles overlapping by ${request.overlap} px has tiles 0–${count - 1}`);
  }
}
