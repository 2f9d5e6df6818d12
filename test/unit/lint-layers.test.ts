/**
 * The layer rules (eslint.config.js, docs/architecture.md) with the project's own ESLint config: each
 * forbidden arrow is reported where it is written (an import, a re-export or an `import('…')`), and the allowed
 * ones are not. Small snippets linted as if
 * they were files in the tree (`lintText` with a file path), .svelte components included.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const eslint = new ESLint({ cwd: ROOT, overrideConfigFile: path.join(ROOT, 'eslint.config.js') });

/** The layer-rule messages ESLint gives for `code` as the file `file` (relative to the repository). */
async function layerProblems(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  const fatal = result.messages.filter((m) => m.fatal);
  assert.deepEqual(fatal, [], `${file} parses`);
  return result.messages
    .filter((m) => ['no-restricted-imports', 'no-restricted-syntax', 'no-restricted-globals'].includes(m.ruleId ?? ''))
    .map((m) => m.message);
}

async function assertForbidden(file: string, code: string, says: RegExp): Promise<void> {
  const problems = await layerProblems(file, code);
  assert.equal(problems.length, 1, `${file}: ${code} is reported once (got ${JSON.stringify(problems)})`);
  assert.match(problems[0], says);
}

async function assertAllowed(file: string, code: string): Promise<void> {
  assert.deepEqual(await layerProblems(file, code), [], `${file}: ${code} is allowed`);
}

describe('the renderer reaches native/ only through the contract', () => {
  it('reports an import of the service, the catalogue or the engine from a renderer module', async () => {
    await assertForbidden('renderer/src/map/x.ts', "import { Workspace } from '../../../native/project/workspace.ts';\nvoid Workspace;\n", /only the contract/);
    await assertForbidden('renderer/src/x.ts', "import { openProject } from '../../native/catalogue/project.ts';\nvoid openProject;\n", /only the contract/);
    await assertForbidden('renderer/src/tools/x.ts', "import type { Image } from '../../../native/dip/image.ts';\nexport type I = Image;\n", /only the contract/);
    await assertForbidden('renderer/src/x.ts', "export { InputError } from '../../native/errors.ts';\n", /only the contract/);
    await assertForbidden('renderer/src/x.ts', "import { dispatch } from '../../native/api/dispatch.ts';\nvoid dispatch;\n", /only the contract/);
  });

  it('reports a dynamic import(…) of the back end too', async () => {
    await assertForbidden('renderer/src/x.ts', "export const load = () => import('../../native/project/workspace.ts');\n", /only the contract/);
    await assertAllowed('renderer/src/x.ts', "export const load = () => import('../../native/http/client.ts');\n");
  });

  it('reports it in a Svelte component\'s script too', async () => {
    const component = (from: string) => `<script lang="ts">\n  import { readRasterInfo } from '${from}';\n  void readRasterInfo;\n</script>\n<p>x</p>\n`;
    await assertForbidden('renderer/src/panels/X.svelte', component('../../../native/raster/tiff/geotiff-reader.ts'), /only the contract/);
    await assertAllowed('renderer/src/panels/X.svelte', component('../tools/geometry.ts'));
  });

  it('reports Node and Electron in the renderer', async () => {
    await assertForbidden('renderer/src/x.ts', "import fs from 'node:fs';\nvoid fs;\n", /no Node or Electron/);
    await assertForbidden('renderer/src/x.ts', "import { ipcRenderer } from 'electron';\nvoid ipcRenderer;\n", /no Node or Electron/);
  });

  it('allows the contract, the HTTP client, the CRS definitions, the loss plot and the renderer\'s own modules', async () => {
    await assertAllowed('renderer/src/x.ts', "import { isActiveRun, type RunRecord } from '../../native/api/contract.ts';\nexport const f = (r: RunRecord) => isActiveRun(r.status);\n");
    await assertAllowed('renderer/src/x.ts', "import { createHttpClient } from '../../native/http/client.ts';\nvoid createHttpClient;\n");
    await assertAllowed('renderer/src/map/x.ts', "import { proj4Definition } from '../../../native/raster/geo/crs.ts';\nvoid proj4Definition;\n");
    await assertAllowed('renderer/src/panels/x.ts', "import { plotGeometry } from '../../../native/report/loss-plot.ts';\nvoid plotGeometry;\n");
    await assertForbidden('renderer/src/panels/x.ts', "import { writeRunReport } from '../../../native/report/run-report.ts';\nvoid writeRunReport;\n", /only the contract/);
    await assertAllowed('renderer/src/map/x.ts', "import { rasterUrl } from '../transport.ts';\nimport { Map } from 'ol';\nvoid rasterUrl; void Map;\n");
  });

  it('leaves the renderer\'s build config (run by Node) alone', async () => {
    await assertAllowed('renderer/vite.config.ts', "import { fileURLToPath } from 'node:url';\nvoid fileURLToPath;\n");
  });
});

describe('native/ knows neither Electron nor the DOM', () => {
  it('reports an import of electron or of the shell', async () => {
    await assertForbidden('native/project/service.ts', "import { app } from 'electron';\nvoid app;\n", /no Electron imports/);
    await assertForbidden('native/jobs/x.ts', "import { registerIpc } from '../../electron/ipc.ts';\nvoid registerIpc;\n", /does not import the Electron shell/);
    await assertForbidden('native/x.ts', "import { createTransport } from '../renderer/src/transport.ts';\nvoid createTransport;\n", /does not import the renderer/);
  });

  it('reports a dynamic import(…) of electron', async () => {
    await assertForbidden('native/jobs/x.ts', "export const load = () => import('electron');\n", /no Electron imports/);
  });

  it('reports DOM globals, not a local of the same name', async () => {
    await assertForbidden('native/raster/x.ts', 'export const here = window.location.href;\n', /no DOM \(window\)/);
    await assertForbidden('native/x.ts', "export const el = document.createElement('canvas');\n", /no DOM \(document\)/);
    await assertAllowed('native/raster/x.ts', 'export function area(window: { width: number; height: number }): number {\n  return window.width * window.height;\n}\n');
  });

  it('allows Node and its own modules', async () => {
    await assertAllowed('native/x.ts', "import fs from 'node:fs';\nimport { InputError } from './errors.ts';\nvoid fs; void InputError;\n");
  });
});

describe('the engine does not reach up', () => {
  it('reports an import of the catalogue, jobs, the service or the server from native/dip/', async () => {
    await assertForbidden('native/dip/x.ts', "import { openProject } from '../catalogue/project.ts';\nvoid openProject;\n", /DIP engine/);
    await assertForbidden('native/dip/backends/x.ts', "import { RunStore } from '../../jobs/run-store.ts';\nvoid RunStore;\n", /DIP engine/);
    await assertForbidden('native/dip/x.ts', "import { Service } from '../project/service.ts';\nvoid Service;\n", /DIP engine/);
    await assertForbidden('native/dip/x.ts', "import { startServer } from '../http/server.ts';\nvoid startServer;\n", /DIP engine/);
    await assertForbidden('native/dip/x.ts', "import { Workspace } from '../project/workspace.ts';\nvoid Workspace;\n", /DIP engine/);
    await assertForbidden('native/dip/x.ts', "import { createHttpClient } from '../http/client.ts';\nvoid createHttpClient;\n", /DIP engine/);
    await assertForbidden('native/dip/backends/x.ts', "import '../../jobs/worker.ts';\n", /DIP engine/);
    await assertForbidden('native/dip/x.ts', "import { runTile } from '../reconstruction/pipeline.ts';\nvoid runTile;\n", /DIP engine/);
    await assertForbidden('native/dip/x.ts', "import '../cli.ts';\n", /DIP engine/);
    await assertForbidden('native/dip/x.ts', "import { integer } from '../cli/args.ts';\nvoid integer;\n", /DIP engine/);
  });

  it('reports a dynamic import(…) of them, not of the engine\'s own backends', async () => {
    await assertForbidden('native/dip/backends/x.ts', "export const load = () => import('../../catalogue/project.ts');\n", /DIP engine/);
    await assertAllowed('native/dip/backends/x.ts', "export const load = () => import('./webgpu/adapter.ts');\n");
  });

  it('keeps native/\'s own rules there too', async () => {
    await assertForbidden('native/dip/x.ts', "import { app } from 'electron';\nvoid app;\n", /no Electron imports/);
  });

  it('allows the engine its own modules and the raster helpers', async () => {
    await assertAllowed('native/dip/x.ts', "import { createMask } from './image.ts';\nimport { InputError } from '../errors.ts';\nvoid createMask; void InputError;\n");
  });

  it('lets the rest of native/ import the catalogue', async () => {
    await assertAllowed('native/x.ts', "import { openProject } from './catalogue/project.ts';\nvoid openProject;\n");
  });
});

describe('GeoTIFF in and out does not reach up to Sentinel', () => {
  it('reports an import of raster/sentinel/ from raster/tiff/, static or dynamic', async () => {
    await assertForbidden('native/raster/tiff/x.ts', "import { normaliseS2 } from '../sentinel/preprocess.ts';\nvoid normaliseS2;\n", /does not import raster\/sentinel/);
    await assertForbidden('native/raster/tiff/x.ts', "export const load = () => import('../sentinel/mask.ts');\n", /does not import raster\/sentinel/);
  });

  it('keeps native/\'s own rules there, and lets sentinel/ import tiff/', async () => {
    await assertForbidden('native/raster/tiff/x.ts', "import { app } from 'electron';\nvoid app;\n", /no Electron imports/);
    await assertAllowed('native/raster/tiff/x.ts', "import { DATA_TYPES } from './data-types.ts';\nvoid DATA_TYPES;\n");
    await assertAllowed('native/raster/sentinel/x.ts', "import { nodataTest } from '../tiff/data-types.ts';\nvoid nodataTest;\n");
  });
});

describe('the shell does not import the renderer, nor the catalogue beyond its layout', () => {
  it('reports an import of renderer code from electron/', async () => {
    await assertForbidden('electron/main.ts', "import { createTransport } from '../renderer/src/transport.ts';\nvoid createTransport;\n", /does not import the renderer/);
  });

  it('reports an import of the catalogue beyond its layout from electron/ (main stays without SQLite)', async () => {
    await assertForbidden('electron/main.ts', "import { CATALOGUE_FILE } from '../native/catalogue/project.ts';\nvoid CATALOGUE_FILE;\n", /only layout\.ts/);
    await assertForbidden('electron/x.ts', "export const load = () => import('../native/catalogue/scenes.ts');\n", /only layout\.ts/);
    await assertAllowed('electron/x.ts', "import { RUNS_FOLDER } from '../native/catalogue/layout.ts';\nvoid RUNS_FOLDER;\n");
  });

  it('allows electron and the contract', async () => {
    await assertAllowed('electron/x.ts', "import { app } from 'electron';\nimport { COMMANDS } from '../native/api/contract.ts';\nvoid app; void COMMANDS;\n");
  });
});
