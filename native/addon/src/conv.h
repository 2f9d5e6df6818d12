// 2-D convolution (forward, backward-data, backward-weights) on tfjs layouts: NHWC activations, HWIO
// filters, float32.
#pragma once

#include <cstdint>
#include <string>

namespace clearsky {

// The shape of one convolution, as tfjs' computeConv2DInfo resolves it. Dilations are tfjs-style
// (1 = dense). Pads are explicit: top, bottom, left, right.
struct ConvGeometry {
  int64_t batch, inHeight, inWidth, inChannels;
  int64_t filterHeight, filterWidth, outChannels;
  int64_t outHeight, outWidth;
  int64_t strideHeight, strideWidth;
  int64_t padTop, padBottom, padLeft, padRight;
  int64_t dilationHeight, dilationWidth;
};
constexpr int kGeometryFields = 17;

// How a convolution is run: a oneDNN convolution on the caller's layouts (Plain) or on the blocked layouts
// oneDNN prefers, with reorders around it (Blocked); a 1x1 convolution as a oneDNN matrix product
// (Matmul); or by a fixed rule per shape (Auto, the default).
enum class Layout { Plain = 0, Blocked = 1, Auto = 2, Matmul = 3 };
void setLayout(Layout forward, Layout backwardData, Layout backwardWeights);

// The data type the convolutions read: F32, or BF16 (src, weights and diff_dst rounded to bfloat16 on the way
// in, accumulation and every output in f32). BF16 needs a CPU with AVX512-BF16 or AMX (cpuSupportsBf16).
enum class Precision { F32 = 0, BF16 = 1 };
void setPrecision(Precision precision);
Precision precision();
bool cpuSupportsBf16();

// Each writes its whole output. `bias`/`biasGradient` may be null.
void convForward(const ConvGeometry& g, const float* x, const float* filter, const float* bias, float* y);
void convBackwardData(const ConvGeometry& g, const float* dy, const float* filter, float* dx);
void convBackwardWeights(const ConvGeometry& g, const float* x, const float* dy, float* filterGradient,
                         float* biasGradient);

// The oneDNN implementation and layout in use for this shape (which: 0 forward, 1 backward-data,
// 2 backward-weights), or "not run yet"; for profiling.
std::string convImplementation(const ConvGeometry& g, int which, bool withBias);

}  // namespace clearsky
