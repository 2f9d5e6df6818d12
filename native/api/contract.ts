/**
 * The one API of Clearsky: what the renderer (through Electron IPC or HTTP in browser mode) and the command
 * line can ask of a project, what they get back, and the events they can follow. Both transports implement
 * exactly this; arguments are validated here, at the boundary, with the zod schemas below, so nothing
 * unchecked reaches the service.
 *
 * Plain JSON in and out (no Dates, no typed arrays): it crosses process boundaries.
 */
import { z } from 'zod';
import { BACKEND_CHOICES, MODES } from '../dip/choices.ts';
import { MAX_CURVE_POINTS, type LossCurve } from '../dip/loss-curve.ts';

// The one place these lists are written: CLI, service and renderer import them from here (the engine's own
// files take modes and backends from dip/choices.ts, which this re-exports).
export const METHODS = ['dip', 'reference-fit', 'reference-seamless', 'idw-fill'] as const;
export type ReconstructionMethod = (typeof METHODS)[number];
/** The baselines that fill from a reference. */
export const REFERENCE_METHODS: ReadonlySet<ReconstructionMethod> = new Set(['reference-fit', 'reference-seamless']);
/** The engine owns its modes and the backend order (auto tries them in it); listed here for the API's users. */
export { AUTO_ORDER, BACKEND_CHOICES, MODES, REFERENCE_MODES, SAR_MODES, type BackendChoice, type Mode } from '../dip/choices.ts';
/** What the app picks for the sources a user has (the run dialog's preselection, `clearsky eval --modes default`). */
export { defaultMethod, DEFAULT_METHOD_STEPS, type AvailableSources, type DefaultMethod } from './default-method.ts';
export const IMPORT_KINDS = ['S2', 'S1', 'mask', 'scl', 'probability', 'reference'] as const;

const id = z.number().int().positive();
const window = z.object({ x: z.number().int().min(0), y: z.number().int().min(0), width: z.number().int().positive(), height: z.number().int().positive() });

/** Everything a run needs: which rasters of the project, and how to reconstruct. */
export const RunRequest = z.object({
  name: z.string().max(200).optional(),
  targetSceneId: id,
  maskId: id,
  refId: id.optional(),
  sarSceneId: id.optional(),
  /** The SAR scene's VV and VH bands (1-based), as `--sar-bands`; default found by band description. */
  sarBands: z.object({ vv: z.number().int().min(1).max(4096), vh: z.number().int().min(1).max(4096) }).optional(),
  /** The SAR scene's units, as `--sar-units`; default detected from descriptions and values. */
  sarUnits: z.enum(['linear', 'db']).optional(),
  /** Band names of the target to reconstruct; default all. */
  bands: z.array(z.string().min(1).max(8)).min(1).max(13).optional(),
  method: z.enum(METHODS).default('dip'),
  mode: z.enum(MODES).default('basic'),
  steps: z.number().int().min(1).max(100_000).default(4000),
  seeds: z.array(z.number().int().min(0).max(2 ** 31 - 1)).min(1).max(16).default([0]),
  stitch: z.boolean().default(true),
  tileSize: z.number().int().min(64).max(1024).default(256),
  overlap: z.number().int().min(0).max(256).default(32),
  /** The part of the target to reconstruct (pixels); default the whole scene. */
  area: window.optional(),
  /**
   * The plan's tiles to reconstruct: indexes into the tiles of `area` (or of the scene) cut with `tileSize` and
   * `overlap`, as previewTiles lists them; default every cloudy tile. The others keep the input.
   */
  tiles: z
    .array(z.number().int().min(0))
    .min(1)
    .max(1_000_000)
    .refine((t) => new Set(t).size === t.length, 'each tile index once')
    .optional(),
  backend: z.enum(BACKEND_CHOICES).default('auto'),
  /**
   * The paper's evaluation protocol: the target is clear under the mask (a real mask of another date), so its
   * pixels there are ground truth. They are hidden from the method, and the result is scored against them.
   */
  groundTruth: z.boolean().default(false),
  /**
   * Send the run's tiles to the project's queue (ProjectInfo.queue, set with setQueue) for `clearsky worker`
   * processes on other machines, instead of this computer's workers; survey and mosaic stay here.
   */
  queue: z.boolean().optional(),
  /** The batch the run belongs to (runCloudyDates): its runs are listed, followed and cancelled together. */
  batch: z.string().min(1).max(100).optional(),
  /**
   * Beyond the paper: each tile's network starts from the weights of a finished tile of this run (an adjacent
   * one first) instead of random ones; local workers only (tiles on a queue start cold).
   */
  warmStart: z.boolean().optional(),
});
export type RunRequest = z.infer<typeof RunRequest>;
export type RunRequestInput = z.input<typeof RunRequest>;

export const ImportRequest = z.object({
  paths: z.array(z.string().min(1)).min(1).max(10_000),
  /** Force the kind when the file cannot say (else recognised from bands, descriptions and names). */
  kind: z.enum(IMPORT_KINDS).optional(),
});
export type ImportRequest = z.infer<typeof ImportRequest>;

/**
 * A whole folder imported (every .tif / .tiff below it, as importFiles does for a folder) as a task: its `task`
 * events say the file under way (n of N), and cancelTask stops it between files: the files done by then stay
 * imported, the rest are not (it answers, not fails, with `cancelled` and `notImported`). Sentinel-2 scenes that get no cloud cover from their file or a mask of their
 * day have it estimated by the cloud detector at its default threshold.
 */
export const ImportFolderRequest = z.object({
  folder: z.string().min(1).max(4096),
  kind: z.enum(IMPORT_KINDS).optional(),
});
export type ImportFolderRequest = z.infer<typeof ImportFolderRequest>;

export interface ImportFolderResult {
  outcomes: ImportOutcome[];
  /** True when cancelled: `notImported` lists the files not reached (those done stay imported). */
  cancelled: boolean;
  notImported: string[];
}

/** What a run of each cloudy date shares: the run dialog's parameters, without the scene, mask, reference or tiles. */
export const BatchRunParameters = RunRequest.pick({ bands: true, method: true, mode: true, steps: true, seeds: true, stitch: true, tileSize: true, overlap: true, area: true, backend: true, queue: true });

/**
 * One run per cloudy date in one action: every Sentinel-2 scene (or those listed) whose cloud cover is above
 * `minCover` and below `maxCover` gets a run with the same parameters, named by its date, queued on the runner.
 * The reference is the one given (`refId`) or is built once from `referenceFrom` (a static mean, each scene's
 * clouds hidden by its own mask). Masks: 'own' uses each date's newest own mask, and detects one (saved as a
 * new version) for a date that has none; 'detected' detects for every date. Dates that cannot be run are
 * answered with the reason.
 */
export const CloudyDatesRequest = z
  .object({
    sceneIds: z.array(id).min(1).max(1000).optional(),
    minCover: z.number().min(0).max(1).default(0.01),
    maxCover: z.number().min(0).max(1).default(0.95),
    masks: z.enum(['own', 'detected']).default('own'),
    refId: id.optional(),
    referenceFrom: z.array(id).min(1).max(500).optional(),
    run: BatchRunParameters.partial().default({}).transform((r) => BatchRunParameters.parse(r)),
  })
  .refine((r) => r.minCover < r.maxCover, 'minCover must be below maxCover')
  .refine((r) => r.refId === undefined || r.referenceFrom === undefined, 'give a reference (refId) or the scenes to build one from (referenceFrom), not both');
export type CloudyDatesRequest = z.infer<typeof CloudyDatesRequest>;
export type CloudyDatesRequestInput = z.input<typeof CloudyDatesRequest>;

export interface CloudyDate {
  sceneId: number;
  name: string;
  acquired: string | null;
  cloudCover: number | null;
  /** 'queued': a run was made (runId); 'clear': under minCover; 'too-cloudy': maxCover or more; 'skipped': why in `reason`. */
  state: 'queued' | 'clear' | 'too-cloudy' | 'skipped';
  reason: string | null;
  runId: number | null;
  maskId: number | null;
}

export interface CloudyDatesResult {
  batch: string;
  reference: RefRecord | null;
  runs: RunRecord[];
  dates: CloudyDate[];
}

/**
 * A multi-temporal reference built from scenes of the project: the per-pixel mean of their clear observations
 * (static, the paper's), or at each pixel the latest clear observation before a date (dynamic).
 */
export const BuildReferenceRequest = z
  .object({
    sceneIds: z.array(id).min(1).max(500),
    /** 'own': each scene's cloud mask (its newest version) hides its clouds; 'none': every pixel counts. */
    masks: z.enum(['own', 'none']).default('own'),
    method: z.enum(['static', 'dynamic']).default('static'),
    /** YYYY-MM-DD; dynamic only: scenes acquired before this day. */
    date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a day as YYYY-MM-DD').optional(),
    /** Band names; default every band of the first scene. */
    bands: z.array(z.string().min(1).max(8)).min(1).max(13).optional(),
    name: z.string().min(1).max(200).optional(),
  })
  .refine((r) => (r.method === 'dynamic') === (r.date !== undefined), 'a dynamic reference needs a date (YYYY-MM-DD), and only a dynamic one takes it');
export type BuildReferenceRequest = z.infer<typeof BuildReferenceRequest>;
export type BuildReferenceRequestInput = z.input<typeof BuildReferenceRequest>;

/** An acquisition day for a scene whose file has none (YYYY-MM-DD). */
export const SetSceneDateRequest = z.object({ sceneId: id, date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a day as YYYY-MM-DD') });
export type SetSceneDateRequest = z.infer<typeof SetSceneDateRequest>;

/** What can be renamed, deleted and asked what depends on it. */
export const ITEM_KINDS = ['scene', 'mask', 'reference', 'run'] as const;
export type ItemKind = (typeof ITEM_KINDS)[number];
export const ItemRef = z.object({ kind: z.enum(ITEM_KINDS), id });
export type ItemRef = z.infer<typeof ItemRef>;
export const RenameRequest = ItemRef.extend({ name: z.string().min(1).max(200) });
export type RenameRequest = z.infer<typeof RenameRequest>;
export const DeleteItemRequest = z.object({ kind: z.enum(['scene', 'mask', 'reference']), id });
export type DeleteItemRequest = z.infer<typeof DeleteItemRequest>;
/** What depends on an item: runs using it, references made from it, masks linked to it. */
export interface Dependents {
  runs: number[];
  references: number[];
  masks: number[];
}

export const CancelBatchRequest = z.object({ batch: z.string().min(1).max(100) });
export type CancelBatchRequest = z.infer<typeof CancelBatchRequest>;

/** `quality`: also write `<destination without .tif>.quality.json` (a reconstruction's per-tile loss, spread and curves). */
export const ExportRequest = z.object({ resultId: id, destination: z.string().min(1), quality: z.boolean().optional() });
export type ExportRequest = z.infer<typeof ExportRequest>;
/** A finished run's QA report (self-contained HTML) written to `destination`. */
export const RunReportRequest = z.object({ runId: id, destination: z.string().min(1) });
export type RunReportRequest = z.infer<typeof RunReportRequest>;

/** Open a project folder, or create one there (`create`: the folder must not hold a project yet). */
export const OpenProjectRequest = z.object({ dir: z.string().min(1).max(4096), create: z.boolean().default(false), name: z.string().min(1).max(200).optional() });
export type OpenProjectRequest = z.infer<typeof OpenProjectRequest>;
export type OpenProjectRequestInput = z.input<typeof OpenProjectRequest>;

/** The tile grid a run over this scene and mask would use, before starting it (the map's tile picker). */
export const PreviewTilesRequest = z.object({
  targetSceneId: id,
  maskId: id,
  tileSize: z.number().int().min(64).max(1024).default(256),
  overlap: z.number().int().min(0).max(256).default(32),
  area: window.optional(),
});
export type PreviewTilesRequest = z.infer<typeof PreviewTilesRequest>;
export type PreviewTilesRequestInput = z.input<typeof PreviewTilesRequest>;

/** A point in the scene's CRS (map coordinates); values of every band there, from each named raster. */
export const InspectPixelRequest = z.object({
  sceneId: id,
  coordinate: z.tuple([z.number().finite(), z.number().finite()]),
  refId: id.optional(),
  runId: id.optional(),
  /** A Sentinel-1 scene whose VV/VH to read too; default the run's SAR scene, if any. */
  sarSceneId: id.optional(),
});
export type InspectPixelRequest = z.infer<typeof InspectPixelRequest>;

/** A polygon: rings of [x, y] in the mask's CRS; the first ring is the outline, the others holes. */
const ring = z.array(z.tuple([z.number().finite(), z.number().finite()])).min(3).max(100_000);
const polygon = z.array(ring).min(1).max(1000);
/**
 * Adds (cloud) and erases (clear) polygons on a mask: saved as a new version (a new mask record). With `maskId`
 * the polygons edit that mask; with `sceneId` they are burnt onto a new, all-clear mask on that scene's grid.
 */
export const EditMaskRequest = z
  .object({ maskId: id.optional(), sceneId: id.optional(), add: z.array(polygon).max(1000).default([]), erase: z.array(polygon).max(1000).default([]) })
  .refine((r) => (r.maskId === undefined) !== (r.sceneId === undefined), 'give either maskId (edit that mask) or sceneId (draw a new mask on that scene), not both or neither')
  .refine((r) => r.add.length + r.erase.length > 0, 'an edit needs at least one polygon to add or erase');
export type EditMaskRequest = z.infer<typeof EditMaskRequest>;
export type EditMaskRequestInput = z.input<typeof EditMaskRequest>;

/**
 * Clouds and shadows found in a Sentinel-2 scene of the project by Clearsky's detector (raster/sentinel/cloud-detect.ts):
 * `detectMask` saves them as the scene's next mask version; `previewDetection` answers the same mask's outline
 * without saving anything, for the map to draw while the user tunes the threshold and dilation. An SCL layer
 * or a cloud probability, imported, is the better source where the user has one.
 */
export const DetectMaskRequest = z.object({
  sceneId: id,
  /** Cloud where the smoothed cloud score is at least this; 0.2 is SEN12MS-CR's. */
  threshold: z.number().gt(0).lt(1).default(0.2),
  /** Grow cloud and shadow by this many pixels. */
  dilate: z.number().int().min(0).max(100).default(0),
  shadows: z.boolean().default(true),
});
export type DetectMaskRequest = z.infer<typeof DetectMaskRequest>;
export type DetectMaskRequestInput = z.input<typeof DetectMaskRequest>;

/** The largest window `previewDetection` answers (pixels): the part of a big scene in view. */
export const PREVIEW_DETECTION_MAX_PIXELS = 2048 * 2048;
export const PreviewDetectionRequest = DetectMaskRequest.extend({
  /** The part of the scene to preview, in its pixels; default the whole scene (which must then be small enough). */
  area: window.optional(),
});
export type PreviewDetectionRequest = z.infer<typeof PreviewDetectionRequest>;
export type PreviewDetectionRequestInput = z.input<typeof PreviewDetectionRequest>;

/** A mask's outline as GeoJSON in the scene's CRS (MultiPolygon rings of [x, y]; the map draws it in cyan). */
export interface MaskOutline {
  type: 'FeatureCollection';
  crs?: { type: 'name'; properties: { name: string } };
  features: { type: 'Feature'; properties: { cloud_fraction: number; pixels: number }; geometry: { type: 'MultiPolygon'; coordinates: [number, number][][][] } }[];
}

export interface DetectionPreview {
  sceneId: number;
  /** The window previewed, in the scene's pixels. */
  area: { x: number; y: number; width: number; height: number };
  /** Cloud and shadow pixels in the window, and their share of its pixels. */
  pixels: number;
  cover: number;
  outline: MaskOutline;
  /** How the mask was made (rule, threshold, sun and shadow offset), as the saved mask's file would say. */
  description: Record<string, string>;
}

export interface Grid {
  width: number;
  height: number;
  epsg: number | null;
  crs: string | null;
  geoTransform: [number, number, number, number, number, number] | null;
  /** [minX, minY, maxX, maxY] in the raster's CRS. */
  bounds: [number, number, number, number] | null;
}

export interface TilePreview {
  index: number;
  /** Pixels of the target scene; the core (without overlap) is what the tile's result covers. */
  window: { x: number; y: number; width: number; height: number };
  /** 'clear': nothing to do; 'cloudy': has cloud and clear context; 'all-cloud': no clear pixel in the tile. */
  state: 'clear' | 'cloudy' | 'all-cloud';
  cloudFraction: number;
}

export interface PixelValues {
  /** 0-based pixel of the scene under the coordinate; null when outside it. */
  column: number;
  row: number;
  layers: {
    kind: 'scene' | 'reference' | 'reconstruction' | 'uncertainty' | 'mask' | 'sar';
    label: string;
    bands: { name: string; value: number | null }[];
  }[];
}

export interface BackendInfo {
  /** What `auto` picks on this machine (e.g. 'native' or 'tensorflow'), and every choice that works here. */
  detected: string;
  available: string[];
}

export interface ProjectInfo {
  dir: string;
  name: string;
  createdAt: string;
  schemaVersion: number;
  /** The queue the project's runs may be sent to, its password shown as `***`; null when none is set. */
  queue?: string | null;
}

/** The project's queue: a redis:// or rediss:// URL (it may carry a password, kept in the catalogue), or null to clear it. */
export const SetQueueRequest = z.object({ url: z.string().min(1).max(2000).nullable() });
export type SetQueueRequest = z.infer<typeof SetQueueRequest>;

export interface SceneRecord {
  id: number;
  name: string;
  /** Relative to the project; the raster URL is `/rasters/<file>` in browser mode. */
  file: string;
  sensor: 'S2' | 'S1';
  level: string | null;
  acquired: string | null;
  bands: (string | null)[];
  grid: Grid;
  dataType: string;
  nodata: number | null;
  /** Sentinel-1 backscatter units ('linear' sigma0 or 'dB'); null for Sentinel-2. */
  units: 'linear' | 'dB' | null;
  cloudCover: number | null;
  /** Where the cloud cover came from: the file's metadata, a mask of its day, or the cloud detector. */
  cloudCoverSource?: 'metadata' | 'mask' | 'detected' | null;
  importedAt: string;
}

export interface RefRecord {
  id: number;
  name: string;
  file: string;
  method: 'imported' | 'static' | 'dynamic';
  date: string | null;
  bands: (string | null)[];
  grid: Grid;
  sceneIds: number[];
  createdAt: string;
}

export interface MaskRecord {
  id: number;
  name: string;
  file: string;
  band: number;
  source: 'binary' | 'scl' | 'probability' | 'drawn' | 'detected';
  sceneId: number | null;
  /** Acquisition day (YYYY-MM-DD) the mask is for, from its band description or file name; null if unknown. */
  acquired: string | null;
  version: number;
  parameters: Record<string, unknown>;
  grid: Grid;
  cloudCover: number | null;
  /** GeoJSON of the cloud outline in the scene CRS, relative to the project. */
  outlineFile: string | null;
  /** The SCL or cloud-probability raster the mask was derived from (kept in the project); null otherwise. */
  sourceFile: string | null;
  createdAt: string;
}

export type ImportOutcome =
  | { path: string; status: 'imported'; kind: 'scene'; record: SceneRecord }
  | { path: string; status: 'imported'; kind: 'ref'; record: RefRecord }
  | { path: string; status: 'imported'; kind: 'mask'; record: MaskRecord }
  /** The same content was imported before (by SHA-256): nothing is added; `id` is the existing record's. */
  | { path: string; status: 'duplicate'; kind: 'scene' | 'ref' | 'mask'; id: number; name: string }
  | { path: string; status: 'unsure'; candidates: string[]; reason: string }
  | { path: string; status: 'failed'; error: string };

/** Scores of a reconstruction against ground truth, in METHOD.md's ÷2000 reflectance scale (null: undefined). */
export interface QualityScores {
  ssim: number | null;
  rmse: number | null;
  mae: number | null;
  /** dB, peak 2.0; null when the result equals the truth. */
  psnr: number | null;
  /** Mean spectral angle, radians. */
  sam: number | null;
}

/** A ground-truth run's (or tile's) quality: under the mask, and over the whole area. */
export interface RunMetrics {
  masked: QualityScores;
  whole: QualityScores;
  /** Pixels under the mask that were scored. */
  maskedPixels: number;
}

/**
 * Whether `mask` is the cloud mask of `scene` itself (linked to it, or of the same day): under it lies cloud,
 * not ground truth, so a ground-truth run with it means nothing. The service refuses it; the run dialog says so.
 */
export function isOwnMask(scene: Pick<SceneRecord, 'id' | 'acquired'>, mask: Pick<MaskRecord, 'sceneId' | 'acquired'>): boolean {
  const sameDay = mask.acquired !== null && scene.acquired !== null && mask.acquired.slice(0, 10) === scene.acquired.slice(0, 10);
  return mask.sceneId === scene.id || sameDay;
}

export const ACTIVE_RUN_STATUSES = ['queued', 'running', 'mosaicking'] as const;
export const FINISHED_RUN_STATUSES = ['done', 'partial', 'failed', 'cancelled'] as const;
export const RUN_STATUSES = [...ACTIVE_RUN_STATUSES, ...FINISHED_RUN_STATUSES] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Whether a run with this status is still to finish (queued, running or mosaicking): it may hold a lease, be cancelled, get tiles. */
export function isActiveRun(status: string): boolean {
  return (ACTIVE_RUN_STATUSES as readonly string[]).includes(status);
}

/** Whether a run with this status is over (done, partial, failed or cancelled): nothing about it changes any more. */
export function isFinishedRun(status: string): boolean {
  return (FINISHED_RUN_STATUSES as readonly string[]).includes(status);
}
export type TileStatus = 'pending' | 'running' | 'done' | 'failed' | 'clear';
export type { LossCurve } from '../dip/loss-curve.ts';

/** How sure a tile's reconstruction is, without ground truth: its loss curve per seed and the seeds' spread. */
export interface TileQuality {
  /** One per seed, in seed order (empty for the baselines). */
  curves: LossCurve[];
  /** The median over the tile's masked pixels of the seeds' spread (digital numbers); null with one seed. */
  spread: number | null;
}

/** A run's tiles' loss curves (those given, or all finished), each with at most `points` points per seed. */
export const LossCurvesRequest = z.object({
  runId: id,
  tiles: z.array(z.number().int().min(0)).max(100_000).optional(),
  points: z.number().int().min(2).max(MAX_CURVE_POINTS).optional(),
});
export type LossCurvesRequest = z.infer<typeof LossCurvesRequest>;
export type LossCurvesRequestInput = z.input<typeof LossCurvesRequest>;

export interface TileLossCurves extends TileQuality {
  index: number;
  status: TileStatus;
  /** The last seed's final loss, as TileRecord.loss. */
  loss: number | null;
}

export interface TileRecord {
  runId: number;
  index: number;
  window: { x: number; y: number; width: number; height: number };
  status: TileStatus;
  attempts: number;
  loss: number | null;
  /** With several seeds: the median over the tile's masked pixels of the seeds' spread (digital numbers), else null. */
  spread: number | null;
  seconds: number | null;
  error: string | null;
  /** A finished tile's result (relative to the project; `/rasters/<file>` in browser mode): shown while the run goes on. */
  resultFile: string | null;
  /** Ground-truth runs: the tile's scores over its window, once the run is done; null otherwise. */
  metrics: RunMetrics | null;
}

export interface ResultRecord {
  id: number;
  runId: number;
  kind: 'reconstruction' | 'uncertainty' | 'mask' | 'outline';
  file: string;
  createdAt: string;
}

export interface RunRecord {
  id: number;
  name: string | null;
  request: RunRequest;
  status: RunStatus;
  backend: string | null;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  tiles: { total: number; pending: number; running: number; done: number; failed: number; clear: number };
  results: ResultRecord[];
  /** Ground-truth runs: the scores of the finished result; null otherwise. */
  metrics: RunMetrics | null;
  /**
   * An unfinished run's lease: the process working it (`host:pid:random`), its last heartbeat, and whether it
   * is stale (that process is gone: `clearsky resume` takes the run over). Null when no process holds it.
   */
  lease?: { owner: string; heartbeatAt: string | null; stale: boolean } | null;
}

/**
 * A long action that is not a run (an import, building a reference, detecting clouds, an export, a report):
 * its progress while it works (`done` of `total` in the unit `step` names: tiles, files), then once its end
 * (`state` done, failed or cancelled). `cancelTask(taskId)` stops it; the command that started it then fails
 * with "… cancelled" and leaves nothing behind (no file, no catalogue row).
 */
export interface TaskEvent {
  type: 'task';
  taskId: string;
  /** What the action is, e.g. "Import S2L1C_20150909.tif". */
  label: string;
  /** The step it is at, e.g. "writing tiles (file 1 of 2)". */
  step: string;
  done: number;
  total: number;
  state: 'running' | 'done' | 'failed' | 'cancelled';
}

/** Events, pushed to subscribers (SSE in browser mode, IPC in Electron); rate-limited per tile (tasks: ~10 a second). */
export type ApiEvent =
  | TaskEvent
  | { type: 'run'; run: RunRecord }
  | { type: 'tile'; runId: number; tile: TileRecord }
  | {
      type: 'progress';
      runId: number;
      tileIndex: number;
      step: number;
      steps: number;
      loss: number;
      /** Seconds left for this tile, and for the whole run (remaining tiles over the workers). */
      etaSeconds: number | null;
      runEtaSeconds: number | null;
    };

export interface ClearskyApi {
  /** The open project; null when none is open yet (browser mode started without --project). */
  project(): Promise<ProjectInfo | null>;
  openProject(request: OpenProjectRequestInput): Promise<ProjectInfo>;
  listScenes(): Promise<SceneRecord[]>;
  listRefs(): Promise<RefRecord[]>;
  listMasks(): Promise<MaskRecord[]>;
  importFiles(request: ImportRequest): Promise<ImportOutcome[]>;
  /** Imports a whole folder as a task; cancelTask stops it between files and it answers what it did. */
  importFolder(request: ImportFolderRequest): Promise<ImportFolderResult>;
  /** Dates a scene whose file has no date; its day's masks on its grid are linked to it, as at import. */
  setSceneDate(request: SetSceneDateRequest): Promise<SceneRecord>;
  buildReference(request: BuildReferenceRequestInput): Promise<RefRecord>;
  startRun(request: RunRequestInput): Promise<RunRecord>;
  /** One run per cloudy date (a batch), with the same parameters; dates that cannot be run say why. */
  runCloudyDates(request: CloudyDatesRequestInput): Promise<CloudyDatesResult>;
  /** Cancels every run of a batch that is still to finish; answers the batch's runs. */
  cancelBatch(request: CancelBatchRequest): Promise<RunRecord[]>;
  listRuns(): Promise<RunRecord[]>;
  getRun(runId: number): Promise<RunRecord & { tileList: TileRecord[] }>;
  /** The loss curves of a run's finished tiles (or of `tiles`), per seed, thinned to `points` (default all, ≤ 200). */
  runLossCurves(request: LossCurvesRequestInput): Promise<{ runId: number; tiles: TileLossCurves[] }>;
  cancelRun(runId: number): Promise<RunRecord>;
  /** A cancelled run goes on with its tiles still to do. */
  resumeRun(runId: number): Promise<RunRecord>;
  /** A cancelled run finished as it is: its finished tiles mosaicked, the input elsewhere (ends partial). */
  finishRun(runId: number): Promise<RunRecord>;
  /** A run that is over, deleted with its files in the project (exports elsewhere stay); one going on is refused. */
  deleteRun(runId: number): Promise<{ runId: number }>;
  /** A new display name for a scene, mask, reference or run (files keep theirs). */
  renameItem(request: RenameRequest): Promise<{ kind: ItemKind; id: number; name: string }>;
  /** What depends on an item, to show before deleting it. */
  dependents(request: ItemRef): Promise<Dependents>;
  /** Deletes a scene, mask or reference with its files; refused (naming them) while runs or references depend on it. */
  deleteItem(request: DeleteItemRequest): Promise<{ kind: ItemKind; id: number }>;
  exportResult(request: ExportRequest): Promise<{ path: string; quality?: string }>;
  /** Writes a finished run's QA report (one HTML file: parameters, before/after, scores, uncertainty, tile losses, provenance). */
  runReport(request: RunReportRequest): Promise<{ path: string }>;
  previewTiles(request: PreviewTilesRequestInput): Promise<TilePreview[]>;
  inspectPixel(request: InspectPixelRequest): Promise<PixelValues>;
  editMask(request: EditMaskRequestInput): Promise<MaskRecord>;
  detectMask(request: DetectMaskRequestInput): Promise<MaskRecord>;
  previewDetection(request: PreviewDetectionRequestInput): Promise<DetectionPreview>;
  backends(): Promise<BackendInfo>;
  /** Sets (or clears) the open project's queue; answers with the project, its queue redacted. */
  setQueue(request: SetQueueRequest): Promise<ProjectInfo>;
  /** Stops a task (an import, export, report, reference or detection going on); false when it is over already. */
  cancelTask(taskId: string): Promise<{ taskId: string; cancelled: boolean }>;
  /** Calls `listener` for every event until the returned function is called. */
  subscribe(listener: (event: ApiEvent) => void): () => void;
}

/** The API's command names with their argument schemas: what a transport may route, and how to check it. */
export const COMMANDS = {
  project: z.tuple([]),
  openProject: z.tuple([OpenProjectRequest]),
  listScenes: z.tuple([]),
  listRefs: z.tuple([]),
  listMasks: z.tuple([]),
  importFiles: z.tuple([ImportRequest]),
  importFolder: z.tuple([ImportFolderRequest]),
  setSceneDate: z.tuple([SetSceneDateRequest]),
  buildReference: z.tuple([BuildReferenceRequest]),
  startRun: z.tuple([RunRequest]),
  runCloudyDates: z.tuple([CloudyDatesRequest]),
  cancelBatch: z.tuple([CancelBatchRequest]),
  listRuns: z.tuple([]),
  getRun: z.tuple([id]),
  runLossCurves: z.tuple([LossCurvesRequest]),
  cancelRun: z.tuple([id]),
  resumeRun: z.tuple([id]),
  finishRun: z.tuple([id]),
  deleteRun: z.tuple([id]),
  renameItem: z.tuple([RenameRequest]),
  dependents: z.tuple([ItemRef]),
  deleteItem: z.tuple([DeleteItemRequest]),
  exportResult: z.tuple([ExportRequest]),
  runReport: z.tuple([RunReportRequest]),
  previewTiles: z.tuple([PreviewTilesRequest]),
  inspectPixel: z.tuple([InspectPixelRequest]),
  editMask: z.tuple([EditMaskRequest]),
  detectMask: z.tuple([DetectMaskRequest]),
  previewDetection: z.tuple([PreviewDetectionRequest]),
  backends: z.tuple([]),
  setQueue: z.tuple([SetQueueRequest]),
  cancelTask: z.tuple([z.string().min(1).max(100)]),
} as const;
export type CommandName = keyof typeof COMMANDS;
