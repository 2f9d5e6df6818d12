// Nearest-neighbour upsampling of NHWC data by integer factors (the decoder's ×2), and its gradient.
#pragma once

#include <cstdint>

namespace clearsky {

// out[b, y, x, c] = in[b, y / fy, x / fx, c]; out is batch × (height·fy) × (width·fx) × channels.
void resizeNearestUp(const float* in, int64_t batch, int64_t height, int64_t width, int64_t channels, int64_t fy,
                     int64_t fx, float* out);

// dIn[b, y, x, c] = Σ_{i<fy, j<fx} dOut[b, y·fy + i, x·fx + j, c], summed in that order in double.
void resizeNearestUpGrad(const float* dOut, int64_t batch, int64_t height, int64_t width, int64_t channels,
                         int64_t fy, int64_t fx, float* dIn);

}  // namespace clearsky
