/** Morphology on cloud masks: dilation, and the ring of clear pixels around the clouds. */
import { createMask, type Mask } from './image.ts';

/** Grows the cloud by `radius` pixels (a (2r+1)² square, done as two 1-D passes: O(pixels · r)). */
export function dilateMask(mask: Mask, radius: number): Mask {
  if (radius <= 0) return { ...mask, data: mask.data.slice() };
  const { width, height } = mask;
  const rows = createMask(width, height);
  for (let r = 0; r < height; r++) {
    const line = r * width;
    for (let c = 0; c < width; c++) {
      if (!mask.data[line + c]) continue;
      rows.data.fill(1, line + Math.max(0, c - radius), line + Math.min(width, c + radius + 1));
    }
  }
  const out = createMask(width, height);
  for (let c = 0; c < width; c++) {
    for (let r = 0; r < height; r++) {
      if (!rows.data[r * width + c]) continue;
      for (let rr = Math.max(0, r - radius); rr <= Math.min(height - 1, r + radius); rr++) out.data[rr * width + c] = 1;
    }
  }
  return out;
}

/** Clear pixels within `width` pixels (Chebyshev distance) of a cloud pixel. */
export function clearRing(mask: Mask, width: number): Mask {
  const ring = dilateMask(mask, width);
  for (let p = 0; p < ring.data.length; p++) if (mask.data[p]) ring.data[p] = 0;
  return ring;
}
