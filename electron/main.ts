/**
 * The desktop app's main process: wires the shell's modules to Electron. One window (single instance), the
 * application menu (open/create project, recent projects, import, export), the window's place remembered,
 * settings in the user data folder. Everything else lives in modules that tests load without Electron:
 * security.ts (webPreferences, navigation, permissions), ipc.ts (the API over IPC), protocol.ts (the app
 * and the project's rasters on `clearsky:`), settings.ts. This process only brokers: the open project is
 * browser mode's `Workspace` (native/project/workspace.ts) in the workspace host, a process of its own
 * (native/project/host.ts), reached through its proxy (native/project/host-client.ts), so a long import or export
 * never freezes the window; the File menu and the renderer's `openProject` both switch it. If the host dies,
 * the proxy starts it again and reopens the project; the window is told and reloaded.
 *
 * Built by electron/build.ts into dist/electron/main.js; `npm start` builds and launches it. The host and the
 * workers it starts are this binary run as Node (ELECTRON_RUN_AS_NODE=1) on dist/electron/api-host.js and
 * worker.js, so native modules (better-sqlite3, the oneDNN addon, @tensorflow/tfjs-node-gpu) load in a Node context.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { app, BrowserWindow, dialog, ipcMain, Menu, protocol, screen, session, shell, type MenuItemConstructorOptions } from 'electron';
import type { ApiEvent, RunRecord } from '../native/api/contract.ts';
import { startApiHost } from '../native/project/host-client.ts';
import { CATALOGUE_FILE } from '../native/catalogue/layout.ts';
import { APP_URL, SCHEME } from './channels.ts';
import { appRoots, NO_PROJECT_IN_APP, OUTSIDE_ROOTS_IN_APP, registerIpc, registerShellIpc } from './ipc.ts';
import { createProtocolHandler, SCHEME_PRIVILEGES } from './protocol.ts';
import { denyPermissions, hardenContents, isSafeExternalUrl, windowOptions } from './security.ts';
import { addRecent, loadSettings, restoreBounds, saveSettings, type Settings } from './settings.ts';

protocol.registerSchemesAsPrivileged([SCHEME_PRIVILEGES]);
app.enableSandbox();

const ROOT = app.getAppPath();
const BUILT = path.join(ROOT, 'dist', 'electron');
const RENDERER = path.join(ROOT, 'renderer', 'dist');

let window: BrowserWindow | undefined;
const settings: Settings = loadSettings(app.getPath('userData'));
// The page's paths stay inside the roots (settings.json's `roots`, else the home folder); the File menu's
// dialogs are the user's own choice and go through `projects.unconfined`.
const asNode = (script: string) => ({ execPath: process.execPath, script: path.join(BUILT, script), env: { ELECTRON_RUN_AS_NODE: '1' } });
const projects = startApiHost({
  launch: asNode('api-host.js'),
  service: { launch: asNode('worker.js') },
  workspace: { noProject: NO_PROJECT_IN_APP, roots: appRoots(settings.roots), outsideHint: OUTSIDE_ROOTS_IN_APP },
});

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (!window) return;
    if (window.isMinimized()) window.restore();
    window.focus();
  });
  app.on('web-contents-created', (_event, contents) => {
    hardenContents(contents, (url) => {
      if (isSafeExternalUrl(url)) void shell.openExternal(url);
    });
  });
  app.on('window-all-closed', () => app.quit());
  let closed = false;
  app.on('will-quit', (event) => {
    if (closed) return;
    event.preventDefault();
    // Workers stop; finished tiles are in the catalogue and the runs resume when the project is reopened.
    void projects.close().finally(() => {
      closed = true;
      app.quit();
    });
  });
  void app.whenReady().then(start);
}

async function start(): Promise<void> {
  denyPermissions(session.defaultSession);
  protocol.handle(SCHEME, createProtocolHandler({ rendererDir: RENDERER, projectDir: () => projects.projectDir }));
  registerIpc({ ipcMain, api: projects, isAppContents: (contents) => window !== undefined && !window.isDestroyed() && window.webContents === contents });
  registerShellIpc({ ipcMain, roots: appRoots(settings.roots), showItemInFolder: (file) => shell.showItemInFolder(file), isAppContents: (contents) => window !== undefined && !window.isDestroyed() && window.webContents === contents });
  projects.onProjectOpened = (info) => {
    settings.recentProjects = addRecent(settings.recentProjects, info.dir);
    persist();
    window?.setTitle(`${info.name} — Clearsky`);
    void refreshMenu();
  };
  projects.onRestart = (reason, reopened) => {
    window?.webContents.reload();
    void dialog.showMessageBox({
      type: 'warning',
      title: 'Clearsky',
      message: 'The project process stopped and was started again',
      detail: `It stopped (${reason}). ${reopened ? `${reopened} is open again; interrupted runs resume.` : 'Open a project from the File menu.'} The catalogue is safe; a command that was running at that moment did not finish.`,
    });
  };
  projects.subscribe((event: ApiEvent) => {
    if (event.type === 'run' && ['done', 'partial'].includes(event.run.status)) void refreshMenu();
  });
  const last = settings.recentProjects.find((dir) => existsSync(path.join(dir, CATALOGUE_FILE)));
  if (last) await projects.unconfined.openProject({ dir: last }).catch((error: unknown) => showError(`Could not open ${last}`, error));
  createWindow();
  await refreshMenu();
}

function createWindow(): void {
  const displays = [screen.getPrimaryDisplay(), ...screen.getAllDisplays()].map((d) => d.workArea);
  const win = new BrowserWindow(windowOptions(path.join(BUILT, 'preload.cjs'), restoreBounds(settings.window, displays)));
  window = win;
  if (settings.window.maximized) win.maximize();
  win.once('ready-to-show', () => win.show());
  win.on('close', () => {
    const bounds = win.getNormalBounds();
    settings.window = { ...bounds, maximized: win.isMaximized() };
    persist();
  });
  win.on('closed', () => {
    window = undefined;
  });
  void win.loadURL(APP_URL);
}

function persist(): void {
  try {
    saveSettings(app.getPath('userData'), settings);
  } catch (error) {
    console.error(`clearsky: could not save the settings: ${String(error)}`);
  }
}

/** Opens (or creates) a project from the menu, then reloads the page so that it shows that project. */
async function openFromMenu(dir: string, create: boolean): Promise<void> {
  try {
    await projects.unconfined.openProject({ dir, create });
    window?.webContents.reload();
  } catch (error) {
    await showError(create ? `Could not create a project in ${dir}` : `Could not open ${dir}`, error);
  }
}

async function chooseFolder(create: boolean): Promise<void> {
  const options = {
    title: create ? 'New project: choose an empty folder' : 'Open project folder',
    properties: ['openDirectory', 'createDirectory'] as ('openDirectory' | 'createDirectory')[],
  };
  const chosen = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
  if (!chosen.canceled && chosen.filePaths[0]) await openFromMenu(chosen.filePaths[0], create);
}

async function importFromMenu(): Promise<void> {
  if (!projects.projectDir) return void showError('Import', new Error('Open or create a project first.'));
  const options = {
    title: 'Import rasters',
    properties: ['openFile', 'multiSelections'] as ('openFile' | 'multiSelections')[],
    filters: [{ name: 'GeoTIFF', extensions: ['tif', 'tiff'] }],
  };
  const chosen = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
  if (chosen.canceled || chosen.filePaths.length === 0) return;
  try {
    const outcomes = await projects.unconfined.importFiles({ paths: chosen.filePaths });
    const lines = outcomes.map((o) => `${path.basename(o.path)}: ${o.status}${o.status === 'failed' ? ` (${o.error})` : o.status === 'unsure' ? ` (${o.reason})` : ''}`);
    await dialog.showMessageBox({ type: 'info', title: 'Import', message: `${outcomes.filter((o) => o.status === 'imported').length} of ${outcomes.length} imported`, detail: lines.join('\n') });
    window?.webContents.reload();
  } catch (error) {
    await showError('Import failed', error);
  }
}

/** File → Import Folder…: every raster of a folder, with progress in the window (import events) and its Cancel. */
async function importFolderFromMenu(): Promise<void> {
  if (!projects.projectDir) return void showError('Import', new Error('Open or create a project first.'));
  const options = { title: 'Import a folder of rasters', properties: ['openDirectory'] as 'openDirectory'[] };
  const chosen = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
  if (chosen.canceled || !chosen.filePaths[0]) return;
  try {
    const result = await projects.unconfined.importFolder({ folder: chosen.filePaths[0] });
    const { outcomes } = result;
    const lines = outcomes.map((o) => `${path.basename(o.path)}: ${o.status}${o.status === 'failed' ? ` (${o.error})` : o.status === 'unsure' ? ` (${o.reason})` : ''}`);
    if (result.cancelled) lines.push(`Cancelled: ${result.notImported.length} not imported (the files done stay).`);
    await dialog.showMessageBox({ type: 'info', title: 'Import', message: `${outcomes.filter((o) => o.status === 'imported').length} of ${outcomes.length} imported`, detail: lines.join('\n') });
    window?.webContents.reload();
  } catch (error) {
    await showError('Import failed', error);
  }
}

async function exportFromMenu(run: RunRecord, resultId: number): Promise<void> {
  const options = { title: 'Export result as GeoTIFF', defaultPath: `${run.name ?? `run-${run.id}`}.tif`, filters: [{ name: 'GeoTIFF', extensions: ['tif'] }] };
  const chosen = window ? await dialog.showSaveDialog(window, options) : await dialog.showSaveDialog(options);
  if (chosen.canceled || !chosen.filePath) return;
  try {
    await projects.unconfined.exportResult({ resultId, destination: chosen.filePath });
  } catch (error) {
    await showError('Export failed', error);
  }
}

async function refreshMenu(): Promise<void> {
  let runs: RunRecord[] = [];
  if (projects.projectDir) runs = (await projects.listRuns().catch((): RunRecord[] => [])).filter((r) => r.status === 'done' || r.status === 'partial');
  const exportItems: MenuItemConstructorOptions[] = runs.flatMap((run) =>
    run.results
      .filter((r) => r.kind === 'reconstruction')
      .map((result) => ({ label: `Run ${run.id}${run.name ? ` (${run.name})` : ''}…`, click: () => void exportFromMenu(run, result.id) })),
  );
  const recent: MenuItemConstructorOptions[] = settings.recentProjects.map((dir) => ({ label: dir, click: () => void openFromMenu(dir, false) }));
  const template: MenuItemConstructorOptions[] = [
    ...(process.platform === 'darwin' ? [{ role: 'appMenu' as const }] : []),
    {
      label: '&File',
      submenu: [
        { label: 'Open Project…', accelerator: 'CmdOrCtrl+O', click: () => void chooseFolder(false) },
        { label: 'New Project…', accelerator: 'CmdOrCtrl+Shift+N', click: () => void chooseFolder(true) },
        {
          label: 'Open Recent',
          submenu: recent.length
            ? [...recent, { type: 'separator' }, { label: 'Clear Recent', click: () => ((settings.recentProjects = []), persist(), void refreshMenu()) }]
            : [{ label: 'No recent projects', enabled: false }],
        },
        { type: 'separator' },
        { label: 'Import Rasters…', accelerator: 'CmdOrCtrl+I', enabled: projects.projectDir !== null, click: () => void importFromMenu() },
        { label: 'Import Folder…', enabled: projects.projectDir !== null, click: () => void importFolderFromMenu() },
        { label: 'Export Result', submenu: exportItems.length ? exportItems : [{ label: 'No finished runs', enabled: false }] },
        { type: 'separator' },
        { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: '&View',
      submenu: [
        { role: 'reload' },
        ...(app.isPackaged ? [] : [{ role: 'toggleDevTools' as const }]),
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
      ],
    },
    {
      label: '&Help',
      submenu: [
        {
          label: 'About Clearsky',
          click: () =>
            void dialog.showMessageBox({
              type: 'info',
              title: 'About Clearsky',
              message: `Clearsky ${app.getVersion()}`,
              detail: 'Cloud removal for Sentinel-2 by Deep Image Prior, offline.\nContains modified Copernicus Sentinel data.',
            }),
        },
      ],
    },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

async function showError(title: string, error: unknown): Promise<void> {
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
  console.error(`clearsky: ${title}: ${error instanceof Error ? (error.stack ?? message) : message}`);
  await dialog.showMessageBox({ type: 'error', title: 'Clearsky', message: title, detail: message });
}
