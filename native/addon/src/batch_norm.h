// Batch normalisation with the batch's own statistics (training mode), forward and backward, per channel
// of NHWC data: two passes over the tensor each way, where tfjs' composed ops take about thirty.
#pragma once

#include <cstdint>

namespace clearsky {

// mean[c], invStd[c] = 1 / sqrt(var[c] + epsilon) over the n / channels rows (population variance), and
// y = (x - mean) * invStd * scale + offset. scale/offset may be null (1 and 0).
void batchNormTrainForward(const float* x, int64_t n, int64_t channels, const float* scale, const float* offset,
                           float epsilon, float* y, float* mean, float* invStd);

// Gradients of the above: dScale[c] = Σ dy·x̂, dOffset[c] = Σ dy, and
// dx = scale·invStd·(dy − dOffset/rows − x̂·dScale/rows), with x̂ = (x − mean)·invStd.
void batchNormTrainBackward(const float* dy, const float* x, int64_t n, int64_t channels, const float* mean,
                            const float* invStd, const float* scale, float* dx, float* dScale, float* dOffset);

}  // namespace clearsky
