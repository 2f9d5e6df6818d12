/**
 * Speed of the convolution kernels on tfjs `wasm`, in GFLOP/s (2 × multiply-adds / second), for the
 * convolutions that dominate a DIP training step (ENGINE-NOTES.md):
 *   forward                 stock Conv2D (XNNPACK)
 *   input grad, stock       tfjs-backend-wasm's own Conv2DBackpropInput
 *   input grad, ours        native/dip/backends/wasm/conv-backprop-input.ts
 *   filter grad, ours       native/dip/backends/wasm/conv-backprop-filter.ts
 *   filter grad, alt T      the textbook alternative: conv of xᵀ with dyᵀ, dilation = stride
 *   filter grad, alt GEMM   the other alternative: im2col(x)ᵀ · dy through wasm BatchMatMul
 * and the time of Tile, Sum and Mean (stock and ours) for what BatchNorm and bias gradients ask of them.
 * The forward convolution reuses one filter tensor, so XNNPACK packs it once (as in inference); in
 * training each step brings new weights, and the gradients above pack their dy-derived filters per call.
 * Run: node --import tsx test/bench/wasm-kernels.bench.ts [--quick]
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../../native/dip/backends/wasm/kernels.ts';

interface Shape {
  size: number;
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
}

const SHAPES: Shape[] = [
  { size: 256, inChannels: 32, outChannels: 16, kernel: 5, stride: 1 },
  { size: 128, inChannels: 64, outChannels: 32, kernel: 5, stride: 1 },
  { size: 32, inChannels: 128, outChannels: 128, kernel: 5, stride: 1 },
  { size: 128, inChannels: 32, outChannels: 32, kernel: 3, stride: 1 },
  { size: 128, inChannels: 32, outChannels: 32, kernel: 3, stride: 2 },
  { size: 256, inChannels: 16, outChannels: 16, kernel: 1, stride: 1 },
];

const quick = process.argv.includes('--quick');
const MIN_SECONDS = quick ? 0.2 : 1;

/**
 * Seconds of one call: the best of repeated calls after a warm-up call. The best, not the median, because
 * the cores are shared with other work; `run` returns what must be disposed.
 */
function time(run: () => tf.TensorInfo | tf.Tensor): number {
  const dispose = (out: tf.TensorInfo | tf.Tensor) =>
    out instanceof tf.Tensor ? out.dispose() : tf.backend().disposeData(out.dataId);
  dispose(run());
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < 5 || (performance.now() - start) / 1000 < MIN_SECONDS) {
    const t0 = performance.now();
    dispose(run());
    samples.push((performance.now() - t0) / 1000);
  }
  return Math.min(...samples);
}

function transposedConvFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, s: Shape, info: tf.backend_util.Conv2DInfo): tf.Tensor {
  return tf.tidy(() => {
    const { top, left } = info.padInfo;
    const bottom = s.kernel + (info.outHeight - 1) * s.stride - s.size - top;
    const right = s.kernel + (info.outWidth - 1) * s.stride - s.size - left;
    const xT = tf.transpose(x, [3, 1, 2, 0]);
    const dyT = tf.transpose(dy, [1, 2, 0, 3]);
    const pad: tf.backend_util.ExplicitPadding = [[0, 0], [top, bottom], [left, right], [0, 0]];
    return tf.transpose(tf.conv2d(xT, dyT, 1, pad, 'NHWC', s.stride), [1, 2, 0, 3]);
  });
}

function im2colGemmFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, s: Shape, info: tf.backend_util.Conv2DInfo): tf.Tensor {
  return tf.tidy(() => {
    const { top, bottom, left, right } = info.padInfo;
    const { outHeight: oh, outWidth: ow } = info;
    const planes = tf.pad(tf.transpose(tf.squeeze(x, [0]), [2, 0, 1]), [[0, 0], [top, bottom], [left, right]]);
    const rows: tf.Tensor[] = [];
    for (let kh = 0; kh < s.kernel; kh++) {
      for (let kw = 0; kw < s.kernel; kw++) {
        rows.push(tf.stridedSlice(planes, [0, kh, kw], [s.inChannels, kh + (oh - 1) * s.stride + 1, kw + (ow - 1) * s.stride + 1], [1, s.stride, s.stride]));
      }
    }
    const columns = tf.reshape(tf.concat(rows, 0), [s.kernel * s.kernel * s.inChannels, oh * ow]);
    // A fresh copy of dy: BatchMatMul caches its packed b on the tensor, which training never reuses.
    const product = tf.matMul(columns, tf.reshape(tf.mul(dy, 1), [oh * ow, s.outChannels]));
    return tf.reshape(product, [s.kernel, s.kernel, s.inChannels, s.outChannels]);
  });
}

async function main(): Promise<void> {
  await tf.setBackend('wasm');
  // The stock kernel, kept before ours replaces it (its setup ran when the backend started).
  const stockInput = tf.getKernel(tf.Conv2DBackpropInput, 'wasm');
  const stockTile = tf.getKernel(tf.Tile, 'wasm');
  const stockSum = tf.getKernel(tf.Sum, 'wasm');
  const stockMean = tf.getKernel(tf.Mean, 'wasm');
  if (!stockInput || !stockTile || !stockSum || !stockMean) throw new Error('a stock wasm kernel is missing');
  registerWasmTrainingKernels();
  const backend = tf.backend();
  const flags = `SIMD ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT')}, threads ${await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')}`;
  console.log(`tfjs ${tf.version_core} wasm (${flags}), GFLOP/s, best of repeated calls`);
  console.log(['shape'.padEnd(30), 'forward', 'input stock', 'input ours', 'filter ours', 'filter alt T', 'filter alt GEMM'].join(' | '));

  for (const s of SHAPES) {
    const pad = (s.kernel - 1) >> 1;
    const xShape: [number, number, number, number] = [1, s.size, s.size, s.inChannels];
    const filterShape: [number, number, number, number] = [s.kernel, s.kernel, s.inChannels, s.outChannels];
    const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, s.stride, 1, pad);
    const x = tf.randomNormal(xShape) as tf.Tensor4D;
    const filter = tf.randomNormal(filterShape) as tf.Tensor4D;
    const dy = tf.randomNormal(info.outShape) as tf.Tensor4D;
    const attrs = { strides: s.stride, pad, dataFormat: 'NHWC' as const };
    const flop = 2 * info.outHeight * info.outWidth * s.kernel * s.kernel * s.inChannels * s.outChannels;
    const gflops = (seconds: number) => (flop / seconds / 1e9).toFixed(1);

    const forward = time(() => tf.conv2d(x, filter, s.stride, pad));
    const inputStock = time(() =>
      stockInput.kernelFunc({ inputs: { dy, filter }, backend, attrs: { ...attrs, inputShape: xShape } }) as tf.TensorInfo);
    const inputOurs = time(() =>
      tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter }, { ...attrs, inputShape: xShape }) as tf.Tensor);
    const filterOurs = time(() =>
      tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { ...attrs, filterShape }) as tf.Tensor);
    const filterT = time(() => transposedConvFilterGrad(x, dy, s, info));
    const filterGemm = time(() => im2colGemmFilterGrad(x, dy, s, info));

    const label = `${s.size}², ${s.inChannels}→${s.outChannels}, ${s.kernel}×${s.kernel} stride ${s.stride}`;
    console.log([label.padEnd(30), gflops(forward), gflops(inputStock), gflops(inputOurs), gflops(filterOurs), gflops(filterT), gflops(filterGemm)]
      .map((cell, i) => (i === 0 ? cell : cell.padStart([7, 11, 10, 11, 12, 15][i - 1]))).join(' | '));
    tf.dispose([x, filter, dy]);
  }

  // BatchNorm's gradient tiles a channel vector to the image size once per layer.
  const channelVector = tf.randomNormal([1, 1, 1, 16]);
  const reps = [1, 256, 256, 1];
  const tileStock = time(() => stockTile.kernelFunc({ inputs: { x: channelVector }, backend, attrs: { reps } }) as tf.TensorInfo);
  const tileOurs = time(() => tf.tile(channelVector, reps));
  console.log(`Tile [1,1,1,16] → [1,256,256,16]: stock ${(tileStock * 1e3).toFixed(2)} ms, ours ${(tileOurs * 1e3).toFixed(2)} ms`);
  channelVector.dispose();

  // Bias and BatchNorm gradients, and batch statistics, reduce an image over all but its channels.
  const image = tf.randomNormal([1, 256, 256, 32]);
  const attrs = { axis: [0, 1, 2], keepDims: false };
  const sumStock = time(() => stockSum.kernelFunc({ inputs: { x: image }, backend, attrs }) as tf.TensorInfo);
  const sumOurs = time(() => tf.sum(image, [0, 1, 2]));
  const meanStock = time(() => stockMean.kernelFunc({ inputs: { x: image }, backend, attrs }) as tf.TensorInfo);
  const meanOurs = time(() => tf.mean(image, [0, 1, 2]));
  const ms = (seconds: number) => (seconds * 1e3).toFixed(2);
  console.log(`Sum [1,256,256,32] over [0,1,2]: stock ${ms(sumStock)} ms, ours ${ms(sumOurs)} ms`);
  console.log(`Mean [1,256,256,32] over [0,1,2]: stock ${ms(meanStock)} ms, ours ${ms(meanOurs)} ms`);
  image.dispose();
}

await main();
