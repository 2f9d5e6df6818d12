/** The fused Adam update of native/dip/adam.ts on 'clearsky-cpu': one native pass per variable. */
import type * as tf from '../../tf.ts';
import { ADAM_UPDATE_KERNEL, type AdamUpdateAttrs } from '../../adam.ts';
import type { NativeAddon } from './addon.ts';
import { newFloats } from './cpu-backend.ts';
import { floatOutput, floatValues, type KernelArgs } from './kernel-util.ts';

export function nativeAdamKernel(addon: NativeAddon, backendName: string): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = (raw) => {
    const { inputs, backend, attrs } = raw as unknown as KernelArgs;
    const [value, grad, m, v] = ['value', 'grad', 'm', 'v'].map((name) => floatValues(backend, inputs[name]));
    if (!value || !grad || !m || !v || grad.length !== value.length || m.length !== value.length || v.length !== value.length) {
      throw new Error(`${ADAM_UPDATE_KERNEL}: needs float32 value, grad, m and v of one size`);
    }
    const a = attrs as unknown as AdamUpdateAttrs;
    const hyper = Float32Array.of(a.learningRate, a.beta1, a.beta2, a.epsilon, a.correction1, a.correction2);
    const newValue = newFloats(backend, value.length), newM = newFloats(backend, value.length), newV = newFloats(backend, value.length);
    addon.adamUpdate(value, grad, m, v, hyper, newValue, newM, newV);
    const shape = inputs.value!.shape;
    return [floatOutput(backend, shape, newValue), floatOutput(backend, shape, newM), floatOutput(backend, shape, newV)];
  };
  return { kernelName: ADAM_UPDATE_KERNEL, backendName, kernelFunc };
}
