// Test inputs of the sampler loops (csrc/hvae/kernels/vmf_sample.h): a
// random unit vector, and VmfSampleParams over loc rows of m values at
// stride ls1 (ls1 = 2: every other column of an [rows, 2m] array). Shared by
// sampler_emulated_check.h and test_sampler_rows.cpp.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "hvae/kernels/vmf_sample.h"

namespace sampler_test {

inline std::vector<double> random_unit(std::mt19937_64& rng, int64_t m) {
  std::normal_distribution<double> normal;
  std::vector<double> v(m);
  double norm2 = 0.0;
  for (auto& x : v) {
    x = normal(rng);
    norm2 += x * x;
  }
  for (auto& x : v) x /= std::sqrt(norm2);
  return v;
}

template <typename T>
hvae::VmfSampleParams<T> sample_params(const std::vector<T>& loc, const std::vector<T>& kappa, int64_t n,
                                       int64_t m, int64_t ls1, int64_t batch, uint64_t seed, uint64_t offset) {
  hvae::VmfSampleParams<T> p{};
  p.loc = loc.data();
  p.kappa = kappa.data();
  p.loc_stride0 = m * ls1;
  p.loc_stride1 = ls1;
  p.kappa_stride = 1;
  p.n = n;
  p.m = m;
  p.batch = batch;
  p.seed = seed;
  p.offset = offset;
  return p;
}

}  // namespace sampler_test
