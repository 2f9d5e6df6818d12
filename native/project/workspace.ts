/**
 * Browser mode's back end: the whole API over whichever project is open now, or none yet. It holds at most
 * one `Service`; `openProject` replaces it (the previous one is closed: its runs stop in this process and
 * resume when that project is opened again, as the job runner already does on open). Every other command goes
 * to the open service, or fails with an InputError when there is none; `project()` then answers null.
 * Event subscribers stay subscribed across project changes: they hear the events of whichever is open.
 *
 * Browser mode (`clearsky serve`, native/http/server.ts) and the desktop app (electron/main.ts, over IPC) both
 * use it; the desktop app adds `onProjectOpened` (recent projects, the window title, the menu) and its own
 * hint for commands sent with no project open.
 *
 * Root confinement: whoever reaches the API (a page, or any local program holding the server's token) may
 * only open and create projects, import files and export results inside the workspace's root folders (by
 * default the home folder): each path is resolved to the real path of its existing part, so a symbolic
 * link cannot lead out. What the person at the machine chose themselves (a folder named on the command
 * line, the desktop app's own file dialogs) goes through `unconfined` instead.
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  ExportRequest,
  RunReportRequest,
  ImportRequest,
  ImportFolderRequest,
  OpenProjectRequest,
  type ApiEvent,
  type ClearskyApi,
  type OpenProjectRequestInput,
  type ProjectInfo,
} from '../api/contract.ts';
import { CATALOGUE_FILE, checkCatalogue, createProject } from '../catalogue/project.ts';
import { InputError } from '../errors.ts';
import { probeBackends } from '../jobs/pool.ts';
import { Service, type ProjectApi, type ServiceOptions } from './service.ts';
import { isInside } from '../catalogue/project.ts';

export const NO_PROJECT = 'no project is open: create or open one first';

export interface WorkspaceOptions {
  /** The message of the InputError that commands get with no project open (default `NO_PROJECT`). */
  noProject?: string;
  /**
   * The folders the API's paths must lie in (default: the home folder). Each must exist; they are taken by
   * their real paths.
   */
  roots?: readonly string[];
  /** Added to the InputError for a path outside the roots: how to allow another folder. */
  outsideHint?: string;
}

/** The commands that take paths, without the root confinement: for paths the user chose outside the app's page. */
export type UnconfinedApi = Pick<ClearskyApi, 'openProject' | 'importFiles' | 'importFolder' | 'exportResult' | 'runReport'>;

export class Workspace implements ClearskyApi {
  private service: Service | undefined;
  private readonly listeners = new Set<(event: ApiEvent) => void>();
  private unsubscribe: () => void = () => undefined;
  /** Project changes one at a time: a second `openProject` waits for the first to finish. */
  private switching: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly noProject: string;
  /** The real paths of the root folders. */
  readonly roots: readonly string[];
  private readonly outsideHint: string;
  /**
   * Told after each project was opened or created, in the order they were opened, before `openProject`
   * answers. What it throws is logged, not answered: the project is open all the same.
   */
  onProjectOpened: (info: ProjectInfo) => void = () => undefined;

  constructor(
    private readonly serviceOptions: ServiceOptions = {},
    options: WorkspaceOptions = {},
  ) {
    this.noProject = options.noProject ?? NO_PROJECT;
    this.roots = (options.roots ?? [os.homedir()]).map(realRoot);
    if (this.roots.length === 0) throw new InputError(undefined, 'no root folder: name at least one');
    this.outsideHint = options.outsideHint ?? '';
  }

  /**
   * The same commands for the paths the person at the machine chose themselves (the command line's
   * `--project`, the desktop app's menu dialogs): not confined to the roots.
   */
  readonly unconfined: UnconfinedApi = {
    openProject: (input) => this.queueSwitch(input),
    importFiles: async (request) => this.current().importFiles(request),
    importFolder: async (request) => this.current().importFolder(request),
    exportResult: async (request) => this.current().exportResult(request),
    runReport: async (request) => this.current().runReport(request),
  };

  /** Refuses `given` (InputError naming it and the roots) unless its real path lies inside a root folder. */
  async confine(given: string): Promise<void> {
    const real = await realPathOf(path.resolve(given));
    if (real !== null && this.roots.some((root) => isInside(root, real))) return;
    const where = this.roots.length === 1 ? `the folder this Clearsky may use (${this.roots[0]})` : `the folders this Clearsky may use (${this.roots.join(', ')})`;
    const why = real === null ? `cannot be checked to lie inside ${where}` : `is outside ${where}`;
    throw new InputError(given, `${why}${this.outsideHint ? `: ${this.outsideHint}` : ''}`);
  }

  /** The open project's folder (absolute), or null: where `/rasters/` serves from. */
  get projectDir(): string | null {
    return this.service?.catalogue.dir ?? null;
  }

  async project(): Promise<ProjectInfo | null> {
    return this.service ? this.service.project() : null;
  }

  /** Opens a project folder, or with `create` makes a new project there first; the previous one is closed. */
  async openProject(input: OpenProjectRequestInput): Promise<ProjectInfo> {
    const request = OpenProjectRequest.parse(input);
    await this.confine(request.dir);
    return this.queueSwitch(request);
  }

  private queueSwitch(input: OpenProjectRequestInput): Promise<ProjectInfo> {
    const next = this.switching.then(() => this.switchTo(OpenProjectRequest.parse(input)));
    this.switching = next.catch(() => undefined);
    return next;
  }

  private async switchTo(request: OpenProjectRequest): Promise<ProjectInfo> {
    if (this.closed) throw new Error('the workspace is closed');
    const dir = path.resolve(request.dir);
    if (request.create) {
      if (existsSync(path.join(dir, CATALOGUE_FILE))) {
        checkCatalogue(dir); // a damaged or foreign one is refused as such, not called a project
        throw new InputError(dir, 'already holds a Clearsky project: open it instead of creating one');
      }
      createProject(dir, request.name).close();
    }
    // Opened before the current one is let go: a folder that is not a project leaves the open one open.
    const next = Service.open(dir, this.serviceOptions);
    const previous = this.service;
    this.unsubscribe();
    this.service = next;
    this.unsubscribe = next.subscribe((event) => this.emit(event));
    await previous?.close();
    const info = await next.project();
    try {
      this.onProjectOpened(info);
    } catch (error) {
      console.error(`clearsky: after opening ${info.dir}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
    return info;
  }

  private current(): ProjectApi {
    if (!this.service) throw new InputError(undefined, this.noProject);
    return this.service;
  }

  listScenes: ClearskyApi['listScenes'] = async () => this.current().listScenes();
  listRefs: ClearskyApi['listRefs'] = async () => this.current().listRefs();
  listMasks: ClearskyApi['listMasks'] = async () => this.current().listMasks();
  importFiles: ClearskyApi['importFiles'] = async (request) => {
    const project = this.current();
    for (const given of ImportRequest.parse(request).paths) await this.confine(given);
    return project.importFiles(request);
  };
  importFolder: ClearskyApi['importFolder'] = async (request) => {
    const project = this.current();
    await this.confine(ImportFolderRequest.parse(request).folder);
    return project.importFolder(request);
  };
  runCloudyDates: ClearskyApi['runCloudyDates'] = async (request) => this.current().runCloudyDates(request);
  cancelBatch: ClearskyApi['cancelBatch'] = async (request) => this.current().cancelBatch(request);
  setSceneDate: ClearskyApi['setSceneDate'] = async (request) => this.current().setSceneDate(request);
  buildReference: ClearskyApi['buildReference'] = async (request) => this.current().buildReference(request);
  startRun: ClearskyApi['startRun'] = async (request) => this.current().startRun(request);
  listRuns: ClearskyApi['listRuns'] = async () => this.current().listRuns();
  getRun: ClearskyApi['getRun'] = async (runId) => this.current().getRun(runId);
  runLossCurves: ClearskyApi['runLossCurves'] = async (request) => this.current().runLossCurves(request);
  cancelRun: ClearskyApi['cancelRun'] = async (runId) => this.current().cancelRun(runId);
  resumeRun: ClearskyApi['resumeRun'] = async (runId) => this.current().resumeRun(runId);
  finishRun: ClearskyApi['finishRun'] = async (runId) => this.current().finishRun(runId);
  deleteRun: ClearskyApi['deleteRun'] = async (runId) => this.current().deleteRun(runId);
  renameItem: ClearskyApi['renameItem'] = async (request) => this.current().renameItem(request);
  dependents: ClearskyApi['dependents'] = async (request) => this.current().dependents(request);
  deleteItem: ClearskyApi['deleteItem'] = async (request) => this.current().deleteItem(request);
  exportResult: ClearskyApi['exportResult'] = async (request) => {
    const project = this.current();
    await this.confine(ExportRequest.parse(request).destination);
    return project.exportResult(request);
  };
  runReport: ClearskyApi['runReport'] = async (request) => {
    const project = this.current();
    await this.confine(RunReportRequest.parse(request).destination);
    return project.runReport(request);
  };
  previewTiles: ClearskyApi['previewTiles'] = async (request) => this.current().previewTiles(request);
  inspectPixel: ClearskyApi['inspectPixel'] = async (request) => this.current().inspectPixel(request);
  editMask: ClearskyApi['editMask'] = async (request) => this.current().editMask(request);
  detectMask: ClearskyApi['detectMask'] = async (request) => this.current().detectMask(request);
  previewDetection: ClearskyApi['previewDetection'] = async (request) => this.current().previewDetection(request);
  setQueue: ClearskyApi['setQueue'] = async (request) => this.current().setQueue(request);
  /** With no project open no task is going on: nothing to cancel. */
  cancelTask: ClearskyApi['cancelTask'] = async (taskId) => (this.service ? this.service.cancelTask(taskId) : { taskId, cancelled: false });
  /** Needs no project: the machine's backends are the same whichever is open. */
  backends: ClearskyApi['backends'] = async () => (this.service ? this.service.backends() : probeBackends(this.serviceOptions.launch));

  subscribe(listener: (event: ApiEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  private emit(event: ApiEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch {
        // One broken listener must not stop the others.
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.switching;
    this.unsubscribe();
    const service = this.service;
    this.service = undefined;
    await service?.close();
  }
}

/** A root folder by its real path; it must exist and be a folder. */
function realRoot(root: string): string {
  let real: string;
  try {
    real = realpathSync(path.resolve(root));
  } catch {
    throw new InputError(root, 'no such folder (a root folder must exist)');
  }
  if (!statSync(real).isDirectory()) throw new InputError(root, 'is not a folder (a root folder must be one)');
  return real;
}

/**
 * The real path `absolute` has or would have once created: the real path of its longest existing part (all
 * symbolic links resolved) with the missing rest appended. Null when that cannot be known: a dangling or
 * looping symbolic link on the way (writing through it would land wherever it points), or a part that
 * cannot be read.
 */
async function realPathOf(absolute: string): Promise<string | null> {
  const missing: string[] = [];
  for (let part = absolute; ; ) {
    try {
      return path.join(await fs.realpath(part), ...missing);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return null;
      // The entry itself exists (lstat sees it) but cannot be resolved: a symbolic link to nowhere.
      if (await fs.lstat(part).then(() => true, () => false)) return null;
      const parent = path.dirname(part);
      if (parent === part) return null;
      missing.unshift(path.basename(part));
      part = parent;
    }
  }
}
