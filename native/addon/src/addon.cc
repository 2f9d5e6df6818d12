// clearsky_native: the Node-API module. Every kernel reads and writes the caller's typed arrays in place
// (no copies) and runs synchronously on the calling thread plus the OpenMP team (oneDNN's and ours).
#include <omp.h>

#include <dnnl.hpp>

#include "conv.h"
#include "napi_util.h"
#include "signals.h"

namespace {

// setNumThreads(n): the size of the OpenMP team oneDNN and our own loops use.
Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  omp_set_num_threads(static_cast<int>(clearsky::integer(info[0], "threads")));
  clearsky::startThreadTeam();
  return info.Env().Undefined();
}

// info(): { onednn: "2.6.3", threads, isa, bf16 } (isa: oneDNN's cpu_isa value in use; bf16: whether that
// ISA has bf16 instructions, i.e. setConvPrecision(1) is allowed).
Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const dnnl_version_t* v = dnnl_version();
  Napi::Object out = Napi::Object::New(env);
  out.Set("onednn", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
  out.Set("threads", omp_get_max_threads());
  out.Set("isa", static_cast<int>(dnnl::get_effective_cpu_isa()));
  out.Set("bf16", clearsky::cpuSupportsBf16());
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  clearsky::startThreadTeam();
  clearsky::registerConv(env, exports);
  clearsky::registerElementwise(env, exports);
  clearsky::registerBatchNorm(env, exports);
  clearsky::registerResize(env, exports);
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads));
  exports.Set("info", Napi::Function::New(env, Info));
  return exports;
}

}  // namespace

NODE_API_MODULE(clearsky_native, Init)
