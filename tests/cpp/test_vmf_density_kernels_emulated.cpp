// The vMF density kernels (csrc/hvae/kernels/vmf_density_kernels.cuh) on the
// emulated CUDA execution model: the grid-stride loops cover more elements
// than the grid has threads, read broadcast and strided operands through the
// ElementwiseIndex, and write what the host loop (the CPU op) writes.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "cuda_emulation.h"
#include "hvae/kernels/vmf_density_kernels.cuh"

namespace {

using hvae::VmfDensityFn;

// A [rows, cols] output; operand j is strided (a transposed [cols, rows]
// array), contiguous, or broadcast along the rows ([cols], stride 0).
hvae::ElementwiseIndex<4> index_2d(int64_t rows, int64_t cols, const hvae::OperandLayout (&layout)[4]) {
  hvae::ElementwiseIndex<4> ix{};
  ix.ndim = 2;
  ix.sizes[0] = rows;
  ix.sizes[1] = cols;
  for (int j = 0; j < 4; ++j) {
    ix.layout[j] = layout[j];
    if (layout[j] == hvae::OperandLayout::kStrided) {
      ix.strides[j][0] = 1;
      ix.strides[j][1] = rows;
    } else {
      ix.strides[j][0] = cols;
      ix.strides[j][1] = 1;
    }
  }
  return ix;
}

template <typename T, VmfDensityFn F, bool Backward>
void check_density(int64_t rows, int64_t cols) {
  const int64_t n = rows * cols;
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> unif(-3.0, 6.0);
  std::vector<T> kappa(n), grad(n), out_kernel(n, T(-12345)), out_host(n);
  for (auto& k : kappa) k = T(std::pow(10.0, unif(rng)));
  kappa[3] = T(0);
  for (auto& g : grad) g = T(unif(rng));
  const hvae::OperandLayout layout[4] = {hvae::OperandLayout::kStrided, hvae::OperandLayout::kContiguous,
                                         hvae::OperandLayout::kScalar, hvae::OperandLayout::kScalar};
  const hvae::ElementwiseIndex<4> ix4 = index_2d(rows, cols, layout);
  hvae::VmfDensityParams<T> p{};
  p.kappa = kappa.data();
  p.grad = grad.data();
  p.numel = n;
  p.c = hvae::vmf_density_consts(12);
  p.index.ndim = ix4.ndim;
  for (int d = 0; d < 2; ++d) p.index.sizes[d] = ix4.sizes[d];
  for (int j = 0; j < 2; ++j) {
    p.index.layout[j] = ix4.layout[j];
    for (int d = 0; d < 2; ++d) p.index.strides[j][d] = ix4.strides[j][d];
  }
  p.out = out_host.data();
  for (int64_t i = 0; i < n; ++i) hvae::vmf_density_apply<F, Backward, T>(p, i);
  p.out = out_kernel.data();
  emu::launch(2, 64, [&] { hvae::vmf_density_kernel<F, Backward, T>(p); });
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_EQ(out_kernel[i], out_host[i]) << i;
    // The host loop itself reads kappa through the transposed strides.
    const int64_t r = i / cols, c = i % cols;
    const double k = double(kappa[c * rows + r]);
    const double want = Backward ? double(grad[i]) * hvae::vmf_density_dkappa<F>(p.c, k)
                                 : hvae::vmf_density_value<F>(p.c, k);
    EXPECT_EQ(out_host[i], T(want)) << i;
  }
}

TEST(VmfDensityEmulatedKernels, OneConcentration) {
  check_density<double, VmfDensityFn::kLogNormalizer, false>(13, 29);
  check_density<float, VmfDensityFn::kLogNormalizerScaled, true>(13, 29);
  check_density<double, VmfDensityFn::kKlUniform, true>(7, 50);
  check_density<float, VmfDensityFn::kEntropy, false>(7, 50);
}

template <typename T, bool Backward>
void check_kl_vmf(int64_t rows, int64_t cols) {
  const int64_t n = rows * cols;
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> unif(-3.0, 5.0), u01(0.0, 2.0);
  std::vector<T> k1(n), k2(cols), d(n), grad(n);
  for (auto& k : k1) k = T(std::pow(10.0, unif(rng)));
  for (auto& k : k2) k = T(std::pow(10.0, unif(rng)));
  for (auto& x : d) x = T(u01(rng));
  for (auto& g : grad) g = T(unif(rng));
  // k1 strided, k2 broadcast along the rows, d and grad contiguous.
  const hvae::OperandLayout layout[4] = {hvae::OperandLayout::kStrided, hvae::OperandLayout::kStrided,
                                         hvae::OperandLayout::kContiguous, hvae::OperandLayout::kContiguous};
  hvae::VmfKlVmfParams<T> p{};
  p.k1 = k1.data();
  p.k2 = k2.data();
  p.d = d.data();
  p.grad = grad.data();
  p.numel = n;
  p.c = hvae::vmf_density_consts(5);
  p.index = index_2d(rows, cols, layout);
  p.index.strides[1][0] = 0;  // k2: [cols], broadcast over rows
  p.index.strides[1][1] = 1;
  std::vector<T> outs[3], host[3];
  for (int j = 0; j < 3; ++j) outs[j].assign(n, T(-12345)), host[j].assign(n, T(0));
  p.out0 = host[0].data();
  p.out1 = Backward ? host[1].data() : nullptr;
  p.out2 = Backward ? host[2].data() : nullptr;
  for (int64_t i = 0; i < n; ++i) hvae::vmf_kl_vmf_apply<Backward, T>(p, i);
  p.out0 = outs[0].data();
  p.out1 = Backward ? outs[1].data() : nullptr;
  p.out2 = Backward ? outs[2].data() : nullptr;
  emu::launch(3, 32, [&] { hvae::vmf_kl_vmf_kernel<Backward, T>(p); });
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = i / cols, c = i % cols;
    const double a = double(k1[c * rows + r]), b = double(k2[c]), dd = double(d[i]);
    EXPECT_EQ(outs[0][i], host[0][i]) << i;
    if (Backward) {
      const hvae::VmfKlVmfGrad g = hvae::vmf_kl_vmf_grad(p.c, a, b, dd);
      EXPECT_EQ(outs[1][i], host[1][i]) << i;
      EXPECT_EQ(outs[2][i], host[2][i]) << i;
      EXPECT_EQ(host[0][i], T(double(grad[i]) * g.k1)) << i;
      EXPECT_EQ(host[2][i], T(double(grad[i]) * g.d)) << i;
    } else {
      EXPECT_EQ(host[0][i], T(hvae::vmf_kl_vmf_value(p.c, a, b, dd))) << i;
    }
  }
}

TEST(VmfDensityEmulatedKernels, KlVmf) {
  check_kl_vmf<double, false>(9, 31);
  check_kl_vmf<float, true>(9, 31);
}

}  // namespace
