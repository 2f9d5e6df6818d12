// Node-API bindings of the element-wise and reduction kernels (elementwise.h).
#include "adam.h"
#include "elementwise.h"
#include "napi_util.h"

namespace clearsky {
namespace {

// binary(op, broadcast, a, b, out, channels): see BinaryOp and Broadcast; out's length is the size.
Napi::Value Binary(const Napi::CallbackInfo& info) {
  const auto op = static_cast<BinaryOp>(integer(info[0], "op"));
  const auto mode = static_cast<Broadcast>(integer(info[1], "broadcast"));
  const int64_t n = lengthOf(info[4]);
  const int64_t channels = integer(info[5], "channels");
  const bool scalarA = mode == Broadcast::ScalarA, scalarB = mode == Broadcast::ScalarB;
  const bool vectorA = mode == Broadcast::VectorA, vectorB = mode == Broadcast::VectorB;
  if ((vectorA || vectorB) && (channels <= 0 || n % channels != 0)) {
    throw Napi::RangeError::New(info.Env(), "channels must divide the output size");
  }
  const float* a = borrow<float>(info[2], scalarA ? 1 : vectorA ? channels : n, "a");
  const float* b = borrow<float>(info[3], scalarB ? 1 : vectorB ? channels : n, "b");
  float* out = borrow<float>(info[4], n, "out");
  binary(op, mode, a, b, out, n, channels);
  return info.Env().Undefined();
}

// unary(op, x, out, alpha)
Napi::Value Unary(const Napi::CallbackInfo& info) {
  const auto op = static_cast<UnaryOp>(integer(info[0], "op"));
  const int64_t n = lengthOf(info[2]);
  const float* x = borrow<float>(info[1], n, "x");
  float* out = borrow<float>(info[2], n, "out");
  unary(op, x, out, n, info[3].IsNumber() ? info[3].As<Napi::Number>().FloatValue() : 0.0f);
  return info.Env().Undefined();
}

// reduceRows(x, channels, scale, out): out[c] = scale * Σ_rows x[row, c].
Napi::Value ReduceRows(const Napi::CallbackInfo& info) {
  const int64_t channels = integer(info[1], "channels");
  const int64_t n = lengthOf(info[0]);
  if (channels <= 0 || n % channels != 0) throw Napi::RangeError::New(info.Env(), "channels must divide x's size");
  const float* x = borrow<float>(info[0], n, "x");
  float* out = borrow<float>(info[3], channels, "out");
  reduceRows(x, n / channels, channels, info[2].As<Napi::Number>().FloatValue(), out);
  return info.Env().Undefined();
}

// broadcastRows(vector, out): out[i] = vector[i % vector.length].
Napi::Value BroadcastRows(const Napi::CallbackInfo& info) {
  const int64_t channels = lengthOf(info[0]);
  const int64_t n = lengthOf(info[1]);
  if (channels <= 0 || n % channels != 0) throw Napi::RangeError::New(info.Env(), "vector length must divide out's size");
  broadcastRows(borrow<float>(info[0], channels, "vector"), channels, borrow<float>(info[1], n, "out"), n);
  return info.Env().Undefined();
}

ChannelParams params(const Napi::Value& value, const char* name) {
  if (value.IsNull() || value.IsUndefined()) return {nullptr, 0};
  return {borrow<float>(value, 1, name), lengthOf(value)};
}

// batchNorm(x, channels, mean, variance, offset | null, scale | null, epsilon, y)
Napi::Value BatchNorm(const Napi::CallbackInfo& info) {
  const int64_t n = lengthOf(info[0]);
  const int64_t channels = integer(info[1], "channels");
  if (channels <= 0 || n % channels != 0) throw Napi::RangeError::New(info.Env(), "channels must divide x's size");
  const ChannelParams p[4] = {params(info[2], "mean"), params(info[3], "variance"), params(info[4], "offset"),
                              params(info[5], "scale")};
  for (const ChannelParams& q : p) {
    if (q.values && q.length != 1 && q.length != channels) {
      throw Napi::RangeError::New(info.Env(), "batch-norm parameters must have one value or one per channel");
    }
  }
  batchNorm(borrow<float>(info[0], n, "x"), n, channels, p[0], p[1], p[2], p[3],
            info[6].As<Napi::Number>().FloatValue(), borrow<float>(info[7], n, "y"));
  return info.Env().Undefined();
}

// greaterScalar(a, threshold, out: Uint8Array)
Napi::Value GreaterScalar(const Napi::CallbackInfo& info) {
  const int64_t n = lengthOf(info[2]);
  greaterScalar(borrow<float>(info[0], n, "a"), info[1].As<Napi::Number>().FloatValue(),
                borrow<uint8_t>(info[2], n, "out"), n);
  return info.Env().Undefined();
}

// select(condition: Uint8Array, a, b, out)
Napi::Value Select(const Napi::CallbackInfo& info) {
  const int64_t n = lengthOf(info[3]);
  select(borrow<uint8_t>(info[0], n, "condition"), borrow<float>(info[1], n, "a"), borrow<float>(info[2], n, "b"),
         borrow<float>(info[3], n, "out"), n);
  return info.Env().Undefined();
}

// adamUpdate(value, grad, m, v, [lr, beta1, beta2, epsilon, correction1, correction2], newValue, newM, newV)
Napi::Value AdamUpdate(const Napi::CallbackInfo& info) {
  const int64_t n = lengthOf(info[0]);
  const float* p = borrow<float>(info[4], 6, "hyperparameters");
  const AdamStep step{p[0], p[1], p[2], p[3], p[4], p[5]};
  adamUpdate(step, n, borrow<float>(info[0], n, "value"), borrow<float>(info[1], n, "grad"), borrow<float>(info[2], n, "m"),
             borrow<float>(info[3], n, "v"), borrow<float>(info[5], n, "newValue"), borrow<float>(info[6], n, "newM"),
             borrow<float>(info[7], n, "newV"));
  return info.Env().Undefined();
}

}  // namespace

void registerElementwise(Napi::Env env, Napi::Object exports) {
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("unary", Napi::Function::New(env, Unary));
  exports.Set("reduceRows", Napi::Function::New(env, ReduceRows));
  exports.Set("broadcastRows", Napi::Function::New(env, BroadcastRows));
  exports.Set("batchNorm", Napi::Function::New(env, BatchNorm));
  exports.Set("greaterScalar", Napi::Function::New(env, GreaterScalar));
  exports.Set("select", Napi::Function::New(env, Select));
  exports.Set("adamUpdate", Napi::Function::New(env, AdamUpdate));
}

}  // namespace clearsky
