/**
 * The map tools and what choosing things does to them: the active tool (plan / inspect / edit, or none; the
 * Compare view), the plan's tile preview and selection, the inspected pixel, the mask sketch, and the chosen
 * run's tiles coloured on the map as its events come. The tools themselves (`tools/tile-grid.ts`,
 * `mask-editor.ts`, `pixel-picker.ts`) get the map when it is ready (`attach`).
 */
import type OlMap from 'ol/Map.js';
import { PREVIEW_DETECTION_MAX_PIXELS, type ApiEvent, type ClearskyApi, type DetectionPreview, type MaskRecord, type PixelValues, type ProjectInfo, type RefRecord, type RunRecord, type SceneRecord, type TilePreview } from '../../../native/api/contract.ts';
import type { RasterOverlay } from '../map/overlays.ts';
import { call } from '../tools/api-call.ts';
import { DetectionPreviewLayer } from '../tools/detection-preview.ts';
import { extentToWindow, previewWindow, windowRing, type GeoTransform } from '../tools/geometry.ts';
import { MaskEditor, type EditKind, type EditState } from '../tools/mask-editor.ts';
import { PixelPicker } from '../tools/pixel-picker.ts';
import { sarFitting } from '../tools/run-estimate.ts';
import { TileGrid, type GridTileState } from '../tools/tile-grid.ts';
import { qualityColour, qualityRange, qualityValue, type QualityBy } from './loss-curves.ts';
import type { CatalogueState } from './catalogue.svelte.ts';
import { runOverlays, tileLabel } from './run-events.ts';
import type { RunsState } from './runs.svelte.ts';

export type Tool = 'none' | 'plan' | 'inspect' | 'edit' | 'detect';

/** The detection settings the user tunes: the back end's defaults (DetectMaskRequest) to start with. */
export interface DetectSettings {
  threshold: number;
  dilate: number;
  shadows: boolean;
}

/** How long the controls must rest before a preview is asked for (a slider dragged asks once, at the end). */
const DETECT_DEBOUNCE_MS = 300;

const onlyFitting = (scenes: SceneRecord[]): number | undefined => (scenes.length === 1 ? scenes[0].id : undefined);

export class Workbench {
  tool = $state<Tool>('none');
  comparing = $state(false);

  // Planning
  preview = $state<TilePreview[]>([]);
  planSelection = $state<number[]>([]);
  wholeScene = $state(false);
  tileSize = $state(256);
  overlap = $state(32);
  planBusy = $state(false);
  planError = $state<string | null>(null);

  // Inspecting
  pixel = $state<PixelValues | null>(null);
  /** Where the inspected pixel is on the map (CSS pixels from its top left) and the map's width: the panel keeps clear of it. */
  pixelAt = $state<{ x: number; y: number; mapWidth: number } | null>(null);
  pixelBusy = $state(false);
  pixelError = $state<string | null>(null);

  // Editing
  editKind = $state<EditKind>('add');
  editCounts = $state<EditState>({ add: 0, erase: 0, canUndo: false, canRedo: false, crossing: [] });
  editBusy = $state(false);
  editError = $state<string | null>(null);

  // Detecting
  detect = $state<DetectSettings>({ threshold: 0.2, dilate: 0, shadows: true });
  detectPreview = $state<DetectionPreview | null>(null);
  /** A preview is being computed (the one shown, if any, is of older settings). */
  detectBusy = $state(false);
  detectSaving = $state(false);
  detectError = $state<string | null>(null);

  readonly #api: ClearskyApi;
  readonly #catalogue: CatalogueState;
  readonly #runs: RunsState;
  #map: OlMap | null = null;
  #grid: TileGrid | null = null;
  #editor: MaskEditor | null = null;
  #picker: PixelPicker | null = null;
  #reshowTimer: ReturnType<typeof setTimeout> | undefined;
  #detectLayer: DetectionPreviewLayer | null = null;
  #detectTimer: ReturnType<typeof setTimeout> | undefined;
  /** Numbers each preview asked for: an answer is shown only if no newer one was asked for since. */
  #detectAsked = 0;

  readonly #gt = $derived.by(() => (this.#catalogue.selected?.grid.geoTransform ?? null) as GeoTransform | null);

  /** The selected scene's runs with a reconstruction: what the Compare view shows side by side. */
  readonly compareRuns = $derived.by(() => {
    const scene = this.#catalogue.selected;
    return scene ? this.#runs.runs.filter((r) => r.request.targetSceneId === scene.id && r.results.some((result) => result.kind === 'reconstruction')) : [];
  });

  /** The plan's chosen tiles, exactly what the run reconstructs (not the rectangle around them); null for the whole scene. */
  readonly planTiles = $derived.by((): number[] | null => (this.wholeScene ? null : this.planSelection));

  /** Results of this scene's runs, and the references shown, as raster overlays (newest on top). */
  readonly overlays = $derived.by((): RasterOverlay[] => {
    const c = this.#catalogue;
    return runOverlays(c.selected, this.#runs.runs, this.#runs.live, c.refs, c.shownRefIds);
  });

  constructor(api: ClearskyApi, catalogue: CatalogueState, runs: RunsState) {
    this.#api = api;
    this.#catalogue = catalogue;
    this.#runs = runs;
  }

  /** The map is ready: the tools add their layers and interactions to it. */
  attach(map: OlMap): void {
    this.#map = map;
    this.#grid = new TileGrid(
      map,
      (indices) => {
        this.planSelection = indices;
        this.wholeScene = false;
      },
      // A click on a run's tile shows its loss curve (not while inspecting pixels or editing).
      (index) => {
        if (this.tool === 'none' && this.#runs.selectedRunId !== null) this.pickLossTile(index);
      },
    );
    this.#editor = this.#newEditor(map);
    this.#detectLayer = new DetectionPreviewLayer(map);
    // A scene too big to preview whole is previewed in the part in view: that part follows the view.
    map.on('moveend', () => {
      const scene = this.#catalogue.selected;
      if (this.tool === 'detect' && scene && scene.grid.width * scene.grid.height > PREVIEW_DETECTION_MAX_PIXELS) this.setDetect({});
    });
    this.#picker = new PixelPicker(map, (coordinate, pixel) => {
      this.pixelAt = { x: pixel[0], y: pixel[1], mapWidth: map.getSize()?.[0] ?? 0 };
      void this.inspect(coordinate);
    });
  }

  #newEditor(map: OlMap): MaskEditor {
    return new MaskEditor(map, (counts) => (this.editCounts = counts));
  }

  // ---- events --------------------------------------------------------------------------------------------

  /** Follows one API event: the runs state takes it, and the chosen run's tiles on the map follow. */
  apply(event: ApiEvent): void {
    this.#runs.apply(event);
    const followed = this.#runs.selectedRunId;
    if (this.tool === 'plan') return;
    if (event.type === 'run') {
      if (event.run.id === followed) this.#reshowRunTiles();
    } else if (event.type === 'tile') {
      if (event.runId !== followed) return;
      if (this.#grid?.has(event.tile.index) && this.#runs.qualityBy === 'status') this.#grid.update(event.tile.index, event.tile.status, event.tile.loss !== null ? `loss ${event.tile.loss.toFixed(3)}` : undefined);
      else this.#reshowRunTiles(); // coloured by quality: a new value may move the range
    } else if (event.type === 'progress' && event.runId === followed) {
      if (this.#grid?.has(event.tileIndex)) this.#grid.update(event.tileIndex, 'running', `${event.step}/${event.steps}`);
      else this.#reshowRunTiles();
    }
  }

  // ---- selection -----------------------------------------------------------------------------------------

  selectScene(scene: SceneRecord): void {
    if (this.#catalogue.selected?.id === scene.id) return;
    this.setTool('none');
    this.#catalogue.choose(scene);
    this.pixel = null;
    const run = this.#runs.selectedRun;
    if (run && run.request.targetSceneId !== scene.id) this.#runs.selectedRunId = null;
    void this.showRunTiles();
  }

  selectMask(mask: MaskRecord): void {
    if (this.tool === 'edit') return;
    this.#catalogue.selectedMask = mask;
    if (this.tool === 'plan') void this.plan();
  }

  toggleRef(ref: RefRecord): void {
    this.#catalogue.toggleRef(ref);
  }

  selectRun(run: RunRecord): void {
    const runs = this.#runs;
    runs.selectedRunId = runs.selectedRunId === run.id ? null : run.id;
    runs.lossTile = null;
    if (runs.selectedRunId !== null) {
      const scene = this.#catalogue.scenes.find((s) => s.id === run.request.targetSceneId);
      if (scene && scene.id !== this.#catalogue.selected?.id) this.selectScene(scene);
      if (this.tool === 'plan') this.setTool('none');
    }
    void this.showRunTiles();
  }

  /** A run the run dialog started: listed, chosen and shown. */
  runStarted(run: RunRecord): void {
    this.#runs.upsert(run);
    this.setTool('none');
    this.#runs.selectedRunId = run.id;
    this.#runs.lossTile = null;
    void this.showRunTiles();
  }

  /** Shows a tile's loss curve (null: the run's), and marks the tile on the map. */
  pickLossTile(index: number | null): void {
    this.#runs.lossTile = index;
    this.#grid?.pick(index);
  }

  /** Outlines the selected run's tiles by their state, final loss or seed spread. */
  setQualityBy(by: QualityBy): void {
    this.#runs.qualityBy = by;
    void this.showRunTiles();
  }

  /** Another project is open: nothing chosen in the last one applies. */
  opened(info: ProjectInfo): void {
    this.setTool('none');
    this.#catalogue.opened(info);
    this.#runs.reset();
    void this.#catalogue.refresh();
  }

  /** A run's tiles are recorded when its survey starts: fetch them again (at most twice a second). */
  #reshowRunTiles(): void {
    if (this.#reshowTimer) return;
    this.#reshowTimer = setTimeout(() => {
      this.#reshowTimer = undefined;
      void this.showRunTiles();
    }, 500);
  }

  /** Colours the selected run's tiles on the map by their status. */
  async showRunTiles(): Promise<void> {
    const grid = this.#grid;
    if (!grid || this.tool === 'plan') return;
    const run = this.#runs.selectedRun;
    const scene = this.#catalogue.selected;
    if (!run || !scene || !this.#gt || run.request.targetSceneId !== scene.id) {
      grid.hide();
      return;
    }
    const outcome = await call(this.#api, 'getRun', run.id);
    if (!outcome.ok) {
      this.#catalogue.error = outcome.error;
      return;
    }
    const gt = this.#gt;
    const selected = this.#catalogue.selected;
    if (this.#runs.selectedRunId !== run.id || (this.tool as Tool) === 'plan' || !gt || !selected) return;
    const offset = run.request.area ?? { x: 0, y: 0 };
    const live = this.#runs.live;
    const by = this.#runs.qualityBy;
    const range = qualityRange(outcome.value.tileList, by);
    const tiles = outcome.value.tileList.map((tile) => {
      const value = qualityValue(tile, by);
      return {
        index: tile.index,
        window: { ...tile.window, x: tile.window.x + offset.x, y: tile.window.y + offset.y },
        state: tile.status as GridTileState,
        label: tileLabel(live, run.id, tile),
        outline: value !== null && range ? qualityColour(value, range) : undefined,
      };
    });
    grid.show(gt, selected.grid, tiles, false);
    grid.pick(this.#runs.lossTile);
  }

  // ---- tools ---------------------------------------------------------------------------------------------

  setTool(next: Tool): void {
    const tool = this.tool;
    if (tool === next) return;
    if (next !== 'none') this.comparing = false;
    if (tool === 'plan') {
      this.#grid?.hide();
      this.preview = [];
    }
    if (tool === 'inspect') this.#picker?.setActive(false);
    if (tool === 'edit') {
      this.#editor?.clear();
      this.#editor?.abortSketch();
      this.#editor?.destroy();
      if (this.#map) this.#editor = this.#newEditor(this.#map);
    }
    if (tool === 'detect') {
      clearTimeout(this.#detectTimer);
      this.#detectAsked++; // an answer still on its way is not drawn
      this.#detectLayer?.clear();
      this.detectPreview = null;
      this.detectBusy = false;
    }
    this.tool = next;
    if (next === 'plan') void this.plan();
    if (next === 'detect') {
      this.detectError = null;
      void this.previewDetection();
    }
    if (next === 'inspect') this.#picker?.setActive(true);
    if (next === 'edit') {
      this.editError = null;
      const scene = this.#catalogue.selected;
      const gt = this.#gt;
      // Corners near or past the scene's edge snap onto it, so a drawn mask reaches the border.
      if (scene && gt) {
        const ring = windowRing(gt, { x: 0, y: 0, width: scene.grid.width, height: scene.grid.height });
        const xs = ring.map((p) => p[0]);
        const ys = ring.map((p) => p[1]);
        this.#editor?.setEdge([Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)]);
      }
      this.#editor?.start(this.editKind);
    }
    if (next === 'none' || next === 'inspect') void this.showRunTiles();
  }

  /** The tool's button: on, or off when it is on. */
  toggleTool(next: Exclude<Tool, 'none'>): void {
    this.setTool(this.tool === next ? 'none' : next);
  }

  toggleCompare(): void {
    this.setTool('none');
    this.comparing = !this.comparing;
  }

  /** Esc: first abandons a polygon being drawn; pressed again it leaves the tool (discarding the sketch). */
  escape(): void {
    if (this.tool === 'edit' && this.#editor?.isSketching()) this.#editor.abortSketch();
    else this.setTool('none');
  }

  async plan(): Promise<void> {
    const { selected, selectedMask } = this.#catalogue;
    const grid = this.#grid;
    const gt = this.#gt;
    if (!selected || !selectedMask || !grid || !gt) return;
    this.planBusy = true;
    this.planError = null;
    const scene = selected;
    const outcome = await call(this.#api, 'previewTiles', { targetSceneId: scene.id, maskId: selectedMask.id, tileSize: this.tileSize, overlap: this.overlap });
    this.planBusy = false;
    if (this.tool !== 'plan' || this.#catalogue.selected?.id !== scene.id) return;
    if (!outcome.ok) {
      this.planError = outcome.error;
      this.preview = [];
      grid.hide();
      return;
    }
    this.preview = outcome.value;
    grid.show(gt, scene.grid, this.preview.map((t) => ({ index: t.index, window: t.window, state: t.state, label: t.state === 'clear' ? undefined : `${Math.round(t.cloudFraction * 100)} %` })), true);
  }

  replan(size: number, lap: number): void {
    this.tileSize = size;
    this.overlap = lap;
    void this.plan();
  }

  togglePlanTile(index: number): void {
    this.#grid?.toggle(index);
  }

  selectWhole(): void {
    this.#grid?.selectWhere(() => true);
    this.wholeScene = true;
  }

  clearPlanSelection(): void {
    this.#grid?.selectWhere(() => false);
  }

  async inspect(coordinate: [number, number]): Promise<void> {
    const selected = this.#catalogue.selected;
    if (!selected) return;
    const selectedRun = this.#runs.selectedRun;
    this.pixelBusy = true;
    this.pixelError = null;
    const outcome = await call(this.#api, 'inspectPixel', {
      sceneId: selected.id,
      coordinate,
      refId: this.#catalogue.shownRefIds[0] ?? selectedRun?.request.refId,
      runId: selectedRun && selectedRun.request.targetSceneId === selected.id ? selectedRun.id : undefined,
      // The run's SAR scene is read with the run; else the project's one SAR scene on this grid, if there is one.
      sarSceneId: selectedRun?.request.sarSceneId === undefined ? onlyFitting(sarFitting(selected, this.#catalogue.sarScenes)) : undefined,
    });
    this.pixelBusy = false;
    if (outcome.ok) this.pixel = outcome.value;
    else this.pixelError = outcome.error;
  }

  setEditKind(kind: EditKind): void {
    this.editKind = kind;
    this.#editor?.start(kind);
  }

  undoEdit(): void {
    this.#editor?.undo();
  }

  redoEdit(): void {
    this.#editor?.redo();
  }

  /** Saves the sketch: a new version of the chosen mask, or with none chosen a new mask on the scene. */
  async saveMask(): Promise<void> {
    const editor = this.#editor;
    const { selected, selectedMask } = this.#catalogue;
    if (!editor || !selected) return;
    const { add, erase } = editor.polygons();
    this.editBusy = true;
    this.editError = null;
    const outcome = await call(this.#api, 'editMask', selectedMask ? { maskId: selectedMask.id, add, erase } : { sceneId: selected.id, add, erase });
    this.editBusy = false;
    if (!outcome.ok) {
      this.editError = outcome.error;
      return;
    }
    this.#catalogue.maskSaved(outcome.value);
    this.setTool('none');
    void this.#catalogue.refresh();
  }

  // ---- detection -----------------------------------------------------------------------------------------

  /** A control of the detection bar changed: the preview follows once the controls rest. */
  setDetect(change: Partial<DetectSettings>): void {
    this.detect = { ...this.detect, ...change };
    this.detectError = null;
    clearTimeout(this.#detectTimer);
    this.#detectTimer = setTimeout(() => void this.previewDetection(), DETECT_DEBOUNCE_MS);
  }

  /** Asks for the preview of the current settings and draws it, unless a newer one was asked for meanwhile. */
  async previewDetection(): Promise<void> {
    const scene = this.#catalogue.selected;
    if (this.tool !== 'detect' || !scene) return;
    const asked = ++this.#detectAsked;
    this.detectBusy = true;
    const outcome = await call(this.#api, 'previewDetection', { sceneId: scene.id, ...this.detect, area: this.#previewArea(scene) });
    // A stale answer (newer settings asked for, the tool left, another scene) never replaces a newer one.
    if (asked !== this.#detectAsked || this.tool !== 'detect' || this.#catalogue.selected?.id !== scene.id) return;
    this.detectBusy = false;
    if (!outcome.ok) {
      this.detectError = outcome.error;
      return;
    }
    this.detectPreview = outcome.value;
    this.#detectLayer?.show(outcome.value.outline);
  }

  /** The scene whole when the back end previews it whole, else the part in view (undefined: the whole scene). */
  #previewArea(scene: SceneRecord): { x: number; y: number; width: number; height: number } | undefined {
    const { width, height } = scene.grid;
    if (width * height <= PREVIEW_DETECTION_MAX_PIXELS) return undefined;
    const map = this.#map;
    const gt = this.#gt;
    const size = map?.getSize();
    const inView = map && gt && size ? extentToWindow(gt, map.getView().calculateExtent(size) as [number, number, number, number], width, height) : null;
    return previewWindow(width, height, inView, PREVIEW_DETECTION_MAX_PIXELS);
  }

  /** Saves the detection with the current settings as the scene's next mask version, chosen on the map. */
  async saveDetection(): Promise<void> {
    const scene = this.#catalogue.selected;
    if (!scene || this.detectSaving) return;
    clearTimeout(this.#detectTimer);
    this.detectSaving = true;
    this.detectError = null;
    const outcome = await call(this.#api, 'detectMask', { sceneId: scene.id, ...this.detect });
    this.detectSaving = false;
    if (!outcome.ok) {
      this.detectError = outcome.error;
      return;
    }
    this.#catalogue.maskSaved(outcome.value);
    this.setTool('none');
    void this.#catalogue.refresh();
  }
}
