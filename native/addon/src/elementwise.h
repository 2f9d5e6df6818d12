// Element-wise and reduction kernels on float32 NHWC data, parallel over the OpenMP team. They cover the
// access patterns a training step actually uses: same-shape operands, a scalar operand, and a per-channel
// vector broadcast along the last (channel) axis.
#pragma once

#include <cstdint>

namespace clearsky {

enum class BinaryOp { Add = 0, Sub = 1, Mul = 2, Div = 3, SquaredDifference = 4 };

// How the operands line up with the output of n elements.
enum class Broadcast {
  Same = 0,     // a and b have n elements
  ScalarB = 1,  // b has one element
  ScalarA = 2,  // a has one element
  VectorB = 3,  // b has `channels` elements, repeated over the n / channels rows of a
  VectorA = 4,  // a has `channels` elements, repeated over the rows of b
};

void binary(BinaryOp op, Broadcast mode, const float* a, const float* b, float* out, int64_t n, int64_t channels);

enum class UnaryOp { Neg = 0, Square = 1, Sqrt = 2, Rsqrt = 3, Sigmoid = 4, LeakyRelu = 5, Relu = 6, Exp = 7, Abs = 8 };

// `alpha` is the negative slope of LeakyRelu; ignored by the others.
void unary(UnaryOp op, const float* x, float* out, int64_t n, float alpha);

// out[c] = scale * sum over rows of x[row * channels + c]; x has rows * channels elements. Sums in double.
void reduceRows(const float* x, int64_t rows, int64_t channels, float scale, float* out);

// out[i] = vector[i % channels] for i < n.
void broadcastRows(const float* vector, int64_t channels, float* out, int64_t n);

// y = (x - mean) * scale / sqrt(variance + epsilon) + offset, per channel; each parameter has either
// `channels` elements or one (a null offset counts as 0, a null scale as 1).
struct ChannelParams {
  const float* values;
  int64_t length;
};
void batchNorm(const float* x, int64_t n, int64_t channels, ChannelParams mean, ChannelParams variance,
               ChannelParams offset, ChannelParams scale, float epsilon, float* y);

// out[i] = a[i] > threshold (1 or 0).
void greaterScalar(const float* a, float threshold, uint8_t* out, int64_t n);
// out[i] = condition[i] ? a[i] : b[i].
void select(const uint8_t* condition, const float* a, const float* b, float* out, int64_t n);

}  // namespace clearsky
