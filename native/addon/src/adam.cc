#include "adam.h"

#include <cmath>

#include "parallel.h"

namespace clearsky {

void adamUpdate(const AdamStep& s, int64_t n, const float* value, const float* grad, const float* m, const float* v,
                float* newValue, float* newM, float* newV) {
  const float oneMinusBeta1 = 1.0f - s.beta1, oneMinusBeta2 = 1.0f - s.beta2;
  forRange(n, n * 4, [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float g = grad[i];
      const float mi = m[i] * s.beta1 + g * oneMinusBeta1;
      const float vi = v[i] * s.beta2 + g * g * oneMinusBeta2;
      newM[i] = mi;
      newV[i] = vi;
      newValue[i] = value[i] - s.learningRate * ((mi / s.correction1) / (std::sqrt(vi / s.correction2) + s.epsilon));
    }
  });
}

}  // namespace clearsky
