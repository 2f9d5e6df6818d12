/**
 * Where the GeoTIFF writer keeps each level's encoded tiles until it assembles the file: in memory for small
 * levels, in a temporary file beside the output for large ones (so memory does not grow with the scene).
 *
 * Tiles are stored framed as GDAL's COG driver writes them: a 4-byte little-endian leader with the tile's
 * byte count, the tile, then its last 4 bytes repeated (BLOCK_LEADER=SIZE_AS_UINT4,
 * BLOCK_TRAILER=LAST_4_BYTES_REPEATED). `offsets` point at the tile bytes, past the leader; `counts` exclude
 * leader and trailer. Copying a store into the output is then a plain byte copy.
 */
import fs from 'node:fs/promises';

export const TILE_LEADER_BYTES = 4;
export const TILE_TRAILER_BYTES = 4;

const FILE_WRITE_CHUNK = 4 * 1024 * 1024;
const COPY_CHUNK = 8 * 1024 * 1024;

export interface TileStore {
  /** Bytes stored so far (tiles with their leaders and trailers). */
  readonly size: number;
  /** Per tile, where its bytes start relative to the start of the store, and how many there are. */
  readonly offsets: number[];
  readonly counts: number[];
  append(tile: Buffer): Promise<void>;
  /** Writes everything stored into `file` at `position`. */
  copyTo(file: fs.FileHandle, position: number): Promise<void>;
  /** Releases memory or closes and deletes the temporary file; safe to call twice and after a failure. */
  dispose(): Promise<void>;
}

function framed(tile: Buffer): Buffer {
  const frame = Buffer.alloc(TILE_LEADER_BYTES + tile.length + TILE_TRAILER_BYTES);
  frame.writeUInt32LE(tile.length, 0);
  tile.copy(frame, TILE_LEADER_BYTES);
  const last = tile.subarray(Math.max(0, tile.length - 4));
  last.copy(frame, TILE_LEADER_BYTES + tile.length + (4 - last.length)); // shorter than 4 bytes: zero-padded in front
  return frame;
}

abstract class BaseStore implements TileStore {
  size = 0;
  readonly offsets: number[] = [];
  readonly counts: number[] = [];

  async append(tile: Buffer): Promise<void> {
    const frame = framed(tile);
    this.offsets.push(this.size + TILE_LEADER_BYTES);
    this.counts.push(tile.length);
    this.size += frame.length;
    await this.store(frame);
  }

  protected abstract store(frame: Buffer): Promise<void>;
  abstract copyTo(file: fs.FileHandle, position: number): Promise<void>;
  abstract dispose(): Promise<void>;
}

export class MemoryTileStore extends BaseStore {
  private chunks: Buffer[] = [];

  protected async store(frame: Buffer): Promise<void> {
    this.chunks.push(frame);
  }

  async copyTo(file: fs.FileHandle, position: number): Promise<void> {
    let at = position;
    let batch: Buffer[] = [];
    let batchBytes = 0;
    for (const chunk of this.chunks) {
      batch.push(chunk);
      batchBytes += chunk.length;
      if (batchBytes >= COPY_CHUNK) {
        await writeFully(file, Buffer.concat(batch), at);
        at += batchBytes;
        batch = [];
        batchBytes = 0;
      }
    }
    if (batchBytes > 0) await writeFully(file, Buffer.concat(batch), at);
  }

  async dispose(): Promise<void> {
    this.chunks = [];
  }
}

export class FileTileStore extends BaseStore {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private written = 0;
  private handle: fs.FileHandle | undefined;

  private constructor(
    handle: fs.FileHandle,
    readonly path: string,
  ) {
    super();
    this.handle = handle;
  }

  /** Creates the temporary file `path` (which must not exist). */
  static async create(path: string): Promise<FileTileStore> {
    return new FileTileStore(await fs.open(path, 'wx+'), path);
  }

  protected async store(frame: Buffer): Promise<void> {
    this.pending.push(frame);
    this.pendingBytes += frame.length;
    if (this.pendingBytes >= FILE_WRITE_CHUNK) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const bytes = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    await writeFully(this.open(), bytes, this.written);
    this.written += bytes.length;
  }

  async copyTo(file: fs.FileHandle, position: number): Promise<void> {
    await this.flush();
    const handle = this.open();
    const buffer = Buffer.allocUnsafe(Math.min(COPY_CHUNK, Math.max(1, this.written)));
    for (let at = 0; at < this.written; ) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, this.written - at), at);
      if (bytesRead === 0) throw new Error(`${this.path}: temporary file ended early (at byte ${at} of ${this.written})`);
      await writeFully(file, buffer.subarray(0, bytesRead), position + at);
      at += bytesRead;
    }
  }

  async dispose(): Promise<void> {
    this.pending = [];
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close().catch(() => undefined);
    await fs.rm(this.path, { force: true });
  }

  private open(): fs.FileHandle {
    if (!this.handle) throw new Error(`${this.path}: temporary tile store used after dispose`);
    return this.handle;
  }
}

/** `write` may write fewer bytes than asked (it rarely does on a local file); loop until all are written. */
export async function writeFully(file: fs.FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < bytes.length; ) {
    const { bytesWritten } = await file.write(bytes, done, bytes.length - done, position + done);
    if (bytesWritten <= 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
    done += bytesWritten;
  }
}
