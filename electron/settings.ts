/**
 * The app's settings in the user data folder (`settings.json`: recent projects, the window's place, and
 * `roots`: the folders the app's page may open, create, import and export in, default the home folder),
 * read leniently (a missing, corrupt or hand-edited file gives defaults, field by field) and written
 * atomically (temporary file + rename), so a crash never leaves half a file.
 */
import fs from 'node:fs';
import path from 'node:path';

export const SETTINGS_FILE = 'settings.json';
export const MAX_RECENT = 10;

export interface WindowState {
  x?: number;
  y?: number;
  width: number;
  height: number;
  maximized: boolean;
}

export interface Settings {
  recentProjects: string[];
  window: WindowState;
  /** The folders the page's paths must lie in (native/project/workspace.ts); empty: the home folder. Edited by hand. */
  roots: string[];
}

export const DEFAULT_WINDOW: WindowState = { width: 1280, height: 800, maximized: false };

export function defaultSettings(): Settings {
  return { recentProjects: [], window: { ...DEFAULT_WINDOW }, roots: [] };
}

export function loadSettings(folder: string): Settings {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(path.join(folder, SETTINGS_FILE), 'utf8'));
  } catch {
    return defaultSettings();
  }
  const settings = defaultSettings();
  if (raw === null || typeof raw !== 'object') return settings;
  const { recentProjects, window, roots } = raw as Record<string, unknown>;
  if (Array.isArray(roots)) settings.roots = roots.filter((p): p is string => typeof p === 'string' && path.isAbsolute(p));
  if (Array.isArray(recentProjects)) {
    settings.recentProjects = recentProjects.filter((p): p is string => typeof p === 'string' && path.isAbsolute(p)).slice(0, MAX_RECENT);
  }
  if (window !== null && typeof window === 'object') {
    const w = window as Record<string, unknown>;
    const size = (v: unknown, min: number) => (typeof v === 'number' && Number.isFinite(v) && v >= min && v <= 100_000 ? Math.round(v) : undefined);
    const place = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= 100_000 ? Math.round(v) : undefined);
    settings.window = {
      width: size(w.width, 400) ?? DEFAULT_WINDOW.width,
      height: size(w.height, 300) ?? DEFAULT_WINDOW.height,
      maximized: w.maximized === true,
    };
    const x = place(w.x);
    const y = place(w.y);
    if (x !== undefined && y !== undefined) Object.assign(settings.window, { x, y });
  }
  return settings;
}

export function saveSettings(folder: string, settings: Settings): void {
  fs.mkdirSync(folder, { recursive: true });
  const file = path.join(folder, SETTINGS_FILE);
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(settings, null, 2)}\n`);
  fs.renameSync(temporary, file);
}

/** The recent projects with `dir` first, without duplicates, at most MAX_RECENT. */
export function addRecent(recent: readonly string[], dir: string): string[] {
  const resolved = path.resolve(dir);
  return [resolved, ...recent.filter((p) => p !== resolved)].slice(0, MAX_RECENT);
}

interface Rectangle {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * The bounds to open the window with: the saved ones when at least 100 × 50 px of the window's top falls
 * on a display that is still there (a monitor unplugged since must not hide the window), else only the
 * saved size, shrunk to the primary display, and centred.
 */
export function restoreBounds(saved: WindowState, workAreas: readonly Rectangle[]): { x?: number; y?: number; width: number; height: number } {
  const primary = workAreas[0];
  const width = primary ? Math.min(saved.width, primary.width) : saved.width;
  const height = primary ? Math.min(saved.height, primary.height) : saved.height;
  if (saved.x === undefined || saved.y === undefined) return { width, height };
  const { x, y } = saved;
  const visible = workAreas.some((area) => {
    const overlapX = Math.min(x + saved.width, area.x + area.width) - Math.max(x, area.x);
    const titleInside = y >= area.y && y + 50 <= area.y + area.height;
    return overlapX >= 100 && titleInside;
  });
  return visible ? { x, y, width: saved.width, height: saved.height } : { width, height };
}
