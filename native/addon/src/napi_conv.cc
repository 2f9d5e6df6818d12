// Node-API bindings of the oneDNN convolutions (conv.h).
#include <dnnl.hpp>

#include "conv.h"
#include "napi_util.h"

namespace clearsky {
namespace {

ConvGeometry geometry(const Napi::Value& value) {
  const int32_t* f = borrow<int32_t>(value, kGeometryFields, "geometry");
  ConvGeometry g;
  int64_t* out = &g.batch;
  for (int i = 0; i < kGeometryFields; ++i) out[i] = f[i];
  return g;
}

int64_t inputSize(const ConvGeometry& g) { return g.batch * g.inHeight * g.inWidth * g.inChannels; }
int64_t outputSize(const ConvGeometry& g) { return g.batch * g.outHeight * g.outWidth * g.outChannels; }
int64_t filterSize(const ConvGeometry& g) { return g.filterHeight * g.filterWidth * g.inChannels * g.outChannels; }

template <typename F>
Napi::Value guarded(const Napi::CallbackInfo& info, F&& body) {
  try {
    body();
  } catch (const dnnl::error& e) {
    throw Napi::Error::New(info.Env(), std::string("oneDNN: ") + e.what());
  }
  return info.Env().Undefined();
}

// conv2dForward(geometry, x, filter, bias | null, y)
Napi::Value ConvForward(const Napi::CallbackInfo& info) {
  const ConvGeometry g = geometry(info[0]);
  const float* x = borrow<float>(info[1], inputSize(g), "x");
  const float* filter = borrow<float>(info[2], filterSize(g), "filter");
  const float* bias = borrowOptional<float>(info[3], g.outChannels, "bias");
  float* y = borrow<float>(info[4], outputSize(g), "y");
  return guarded(info, [&] { convForward(g, x, filter, bias, y); });
}

// conv2dBackwardData(geometry, dy, filter, dx)
Napi::Value ConvBackwardData(const Napi::CallbackInfo& info) {
  const ConvGeometry g = geometry(info[0]);
  const float* dy = borrow<float>(info[1], outputSize(g), "dy");
  const float* filter = borrow<float>(info[2], filterSize(g), "filter");
  float* dx = borrow<float>(info[3], inputSize(g), "dx");
  return guarded(info, [&] { convBackwardData(g, dy, filter, dx); });
}

// conv2dBackwardFilter(geometry, x, dy, dFilter, dBias | null)
Napi::Value ConvBackwardWeights(const Napi::CallbackInfo& info) {
  const ConvGeometry g = geometry(info[0]);
  const float* x = borrow<float>(info[1], inputSize(g), "x");
  const float* dy = borrow<float>(info[2], outputSize(g), "dy");
  float* dFilter = borrow<float>(info[3], filterSize(g), "dFilter");
  float* dBias = borrowOptional<float>(info[4], g.outChannels, "dBias");
  return guarded(info, [&] { convBackwardWeights(g, x, dy, dFilter, dBias); });
}

// convImplementation(geometry, 0 | 1 | 2, withBias): the oneDNN kernel in use for that shape and pass
// (forward, backward-data, backward-filter), e.g. "jit:avx512_core (blocked)".
Napi::Value ConvImplementation(const Napi::CallbackInfo& info) {
  const ConvGeometry g = geometry(info[0]);
  const int which = static_cast<int>(integer(info[1], "pass"));
  return Napi::String::New(info.Env(), convImplementation(g, which, info[2].ToBoolean()));
}

// setConvLayout(forward, backwardData, backwardWeights): 0 plain, 1 blocked, 2 by shape (default).
Napi::Value SetConvLayout(const Napi::CallbackInfo& info) {
  auto layout = [&](int i) { return static_cast<Layout>(integer(info[i], "layout")); };
  setLayout(layout(0), layout(1), layout(2));
  return info.Env().Undefined();
}

// setConvPrecision(0 | 1): 0 f32 convolutions (default), 1 bf16 inputs with f32 accumulation and outputs.
// Refused where the CPU has no bf16 instructions (info().bf16), where oneDNN would only emulate them.
Napi::Value SetConvPrecision(const Napi::CallbackInfo& info) {
  const int64_t value = integer(info[0], "precision");
  if (value != 0 && value != 1) throw Napi::RangeError::New(info.Env(), "precision must be 0 (f32) or 1 (bf16)");
  if (value == 1 && !cpuSupportsBf16()) {
    throw Napi::Error::New(info.Env(), "this CPU has no bf16 instructions (AVX512-BF16 or AMX)");
  }
  setPrecision(static_cast<Precision>(value));
  return info.Env().Undefined();
}

}  // namespace

void registerConv(Napi::Env env, Napi::Object exports) {
  exports.Set("conv2dForward", Napi::Function::New(env, ConvForward));
  exports.Set("conv2dBackwardData", Napi::Function::New(env, ConvBackwardData));
  exports.Set("conv2dBackwardFilter", Napi::Function::New(env, ConvBackwardWeights));
  exports.Set("convImplementation", Napi::Function::New(env, ConvImplementation));
  exports.Set("setConvLayout", Napi::Function::New(env, SetConvLayout));
  exports.Set("setConvPrecision", Napi::Function::New(env, SetConvPrecision));
}

}  // namespace clearsky
