// One Adam update of a parameter tensor in a single pass (tfjs' Adam takes about fifteen passes, each
// allocating a new tensor of the parameters' size).
#pragma once

#include <cstdint>

namespace clearsky {

struct AdamStep {
  float learningRate, beta1, beta2, epsilon;
  // 1 − β₁ᵗ and 1 − β₂ᵗ: the bias corrections of step t.
  float correction1, correction2;
};

// m' = β₁m + (1−β₁)g, v' = β₂v + (1−β₂)g², value' = value − lr·(m'/c₁)/(√(v'/c₂) + ε).
void adamUpdate(const AdamStep& step, int64_t n, const float* value, const float* grad, const float* m, const float* v,
                float* newValue, float* newM, float* newV);

}  // namespace clearsky
