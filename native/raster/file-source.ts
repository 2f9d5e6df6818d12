/**
 * A geotiff.js byte source over a local file that we open and close ourselves.
 *
 * geotiff's own `fromFile` opens the file inside the library: when the header turns out not to be a TIFF the
 * descriptor leaks, and reads past the end of a truncated file silently come back as zeros. Owning the
 * handle lets the reader close it on every path and compare block extents with the real file size.
 */
import fs from 'node:fs/promises';

interface Slice {
  offset: number;
  length: number;
}

export class LocalFileSource {
  private constructor(
    private readonly handle: fs.FileHandle,
    /** Size in bytes when the file was opened. */
    readonly size: number,
  ) {}

  /** Opens `path` for reading; rejects with the fs error (ENOENT, EACCES, EISDIR…) untouched. */
  static async open(path: string): Promise<LocalFileSource> {
    const handle = await fs.open(path, 'r');
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw Object.assign(new Error(`${path} is not a regular file`), { code: 'EISDIR' });
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
   * past the end of a small, valid file. Truncated pixel data is caught by the reader's extent check.
   */
  async fetchSlice(slice: Slice, _signal?: AbortSignal): Promise<Slice & { data: ArrayBuffer }> {
    const data = new Uint8Array(slice.length);
    const length = Math.max(0, Math.min(slice.length, this.size - slice.offset));
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(data, done, length - done, slice.offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return { offset: slice.offset, length: slice.length, data: data.buffer };
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
