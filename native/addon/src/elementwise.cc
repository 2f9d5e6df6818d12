#include "elementwise.h"


#include <algorithm>
#include <cmath>
#include <vector>

#include "parallel.h"

namespace clearsky {
namespace {

struct AddF { static float apply(float a, float b) { return a + b; } };
struct SubF { static float apply(float a, float b) { return a - b; } };
struct MulF { static float apply(float a, float b) { return a * b; } };
struct DivF { static float apply(float a, float b) { return a / b; } };
struct SqDiffF { static float apply(float a, float b) { const float d = a - b; return d * d; } };

template <typename F>
void binaryWith(Broadcast mode, const float* __restrict a, const float* __restrict b, float* __restrict out,
                int64_t n, int64_t channels) {
  switch (mode) {
    case Broadcast::Same:
      forRange(n, n, [=](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) out[i] = F::apply(a[i], b[i]);
      });
      break;
    case Broadcast::ScalarB: {
      const float s = b[0];
      forRange(n, n, [=](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) out[i] = F::apply(a[i], s);
      });
      break;
    }
    case Broadcast::ScalarA: {
      const float s = a[0];
      forRange(n, n, [=](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) out[i] = F::apply(s, b[i]);
      });
      break;
    }
    case Broadcast::VectorB: {
      forRange(n / channels, n, [=](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
          const float* ar = a + r * channels;
          float* o = out + r * channels;
          for (int64_t c = 0; c < channels; ++c) o[c] = F::apply(ar[c], b[c]);
        }
      });
      break;
    }
    case Broadcast::VectorA: {
      forRange(n / channels, n, [=](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
          const float* br = b + r * channels;
          float* o = out + r * channels;
          for (int64_t c = 0; c < channels; ++c) o[c] = F::apply(a[c], br[c]);
        }
      });
      break;
    }
  }
}

template <typename F>
void unaryWith(const float* __restrict x, float* __restrict out, int64_t n, F f) {
  forRange(n, n, [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) out[i] = f(x[i]);
  });
}

float paramAt(ChannelParams p, int64_t c, float otherwise) {
  if (!p.values) return otherwise;
  return p.length == 1 ? p.values[0] : p.values[c];
}

}  // namespace

void binary(BinaryOp op, Broadcast mode, const float* a, const float* b, float* out, int64_t n, int64_t channels) {
  switch (op) {
    case BinaryOp::Add: return binaryWith<AddF>(mode, a, b, out, n, channels);
    case BinaryOp::Sub: return binaryWith<SubF>(mode, a, b, out, n, channels);
    case BinaryOp::Mul: return binaryWith<MulF>(mode, a, b, out, n, channels);
    case BinaryOp::Div: return binaryWith<DivF>(mode, a, b, out, n, channels);
    case BinaryOp::SquaredDifference: return binaryWith<SqDiffF>(mode, a, b, out, n, channels);
  }
}

void unary(UnaryOp op, const float* x, float* out, int64_t n, float alpha) {
  switch (op) {
    case UnaryOp::Neg: return unaryWith(x, out, n, [](float v) { return -v; });
    case UnaryOp::Square: return unaryWith(x, out, n, [](float v) { return v * v; });
    case UnaryOp::Sqrt: return unaryWith(x, out, n, [](float v) { return std::sqrt(v); });
    case UnaryOp::Rsqrt: return unaryWith(x, out, n, [](float v) { return 1.0f / std::sqrt(v); });
    case UnaryOp::Sigmoid: return unaryWith(x, out, n, [](float v) { return 1.0f / (1.0f + std::exp(-v)); });
    case UnaryOp::LeakyRelu: return unaryWith(x, out, n, [alpha](float v) { return v < 0 ? alpha * v : v; });
    case UnaryOp::Relu: return unaryWith(x, out, n, [](float v) { return v < 0 ? 0.0f : v; });
    case UnaryOp::Exp: return unaryWith(x, out, n, [](float v) { return std::exp(v); });
    case UnaryOp::Abs: return unaryWith(x, out, n, [](float v) { return std::fabs(v); });
  }
}

void reduceRows(const float* x, int64_t rows, int64_t channels, float scale, float* out) {
  const std::vector<double> sums = blockSums(rows, channels, 1, [&](int64_t begin, int64_t end, double* acc) {
    for (int64_t r = begin; r < end; ++r) {
      const float* row = x + r * channels;
      for (int64_t c = 0; c < channels; ++c) acc[c] += row[c];
    }
  });
  for (int64_t c = 0; c < channels; ++c) out[c] = static_cast<float>(sums[c] * scale);
}

void broadcastRows(const float* vector, int64_t channels, float* out, int64_t n) {
  forRange(n / channels, n, [=](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) std::copy(vector, vector + channels, out + r * channels);
  });
}

void batchNorm(const float* x, int64_t n, int64_t channels, ChannelParams mean, ChannelParams variance,
               ChannelParams offset, ChannelParams scale, float epsilon, float* y) {
  // Per channel: y = (x - m) * k + d, the order tfjs uses (subtracting the mean first keeps precision).
  std::vector<float> m(channels), k(channels), d(channels);
  for (int64_t c = 0; c < channels; ++c) {
    m[c] = paramAt(mean, c, 0.0f);
    k[c] = paramAt(scale, c, 1.0f) / std::sqrt(paramAt(variance, c, 0.0f) + epsilon);
    d[c] = paramAt(offset, c, 0.0f);
  }
  const float* mp = m.data();
  const float* kp = k.data();
  const float* dp = d.data();
  forRange(n / channels, n, [=](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = x + r * channels;
      float* yr = y + r * channels;
      for (int64_t c = 0; c < channels; ++c) yr[c] = (xr[c] - mp[c]) * kp[c] + dp[c];
    }
  });
}

void greaterScalar(const float* a, float threshold, uint8_t* out, int64_t n) {
  forRange(n, n, [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) out[i] = a[i] > threshold ? 1 : 0;
  });
}

void select(const uint8_t* condition, const float* a, const float* b, float* out, int64_t n) {
  forRange(n, n, [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) out[i] = condition[i] ? a[i] : b[i];
  });
}

}  // namespace clearsky
