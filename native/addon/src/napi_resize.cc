// Node-API bindings of the nearest-neighbour upsampling (resize.h).
#include "napi_util.h"
#include "resize.h"

namespace clearsky {
namespace {

struct ResizeArgs {
  int64_t batch, height, width, channels, fy, fx;
};

// Shape arguments at info[1..6]: batch, height, width, channels (of the small image), fy, fx.
ResizeArgs shapeOf(const Napi::CallbackInfo& info) {
  ResizeArgs a{integer(info[1], "batch"), integer(info[2], "height"), integer(info[3], "width"),
               integer(info[4], "channels"), integer(info[5], "fy"), integer(info[6], "fx")};
  if (a.batch < 0 || a.height < 0 || a.width < 0 || a.channels < 0 || a.fy < 1 || a.fx < 1) {
    throw Napi::RangeError::New(info.Env(), "invalid resize shape");
  }
  return a;
}

// resizeNearestUp(x, batch, height, width, channels, fy, fx, out)
Napi::Value Up(const Napi::CallbackInfo& info) {
  const ResizeArgs a = shapeOf(info);
  const int64_t small = a.batch * a.height * a.width * a.channels;
  resizeNearestUp(borrow<float>(info[0], small, "x"), a.batch, a.height, a.width, a.channels, a.fy, a.fx,
                  borrow<float>(info[7], small * a.fy * a.fx, "out"));
  return info.Env().Undefined();
}

// resizeNearestUpGrad(dy, batch, height, width, channels, fy, fx, dx)
Napi::Value UpGrad(const Napi::CallbackInfo& info) {
  const ResizeArgs a = shapeOf(info);
  const int64_t small = a.batch * a.height * a.width * a.channels;
  resizeNearestUpGrad(borrow<float>(info[0], small * a.fy * a.fx, "dy"), a.batch, a.height, a.width, a.channels, a.fy,
                      a.fx, borrow<float>(info[7], small, "dx"));
  return info.Env().Undefined();
}

}  // namespace

void registerResize(Napi::Env env, Napi::Object exports) {
  exports.Set("resizeNearestUp", Napi::Function::New(env, Up));
  exports.Set("resizeNearestUpGrad", Napi::Function::New(env, UpGrad));
}

}  // namespace clearsky
