/**
 * Browser mode's back end: the whole API over whichever project is open now, or none yet. It holds at most
 * one `Service`; `openProject` replaces it (the previous one is closed: its runs stop in this process and
 * resume when that project is opened again, as the job runner already does on open). Every other command goes
 * to the open service, or fails with an InputError when there is none; `project()` then answers null.
 * Event subscribers stay subscribed across project changes: they hear the events of whichever is open.
 *
 * Browser mode (`clearsky serve`, native/server.ts) and the desktop app (electron/main.ts, over IPC) both
 * use it; the desktop app adds `onProjectOpened` (recent projects, the window title, the menu) and its own
 * hint for commands sent with no project open.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  OpenProjectRequest,
  type ApiEvent,
  type ClearskyApi,
  type OpenProjectRequestInput,
  type ProjectInfo,
} from './api.ts';
import { CATALOGUE_FILE, checkCatalogue, createProject } from './catalogue/project.ts';
import { InputError } from './errors.ts';
import { probeBackends } from './jobs/pool.ts';
import { Service, type ProjectApi, type ServiceOptions } from './service.ts';

export const NO_PROJECT = 'no project is open: create or open one first';

export interface WorkspaceOptions {
  /** The message of the InputError that commands get with no project open (default `NO_PROJECT`). */
  noProject?: string;
}

export class Workspace implements ClearskyApi {
  private service: Service | undefined;
  private readonly listeners = new Set<(event: ApiEvent) => void>();
  private unsubscribe: () => void = () => undefined;
  /** Project changes one at a time: a second `openProject` waits for the first to finish. */
  private switching: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly noProject: string;
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
  }

  /** The open project's folder (absolute), or null: where `/rasters/` serves from. */
  get projectDir(): string | null {
    return this.service?.catalogue.dir ?? null;
  }

  async project(): Promise<ProjectInfo | null> {
    return this.service ? this.service.project() : null;
  }

  /** Opens a project folder, or with `create` makes a new project there first; the previous one is closed. */
  openProject(input: OpenProjectRequestInput): Promise<ProjectInfo> {
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
  importFiles: ClearskyApi['importFiles'] = async (request) => this.current().importFiles(request);
  buildReference: ClearskyApi['buildReference'] = async (request) => this.current().buildReference(request);
  startRun: ClearskyApi['startRun'] = async (request) => this.current().startRun(request);
  listRuns: ClearskyApi['listRuns'] = async () => this.current().listRuns();
  getRun: ClearskyApi['getRun'] = async (runId) => this.current().getRun(runId);
  cancelRun: ClearskyApi['cancelRun'] = async (runId) => this.current().cancelRun(runId);
  exportResult: ClearskyApi['exportResult'] = async (request) => this.current().exportResult(request);
  previewTiles: ClearskyApi['previewTiles'] = async (request) => this.current().previewTiles(request);
  inspectPixel: ClearskyApi['inspectPixel'] = async (request) => this.current().inspectPixel(request);
  editMask: ClearskyApi['editMask'] = async (request) => this.current().editMask(request);
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
