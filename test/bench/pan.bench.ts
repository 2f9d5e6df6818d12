/**
 * The "panning stays smooth" figures of `npm run bench` (the issue's first-frame half is measured in
 * test/e2e/scene.test.ts): the real T33UUU scene (1536 × 768, 13 bands) is imported into a new project with the
 * real command line, `clearsky serve` serves it, Debian's Chromium opens the app, the scene is clicked in the
 * catalogue, and once every tile in view is drawn the map is dragged with the mouse: four slow drags (right,
 * down, left, diagonal; about 3 s each, held still before the button is let go) at the fit-to-scene zoom and
 * again two levels in (OpenLayers' + button), where the full-resolution tiles are drawn, then flings (fast,
 * long drags let go while moving, so OpenLayers' kinetic pan carries on) that bring unloaded tiles into view.
 *
 * Per scenario, from a requestAnimationFrame loop in the page: frames and mean fps while the button is down,
 * the p50 / p95 / max interval between frames, frames longer than 50 ms (janks); the time from letting go until
 * OpenLayers' rendercomplete (no animation left, every tile in view loaded and drawn) and the janks meanwhile;
 * tiles loaded (and HTTP Range requests for the scene file) and the main thread's long tasks from the press
 * until the map settles. The zoom clicks' own time to rendercomplete is printed too.
 *
 * OpenLayers' map is not reachable from the page (MapView keeps it), so a script run before the app's catches
 * it as it is built (the object that first sets the map's `tileQueue_`) and listens to its events. The drags
 * start right after the click on the scene in the catalogue, as a user's do (MapView focuses the map on a press).
 *
 * Printed, never asserted. Chromium here renders WebGL through SwiftShader (software, on the CPU) and composites
 * in software, so these are an upper bound of what a workstation with a GPU shows. Needs /usr/bin/chromium and
 * ../shared/data.
 */
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { buildRenderer, CHROMIUM, launchChromium, startServe, watchPage, type Box, type Served } from '../helpers/browser.ts';
import { runClearsky } from '../helpers/cli.ts';
import { dataFile, REPO_ROOT } from '../helpers/data.ts';

const SCENE = dataFile('T33UUU-20170216', 'S2L1C_T33UUU_20170216_10m.tif');
/** A frame longer than this is a jank (three 60 Hz frames). */
const JANK_MS = 50;
/** How long to wait for OpenLayers' rendercomplete after letting go. */
const SETTLE_TIMEOUT_MS = 30_000;

/**
 * Run in the page before the app (a string: test files are compiled without the DOM's types). Records every
 * animation frame's time, presses and releases, long tasks, and the map's rendercomplete events.
 */
const PROBE = `
(() => {
  const pan = { frames: [], downs: [], ups: [], renderComplete: [], longTasks: [], maps: [], tilesLoaded: 0 };
  window.__pan = pan;
  const loop = (time) => {
    pan.frames.push(time);
    requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
  addEventListener('pointerdown', () => pan.downs.push(performance.now()), true);
  addEventListener('pointerup', () => pan.ups.push(performance.now()), true);
  try {
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) pan.longTasks.push([entry.startTime, entry.duration]);
    }).observe({ type: 'longtask' });
  } catch {}
  // OpenLayers' Map sets this.tileQueue_ in its constructor: the first set goes through this setter, which
  // makes it an ordinary property of the map again and keeps the map.
  Object.defineProperty(Object.prototype, 'tileQueue_', {
    configurable: true,
    set(value) {
      Object.defineProperty(this, 'tileQueue_', { value, writable: true, configurable: true, enumerable: true });
      if (typeof this.getView !== 'function' || typeof this.on !== 'function') return;
      pan.maps.push(this);
      this.on('rendercomplete', () => pan.renderComplete.push(performance.now()));
      // Tiles loaded (read, decoded and handed to the layer) by the map's sources: each source counted from the
      // first frame it is in.
      const counted = new WeakSet();
      this.on('postrender', () => {
        for (const layer of this.getAllLayers()) {
          const source = layer.getSource && layer.getSource();
          if (!source || counted.has(source)) continue;
          counted.add(source);
          source.on('tileloadend', () => pan.tilesLoaded++);
        }
      });
    },
  });
})();
`;

interface Probe {
  tilesLoaded: number;
  frames: number[];
  downs: number[];
  ups: number[];
  renderComplete: number[];
  longTasks: [number, number][];
}

interface Drag {
  label: string;
  /** Where the drag starts, relative to the map's centre, in CSS pixels. */
  from: [number, number];
  /** How far the mouse moves. */
  by: [number, number];
  durationMs: number;
  /** Held still this long before letting go (no kinetic pan); 0 lets go while moving (a fling). */
  holdMs: number;
}

const line = (label: string, figures: string) => console.log(`  ${label.padEnd(44)} ${figures}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

async function probe(page: Page): Promise<Probe> {
  return (await page.evaluate('(({ tilesLoaded, frames, downs, ups, renderComplete, longTasks }) => ({ tilesLoaded, frames, downs, ups, renderComplete, longTasks }))(window.__pan)')) as Probe;
}

/** Page time of the next rendercomplete after `after` (page ms), or -1 after the timeout. */
async function renderCompleteAfter(page: Page, after: number): Promise<number> {
  // Waited for in the page (page.waitForFunction evaluates its predicate with eval, which the app's CSP forbids).
  return (await page.evaluate(`new Promise((resolve) => {
    const until = performance.now() + ${SETTLE_TIMEOUT_MS};
    const check = () => {
      const t = window.__pan.renderComplete.find((t) => t > ${after});
      if (t !== undefined) resolve(t);
      else if (performance.now() > until) resolve(-1);
      else setTimeout(check, 10);
    };
    check();
  })`)) as number;
}

interface ViewState {
  resolution: number;
  zoom: number;
  center: [number, number];
}

async function viewState(page: Page): Promise<ViewState> {
  return (await page.evaluate('(() => { const v = window.__pan.maps.at(-1).getView(); return { resolution: v.getResolution(), zoom: v.getZoom(), center: v.getCenter() }; })()')) as ViewState;
}

/** What keeps the map from rendercomplete: tiles loading and queued, layers loading, animation. */
async function mapState(page: Page): Promise<string> {
  return (await page.evaluate(`(() => {
    const map = window.__pan.maps.at(-1);
    const view = map.getView();
    return 'tiles loading ' + map.tileQueue_.getTilesLoading() + ', queued ' + map.tileQueue_.getCount() +
      ', layers loading or not ready ' + map.getLoadingOrNotReady() + ', animating ' + view.getAnimating() +
      ', interacting ' + view.getInteracting() + ', centre ' + view.getCenter().map((v) => v.toFixed(0)).join(' ');
  })()`)) as string;
}

/** Clicks `selector` (a view change) and prints how long the map takes to settle. */
async function clickAndSettle(page: Page, selector: string, label: string): Promise<void> {
  const before = await probe(page);
  const clicked = (await page.evaluate('performance.now()')) as number;
  await page.locator(selector).first().click();
  const settled = await renderCompleteAfter(page, clicked);
  if (settled < 0) throw new Error(`the map did not settle after clicking ${selector}: ${await mapState(page)}`);
  const p = await probe(page);
  const frames = p.frames.filter((t) => t >= clicked && t <= settled);
  const worst = Math.max(0, ...frames.slice(1).map((t, i) => t - frames[i]));
  line(label, `rendercomplete after ${(settled - clicked).toFixed(0)} ms; ${p.tilesLoaded - before.tilesLoaded} tiles loaded, worst frame ${worst.toFixed(0)} ms`);
}

/** Drags the map at a constant speed (by the clock, however slowly the moves go through), then measures. */
async function drag(page: Page, map: Box, spec: Drag, rangeRequests: () => number): Promise<void> {
  const x0 = map.x + map.width / 2 + spec.from[0];
  const y0 = map.y + map.height / 2 + spec.from[1];
  const onMap = (await page.evaluate(`!!document.elementFromPoint(${x0}, ${y0})?.closest('.ol-viewport') && !document.elementFromPoint(${x0}, ${y0})?.closest('.ol-control, [data-testid="layer-list"]')`)) as boolean;
  if (!onMap) throw new Error(`${spec.label}: (${x0}, ${y0}) is not on the map's canvas`);
  await page.mouse.move(x0, y0);
  await sleep(300);
  const requestsBefore = rangeRequests();
  const before = await probe(page);
  const viewBefore = await viewState(page);
  await page.mouse.down();
  const start = Date.now();
  let moves = 0;
  for (;;) {
    const f = Math.min(1, (Date.now() - start) / spec.durationMs);
    await page.mouse.move(x0 + spec.by[0] * f, y0 + spec.by[1] * f);
    moves++;
    if (f >= 1) break;
    await sleep(8);
  }
  if (spec.holdMs > 0) await sleep(spec.holdMs);
  await page.mouse.up();
  let p = await probe(page);
  if (p.downs.length <= before.downs.length || p.ups.length <= before.ups.length) throw new Error(`${spec.label}: the page saw no press and release`);
  const down = p.downs.at(-1)!;
  const up = p.ups.at(-1)!;
  const settled = await renderCompleteAfter(page, up);
  p = await probe(page);
  const end = settled > 0 ? settled : up;
  const viewAfter = await viewState(page);
  const moved = Math.hypot(viewAfter.center[0] - viewBefore.center[0], viewAfter.center[1] - viewBefore.center[1]) / viewAfter.resolution;
  if (moved < 1) throw new Error(`${spec.label}: the map did not pan`);

  // While the button is down: the frames, their intervals, janks.
  const frames = p.frames.filter((t) => t >= down && t <= up);
  const intervals = frames.slice(1).map((t, i) => t - frames[i]);
  const sorted = [...intervals].sort((a, b) => a - b);
  const fps = frames.length > 1 ? ((frames.length - 1) / (frames.at(-1)! - frames[0])) * 1000 : 0;
  const janks = intervals.filter((d) => d > JANK_MS).length;
  // After letting go, until the map settles (tiles arriving, the kinetic pan): the worst frame and the janks.
  const after = p.frames.filter((t) => t >= up && t <= end);
  const afterIntervals = after.slice(1).map((t, i) => t - after[i]);
  const afterJanks = afterIntervals.filter((d) => d > JANK_MS).length;
  const longTasks = p.longTasks.filter(([t]) => t >= down && t <= end);
  const longMs = longTasks.reduce((sum, [, d]) => sum + d, 0);

  line(spec.label, `${frames.length} frames in ${((up - down) / 1000).toFixed(1)} s (${moves} mouse moves), ${fps.toFixed(1)} fps; the view moved ${moved.toFixed(0)} px`);
  line('  frame interval while dragging', `p50 ${quantile(sorted, 0.5).toFixed(1)} / p95 ${quantile(sorted, 0.95).toFixed(1)} / max ${(sorted.at(-1) ?? NaN).toFixed(1)} ms, ${janks} janks > ${JANK_MS} ms`);
  line(
    '  let go → rendercomplete',
    `${settled > 0 ? `${(settled - up).toFixed(0)} ms` : `not within ${SETTLE_TIMEOUT_MS / 1000} s`}` +
      `, meanwhile ${afterJanks} janks (worst frame ${Math.max(0, ...afterIntervals).toFixed(0)} ms)`,
  );
  line(
    '  tiles loaded; long tasks press → settled',
    `${p.tilesLoaded - before.tilesLoaded} tiles (${rangeRequests() - requestsBefore} HTTP range requests); ${longTasks.length} long tasks, ${longMs.toFixed(0)} ms in all`,
  );
}

/**
 * The flags of the browser process started on `profileDir` (read from /proc: CDP gives the command line only
 * with --enable-automation, which Playwright does not pass to a persistent context).
 */
async function chromiumFlags(profileDir: string): Promise<string[]> {
  for (const pid of await fs.readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const args = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean);
    if (args.includes(`--user-data-dir=${profileDir}`) && !args.some((arg) => arg.startsWith('--type='))) return args.slice(1);
  }
  return ['(not found)'];
}

const work = await fs.mkdtemp(path.join(os.tmpdir(), 'clearsky-bench-pan-'));
let server: Served | undefined;
let context: BrowserContext | undefined;
try {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (scripts/setup does)`);
  const projectDir = path.join(work, 'project');
  for (const args of [
    ['project', 'create', projectDir, '--name', 'T33UUU pan bench'],
    ['project', 'import', projectDir, SCENE],
  ]) {
    const result = await runClearsky(args, REPO_ROOT);
    if (result.code !== 0) throw new Error(`clearsky ${args.slice(0, 2).join(' ')} failed: ${result.stderr}`);
  }
  await buildRenderer();
  server = await startServe(['--project', projectDir], REPO_ROOT, 30_000);
  const profileDir = path.join(work, 'chromium-profile');
  context = await launchChromium(profileDir);
  const page = await context.newPage();
  const problems = watchPage(page);
  let ranges = 0;
  page.on('request', (request) => {
    if (new URL(request.url()).pathname.startsWith('/rasters/')) ranges++;
  });
  await page.addInitScript(PROBE);

  const cdp = await context.newCDPSession(page);
  const { product } = (await cdp.send('Browser.getVersion')) as { product: string };
  await cdp.detach();
  const flags = await chromiumFlags(profileDir);

  await page.goto(server.url);
  const webgl = (await page.evaluate(`(() => {
    const gl = document.createElement('canvas').getContext('webgl');
    const info = gl && gl.getExtension('WEBGL_debug_renderer_info');
    return gl ? (info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER)) : 'no WebGL';
  })()`)) as string;
  const scene = page.getByTestId('scene').first();
  await scene.waitFor({ timeout: 15_000 });
  await scene.click();
  await page.waitForSelector('[data-testid="map"][data-rendered]:not([data-rendered=""])', { timeout: 30_000 });
  if (!(await page.evaluate('window.__pan.maps.length'))) throw new Error('the probe did not catch the OpenLayers map (its tileQueue_ renamed?)');
  const map = (await page.getByTestId('map').boundingBox())!;

  console.log(`\nPanning the T33UUU scene (1536 × 768, 13 bands) in Chromium, map ${map.width.toFixed(0)} × ${map.height.toFixed(0)} CSS px:`);
  line('browser', product);
  line('WebGL renderer', webgl);
  line('cores; load average (1 min) at the start', `${os.cpus().length}, ${os.loadavg()[0].toFixed(1)}`);
  console.log('  (SwiftShader: WebGL rendered in software on the CPU, no GPU here; the figures are an upper bound of a workstation with a GPU)');
  console.log('  Chromium flags (test/helpers/browser.ts\'s after Playwright\'s own):');
  let row = '   ';
  for (const flag of flags.filter((f) => !f.startsWith('--user-data-dir'))) {
    if (row.length + flag.length > 118) {
      console.log(row);
      row = '   ';
    }
    row += ` ${flag}`;
  }
  console.log(row);

  const slow: Drag[] = [
    { label: 'drag right 300 px', from: [-150, 0], by: [300, 0], durationMs: 3000, holdMs: 200 },
    { label: 'drag down 200 px', from: [0, -100], by: [0, 200], durationMs: 3000, holdMs: 200 },
    { label: 'drag left 300 px', from: [150, 0], by: [-300, 0], durationMs: 3000, holdMs: 200 },
    { label: 'drag diagonal 250 × 150 px', from: [-125, 75], by: [250, -150], durationMs: 3000, holdMs: 200 },
  ];
  let view = await viewState(page);
  console.log(`\n Fit to the scene (zoom ${view.zoom.toFixed(2)}, ${view.resolution.toFixed(1)} m per CSS px):`);
  for (const spec of slow) await drag(page, map, spec, () => ranges);

  console.log('\n Back to the scene, then two levels in with the + button:');
  await clickAndSettle(page, '[data-testid="zoom-to-layer"]', 'zoom to layer');
  for (let i = 1; i <= 2; i++) await clickAndSettle(page, '.ol-zoom-in', `zoom in (+) ${i}`);
  view = await viewState(page);
  console.log(`\n Two levels in (zoom ${view.zoom.toFixed(2)}, ${view.resolution.toFixed(1)} m per CSS px; the scene's pixels are 10 m):`);
  for (const spec of slow) await drag(page, map, spec, () => ranges);
  // Flings: 700 px in 0.5 s, let go while moving, so OpenLayers' kinetic pan carries the view on; twice east,
  // then west across the scene, into tiles not loaded yet.
  const fling = (label: string, by: number): Drag => ({ label, from: [-by / 2, 60], by: [by, 0], durationMs: 500, holdMs: 0 });
  for (const spec of [fling('fling left 700 px in 0.5 s (view east)', -700), fling('fling left again', -700), fling('fling right 700 px in 0.5 s (view west)', 700), fling('fling right again', 700), fling('fling right a third time', 700)]) {
    await drag(page, map, spec, () => ranges);
  }

  line('load average (1 min) at the end', os.loadavg()[0].toFixed(1));
  if (problems.length > 0) console.log(`  page problems: ${problems.join('; ')}`);
} finally {
  await context?.close();
  await server?.stop(5000);
  await fs.rm(work, { recursive: true, force: true });
}
