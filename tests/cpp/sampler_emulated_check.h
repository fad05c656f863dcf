// The CUDA sampler kernels of csrc/hvae/kernels/vmf_kernels.cuh (thread per
// sample, and warp per tile of samples) run on the host under
// cuda_emulation.h and compared with the per-sample host functions
// vmf_sample_one and vmf_backward_one of csrc/hvae/kernels/vmf_sample.h (what
// the CPU op runs and the Python tests check), for an angle law. Shared by
// test_vmf_kernels_emulated.cpp and test_power_spherical_kernels_emulated.cpp.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "cuda_emulation.h"
#include "sampler_params.h"
#include "hvae/kernels/vmf_kernels.cuh"

namespace sampler_emulated {

struct Case {
  int64_t n, m;
  int grid, threads;
  bool strided;  // loc as every other column of an [n, 2m] array
  int tile;      // samples per warp (warp kernels)
  int64_t batch = 0;  // rows of loc and kappa (sample i uses row i mod batch); 0: n
};

// The backward kernel the glue would pick for m, emulated.
template <typename T, typename Law>
void launch_backward(const Case& c, const hvae::VmfBackwardParams<T>& q) {
  if (q.m >= hvae::kVmfWarpMinDim) {
    emu::launch(c.grid, c.threads, [&] { hvae::vmf_backward_warp_kernel<T, Law>(q, c.tile); });
  } else {
    emu::launch(c.grid, c.threads, [&] { hvae::vmf_backward_thread_kernel<T, Law>(q); });
  }
}

// Law: the angle law (hvae::VmfAngleLaw, hvae::PsAngleLaw). The vMF angle
// does not depend on the normals and must match exactly; the PS angle is
// completed from |n|^2, a sum the warp kernel splits across lanes, so it
// matches to rounding (theta_tol).
template <typename T, typename Law>
void check_case(const Case& c, T tol, T theta_tol) {
  const int64_t m = c.m;
  const int64_t rows = c.batch == 0 ? c.n : c.batch;  // of loc and kappa
  const int64_t n = c.n;
  const int64_t ls1 = c.strided ? 2 : 1;
  std::mt19937_64 rng(static_cast<unsigned>(n * 1009 + m));
  std::uniform_real_distribution<double> unif(-2.0, 6.0);
  std::vector<T> loc(rows * m * ls1), kappa(rows);
  for (int64_t i = 0; i < rows; ++i) {
    std::vector<double> v = sampler_test::random_unit(rng, m);
    if (i == 1) std::fill(v.begin(), v.end(), 0.0), v[0] = -1.0;  // mu = -e1
    for (int64_t j = 0; j < m; ++j) loc[i * m * ls1 + j * ls1] = T(v[j]);
    kappa[i] = i == 2 ? T(0) : T(std::pow(10.0, unif(rng)));
  }
  const hvae::VmfSampleParams<T> p =
      sampler_test::sample_params(loc, kappa, n, m, ls1, c.batch, 0x1234abcdULL, 7);

  std::vector<T> z_host(n * m), th_host(n), z_dev(n * m, T(-9)), th_dev(n, T(-9));
  {
    auto q = p;
    q.z = z_host.data();
    q.theta = th_host.data();
    for (int64_t i = 0; i < n; ++i) hvae::vmf_sample_one<T, Law>(q, i);
  }
  {
    auto q = p;
    q.z = z_dev.data();
    q.theta = th_dev.data();
    const hvae::VmfFixedSeed seed{p.seed, p.offset};
    if (m >= hvae::kVmfWarpMinDim) {
      emu::launch(c.grid, c.threads, [&] { hvae::vmf_sample_warp_kernel<T, hvae::VmfFixedSeed, Law>(q, seed, c.tile); });
    } else {
      emu::launch(c.grid, c.threads, [&] { hvae::vmf_sample_thread_kernel<T, hvae::VmfFixedSeed, Law>(q, seed); });
    }
  }
  for (int64_t i = 0; i < n; ++i) {
    if (theta_tol == T(0)) {
      ASSERT_EQ(th_dev[i], th_host[i]) << "theta " << i;
    } else {
      ASSERT_NEAR(th_dev[i], th_host[i], theta_tol) << "theta " << i;
    }
  }
  for (int64_t e = 0; e < n * m; ++e) ASSERT_NEAR(z_dev[e], z_host[e], tol) << "z " << e;
  // rows i mod batch: the same draws as loc and kappa repeated to n rows
  std::vector<T> loc_rep(n * m * ls1), kappa_rep(n);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < m * ls1; ++j) loc_rep[i * m * ls1 + j] = loc[(i % rows) * m * ls1 + j];
    kappa_rep[i] = kappa[i % rows];
  }
  if (c.batch != 0) {
    auto q = p;
    std::vector<T> z_rep(n * m), th_rep(n);
    q.loc = loc_rep.data();
    q.kappa = kappa_rep.data();
    q.batch = 0;
    q.z = z_rep.data();
    q.theta = th_rep.data();
    for (int64_t i = 0; i < n; ++i) hvae::vmf_sample_one<T, Law>(q, i);
    for (int64_t e = 0; e < n * m; ++e) ASSERT_EQ(z_rep[e], z_host[e]) << "z (repeated loc) " << e;
  }

  std::vector<T> gz(n * m);
  std::normal_distribution<double> normal;
  for (auto& x : gz) x = T(normal(rng));
  hvae::VmfBackwardParams<T> bp{};
  bp.grad_z = gz.data();
  bp.z = z_host.data();
  bp.theta = th_host.data();
  bp.loc = loc.data();
  bp.kappa = kappa.data();
  bp.loc_stride0 = m * ls1;
  bp.loc_stride1 = ls1;
  bp.kappa_stride = 1;
  bp.n = n;
  bp.m = m;
  bp.batch = c.batch;
  std::vector<T> gl_host(n * m), gk_host(n), gl_dev(n * m, T(-9)), gk_dev(n, T(-9));
  {
    auto q = bp;
    q.grad_loc = gl_host.data();
    q.grad_kappa = gk_host.data();
    for (int64_t i = 0; i < n; ++i) hvae::vmf_backward_one<T, Law>(q, i);
  }
  {
    auto q = bp;
    q.grad_loc = gl_dev.data();
    q.grad_kappa = gk_dev.data();
    launch_backward<T, Law>(c, q);
  }
  for (int64_t e = 0; e < n * m; ++e) ASSERT_NEAR(gl_dev[e], gl_host[e], tol) << "grad_loc " << e;
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_NEAR(gk_dev[i], gk_host[i], tol * (T(1) + std::fabs(gk_host[i]))) << "grad_kappa " << i;
  }
  // without the kappa gradient the loc gradient is unchanged
  {
    auto q = bp;
    std::vector<T> gl(n * m, T(-9));
    q.grad_loc = gl.data();
    q.grad_kappa = nullptr;
    launch_backward<T, Law>(c, q);
    for (int64_t e = 0; e < n * m; ++e) ASSERT_EQ(gl[e], gl_dev[e]) << "grad_loc (no kappa) " << e;
  }
  // the host's per-batch-entry sums over the samples (the CPU op with S > 1)
  if (c.batch != 0 && n % rows == 0) {
    const int64_t S = n / rows;
    auto q = bp;
    q.grad_kappa = gk_host.data();  // only tested for null
    std::vector<T> sum(m), row(m);
    for (int64_t b = 0; b < rows; ++b) {
      T gk_sum = T(0);
      hvae::vmf_backward_sum<T, Law>(q, b, 0, S, sum.data(), &gk_sum, row.data());
      T want_k = T(0);
      for (int64_t j = 0; j < m; ++j) {
        T want = T(0);
        for (int64_t s = 0; s < S; ++s) want += gl_host[(s * rows + b) * m + j];
        ASSERT_NEAR(sum[j], want, tol * S) << "summed grad_loc b " << b << " j " << j;
      }
      for (int64_t s = 0; s < S; ++s) want_k += gk_host[s * rows + b];
      ASSERT_NEAR(gk_sum, want_k, tol * S * (T(1) + std::fabs(want_k))) << "summed grad_kappa b " << b;
    }
  }
}

inline std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  return "n" + std::to_string(c.n) + "m" + std::to_string(c.m) + "g" + std::to_string(c.grid) +
         "t" + std::to_string(c.threads) + (c.strided ? "_strided" : "_contiguous") + "_tile" +
         std::to_string(c.tile) + (c.batch != 0 ? "_batch" + std::to_string(c.batch) : "");
}

}  // namespace sampler_emulated
