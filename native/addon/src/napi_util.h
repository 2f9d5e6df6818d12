// Argument checking shared by the Node-API bindings: typed arrays are borrowed (their memory is used in
// place, never copied), and a wrong type or a too-short array is a JS TypeError/RangeError, never a crash.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

namespace clearsky {

template <typename T>
struct TypedArrayTraits;
template <>
struct TypedArrayTraits<float> {
  static constexpr napi_typedarray_type type = napi_float32_array;
  static constexpr const char* name = "Float32Array";
};
template <>
struct TypedArrayTraits<int32_t> {
  static constexpr napi_typedarray_type type = napi_int32_array;
  static constexpr const char* name = "Int32Array";
};
template <>
struct TypedArrayTraits<uint8_t> {
  static constexpr napi_typedarray_type type = napi_uint8_array;
  static constexpr const char* name = "Uint8Array";
};

// The array's elements, checked to be of type T and to hold at least minLength of them.
template <typename T>
T* borrow(const Napi::Value& value, int64_t minLength, const char* name) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != TypedArrayTraits<T>::type) {
    throw Napi::TypeError::New(value.Env(), std::string(name) + " must be a " + TypedArrayTraits<T>::name);
  }
  auto array = value.As<Napi::TypedArrayOf<T>>();
  if (static_cast<int64_t>(array.ElementLength()) < minLength) {
    throw Napi::RangeError::New(value.Env(), std::string(name) + " is shorter than its shape");
  }
  return array.Data();
}

// As borrow(), but null/undefined give nullptr.
template <typename T>
T* borrowOptional(const Napi::Value& value, int64_t minLength, const char* name) {
  if (value.IsNull() || value.IsUndefined()) return nullptr;
  return borrow<T>(value, minLength, name);
}

inline int64_t lengthOf(const Napi::Value& value) {
  return static_cast<int64_t>(value.As<Napi::TypedArray>().ElementLength());
}

inline int64_t integer(const Napi::Value& value, const char* name) {
  if (!value.IsNumber()) throw Napi::TypeError::New(value.Env(), std::string(name) + " must be a number");
  return value.As<Napi::Number>().Int64Value();
}

void registerConv(Napi::Env env, Napi::Object exports);
void registerElementwise(Napi::Env env, Napi::Object exports);
void registerBatchNorm(Napi::Env env, Napi::Object exports);
void registerResize(Napi::Env env, Napi::Object exports);

}  // namespace clearsky
