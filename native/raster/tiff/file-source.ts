/**
 * A geotiff.js byte source over a local file that we open and close ourselves.
 *
 * geotiff's own `fromFile` opens the file inside the library: when the header turns out not to be a TIFF the
 * descriptor leaks, and reads past the end of a truncated file silently come back as zeros. Owning the
 * handle lets the reader close it on every path and compare block extents with the real file size.
 */
import fs from 'node:fs/promises';
import { constants, type Stats } from 'node:fs';

interface Slice {
  offset: number;
  length: number;
}

/** geotiff reads headers and directories in fixed chunks (1024 bytes, 4048 for BigTIFF) that may run past the end. */
const READ_PAST_END = 64 * 1024;

/** The path is a folder, pipe, device or socket: `kind` says which ("a directory", "a named pipe"…). */
export class NotAFileError extends Error {
  constructor(
    path: string,
    readonly kind: string,
  ) {
    super(`${path} is ${kind}, not a regular file`);
  }
}

export class LocalFileSource {
  private constructor(
    private readonly handle: fs.FileHandle,
    /** Size in bytes when the file was opened. */
    readonly size: number,
  ) {}

  /**
   * Opens `path` for reading; rejects with the fs error (ENOENT, EACCES…) untouched, or NotAFileError.
   * It looks before it opens: opening a named pipe waits for a writer forever, and a device such as
   * /dev/zero has no size to check reads against.
   */
  static async open(path: string): Promise<LocalFileSource> {
    const before = await fs.stat(path);
    if (!before.isFile()) throw new NotAFileError(path, kindOf(before));
    // O_NONBLOCK: should the path become a pipe between stat and open, open returns at once instead of waiting.
    const handle = await fs.open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new NotAFileError(path, kindOf(stat));
      return new LocalFileSource(handle, stat.size);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  get fileSize(): number {
    return this.size;
  }

  async fetch(slices: Slice[], _signal?: AbortSignal): Promise<ArrayBuffer[]> {
    return Promise.all(slices.map(async (slice) => (await this.fetchSlice(slice)).data));
  }

  /**
   * Bytes past the end of the file read as zeros: geotiff asks for fixed-size header chunks that may run
   * past the end of a small, valid file. A slice reaching further than that is refused before anything is
   * allocated for it (the structure check keeps geotiff from asking; this is the backstop).
   */
  async fetchSlice(slice: Slice, _signal?: AbortSignal): Promise<Slice & { data: ArrayBuffer }> {
    if (!(slice.offset >= 0 && slice.length >= 0 && slice.offset + slice.length <= this.size + READ_PAST_END)) {
      throw new RangeError(`read of ${slice.length} bytes at byte ${slice.offset} is past the end of the file (${this.size} bytes)`);
    }
    const data = new Uint8Array(slice.length);
    await this.readInto(data, slice.offset, Math.max(0, Math.min(slice.length, this.size - slice.offset)));
    return { offset: slice.offset, length: slice.length, data: data.buffer };
  }

  /** Exactly `length` bytes at `offset`, all inside the file. */
  async readAt(offset: number, length: number): Promise<Uint8Array> {
    if (!(offset >= 0 && length >= 0 && offset + length <= this.size)) {
      throw new RangeError(`read of ${length} bytes at byte ${offset} is outside the file (${this.size} bytes)`);
    }
    const data = new Uint8Array(length);
    const done = await this.readInto(data, offset, length);
    if (done < length) throw new RangeError(`the file shrank while being read (${done} of ${length} bytes at byte ${offset})`);
    return data;
  }

  private async readInto(data: Uint8Array, offset: number, length: number): Promise<number> {
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(data, done, length - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

function kindOf(stat: Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a named pipe';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  if (stat.isSocket()) return 'a socket';
  return 'a special file';
}
