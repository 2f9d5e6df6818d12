/**
 * The Deep Image Prior encoder–decoder of METHOD.md: an hourglass without skip connections.
 *
 * Written with plain tfjs ops on a flat list of variables (no tfjs-layers) so that the same code runs on
 * every backend and the parameter layout is explicit. Layer order, for level i of n (finest first):
 *   down:  conv k×k stride 2 → BN → LReLU → conv k×k → BN → LReLU → (level i+1)
 *   up:    nearest ×2 → BN → conv K×K → BN → LReLU → conv 1×1 → BN → LReLU
 *   head:  conv 1×1 → sigmoid (or linear, for residual modes whose target can be negative)
 * BatchNorm always normalises with the batch statistics (a batch of one image), also when the final
 * output is produced, as the reference implementation does.
 */
import { batchNormLeakyRelu, batchNormTraining } from './batch-norm.ts';
import { InputError } from '../errors.ts';
import * as tf from './tf.ts';

/**
 * A network's trained parameters, in the order of `DipNetwork.variables`: what a finished fit hands to the next
 * one as its start (warm start). Plain arrays, so they travel between processes and to files.
 */
export interface NetworkWeights {
  shapes: number[][];
  values: Float32Array[];
}

export type HeadActivation = 'sigmoid' | 'linear';

export interface NetworkConfig {
  /** Channels of the input z (2 for the meshgrid input). */
  inputChannels: number;
  /** Channels the network reproduces: the S2 bands plus any auxiliary sources. */
  outputChannels: number;
  /** Channel width of each level, finest first. Default [16, 32, 64, 128, 128, 128]. */
  downWidths?: number[];
  /** Width of each up block, finest first; defaults to downWidths. */
  upWidths?: number[];
  /** Kernel of the encoder convolutions. Default 3. */
  downKernel?: number;
  /** Kernel of the first decoder convolution at each level. Default 5. */
  upKernel?: number;
  head?: HeadActivation;
  /**
   * Start the head's 1×1 convolution at zero (weights and bias), so the untrained network outputs 0 everywhere:
   * for a mode whose reconstruction is a baseline plus the network's correction, step 0 is the baseline.
   */
  zeroHead?: boolean;
  /** Negative slope of the LeakyReLUs. Default 0.2. */
  leak?: number;
  /** Seed of the weight initialisation. */
  seed?: number;
}

export const DEFAULT_WIDTHS = [16, 32, 64, 128, 128, 128];

/** One entry of the layer table: what a test or a user reads to see the architecture. */
export interface LayerInfo {
  name: string;
  kind: 'conv' | 'batchnorm' | 'leakyrelu' | 'upsample' | 'sigmoid';
  /** conv: [k, k, in, out]; batchnorm: [channels]. */
  shape: number[];
  stride?: number;
}

interface Conv {
  kind: 'conv';
  name: string;
  filter: tf.Variable<tf.Rank.R4>;
  bias: tf.Variable<tf.Rank.R1>;
  stride: number;
  pad: number;
}
interface BatchNorm {
  kind: 'batchnorm';
  name: string;
  gamma: tf.Variable<tf.Rank.R1>;
  beta: tf.Variable<tf.Rank.R1>;
}
type Layer = Conv | BatchNorm | { kind: 'leakyrelu' | 'upsample' | 'sigmoid'; name: string };

const BN_EPSILON = 1e-5;

export class DipNetwork {
  readonly config: Required<NetworkConfig>;
  private readonly layers: Layer[] = [];
  private initSeed: number;

  constructor(config: NetworkConfig) {
    const downWidths = config.downWidths ?? DEFAULT_WIDTHS;
    this.config = {
      inputChannels: config.inputChannels,
      outputChannels: config.outputChannels,
      downWidths,
      upWidths: config.upWidths ?? downWidths,
      downKernel: config.downKernel ?? 3,
      upKernel: config.upKernel ?? 5,
      head: config.head ?? 'sigmoid',
      zeroHead: config.zeroHead ?? false,
      leak: config.leak ?? 0.2,
      seed: config.seed ?? 0,
    };
    if (this.config.upWidths.length !== downWidths.length) {
      throw new Error('upWidths and downWidths must have one entry per level');
    }
    this.initSeed = this.config.seed * 7919 + 1;
    // tidy disposes the initial values; the variables made from them survive it.
    tf.tidy(() => this.build());
  }

  /** The spatial size must be a multiple of this (one halving per level). */
  get sizeMultiple(): number {
    return 2 ** this.config.downWidths.length;
  }

  get variables(): tf.Variable[] {
    const vars: tf.Variable[] = [];
    for (const layer of this.layers) {
      if (layer.kind === 'conv') vars.push(layer.filter, layer.bias);
      else if (layer.kind === 'batchnorm') vars.push(layer.gamma, layer.beta);
    }
    return vars;
  }

  get parameterCount(): number {
    return this.variables.reduce((n, v) => n + v.size, 0);
  }

  describe(): LayerInfo[] {
    return this.layers.map((layer) => {
      if (layer.kind === 'conv') return { name: layer.name, kind: 'conv', shape: layer.filter.shape.slice(), stride: layer.stride };
      if (layer.kind === 'batchnorm') return { name: layer.name, kind: 'batchnorm', shape: layer.gamma.shape.slice() };
      return { name: layer.name, kind: layer.kind, shape: [] };
    });
  }

  /** Runs the network on z [1, H, W, inputChannels]; returns [1, H, W, outputChannels]. */
  apply(z: tf.Tensor4D): tf.Tensor4D {
    const multiple = this.sizeMultiple;
    if (z.shape[1] % multiple !== 0 || z.shape[2] % multiple !== 0) {
      throw new Error(`network input ${z.shape[1]}×${z.shape[2]} is not a multiple of ${multiple}`);
    }
    return tf.tidy(() => {
      let x: tf.Tensor4D = z;
      for (let i = 0; i < this.layers.length; i++) {
        const layer = this.layers[i];
        // BN then LeakyReLU is one op, which a GPU backend runs in fewer passes (the same maths elsewhere).
        if (layer.kind === 'batchnorm' && this.layers[i + 1]?.kind === 'leakyrelu') {
          x = batchNormLeakyRelu(x, layer.gamma, layer.beta, BN_EPSILON, this.config.leak);
          i++;
        } else {
          x = this.applyLayer(layer, x);
        }
      }
      return x;
    });
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
  }

  /** A copy of the parameters, read back from the backend. */
  async readWeights(): Promise<NetworkWeights> {
    const variables = this.variables;
    return { shapes: variables.map((v) => v.shape.slice()), values: await Promise.all(variables.map(async (v) => (await v.data()) as Float32Array)) };
  }

  /**
   * Starts from another network's parameters. Every tensor must have this network's shape (same widths, kernels,
   * input and output channels): anything else is refused, never loaded partly or reshaped.
   */
  loadWeights(weights: NetworkWeights, source = 'the start weights'): void {
    const variables = this.variables;
    if (weights.shapes.length !== variables.length || weights.values.length !== variables.length) {
      throw new InputError(source, `hold ${weights.shapes.length} tensors, but this network has ${variables.length}: another architecture`);
    }
    variables.forEach((v, i) => {
      const shape = weights.shapes[i];
      const size = shape.reduce((n, d) => n * d, 1);
      if (shape.length !== v.shape.length || shape.some((d, k) => d !== v.shape[k]) || weights.values[i].length !== size) {
        throw new InputError(source, `tensor ${i} is [${shape.join(', ')}] with ${weights.values[i].length} values, but this network's is [${v.shape.join(', ')}]: another architecture, band count or mode`);
      }
    });
    variables.forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(weights.values[i], v.shape))));
  }

  private applyLayer(layer: Layer, x: tf.Tensor4D): tf.Tensor4D {
    switch (layer.kind) {
      case 'conv': {
        // The fused op lets a backend add the bias inside the convolution.
        return tf.fused.conv2d({ x, filter: layer.filter, bias: layer.bias, strides: layer.stride, pad: layer.pad });
      }
      case 'batchnorm':
        return batchNormTraining(x, layer.gamma, layer.beta, BN_EPSILON);
      case 'leakyrelu':
        return tf.leakyRelu(x, this.config.leak);
      case 'upsample':
        return tf.image.resizeNearestNeighbor(x, [x.shape[1] * 2, x.shape[2] * 2]);
      case 'sigmoid':
        return tf.sigmoid(x);
    }
  }

  private build(): void {
    const { inputChannels, outputChannels, downWidths, upWidths, downKernel, upKernel } = this.config;
    const levels = downWidths.length;
    // Encoder, finest level first.
    let channels = inputChannels;
    for (let i = 0; i < levels; i++) {
      const w = downWidths[i];
      this.conv(`down${i}.conv1`, downKernel, channels, w, 2);
      this.batchNorm(`down${i}.bn1`, w);
      this.activation(`down${i}.act1`);
      this.conv(`down${i}.conv2`, downKernel, w, w, 1);
      this.batchNorm(`down${i}.bn2`, w);
      this.activation(`down${i}.act2`);
      channels = w;
    }
    // Decoder, coarsest level first: each up block consumes the output of the level below it.
    for (let i = levels - 1; i >= 0; i--) {
      const w = upWidths[i];
      this.layers.push({ kind: 'upsample', name: `up${i}.upsample` });
      this.batchNorm(`up${i}.bn0`, channels);
      this.conv(`up${i}.conv1`, upKernel, channels, w, 1);
      this.batchNorm(`up${i}.bn1`, w);
      this.activation(`up${i}.act1`);
      this.conv(`up${i}.conv2`, 1, w, w, 1);
      this.batchNorm(`up${i}.bn2`, w);
      this.activation(`up${i}.act2`);
      channels = w;
    }
    this.conv('head.conv', 1, channels, outputChannels, 1, this.config.zeroHead);
    if (this.config.head === 'sigmoid') this.layers.push({ kind: 'sigmoid', name: 'head.sigmoid' });
  }

  // Variables stay unnamed: tfjs names must be unique per process, and several networks may coexist.
  /** PyTorch's default initialisation (kaiming-uniform with a = √5): U(±1/√fan_in) for weights and biases. */
  private conv(name: string, k: number, cin: number, cout: number, stride: number, zero = false): void {
    const bound = 1 / Math.sqrt(k * k * cin);
    // The seeds are drawn either way, so a zero head leaves every other layer's start as it was.
    const filterSeed = this.nextSeed();
    const biasSeed = this.nextSeed();
    const filter = tf.variable(zero ? tf.zeros([k, k, cin, cout]) : tf.randomUniform([k, k, cin, cout], -bound, bound, 'float32', filterSeed), true) as tf.Variable<tf.Rank.R4>;
    const bias = tf.variable(zero ? tf.zeros([cout]) : tf.randomUniform([cout], -bound, bound, 'float32', biasSeed), true) as tf.Variable<tf.Rank.R1>;
    this.layers.push({ kind: 'conv', name, filter, bias, stride, pad: (k - 1) >> 1 });
  }

  private batchNorm(name: string, channels: number): void {
    const gamma = tf.variable(tf.ones([channels]), true) as tf.Variable<tf.Rank.R1>;
    const beta = tf.variable(tf.zeros([channels]), true) as tf.Variable<tf.Rank.R1>;
    this.layers.push({ kind: 'batchnorm', name, gamma, beta });
  }

  private activation(name: string): void {
    this.layers.push({ kind: 'leakyrelu', name });
  }

  private nextSeed(): number {
    this.initSeed += 1;
    return this.initSeed;
  }
}
