/**
 * Conv2DBackpropFilter on webgpu as a split-K matrix product.
 *
 * The filter gradient is dW[kh, kw, ci, co] = Σ over batch and output pixels of x[.., y·s + kh − pad,
 * x·s + kw − pad, ci] · dy[.., y, x, co]: a product of an M × P matrix (M = kh·kw·ci, the im2col of x,
 * never materialised) and a P × N one (N = co, dy as it lies) with P, the pixels, far larger than M and N.
 * The stock kernel runs one invocation per weight, each looping over every pixel: a few thousand long
 * serial loops, too few to fill a GPU. Here each invocation computes a 4 × 4 block of dW over one chunk of
 * the pixels, so there are blocks × chunks invocations, and a second pass sums the chunks.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';

/** Invocations to aim for: enough to fill a large GPU several times over. */
const TARGET_INVOCATIONS = 1 << 16;
/** No chunk shorter than this: below it the second pass costs more than the parallelism gains. */
const MIN_CHUNK = 64;
const WORKGROUP = 64;

type Uniform = { type: 'int32'; data: number[] };

interface Program {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[]; y?: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms: string;
  getUserCode(): string;
}

/** Partial sums of dW over chunks of pixels: output [chunks · kh, kw, ci, co] (chunk-major). */
function partialProgram(filterShape: number[], chunks: number, blocks: number): Program {
  return {
    variableNames: ['x', 'dy'],
    outputShape: [chunks * filterShape[0], filterShape[1], filterShape[2], filterShape[3]],
    shaderKey: 'clearskyConv2DBackpropFilterSplitK',
    dispatchLayout: { x: [1, 2, 3], y: [0] },
    dispatch: [Math.ceil(blocks / WORKGROUP), chunks, 1],
    workgroupSize: [WORKGROUP, 1, 1],
    uniforms: 'strides : vec2<i32>, pads : vec2<i32>, filterWidth : i32, rows : i32, chunk : i32,',
    getUserCode: () => `
      fn main() {
        let n = uniforms.dyShape.w;
        let m = uniforms.rows;
        let columnBlocks = (n + 3) / 4;
        let block = i32(globalId.x);
        if (block >= ((m + 3) / 4) * columnBlocks) { return; }
        let row0 = (block / columnBlocks) * 4;
        let col0 = (block % columnBlocks) * 4;
        let chunkIndex = i32(globalId.y);
        let pixels = uniforms.dyShape.x * uniforms.dyShape.y * uniforms.dyShape.z;
        let pStart = chunkIndex * uniforms.chunk;
        let pEnd = min(pStart + uniforms.chunk, pixels);
        let ci = uniforms.xShape.w;

        // The four rows (kh, kw, ci) of this block; rows past m read nothing and write nothing.
        var kh: vec4<i32>;
        var kw: vec4<i32>;
        var c: vec4<i32>;
        for (var r = 0; r < 4; r++) {
          let row = min(row0 + r, m - 1);
          c[r] = row % ci;
          kw[r] = (row / ci) % uniforms.filterWidth;
          kh[r] = row / (ci * uniforms.filterWidth);
        }
        var acc: array<vec4<f32>, 4>;
        let outPixels = uniforms.dyShape.y * uniforms.dyShape.z;
        for (var p = pStart; p < pEnd; p++) {
          let b = p / outPixels;
          let rest = p - b * outPixels;
          let oy = rest / uniforms.dyShape.z;
          let ox = rest - oy * uniforms.dyShape.z;
          let dyBase = p * n + col0;
          var d: vec4<f32>;
          for (var k = 0; k < 4; k++) {
            d[k] = select(0.0, dy[dyBase + min(k, n - 1 - col0)], col0 + k < n);
          }
          let iy = vec4<i32>(oy * uniforms.strides.x - uniforms.pads.x) + kh;
          let ix = vec4<i32>(ox * uniforms.strides.y - uniforms.pads.y) + kw;
          for (var r = 0; r < 4; r++) {
            if (iy[r] >= 0 && iy[r] < uniforms.xShape.y && ix[r] >= 0 && ix[r] < uniforms.xShape.z) {
              acc[r] += x[((b * uniforms.xShape.y + iy[r]) * uniforms.xShape.z + ix[r]) * ci + c[r]] * d;
            }
          }
        }
        let base = chunkIndex * m * n;
        for (var r = 0; r < 4; r++) {
          if (row0 + r >= m) { break; }
          for (var k = 0; k < 4; k++) {
            if (col0 + k < n) { result[base + (row0 + r) * n + col0 + k] = acc[r][k]; }
          }
        }
      }
    `,
  };
}

/** Sums the chunks: output filterShape. */
function sumChunksProgram(filterShape: number[]): Program & { size: boolean } {
  return {
    variableNames: ['partial'],
    outputShape: filterShape,
    shaderKey: 'clearskySumChunks',
    dispatchLayout: { x: [0, 1, 2, 3] },
    dispatch: [Math.ceil(tf.util.sizeFromShape(filterShape) / WORKGROUP), 1, 1],
    workgroupSize: [WORKGROUP, 1, 1],
    size: true,
    uniforms: 'chunks : i32,',
    getUserCode: () => `
      fn main(index : i32) {
        if (index >= uniforms.size) { return; }
        var total = 0.0;
        for (var s = 0; s < uniforms.chunks; s++) { total += partial[s * uniforms.size + index]; }
        result[index] = total;
      }
    `,
  };
}

/** How many chunks of pixels to cut: enough invocations to fill the GPU, chunks not too short. */
export function chunkCount(blocks: number, pixels: number): number {
  const wanted = Math.ceil(TARGET_INVOCATIONS / blocks);
  return Math.max(1, Math.min(wanted, Math.floor(pixels / MIN_CHUNK)));
}

export function conv2dBackpropFilterWebGpu(args: Parameters<tf.KernelFunc>[0], stock: tf.KernelFunc): tf.TensorInfo {
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const attrs = args.attrs as unknown as { strides: number | [number, number]; pad: tf.backend_util.ExplicitPadding | 'same' | 'valid' | number; dataFormat: 'NHWC' | 'NCHW'; dimRoundingMode?: 'floor' | 'round' | 'ceil'; filterShape: [number, number, number, number] };
  if (attrs.dataFormat === 'NCHW' || x.dtype !== 'float32') return stock(args) as tf.TensorInfo;
  const backend = args.backend as unknown as WebGPUBackend;
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  const [kh, kw, ci, co] = attrs.filterShape;
  const rows = kh * kw * ci;
  const blocks = Math.ceil(rows / 4) * Math.ceil(co / 4);
  const pixels = info.batchSize * info.outHeight * info.outWidth;
  let chunks = chunkCount(blocks, pixels);
  const chunk = Math.ceil(pixels / chunks);
  chunks = Math.ceil(pixels / chunk);
  const uniforms: Uniform[] = [
    { type: 'int32', data: [info.strideHeight, info.strideWidth] },
    { type: 'int32', data: [info.padInfo.top, info.padInfo.left] },
    { type: 'int32', data: [kw] },
    { type: 'int32', data: [rows] },
    { type: 'int32', data: [chunk] },
  ];
  const run = backend.runWebGPUProgram.bind(backend) as (program: Program, inputs: tf.TensorInfo[], dtype: tf.DataType, uniforms?: Uniform[]) => tf.TensorInfo;
  const partial = run(partialProgram(attrs.filterShape, chunks, blocks), [x, dy], 'float32', uniforms);
  if (chunks === 1) return partial;
  const result = run(sumChunksProgram(attrs.filterShape), [partial], 'float32', [{ type: 'int32', data: [chunks] }]);
  backend.disposeData(partial.dataId);
  return result;
}
