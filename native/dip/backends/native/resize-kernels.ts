/**
 * ResizeNearestNeighbor and its gradient on 'clearsky-cpu' for whole power-of-two upscaling (the
 * decoder's ×2), where tfjs' cpu gradient searches a window per output element. Other resizes
 * (downscaling, alignCorners, halfPixelCenters, non-power-of-two factors) use tfjs' kernels.
 */
import type * as tf from '../../tf.ts';
import type { NativeAddon } from './addon.ts';
import { newFloats } from './cpu-backend.ts';
import { floatOutput, floatValues, nativeKernel, sizeOf, type NativeKernel } from './kernel-util.ts';

/** The integer factor out / in when it is a power of two (its reciprocal is exact, so the nearest source
 * index tfjs computes in floating point is exactly out / factor), else null. */
function powerOfTwoFactor(small: number, large: number): number | null {
  if (small <= 0 || large % small !== 0) return null;
  const factor = large / small;
  return (factor & (factor - 1)) === 0 ? factor : null;
}

function plainNearest(attrs: Record<string, unknown> | undefined): boolean {
  return !attrs?.alignCorners && !attrs?.halfPixelCenters;
}

export function nativeResizeKernels(addon: NativeAddon, backendName: string): tf.KernelConfig[] {
  const up: NativeKernel = ({ inputs: { images }, backend, attrs }) => {
    const values = floatValues(backend, images);
    const [newHeight, newWidth] = (attrs?.size as [number, number] | undefined) ?? [0, 0];
    if (!images || !values || images.shape.length !== 4 || !plainNearest(attrs)) return null;
    const [batch, height, width, channels] = images.shape;
    const fy = powerOfTwoFactor(height, newHeight), fx = powerOfTwoFactor(width, newWidth);
    if (fy === null || fx === null) return null;
    const outShape = [batch, newHeight, newWidth, channels];
    const out = newFloats(backend, sizeOf(outShape));
    addon.resizeNearestUp(values, batch, height, width, channels, fy, fx, out);
    return floatOutput(backend, outShape, out);
  };
  const upGrad: NativeKernel = ({ inputs: { images, dy }, backend, attrs }) => {
    const dyValues = floatValues(backend, dy);
    if (!images || !dy || !dyValues || images.shape.length !== 4 || dy.shape.length !== 4 || !plainNearest(attrs)) return null;
    if (images.dtype !== 'float32') return null;
    const [batch, height, width, channels] = images.shape;
    const fy = powerOfTwoFactor(height, dy.shape[1]), fx = powerOfTwoFactor(width, dy.shape[2]);
    if (fy === null || fx === null || dy.shape[0] !== batch || dy.shape[3] !== channels) return null;
    const dx = newFloats(backend, sizeOf(images.shape));
    addon.resizeNearestUpGrad(dyValues, batch, height, width, channels, fy, fx, dx);
    return floatOutput(backend, images.shape, dx);
  };
  return [
    nativeKernel('ResizeNearestNeighbor', backendName, up),
    nativeKernel('ResizeNearestNeighborGrad', backendName, upGrad),
  ];
}
