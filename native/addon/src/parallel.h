// Small helpers to spread loops over the OpenMP team deterministically.
#pragma once

#include <omp.h>

#include <cstdint>
#include <vector>

namespace clearsky {

// Below this many elements the OpenMP fork/join costs more than a second core saves.
constexpr int64_t kParallelMin = 1 << 15;

// Calls body(begin, end) over [0, n): directly for small work (an OpenMP region, even an inactive one,
// costs microseconds, more than the work), else once per thread on equal contiguous blocks.
template <typename Body>
void forRange(int64_t n, int64_t work, Body&& body) {
  if (work < kParallelMin || omp_get_max_threads() == 1) {
    body(int64_t{0}, n);
    return;
  }
#pragma omp parallel
  {
    const int64_t t = omp_get_thread_num(), team = omp_get_num_threads();
    body(n * t / team, n * (t + 1) / team);
  }
}

// Per-channel sums over rows, in double. The rows are cut into a fixed number of blocks (set by the size,
// not by the team) whose partial sums are added in block order: the same inputs give the same bits
// whatever the thread count. `accumulate(begin, end, acc)` adds rows [begin, end) into acc[k * channels + c]
// for each of the `k` sums it computes; the result is sums[k * channels + c].
template <typename Accumulate>
std::vector<double> blockSums(int64_t rows, int64_t channels, int sumsPerChannel, Accumulate&& accumulate) {
  constexpr int kBlocks = 8;
  const int blocks = rows * channels >= kParallelMin ? kBlocks : 1;
  const size_t width = static_cast<size_t>(sumsPerChannel) * channels;
  std::vector<double> partial(blocks * width, 0.0);
  auto run = [&](int block) {
    accumulate(rows * block / blocks, rows * (block + 1) / blocks, partial.data() + block * width);
  };
  if (blocks == 1) {
    run(0);
  } else {
#pragma omp parallel for schedule(static)
    for (int block = 0; block < blocks; ++block) run(block);
  }
  std::vector<double> sums(width, 0.0);
  for (int block = 0; block < blocks; ++block) {
    for (size_t i = 0; i < width; ++i) sums[i] += partial[block * width + i];
  }
  return sums;
}

}  // namespace clearsky
