#include "batch_norm.h"

#include <cmath>
#include <vector>

#include "parallel.h"

namespace clearsky {

void batchNormTrainForward(const float* x, int64_t n, int64_t channels, const float* scale, const float* offset,
                           float epsilon, float* y, float* mean, float* invStd) {
  const int64_t rows = n / channels;
  // Σx and Σx² in one pass, in double (the E[x²] − E[x]² cancellation is harmless at double precision
  // for activations of this range).
  const std::vector<double> sums = blockSums(rows, channels, 2, [&](int64_t begin, int64_t end, double* acc) {
    for (int64_t r = begin; r < end; ++r) {
      const float* row = x + r * channels;
      for (int64_t c = 0; c < channels; ++c) {
        acc[c] += row[c];
        acc[channels + c] += static_cast<double>(row[c]) * row[c];
      }
    }
  });
  std::vector<float> k(channels), d(channels);
  for (int64_t c = 0; c < channels; ++c) {
    const double m = sums[c] / rows;
    const double variance = std::max(0.0, sums[channels + c] / rows - m * m);
    mean[c] = static_cast<float>(m);
    invStd[c] = static_cast<float>(1.0 / std::sqrt(variance + epsilon));
    k[c] = invStd[c] * (scale ? scale[c] : 1.0f);
    d[c] = offset ? offset[c] : 0.0f;
  }
  const float *kp = k.data(), *dp = d.data();
  forRange(rows, n, [=](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = x + r * channels;
      float* yr = y + r * channels;
      for (int64_t c = 0; c < channels; ++c) yr[c] = (xr[c] - mean[c]) * kp[c] + dp[c];
    }
  });
}

void batchNormTrainBackward(const float* dy, const float* x, int64_t n, int64_t channels, const float* mean,
                            const float* invStd, const float* scale, float* dx, float* dScale, float* dOffset) {
  const int64_t rows = n / channels;
  // Σdy and Σdy·(x − mean) per channel.
  const std::vector<double> sums = blockSums(rows, channels, 2, [&](int64_t begin, int64_t end, double* acc) {
    for (int64_t r = begin; r < end; ++r) {
      const float* dyr = dy + r * channels;
      const float* xr = x + r * channels;
      for (int64_t c = 0; c < channels; ++c) {
        acc[c] += dyr[c];
        acc[channels + c] += static_cast<double>(dyr[c]) * (xr[c] - mean[c]);
      }
    }
  });
  // dx = k·(dy − a − (x − mean)·b) with k = scale·invStd, a = Σdy/rows, b = invStd²·Σdy(x−mean)/rows.
  std::vector<float> k(channels), a(channels), b(channels);
  for (int64_t c = 0; c < channels; ++c) {
    const double s = invStd[c];
    dOffset[c] = static_cast<float>(sums[c]);
    dScale[c] = static_cast<float>(sums[channels + c] * s);
    k[c] = static_cast<float>((scale ? scale[c] : 1.0f) * s);
    a[c] = static_cast<float>(sums[c] / rows);
    b[c] = static_cast<float>(sums[channels + c] * s * s / rows);
  }
  const float *kp = k.data(), *ap = a.data(), *bp = b.data();
  forRange(rows, n, [=](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* dyr = dy + r * channels;
      const float* xr = x + r * channels;
      float* dxr = dx + r * channels;
      for (int64_t c = 0; c < channels; ++c) dxr[c] = kp[c] * (dyr[c] - ap[c] - (xr[c] - mean[c]) * bp[c]);
    }
  });
}

}  // namespace clearsky
