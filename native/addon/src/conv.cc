#include "conv.h"

#include <omp.h>

#include <map>
#include <memory>
#include <vector>

#include "elementwise.h"
#include "plan.h"

namespace clearsky {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using DataType = memory::data_type;
constexpr auto f32 = DataType::f32;

Layout gLayout[3] = {Layout::Auto, Layout::Auto, Layout::Auto};
Precision gPrecision = Precision::F32;

// The type of the inputs the primitive reads (src, weights, diff_dst); outputs stay f32.
DataType inputType() { return gPrecision == Precision::BF16 ? DataType::bf16 : f32; }

struct ConvDescs {
  memory::desc src, weights, bias, dst;  // the caller's layouts
  memory::dims strides, dilates, padL, padR;
};

// The caller's layouts in type `t` for src, weights and dst (bias is always f32).
ConvDescs describe(const ConvGeometry& g, DataType t = f32) {
  ConvDescs d;
  d.src = memory::desc({g.batch, g.inChannels, g.inHeight, g.inWidth}, t, Tag::nhwc);
  d.weights = memory::desc({g.outChannels, g.inChannels, g.filterHeight, g.filterWidth}, t, Tag::hwio);
  d.bias = memory::desc({g.outChannels}, f32, Tag::a);
  d.dst = memory::desc({g.batch, g.outChannels, g.outHeight, g.outWidth}, t, Tag::nhwc);
  d.strides = {g.strideHeight, g.strideWidth};
  d.dilates = {g.dilationHeight - 1, g.dilationWidth - 1};  // oneDNN counts the holes, tfjs the step
  d.padL = {g.padTop, g.padLeft};
  d.padR = {g.padBottom, g.padRight};
  return d;
}

memory::desc anyOf(const memory::desc& md, Layout layout) {
  return layout == Layout::Blocked ? memory::desc(md.dims(), md.data_type(), Tag::any) : md;
}

// The primitive's descriptions: `in` holds the tensors it reads (src, weights, diff_dst) in the input type,
// `out` those it writes (dst, diff_src, diff_weights) in f32. With f32 inputs both are the caller's layouts.
struct PassDescs {
  ConvDescs in, out;
};

PassDescs passDescs(const ConvGeometry& g) { return {describe(g, inputType()), describe(g, f32)}; }

// `src`/`weights` in the input type, `dst` in f32 when it is the output (forward) or the input type when it
// is diff_dst's hint (backward passes).
dnnl::convolution_forward::primitive_desc forwardDesc(const PassDescs& p, const memory::desc& dstType, bool withBias,
                                                      Layout layout) {
  const ConvDescs& d = p.in;
  const auto src = anyOf(d.src, layout), weights = anyOf(d.weights, layout), dst = anyOf(dstType, layout);
  const auto alg = dnnl::algorithm::convolution_direct;
  const auto prop = dnnl::prop_kind::forward_training;
  auto desc = withBias ? dnnl::convolution_forward::desc(prop, alg, src, weights, d.bias, dst, d.strides,
                                                         d.dilates, d.padL, d.padR)
                       : dnnl::convolution_forward::desc(prop, alg, src, weights, dst, d.strides, d.dilates,
                                                         d.padL, d.padR);
  return {desc, cpuEngine()};
}

dnnl::convolution_backward_data::primitive_desc backwardDataDesc(const PassDescs& p, Layout layout) {
  const auto diffSrc = anyOf(p.out.src, layout), weights = anyOf(p.in.weights, layout), diffDst = anyOf(p.in.dst, layout);
  const ConvDescs& d = p.in;
  dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, diffSrc, weights, diffDst,
                                             d.strides, d.dilates, d.padL, d.padR);
  return {desc, cpuEngine(), forwardDesc(p, p.in.dst, false, layout)};
}

dnnl::convolution_backward_weights::primitive_desc backwardWeightsDesc(const PassDescs& p, bool withBias,
                                                                       Layout layout) {
  const ConvDescs& d = p.in;
  const auto src = anyOf(d.src, layout), diffWeights = anyOf(p.out.weights, layout), diffDst = anyOf(d.dst, layout);
  const auto alg = dnnl::algorithm::convolution_direct;
  auto desc = withBias ? dnnl::convolution_backward_weights::desc(alg, src, diffWeights, d.bias, diffDst, d.strides,
                                                                  d.dilates, d.padL, d.padR)
                       : dnnl::convolution_backward_weights::desc(alg, src, diffWeights, diffDst, d.strides,
                                                                  d.dilates, d.padL, d.padR);
  return {desc, cpuEngine(), forwardDesc(p, p.in.dst, withBias, layout)};
}

enum Op { kForward = 0, kBackwardData = 1, kBackwardWeights = 2 };

using Key = std::vector<int64_t>;

Key keyOf(const ConvGeometry& g, Op op, bool withBias) {
  const int64_t* fields = &g.batch;
  Key key(fields, fields + kGeometryFields);
  key.push_back(op);
  key.push_back(withBias);
  key.push_back(static_cast<int64_t>(gLayout[op]));
  key.push_back(static_cast<int64_t>(gPrecision));
  // oneDNN sizes a primitive's work split and scratch space for the thread count at creation; running it
  // with more threads is undefined. A plan per thread count keeps setNumThreads() safe at any time.
  key.push_back(omp_get_max_threads());
  return key;
}

std::map<Key, std::unique_ptr<Plan>> gPlans;

bool isPointwise(const ConvGeometry& g) {
  return g.filterHeight == 1 && g.filterWidth == 1 && g.strideHeight == 1 && g.strideWidth == 1 && g.padTop == 0 &&
         g.padBottom == 0 && g.padLeft == 0 && g.padRight == 0;
}

// A 1x1 convolution on NHWC/HWIO is a matrix product over the M = N·H·W pixels: y[M,O] = x[M,I]·w[I,O],
// dx[M,I] = dy[M,O]·wᵀ, dw[I,O] = xᵀ·dy (transposes are strides, not copies).
std::unique_ptr<Plan> buildMatmulPlan(const ConvGeometry& g, Op op, bool withBias) {
  const int64_t m = g.batch * g.inHeight * g.inWidth, in = g.inChannels, out = g.outChannels;
  auto rowMajor = [](int64_t rows, int64_t cols) { return memory::desc({rows, cols}, f32, memory::dims{cols, 1}); };
  auto transposed = [](int64_t rows, int64_t cols) { return memory::desc({rows, cols}, f32, memory::dims{1, rows}); };
  // In bf16 the operands are converted anyway, so the primitive picks their layout and the conversion does
  // any transpose; in f32 it reads the caller's buffers as they are.
  const bool bf16 = inputType() != f32;
  auto operand = [&](const memory::desc& user) { return bf16 ? memory::desc(user.dims(), inputType(), Tag::any) : user; };
  auto plan = std::make_unique<Plan>();
  auto bindAll = [&](dnnl::matmul::primitive_desc& pd, std::initializer_list<std::pair<int, memory::desc>> inputs,
                     const memory::desc& dst) {
    for (const auto& [arg, user] : inputs) plan->bind(arg, user, pd.query_md(dnnl::query::exec_arg_md, arg), false);
    plan->bind(DNNL_ARG_DST, dst, pd.dst_desc(), true);
    plan->setPrimitive(dnnl::matmul(pd), std::string(pd.impl_info_str()) + (bf16 ? " bf16" : ""));
  };
  if (op == kForward) {
    const memory::desc bias({1, out}, f32, memory::dims{out, 1});
    const auto x = rowMajor(m, in), w = rowMajor(in, out), y = rowMajor(m, out);
    auto desc = withBias ? dnnl::matmul::desc(operand(x), operand(w), bias, y) : dnnl::matmul::desc(operand(x), operand(w), y);
    dnnl::matmul::primitive_desc pd(desc, cpuEngine());
    if (withBias) {
      bindAll(pd, {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, bias}}, y);
    } else {
      bindAll(pd, {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}}, y);
    }
  } else if (op == kBackwardData) {
    // w is I×O row-major; wᵀ (O×I) is the same buffer read with strides {1, O}.
    const auto dy = rowMajor(m, out), wt = transposed(out, in), dx = rowMajor(m, in);
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(operand(dy), operand(wt), dx), cpuEngine());
    bindAll(pd, {{DNNL_ARG_SRC, dy}, {DNNL_ARG_WEIGHTS, wt}}, dx);
  } else {
    // x is M×I row-major; xᵀ (I×M) is the same buffer read with strides {1, I}.
    const auto xt = transposed(in, m), dy = rowMajor(m, out), dw = rowMajor(in, out);
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(operand(xt), operand(dy), dw), cpuEngine());
    bindAll(pd, {{DNNL_ARG_SRC, xt}, {DNNL_ARG_WEIGHTS, dy}}, dw);
  }
  return plan;
}

std::unique_ptr<Plan> buildPlan(const ConvGeometry& g, Op op, bool withBias, Layout layout) {
  if (layout == Layout::Matmul && isPointwise(g)) return buildMatmulPlan(g, op, op == kForward && withBias);
  if (layout == Layout::Matmul) layout = Layout::Blocked;
  // The caller's buffers are f32 (d); the primitive reads p.in (bf16 when chosen) and writes p.out (f32),
  // and Plan::bind adds the converting reorders: in a blocked plan they replace the layout reorders it
  // already had, so bf16 adds no pass over the data there.
  const ConvDescs d = describe(g);
  const PassDescs p = passDescs(g);
  const std::string suffix = inputType() != f32 ? " bf16" : "";
  auto plan = std::make_unique<Plan>();
  if (op == kForward) {
    auto pd = forwardDesc(p, p.out.dst, withBias, layout);
    plan->bind(DNNL_ARG_SRC, d.src, pd.src_desc(), false);
    plan->bind(DNNL_ARG_WEIGHTS, d.weights, pd.weights_desc(), false);
    if (withBias) plan->bind(DNNL_ARG_BIAS, d.bias, pd.bias_desc(), false);
    plan->bind(DNNL_ARG_DST, d.dst, pd.dst_desc(), true);
    plan->setPrimitive(dnnl::convolution_forward(pd), std::string(pd.impl_info_str()) + suffix);
  } else if (op == kBackwardData) {
    auto pd = backwardDataDesc(p, layout);
    plan->bind(DNNL_ARG_DIFF_DST, d.dst, pd.diff_dst_desc(), false);
    plan->bind(DNNL_ARG_WEIGHTS, d.weights, pd.weights_desc(), false);
    plan->bind(DNNL_ARG_DIFF_SRC, d.src, pd.diff_src_desc(), true);
    plan->setPrimitive(dnnl::convolution_backward_data(pd), std::string(pd.impl_info_str()) + suffix);
  } else {
    auto pd = backwardWeightsDesc(p, withBias, layout);
    plan->bind(DNNL_ARG_SRC, d.src, pd.src_desc(), false);
    plan->bind(DNNL_ARG_DIFF_DST, d.dst, pd.diff_dst_desc(), false);
    plan->bind(DNNL_ARG_DIFF_WEIGHTS, d.weights, pd.diff_weights_desc(), true);
    if (withBias) plan->bind(DNNL_ARG_DIFF_BIAS, d.bias, pd.diff_bias_desc(), true);
    plan->setPrimitive(dnnl::convolution_backward_weights(pd), std::string(pd.impl_info_str()) + suffix);
  }
  return plan;
}

// No one way wins everywhere. Blocked layouts get oneDNN's direct AVX-512 convolutions (2-4x faster than
// plain layouts on 3x3 and 5x5 filters, reorders included). 1x1 filters run best as a matrix product on
// the caller's buffers: oneDNN's blocked 1x1 backward-weights was measured 20-50x slower, and its plain
// 1x1 convolution goes through its JIT sgemm, whose AVX-512 kernels corrupt the heap when a signal
// (e.g. the profiler's SIGPROF) lands on the thread running them (oneDNN 2.6.3; the matmul primitive's
// brgemm kernels do not). A fixed rule rather than timing each shape keeps results reproducible run to
// run, and immune to a busy machine.
Layout autoLayout(const ConvGeometry& g) {
  return isPointwise(g) ? Layout::Matmul : Layout::Blocked;
}

Layout layoutFor(const ConvGeometry& g, Op op) {
  return gLayout[op] == Layout::Auto ? autoLayout(g) : gLayout[op];
}

void run(const ConvGeometry& g, Op op, bool withBias, const std::vector<void*>& buffers) {
  auto key = keyOf(g, op, withBias);
  auto it = gPlans.find(key);
  if (it == gPlans.end()) it = gPlans.emplace(std::move(key), buildPlan(g, op, withBias, layoutFor(g, op))).first;
  it->second->execute(buffers);
}

}  // namespace

void setLayout(Layout forward, Layout backwardData, Layout backwardWeights) {
  gLayout[kForward] = forward;
  gLayout[kBackwardData] = backwardData;
  gLayout[kBackwardWeights] = backwardWeights;
}

void setPrecision(Precision precision) { gPrecision = precision; }

Precision precision() { return gPrecision; }

bool cpuSupportsBf16() {
  // AVX512-BF16 (and AMX, whose ISA value includes it) has the bf16 dot products; without them oneDNN would
  // emulate bf16, slower than f32.
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  const auto bf16 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
  return (isa & bf16) == bf16;
}

void convForward(const ConvGeometry& g, const float* x, const float* filter, const float* bias, float* y) {
  const bool withBias = bias != nullptr;
  std::vector<void*> buffers{const_cast<float*>(x), const_cast<float*>(filter)};
  if (withBias) buffers.push_back(const_cast<float*>(bias));
  buffers.push_back(y);
  run(g, kForward, withBias, buffers);
}

void convBackwardData(const ConvGeometry& g, const float* dy, const float* filter, float* dx) {
  run(g, kBackwardData, false, {const_cast<float*>(dy), const_cast<float*>(filter), dx});
}

void convBackwardWeights(const ConvGeometry& g, const float* x, const float* dy, float* filterGradient,
                         float* biasGradient) {
  if (biasGradient && layoutFor(g, kBackwardWeights) == Layout::Matmul && isPointwise(g)) {
    // The matrix product gives the filter gradient only; the bias gradient is dy summed per channel.
    run(g, kBackwardWeights, false, {const_cast<float*>(x), const_cast<float*>(dy), filterGradient});
    reduceRows(dy, g.batch * g.outHeight * g.outWidth, g.outChannels, 1.0f, biasGradient);
    return;
  }
  const bool withBias = biasGradient != nullptr;
  std::vector<void*> buffers{const_cast<float*>(x), const_cast<float*>(dy), filterGradient};
  if (withBias) buffers.push_back(biasGradient);
  run(g, kBackwardWeights, withBias, buffers);
}

std::string convImplementation(const ConvGeometry& g, int which, bool withBias) {
  auto it = gPlans.find(keyOf(g, static_cast<Op>(which), withBias));
  if (it == gPlans.end()) it = gPlans.find(keyOf(g, static_cast<Op>(which), false));  // 1x1 bias gradient
  return it == gPlans.end() ? std::string("not run yet") : it->second->description();
}

}  // namespace clearsky
