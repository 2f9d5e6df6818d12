/** Morphology on cloud masks: dilation, and the ring of clear pixels around the clouds. */
import { createMask, type Mask } from './image.ts';

/** Grows the cloud by `radius` pixels (a (2r+1)² square), as two sliding 1-D passes: O(pixels) for any radius. */
export function dilateMask(mask: Mask, radius: number): Mask {
  if (radius <= 0) return { ...mask, data: mask.data.slice() };
  const { width, height } = mask;
  const horizontal = new Uint8Array(mask.data.length);
  for (let row = 0; row < height; row++) slidingAny(mask.data, horizontal, row * width, 1, width, radius);
  const out = createMask(width, height);
  for (let col = 0; col < width; col++) slidingAny(horizontal, out.data, col, width, height, radius);
  return out;
}

/** Along one line (start, stride, length): out[i] = 1 if any input within ±radius of i is set. */
function slidingAny(input: Uint8Array, out: Uint8Array, start: number, stride: number, length: number, radius: number): void {
  let count = 0;
  for (let i = 0; i < Math.min(radius, length - 1) + 1; i++) count += input[start + i * stride] ? 1 : 0;
  for (let i = 0; i < length; i++) {
    out[start + i * stride] = count > 0 ? 1 : 0;
    const entering = i + radius + 1;
    const leaving = i - radius;
    if (entering < length && input[start + entering * stride]) count++;
    if (leaving >= 0 && input[start + leaving * stride]) count--;
  }
}

/** Clear pixels within `width` pixels (Chebyshev distance) of a cloud pixel. */
export function clearRing(mask: Mask, width: number): Mask {
  const ring = dilateMask(mask, width);
  for (let p = 0; p < ring.data.length; p++) if (mask.data[p]) ring.data[p] = 0;
  return ring;
}
