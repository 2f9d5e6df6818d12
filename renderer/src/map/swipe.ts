/**
 * Before/after on the map: which two layers the swipe and the flicker compare, which layers are drawn while
 * they do, and the swipe's clip. The swipe draws the left layer only left of a line and the right one only
 * right of it (a WebGL scissor around each of the two layers' rendering); the flicker shows one, then the
 * other. Other rasters are hidden meanwhile; the outline and the tools' layers are not clipped.
 * Layers are named by key: 'scene' or an overlay's key.
 */
import type OlMap from 'ol/Map.js';
import { getRenderPixel } from 'ol/render.js';
import type RenderEvent from 'ol/render/Event.js';

/** Flicker period: each layer shows for this long (about 2 Hz alternation). */
export const FLICKER_MS = 500;

/** A layer that can be compared: shown in the two selects. */
export interface Comparable {
  key: string;
  label: string;
}

/** What the comparison needs of a layer-list row. */
export interface CompareRow {
  key: string;
  label: string;
  kind: string;
  status: 'loading' | 'ready' | 'error';
  /** Rows of a group (a run's tiles so far) are not offered for comparison. */
  group: unknown;
}

/** The two layers compared and whether they can be. */
export interface ComparePair {
  /** The scene (when shown) first, then the ready overlays, top first. */
  comparable: Comparable[];
  /** The left layer when none is chosen: the newest reconstruction, else the top overlay; '' when none. */
  defaultLeft: string;
  /** The right layer when none is chosen, given the left one: the scene, else the first other. */
  defaultRight: string;
  leftKey: string;
  rightKey: string;
  canCompare: boolean;
}

/**
 * The pair compared: the layers chosen in the selects (`chosenLeft`, `chosenRight`; '' or a layer no longer
 * there means the default), from the scene (`scene`: its label when shown) and the overlays' rows (bottom first).
 */
export function comparePair(scene: string | null, rows: readonly CompareRow[], chosenLeft: string, chosenRight: string): ComparePair {
  const ready = [...rows].reverse().filter((row) => row.status === 'ready' && !row.group);
  const comparable: Comparable[] = [...(scene !== null ? [{ key: 'scene', label: scene }] : []), ...ready.map((row) => ({ key: row.key, label: row.label }))];
  const defaultLeft = ready.find((row) => row.kind === 'reconstruction')?.key ?? ready[0]?.key ?? '';
  const rightOf = (left: string) => (comparable.find((c) => c.key !== left && c.key === 'scene') ?? comparable.find((c) => c.key !== left))?.key ?? '';
  const leftKey = comparable.some((c) => c.key === chosenLeft) ? chosenLeft : defaultLeft;
  const rightKey = comparable.some((c) => c.key === chosenRight) ? chosenRight : rightOf(leftKey);
  return {
    comparable,
    defaultLeft,
    defaultRight: rightOf(defaultLeft),
    leftKey,
    rightKey,
    canCompare: comparable.length >= 2 && leftKey !== '' && rightKey !== '' && leftKey !== rightKey,
  };
}

/** How the map compares now: not at all, by the swipe, or by the flicker in one of its phases. */
export type CompareMode = { kind: 'none' } | { kind: 'swipe'; left: string; right: string } | { kind: 'flicker'; shown: string };

/**
 * The comparison in force: the swipe when it is on and two layers can be compared, else the flicker when it
 * is on (in `phase`), else none.
 */
export function compareMode(pair: Pick<ComparePair, 'leftKey' | 'rightKey' | 'canCompare'>, swipeOn: boolean, flickerOn: boolean, phase: 'left' | 'right'): CompareMode {
  if (!pair.canCompare) return { kind: 'none' };
  if (swipeOn) return { kind: 'swipe', left: pair.leftKey, right: pair.rightKey };
  if (flickerOn) return { kind: 'flicker', shown: phase === 'left' ? pair.leftKey : pair.rightKey };
  return { kind: 'none' };
}

/** Whether the layer `key` is drawn: the layer list's check box, except while comparing (the two compared only). */
export function shownNow(mode: CompareMode, key: string, listVisible: boolean): boolean {
  if (mode.kind === 'swipe') return key === mode.left || key === mode.right;
  if (mode.kind === 'flicker') return key === mode.shown;
  return listVisible;
}

/**
 * The scissor box (x, y, width, height in the frame's pixels) of one side of the swipe, the frame spanning
 * `bottomLeft` to `topRight` (render pixels: device pixels, y up) and the line at `percent` of its width.
 */
export function swipeScissor(side: 'left' | 'right', bottomLeft: number[], topRight: number[], percent: number): [number, number, number, number] {
  const width = topRight[0] - bottomLeft[0];
  const height = topRight[1] - bottomLeft[1];
  const split = Math.round(width * (percent / 100));
  return side === 'left' ? [bottomLeft[0], bottomLeft[1], split, height] : [bottomLeft[0] + split, bottomLeft[1], width - split, height];
}

/** What the clip uses of the layer's WebGL context (typed here: the unit tests compile without the DOM's types). */
interface ScissorContext {
  readonly SCISSOR_TEST: number;
  enable(capability: number): void;
  disable(capability: number): void;
  scissor(x: number, y: number, width: number, height: number): void;
}

/**
 * Clips a layer's rendering to its side of the swipe (a `prerender` listener; `endClip` on `postrender`
 * undoes it). Layers other than the two compared, and any layer while not swiping, are left alone.
 */
export function clipToSwipe(event: RenderEvent, map: OlMap, key: string, mode: CompareMode, percent: number): void {
  if (mode.kind !== 'swipe' || (key !== mode.left && key !== mode.right)) return;
  const gl = event.context as ScissorContext | undefined;
  const size = map.getSize();
  if (!gl || !size) return;
  const bottomLeft = getRenderPixel(event, [0, size[1]]);
  const topRight = getRenderPixel(event, [size[0], 0]);
  gl.enable(gl.SCISSOR_TEST);
  gl.scissor(...swipeScissor(key === mode.left ? 'left' : 'right', bottomLeft, topRight, percent));
}

export function endClip(event: RenderEvent): void {
  const gl = event.context as ScissorContext | undefined;
  gl?.disable(gl.SCISSOR_TEST);
}
