// Node-API bindings of the training-mode batch norm (batch_norm.h).
#include "batch_norm.h"
#include "napi_util.h"

namespace clearsky {
namespace {

int64_t channelsOf(const Napi::CallbackInfo& info, int64_t n, int index) {
  const int64_t channels = integer(info[index], "channels");
  if (channels <= 0 || n % channels != 0) throw Napi::RangeError::New(info.Env(), "channels must divide x's size");
  return channels;
}

// batchNormTrainForward(x, channels, scale | null, offset | null, epsilon, y, mean, invStd)
Napi::Value Forward(const Napi::CallbackInfo& info) {
  const int64_t n = lengthOf(info[0]);
  const int64_t channels = channelsOf(info, n, 1);
  batchNormTrainForward(borrow<float>(info[0], n, "x"), n, channels, borrowOptional<float>(info[2], channels, "scale"),
                        borrowOptional<float>(info[3], channels, "offset"), info[4].As<Napi::Number>().FloatValue(),
                        borrow<float>(info[5], n, "y"), borrow<float>(info[6], channels, "mean"),
                        borrow<float>(info[7], channels, "invStd"));
  return info.Env().Undefined();
}

// batchNormTrainBackward(dy, x, channels, mean, invStd, scale | null, dx, dScale, dOffset)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  const int64_t n = lengthOf(info[0]);
  const int64_t channels = channelsOf(info, n, 2);
  batchNormTrainBackward(borrow<float>(info[0], n, "dy"), borrow<float>(info[1], n, "x"), n, channels,
                         borrow<float>(info[3], channels, "mean"), borrow<float>(info[4], channels, "invStd"),
                         borrowOptional<float>(info[5], channels, "scale"), borrow<float>(info[6], n, "dx"),
                         borrow<float>(info[7], channels, "dScale"), borrow<float>(info[8], channels, "dOffset"));
  return info.Env().Undefined();
}

}  // namespace

void registerBatchNorm(Napi::Env env, Napi::Object exports) {
  exports.Set("batchNormTrainForward", Napi::Function::New(env, Forward));
  exports.Set("batchNormTrainBackward", Napi::Function::New(env, Backward));
}

}  // namespace clearsky
