/**
 * What travels through Redis for one queued tile: the job's data (the tile's arrays and the run's settings)
 * and its return value (the reconstruction), both plain JSON. Arrays are packed compactly with a declared
 * shape: float32 bytes shuffled into planes (the exponent bytes of neighbouring values repeat, so deflate
 * finds them), deflated, base64. A worker takes jobs from a shared queue, so it decodes nothing on trust:
 * every field is checked against a schema, every array's length against its shape, every setting against
 * the values a run accepts, and sizes against a bound; anything else is refused with a PayloadError.
 */
import { promisify } from 'node:util';
import { deflate as deflateCallback, inflateSync } from 'node:zlib';
import { z } from 'zod';
import { BACKEND_CHOICES, METHODS, MODES, type TileQuality } from '../../api/contract.ts';
import { MAX_CURVE_POINTS } from '../../dip/loss-curve.ts';
import type { Image, Mask } from '../../dip/image.ts';
import { InputError } from '../../errors.ts';
import type { TileSources } from '../../reconstruction/pipeline.ts';
import type { QueuedOutcome, QueuedProgress, QueuedSettings, QueuedTile } from './contract.ts';

/** Tile sides a queued tile may have (a run's tiles are at most 1024 px). */
export const MAX_TILE_SIDE = 1024;
/** Bands of one array: 13 Sentinel-2 bands, doubled by the spread bands of a multi-seed result. */
export const MAX_BANDS = 32;
/**
 * Redis holds a waiting tile's data and a finished tile's result until the owner settles it: each is refused
 * beyond this many bytes of JSON. A 256² tile of 13 bands with a reference and SAR is about 6.4 MB of data and
 * 3.2 MB of result (docs/cli.md, "Scale-out"); the bound leaves room for 512² tiles of all bands.
 */
export const MAX_PAYLOAD_BYTES = 48 * 1024 * 1024;
export const PAYLOAD_VERSION = 1;

// Packing runs on libuv's thread pool: an owner's event loop (the app's host process) stays free meanwhile.
const deflate = promisify(deflateCallback);

/** A job's data or result that is not what a queued tile must be: one line naming the job and the problem. */
export class PayloadError extends InputError {
  constructor(what: string, problem: string) {
    super(what, problem);
    this.name = 'PayloadError';
  }
}

const side = z.number().int().min(1).max(MAX_TILE_SIDE);
const PackedArray = z.strictObject({
  type: z.enum(['float32', 'uint8']),
  width: side,
  height: side,
  bands: z.number().int().min(1).max(MAX_BANDS),
  /** The values, row-major and pixel-interleaved; float32 bytes shuffled into planes; deflated; base64. */
  deflated: z.string().max(MAX_PAYLOAD_BYTES),
});
type PackedArray = z.infer<typeof PackedArray>;

const Settings = z.strictObject({
  method: z.enum(METHODS),
  mode: z.enum(MODES).optional(),
  steps: z.number().int().min(1).max(100_000).optional(),
  seeds: z.array(z.number().int().min(0).max(2 ** 31 - 1)).min(1).max(16),
  stitch: z.boolean(),
  groundTruth: z.boolean().optional(),
});

const bandNames = (max: number) => z.array(z.string().min(1).max(64)).min(1).max(max);

/** A queued tile's job data. */
export const TileJobData = z.strictObject({
  version: z.literal(PAYLOAD_VERSION),
  runKey: z.string().min(1).max(200),
  tileIndex: z.number().int().min(0).max(10_000_000),
  backend: z.enum(BACKEND_CHOICES),
  settings: Settings,
  bandNames: bandNames(MAX_BANDS),
  arrays: z.strictObject({ s2: PackedArray, raw: PackedArray, cloud: PackedArray, reference: PackedArray.optional(), sar: PackedArray.optional(), invalid: PackedArray.optional() }),
});
export type TileJobData = z.infer<typeof TileJobData>;

/** One seed's loss curve (dip/loss-curve.ts): parallel arrays of one length, steps strictly increasing. */
const points = z.array(z.number()).max(MAX_CURVE_POINTS);
const LossCurveData = z
  .strictObject({ seed: z.number().int().min(0), step: z.array(z.number().int().min(1)).max(MAX_CURVE_POINTS), loss: points, min: points })
  .refine((c) => c.loss.length === c.step.length && c.min.length === c.step.length, 'its step, loss and min lists differ in length')
  .refine((c) => c.step.every((s, i) => i === 0 || s > c.step[i - 1]), 'its steps do not increase');
const TileQualityData = z.strictObject({
  curves: z.array(LossCurveData).max(16),
  spread: z.number().min(0).nullable(),
});

/** A queued tile's return value. `quality` is optional: a worker from before it still answers validly. */
export const TileResultData = z.strictObject({
  version: z.literal(PAYLOAD_VERSION),
  image: PackedArray,
  bandNames: bandNames(2 * MAX_BANDS),
  loss: z.number().nullable(),
  seconds: z.number().min(0),
  backend: z.string().min(1).max(200),
  worker: z.string().min(1).max(300),
  quality: TileQualityData.optional(),
});
export type TileResultData = z.infer<typeof TileResultData>;

/** A queued tile's progress, as the worker hands it to job.updateProgress. */
export const TileProgressData = z.strictObject({
  runKey: z.string().min(1).max(200),
  tileIndex: z.number().int().min(0),
  step: z.number().int().min(0),
  steps: z.number().int().min(0),
  loss: z.number(),
  elapsedSeconds: z.number().min(0),
});
export type TileProgressData = z.infer<typeof TileProgressData> & QueuedProgress;

/**
 * The job id of a run's tile. BullMQ refuses most ids with a `:` (and a runKey has one), so the runKey is
 * percent-encoded (which encodes `:` and `#`) and the tile index follows a `#`: distinct tiles, distinct ids.
 */
export function tileJobId(runKey: string, tileIndex: number): string {
  return `${encodeURIComponent(runKey)}#${tileIndex}`;
}

/** The Redis key that says a run was cancelled; workers look for it while they work on its tiles. */
export function cancelKey(runKey: string): string {
  return `clearsky:cancel:${runKey}`;
}

/** The job data of a tile (refused with an InputError when it is beyond MAX_PAYLOAD_BYTES). */
export async function encodeTileJob(tile: QueuedTile): Promise<TileJobData> {
  const { window, cloud } = tile.sources;
  const [s2, raw, packedCloud, reference, sar, invalid] = await Promise.all([
    packImage(window.s2),
    packImage(window.raw),
    packMask(cloud),
    window.reference && packImage(window.reference),
    window.sar && packImage(window.sar),
    window.invalid && packMask(window.invalid),
  ]);
  const data: TileJobData = {
    version: PAYLOAD_VERSION,
    runKey: tile.runKey,
    tileIndex: tile.tileIndex,
    backend: tile.backend as TileJobData['backend'],
    settings: {
      method: tile.settings.method,
      ...(tile.settings.mode !== undefined ? { mode: tile.settings.mode } : {}),
      ...(tile.settings.steps !== undefined ? { steps: tile.settings.steps } : {}),
      seeds: tile.settings.seeds,
      stitch: tile.settings.stitch,
      ...(tile.settings.groundTruth !== undefined ? { groundTruth: tile.settings.groundTruth } : {}),
    },
    bandNames: tile.sources.bandNames,
    arrays: { s2, raw, cloud: packedCloud, ...(reference ? { reference } : {}), ...(sar ? { sar } : {}), ...(invalid ? { invalid } : {}) },
  };
  // The owner's own settings are checked here too: a tile the workers would refuse never enters the queue.
  const checked = TileJobData.safeParse(data);
  if (!checked.success) throw new PayloadError(`tile ${tile.runKey}:${tile.tileIndex}`, `not a valid queued tile: ${zodProblem(checked.error)}`);
  assertBounded(`tile ${tile.runKey}:${tile.tileIndex}`, data, 'its data');
  return data;
}

/**
 * Checks a job's data without unpacking its arrays (cheap, in the `clearsky worker` process): its structure,
 * settings, shapes and size. Throws a PayloadError naming `what`.
 */
export function checkTileJob(data: unknown, what: string): TileJobData {
  const parsed = TileJobData.safeParse(data);
  if (!parsed.success) throw new PayloadError(what, `refused: not a clearsky tile job (${zodProblem(parsed.error)})`);
  const job = parsed.data;
  assertBounded(what, job, 'its data');
  const { arrays } = job;
  const { width, height } = arrays.cloud;
  const expect = (name: string, array: PackedArray | undefined, type: PackedArray['type'], bands?: number) => {
    if (!array) return;
    if (array.type !== type) throw new PayloadError(what, `refused: ${name} is ${array.type}, not ${type}`);
    if (array.width !== width || array.height !== height) throw new PayloadError(what, `refused: ${name} is ${array.width}×${array.height}, the mask ${width}×${height}`);
    if (bands !== undefined && array.bands !== bands) throw new PayloadError(what, `refused: ${name} has ${array.bands} bands, not ${bands}`);
  };
  expect('the mask', arrays.cloud, 'uint8', 1);
  expect('the target', arrays.s2, 'float32', job.bandNames.length);
  expect('the raw target', arrays.raw, 'float32', job.bandNames.length);
  expect('the reference', arrays.reference, 'float32', job.bandNames.length);
  expect('the SAR', arrays.sar, 'float32', 2);
  expect('the nodata mask', arrays.invalid, 'uint8', 1);
  return job;
}

/** Unpacks a job's data (in the worker process): checked as checkTileJob does, then every array's length. */
export function decodeTileJob(data: unknown, what: string): { runKey: string; tileIndex: number; backend: string; settings: QueuedSettings; sources: TileSources } {
  const job = checkTileJob(data, what);
  const { arrays } = job;
  const cloud = unpackMask(arrays.cloud, what, 'the mask');
  const invalid = arrays.invalid && unpackMask(arrays.invalid, what, 'the nodata mask');
  return {
    runKey: job.runKey,
    tileIndex: job.tileIndex,
    backend: job.backend,
    settings: job.settings,
    sources: {
      cloud,
      bandNames: job.bandNames,
      window: {
        s2: unpackImage(arrays.s2, what, 'the target'),
        raw: unpackImage(arrays.raw, what, 'the raw target'),
        ...(arrays.reference ? { reference: unpackImage(arrays.reference, what, 'the reference') } : {}),
        ...(arrays.sar ? { sar: unpackImage(arrays.sar, what, 'the SAR') } : {}),
        ...(invalid ? { invalid } : {}),
      },
    },
  };
}

export async function encodeTileResult(
  result: { image: Image; bandNames: string[]; loss: number | null; seconds: number; backend: string; worker: string; quality?: TileQuality },
  what: string,
): Promise<TileResultData> {
  const data: TileResultData = {
    version: PAYLOAD_VERSION,
    image: await packImage(result.image),
    bandNames: result.bandNames,
    loss: result.loss,
    seconds: result.seconds,
    backend: result.backend,
    worker: result.worker,
    ...(result.quality ? { quality: result.quality } : {}),
  };
  assertBounded(what, data, 'its result');
  return data;
}

/** A finished job's return value as the owner's outcome; refused unless it is a whole tile result. */
export function decodeTileResult(value: unknown, what: string): Extract<QueuedOutcome, { type: 'done' }> {
  const parsed = TileResultData.safeParse(value);
  if (!parsed.success) throw new PayloadError(what, `not a clearsky tile result (${zodProblem(parsed.error)})`);
  const result = parsed.data;
  if (result.image.type !== 'float32' || result.image.bands !== result.bandNames.length) throw new PayloadError(what, `the result has ${result.image.bands} ${result.image.type} bands for ${result.bandNames.length} band names`);
  return {
    type: 'done',
    image: unpackImage(result.image, what, 'the result'),
    bandNames: result.bandNames,
    loss: result.loss,
    seconds: result.seconds,
    backend: result.backend,
    worker: result.worker,
    ...(result.quality ? { quality: result.quality } : {}),
  };
}

/** A failed job's reason says whether the user (bad input, a refused reconstruction) or a cancel ended it. */
const CANCELLED = 'cancelled: ';
const USER_ERROR = 'refused: ';

export function failureReason(error: string, kind: { userError: boolean; cancelled: boolean }): string {
  const line = error.split('\n')[0];
  if (kind.cancelled) return line.startsWith(CANCELLED) ? line : `${CANCELLED}${line}`;
  if (kind.userError) return line.startsWith(USER_ERROR) ? line : `${USER_ERROR}${line}`;
  return line;
}

export function parseFailureReason(reason: string): Extract<QueuedOutcome, { type: 'failed' }> {
  if (reason.startsWith(CANCELLED)) return { type: 'failed', error: reason.slice(CANCELLED.length), userError: false, cancelled: true };
  if (reason.startsWith(USER_ERROR)) return { type: 'failed', error: reason.slice(USER_ERROR.length), userError: true, cancelled: false };
  return { type: 'failed', error: reason, userError: false, cancelled: false };
}

function assertBounded(what: string, value: object, part: string): void {
  const bytes = Buffer.byteLength(JSON.stringify(value));
  if (bytes > MAX_PAYLOAD_BYTES) throw new PayloadError(what, `${part} is ${(bytes / 2 ** 20).toFixed(1)} MiB, more than the queue takes (${MAX_PAYLOAD_BYTES / 2 ** 20} MiB): use smaller tiles`);
}

function zodProblem(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.map(String).join('.') || 'the job'}: ${issue.message.replace(/\s+/g, ' ')}`)
    .join('; ');
}

async function packImage(image: Image): Promise<PackedArray> {
  const bytes = new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  return { type: 'float32', width: image.width, height: image.height, bands: image.bands, deflated: (await deflate(shuffle(bytes, 4), { level: 6 })).toString('base64') };
}

async function packMask(mask: Mask): Promise<PackedArray> {
  return { type: 'uint8', width: mask.width, height: mask.height, bands: 1, deflated: (await deflate(mask.data, { level: 6 })).toString('base64') };
}

function unpack(array: PackedArray, bytesPerValue: number, what: string, name: string): Uint8Array {
  const expected = array.width * array.height * array.bands * bytesPerValue;
  let bytes: Buffer;
  try {
    // Never inflate more than the declared shape holds: a small job must not unpack into gigabytes.
    bytes = inflateSync(Buffer.from(array.deflated, 'base64'), { maxOutputLength: expected + 1 });
  } catch (error) {
    const e = error as { code?: string; message: string };
    throw new PayloadError(what, `refused: ${name} ${e.code === 'ERR_BUFFER_TOO_LARGE' ? `holds more than its ${array.width}×${array.height}×${array.bands} values` : `does not unpack (${e.message})`}`);
  }
  if (bytes.length !== expected) throw new PayloadError(what, `refused: ${name} holds ${bytes.length / bytesPerValue} values, its shape ${array.width}×${array.height}×${array.bands} = ${expected / bytesPerValue}`);
  return bytesPerValue === 1 ? bytes : unshuffle(bytes, bytesPerValue);
}

function unpackImage(array: PackedArray, what: string, name: string): Image {
  if (array.type !== 'float32') throw new PayloadError(what, `refused: ${name} is ${array.type}, not float32`);
  const bytes = unpack(array, 4, what, name);
  return { width: array.width, height: array.height, bands: array.bands, data: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4) };
}

function unpackMask(array: PackedArray, what: string, name: string): Mask {
  if (array.type !== 'uint8' || array.bands !== 1) throw new PayloadError(what, `refused: ${name} is not a one-band uint8 mask`);
  const data = unpack(array, 1, what, name);
  if (data.some((v) => v > 1)) throw new PayloadError(what, `refused: ${name} has values other than 0 and 1`);
  return { width: array.width, height: array.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** Byte k of every value, then byte k+1…: `size`-byte values become `size` planes. */
function shuffle(bytes: Uint8Array, size: number): Uint8Array {
  const n = bytes.length / size;
  const out = new Uint8Array(bytes.length);
  for (let k = 0; k < size; k++) {
    const plane = k * n;
    for (let i = 0; i < n; i++) out[plane + i] = bytes[i * size + k];
  }
  return out;
}

function unshuffle(bytes: Uint8Array, size: number): Uint8Array {
  const n = bytes.length / size;
  const out = new Uint8Array(bytes.length);
  for (let k = 0; k < size; k++) {
    const plane = k * n;
    for (let i = 0; i < n; i++) out[i * size + k] = bytes[plane + i];
  }
  return out;
}
