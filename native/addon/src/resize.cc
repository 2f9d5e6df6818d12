#include "resize.h"

#include <algorithm>

#include "parallel.h"

namespace clearsky {

void resizeNearestUp(const float* in, int64_t batch, int64_t height, int64_t width, int64_t channels, int64_t fy,
                     int64_t fx, float* out) {
  const int64_t outHeight = height * fy, outWidth = width * fx;
  const int64_t outRows = batch * outHeight;
  forRange(outRows, outRows * outWidth * channels, [=](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t b = row / outHeight, y = row % outHeight;
      const float* src = in + ((b * height + y / fy) * width) * channels;
      float* dst = out + row * outWidth * channels;
      for (int64_t x = 0; x < outWidth; ++x) {
        std::copy(src + (x / fx) * channels, src + (x / fx + 1) * channels, dst + x * channels);
      }
    }
  });
}

void resizeNearestUpGrad(const float* dOut, int64_t batch, int64_t height, int64_t width, int64_t channels,
                         int64_t fy, int64_t fx, float* dIn) {
  const int64_t outHeight = height * fy, outWidth = width * fx;
  const int64_t rows = batch * height;
  forRange(rows, rows * width * channels * fy * fx, [=](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t b = row / height, y = row % height;
      for (int64_t x = 0; x < width; ++x) {
        float* dst = dIn + (row * width + x) * channels;
        for (int64_t c = 0; c < channels; ++c) {
          double sum = 0;  // tfjs accumulates in a JS number: same order, same rounding
          for (int64_t i = 0; i < fy; ++i) {
            const float* src = dOut + ((b * outHeight + y * fy + i) * outWidth + x * fx) * channels + c;
            for (int64_t j = 0; j < fx; ++j) sum += src[j * channels];
          }
          dst[c] = static_cast<float>(sum);
        }
      }
    }
  });
}

}  // namespace clearsky
