/**
 * The desktop app's back end: at most one open project, as a `Service` (native/service.ts, the same as
 * browser mode's), which the File menu and the renderer's `openProject` can replace. Commands go to the
 * open service by name, so the commands api.ts gains reach the app without changes here; event listeners
 * stay subscribed across project changes.
 *
 * No Electron import: main.ts and the tests build it with the real service.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { OpenProjectRequest, type ApiEvent, type CommandName, type ProjectInfo } from '../native/api.ts';
import { CATALOGUE_FILE, createProject } from '../native/catalogue/project.ts';
import { InputError } from '../native/errors.ts';
import { Service, type ServiceOptions } from '../native/service.ts';

export class ProjectSession {
  private service: Service | undefined;
  private readonly listeners = new Set<(event: ApiEvent) => void>();
  private unsubscribe: () => void = () => undefined;
  /** Told after a project was opened (recent projects, the window title, the menu). */
  onProjectOpened: (info: ProjectInfo) => void = () => undefined;

  constructor(private readonly serviceOptions: ServiceOptions = {}) {}

  /** The open project's folder, or null. */
  get projectDir(): string | null {
    return this.service?.catalogue.dir ?? null;
  }

  /** Opens (or with `create`, creates) a project; the previous one is closed (its runs resume when reopened). */
  async openProject(input: unknown): Promise<ProjectInfo> {
    const request = OpenProjectRequest.parse(input);
    const dir = path.resolve(request.dir);
    if (request.create) {
      if (existsSync(path.join(dir, CATALOGUE_FILE))) throw new InputError(dir, 'already holds a Clearsky project: open it instead');
      createProject(dir, request.name).close();
    }
    const next = Service.open(dir, this.serviceOptions);
    const previous = this.service;
    this.unsubscribe();
    this.service = next;
    this.unsubscribe = next.subscribe((event) => this.emit(event));
    await previous?.close();
    const info = await next.project();
    this.onProjectOpened(info);
    return info;
  }

  /** Runs a command whose arguments were validated (ipc.ts); `openProject` is the session's own. */
  async call(name: CommandName, args: unknown[]): Promise<unknown> {
    if (name === 'openProject') return this.openProject(args[0]);
    const service = this.service;
    if (!service) {
      if (name === 'project') return null;
      throw new InputError(undefined, 'no project is open: open or create one (File menu)');
    }
    const method = (service as unknown as Record<string, unknown>)[name];
    if (typeof method !== 'function') throw new InputError(undefined, `${name} is not available in this version of Clearsky`);
    return (method as (...a: unknown[]) => Promise<unknown>).apply(service, args);
  }

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
    this.unsubscribe();
    const service = this.service;
    this.service = undefined;
    await service?.close();
  }
}
