/**
 * Recycles the Float32Arrays behind disposed tensors of 'clearsky-cpu'.
 *
 * A fresh 4 MB Float32Array costs 1–4 ms (page faults, zeroing, and the garbage collections V8 runs under
 * external-memory pressure) where the op filling it costs 0.1 ms; a DIP step allocates hundreds. Only
 * arrays this pool handed out are recycled, and only while nothing else can see them: an array is retired
 * for good once its data is read out of the backend (dataSync, data, arraySync...) or once a second tensor
 * is stored on its memory (a kernel returning an input, or a view of it, as its output). Recycled arrays
 * are not zeroed: every kernel taking from the pool writes its whole output.
 */

/** Arrays below this length are cheap to allocate and not worth tracking. */
const MIN_POOLED_LENGTH = 4096;

export class FloatPool {
  /** Free arrays by length. */
  private readonly free = new Map<number, Float32Array[]>();
  private freeBytes = 0;
  /** The pool's arrays that may still come back, by their memory. */
  private readonly owners = new WeakMap<ArrayBufferLike, Float32Array>();
  /** The pool's arrays currently stored in a tensor. */
  private readonly stored = new WeakSet<Float32Array>();

  /** @param maxFreeBytes Free arrays kept beyond this are left to the garbage collector. */
  constructor(private readonly maxFreeBytes: number) {}

  /** An array of `length` floats with arbitrary contents: the caller must write all of it. */
  take(length: number): Float32Array {
    if (length < MIN_POOLED_LENGTH) return new Float32Array(length);
    const array = this.free.get(length)?.pop();
    if (array) {
      this.freeBytes -= array.byteLength;
      return array;
    }
    const fresh = new Float32Array(length);
    this.owners.set(fresh.buffer, fresh);
    return fresh;
  }

  /** Called when `values` becomes a tensor's data. */
  noteStored(values: unknown): void {
    const owner = this.ownerOf(values);
    if (!owner) return;
    if (values === owner && !this.stored.has(owner)) this.stored.add(owner);
    else this.retire(owner);  // shared by two tensors, or a view of it stored: never recycle
  }

  /** Called when `values` leaves the backend (read by the caller, moved to another backend). */
  noteExposed(values: unknown): void {
    const owner = this.ownerOf(values);
    if (owner) this.retire(owner);
  }

  /** Called when the tensor holding `values` is gone. */
  release(values: unknown): void {
    const owner = this.ownerOf(values);
    if (!owner || owner !== values || !this.stored.has(owner)) return;
    this.stored.delete(owner);
    if (this.freeBytes + owner.byteLength > this.maxFreeBytes) {
      this.retire(owner);
      return;
    }
    let list = this.free.get(owner.length);
    if (!list) this.free.set(owner.length, (list = []));
    list.push(owner);
    this.freeBytes += owner.byteLength;
  }

  private ownerOf(values: unknown): Float32Array | undefined {
    return ArrayBuffer.isView(values) ? this.owners.get(values.buffer) : undefined;
  }

  private retire(owner: Float32Array): void {
    this.owners.delete(owner.buffer);
    this.stored.delete(owner);
  }
}
