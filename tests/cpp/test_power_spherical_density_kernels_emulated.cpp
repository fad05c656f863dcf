// The Power Spherical density kernel (csrc/hvae/kernels/power_spherical_density_kernels.cuh)
// on the emulated CUDA execution model: the grid-stride loop covers more
// elements than the grid has threads, reads a strided kappa and a contiguous
// grad through the ElementwiseIndex, and writes what the host loop (the CPU
// op) writes, which is the header's value rounded once.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "cuda_emulation.h"
#include "hvae/kernels/power_spherical_density_kernels.cuh"

namespace {

using hvae::PsDensityFn;

template <typename T, PsDensityFn F, int Order>
void check_density(int64_t rows, int64_t cols, int64_t m) {
  const int64_t n = rows * cols;
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> unif(-12.0, 6.0);
  std::vector<T> kappa(n), grad(n), out_kernel(n, T(-12345)), out_host(n);
  for (auto& k : kappa) k = T(std::pow(10.0, unif(rng)));
  kappa[3] = T(0);
  for (auto& g : grad) g = T(unif(rng));
  hvae::PsDensityParams<T> p{};
  p.kappa = kappa.data();
  p.grad = grad.data();
  p.numel = n;
  p.c = hvae::ps_density_consts(m);
  // output [rows, cols]; kappa read transposed (a [cols, rows] array), grad contiguous
  p.index.ndim = 2;
  p.index.sizes[0] = rows;
  p.index.sizes[1] = cols;
  p.index.layout[0] = hvae::OperandLayout::kStrided;
  p.index.strides[0][0] = 1;
  p.index.strides[0][1] = rows;
  p.index.layout[1] = hvae::OperandLayout::kContiguous;
  p.index.strides[1][0] = cols;
  p.index.strides[1][1] = 1;
  p.out = out_host.data();
  for (int64_t i = 0; i < n; ++i) hvae::ps_density_apply<F, Order, T>(p, i);
  p.out = out_kernel.data();
  emu::launch(2, 64, [&] { hvae::ps_density_kernel<F, Order, T>(p); });
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_EQ(out_kernel[i], out_host[i]) << i;
    const int64_t r = i / cols, c = i % cols;
    const double k = double(kappa[c * rows + r]);
    double want;
    if constexpr (Order == 0) {
      want = hvae::ps_density_value<F>(p.c, k);
    } else {
      want = double(grad[i]) * hvae::ps_density_dkappa<F, Order == 2>(p.c, k);
    }
    EXPECT_EQ(out_host[i], T(want)) << i;
  }
}

TEST(PowerSphericalDensityEmulatedKernels, EveryFunctionAndOrder) {
  check_density<double, PsDensityFn::kLogNormalizer, 0>(13, 29, 3);
  check_density<float, PsDensityFn::kLogNormalizer, 2>(13, 29, 64);
  check_density<double, PsDensityFn::kLogNormalizerScaled, 1>(7, 50, 1000);
  check_density<float, PsDensityFn::kEntropy, 0>(7, 50, 2);
  check_density<double, PsDensityFn::kEntropy, 1>(7, 50, 10);
  check_density<double, PsDensityFn::kKlUniform, 0>(9, 31, 10000);
  check_density<float, PsDensityFn::kKlUniform, 1>(9, 31, 5);
}

}  // namespace
