/**
 * The backend class of 'clearsky-cpu': tfjs' MathBackendCPU whose native kernels take their output
 * arrays from a {@link FloatPool}; this class tells the pool when arrays are stored, read out and freed.
 */
import type * as tf from '../../tf.ts';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { FloatPool } from './float-pool.ts';

type DataId = object;
type BackendValues = Parameters<MathBackendCPU['write']>[0];

/** Free arrays kept for reuse: about two DIP steps' worth of 256×256 activations. */
const POOL_BYTES = 256 * 2 ** 20;

export class NativeCpuBackend extends MathBackendCPU {
  private readonly pool = new FloatPool(POOL_BYTES);

  constructor() {
    super();
    // The cpu backend's first-use banner recommends tfjs-node; not relevant here.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  /** An output array for a native kernel, which must write all of it. */
  takeFloats(length: number): Float32Array {
    return this.pool.take(length);
  }

  override write(values: BackendValues, shape: number[], dtype: tf.DataType): DataId {
    this.pool.noteStored(values);
    return super.write(values, shape, dtype);
  }

  override move(dataId: DataId, values: BackendValues, shape: number[], dtype: tf.DataType, refCount: number): void {
    this.pool.noteStored(values);
    super.move(dataId, values, shape, dtype, refCount);
  }

  override readSync(dataId: DataId): tf.backend_util.BackendValues {
    this.pool.noteExposed(this.data.get(dataId)?.values);
    return super.readSync(dataId);
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const values = this.data.get(dataId)?.values;
    const disposed = super.disposeData(dataId, force);
    if (values && !this.data.has(dataId)) this.pool.release(values);
    return disposed;
  }
}

/** An output array for a native kernel: pooled on 'clearsky-cpu', fresh on a plain cpu backend. */
export function newFloats(backend: MathBackendCPU, length: number): Float32Array {
  return backend instanceof NativeCpuBackend ? backend.takeFloats(length) : new Float32Array(length);
}
