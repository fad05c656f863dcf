// The CUDA kernels of csrc/hvae/kernels/sylvester_kernels.cuh run on the host
// under the emulation of the CUDA execution model in cuda_emulation.h, and
// compared with the per-sample host functions of
// csrc/hvae/sylvester.h, which the Python tests check against the reference.
// This checks the kernels' indexing, ownership and synchronisation on
// machines without a GPU; it says nothing about their speed.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "cuda_emulation.h"
#include "hvae/kernels/sylvester_kernels.cuh"

namespace hvae {
// the kernels' `extern __shared__` buffer (one block runs at a time)
alignas(16) unsigned char smem_raw[1 << 20];
}  // namespace hvae

namespace {

// Runs `body` as grid x kSylvesterThreads emulated threads, one block at a time.
void launch(int grid, const std::function<void()>& body) {
  // garbage in shared memory, as on a GPU
  emu::launch(grid, hvae::kSylvesterThreads, body,
              [] { std::memset(hvae::smem_raw, 0xff, sizeof(hvae::smem_raw)); });
}

struct Case {
  int64_t B, K, D;
  bool packed, shared, diag_tanh, per_step;
  int grid;
  int slots;  // ring slots of the factor triangles (0: read from global memory)
  int skew;   // elements the factors start past an aligned allocation (16-byte copies' edges)
  int64_t S = 1;       // samples per data point: z [S, B, D], rows n = s B + b
  int64_t chunks = 1;  // forward: blocks per data point's samples (divides S)
};

class EmulatedKernels : public ::testing::TestWithParam<Case> {};

TEST_P(EmulatedKernels, MatchHostFunctions) {
  const Case c = GetParam();
  const int64_t B = c.B, K = c.K, D = c.D, S = c.S, N = c.S * c.B;
  // with samples the gradient rows of b are summed over its rows (accumulated)
  const bool accumulate = c.shared || S > 1;
  const int64_t F = hvae::sylvester_factor_size(D, c.packed);
  const int64_t PB = c.shared ? 1 : B;  // parameter batch
  std::mt19937_64 rng(static_cast<unsigned>(B * 131 + D * 7 + K));
  std::normal_distribution<double> normal;
  std::vector<double> z(N * D), r1_store(PB * K * F + c.skew), r2_store(PB * K * F + c.skew), b(PB * K * D);
  double* r1 = r1_store.data() + c.skew;
  double* r2 = r2_store.data() + c.skew;
  for (auto& x : z) x = normal(rng);
  for (int64_t e = 0; e < PB * K * F; ++e) r1[e] = normal(rng) / std::sqrt(double(D));
  for (int64_t e = 0; e < PB * K * F; ++e) r2[e] = normal(rng) / std::sqrt(double(D));
  for (auto& x : b) x = normal(rng);
  // positive diagonals: R1_ii R2_ii > 0, so every step is invertible
  for (int64_t m = 0; m < PB * K; ++m) {
    for (int64_t i = 0; i < D; ++i) {
      const int64_t at = m * F + hvae::sylvester_row_offset(i, D, D, c.packed);
      r1[at] = std::fabs(r1[at]);
      r2[at] = std::fabs(r2[at]);
    }
  }

  hvae::SylvesterParams<double> p{};
  p.batch = B;
  p.samples = S;
  p.sample_chunks = c.chunks;
  p.num_flows = K;
  p.dim = D;
  p.packed = c.packed;
  p.diag_tanh = c.diag_tanh;
  p.per_step_logdet = c.per_step;
  for (int64_t k = 0; k < K; ++k) {
    if (k % 2 == 1) p.flips.words[k >> 5] |= 1u << (k & 31);
  }
  p.z = z.data();
  p.z_sample_stride = B * D;
  p.z_batch_stride = D;
  p.z_dim_stride = 1;
  p.r1 = {r1, c.shared ? 0 : K * F, F, c.packed ? 0 : D};
  p.r2 = {r2, c.shared ? 0 : K * F, F, c.packed ? 0 : D};
  p.b = b.data();
  p.b_batch_stride = c.shared ? 0 : K * D;
  p.b_step_stride = D;
  p.b_dim_stride = 1;
  const int64_t L = c.per_step ? N * K : N;

  // forward: host reference, then the emulated kernel
  std::vector<double> z_host(N * D), ld_host(L), zs_host(N * K * D), as_host(N * K * D);
  {
    auto q = p;
    q.z_out = z_host.data();
    q.logdet = ld_host.data();
    q.zs = zs_host.data();
    q.as = as_host.data();
    std::vector<double> w(3 * D);
    for (int64_t n = 0; n < N; ++n) hvae::sylvester_forward_sample(q, n, w.data(), w.data() + D, w.data() + 2 * D);
  }
  std::vector<double> z_dev(N * D, -1), ld_dev(L, -1), zs_dev(N * K * D, -1), as_dev(N * K * D, -1);
  {
    auto q = p;
    q.z_out = z_dev.data();
    q.logdet = ld_dev.data();
    q.zs = zs_dev.data();
    q.as = as_dev.data();
    if (c.slots == 4) {
      launch(c.grid, [&] { hvae::sylvester_forward_kernel<4, double>(q); });
    } else if (c.slots == 2) {
      launch(c.grid, [&] { hvae::sylvester_forward_kernel<2, double>(q); });
    } else {
      launch(c.grid, [&] { hvae::sylvester_forward_kernel<0, double>(q); });
    }
  }
  for (int64_t i = 0; i < N * D; ++i) EXPECT_NEAR(z_dev[i], z_host[i], 1e-13) << "z_out " << i;
  for (int64_t i = 0; i < L; ++i) EXPECT_NEAR(ld_dev[i], ld_host[i], 1e-13) << "logdet " << i;
  for (int64_t i = 0; i < N * K * D; ++i) {
    EXPECT_NEAR(zs_dev[i], zs_host[i], 1e-13) << "z_steps " << i;
    EXPECT_NEAR(as_dev[i], as_host[i], 1e-13) << "a_steps " << i;
  }

  // backward
  std::vector<double> gz_in(N * D), gl_in(L);
  for (auto& x : gz_in) x = normal(rng);
  for (auto& x : gl_in) x = normal(rng);
  hvae::SylvesterBackwardParams<double> bp{};
  bp.fwd = p;
  bp.fwd.sample_chunks = 1;  // the backward: one block per data point's rows
  bp.grad_z_out = gz_in.data();
  bp.gz_sample_stride = B * D;
  bp.gz_batch_stride = D;
  bp.gz_dim_stride = 1;
  bp.grad_logdet = gl_in.data();
  bp.gl_sample_stride = c.per_step ? B * K : B;
  bp.gl_batch_stride = c.per_step ? K : 1;
  bp.gl_step_stride = c.per_step ? 1 : 0;
  bp.zs = zs_host.data();
  bp.as = as_host.data();
  bp.grad_r1_batch_stride = c.shared ? 0 : K * F;
  bp.grad_r2_batch_stride = c.shared ? 0 : K * F;
  bp.grad_b_batch_stride = c.shared ? 0 : K * D;

  // host: one accumulator for shared parameters (zeroed), stored otherwise
  std::vector<double> g1_host(PB * K * F, 0.0), g2_host(PB * K * F, 0.0), gb_host(PB * K * D, 0.0), gz_host(N * D);
  {
    auto q = bp;
    q.grad_z = gz_host.data();
    q.grad_r1 = g1_host.data();
    q.grad_r2 = g2_host.data();
    q.grad_b = gb_host.data();
    std::vector<double> w(10 * D);
    for (int64_t n = 0; n < N; ++n) {
      double* s = w.data();
      if (accumulate) {
        hvae::sylvester_backward_sample<true>(q, n, s, s + D, s + 2 * D, s + 3 * D, s + 4 * D, s + 5 * D, s + 6 * D);
      } else {
        hvae::sylvester_backward_sample<false>(q, n, s, s + D, s + 2 * D, s + 3 * D, s + 4 * D, s + 5 * D, s + 6 * D);
      }
    }
  }
  // device: shared gradients in one slice per block, summed afterwards; the
  // stored (per-sample) buffers start as garbage, as at::empty gives them
  const int64_t slices = c.shared ? c.grid : B;
  const double fill = accumulate ? 0.0 : 7.0;
  std::vector<double> g1_dev(slices * K * F, fill), g2_dev(slices * K * F, fill);
  std::vector<double> gb_dev(slices * K * D, fill), gz_dev(N * D, -1);
  {
    auto q = bp;
    q.grad_z = gz_dev.data();
    q.grad_r1 = g1_dev.data();
    q.grad_r2 = g2_dev.data();
    q.grad_b = gb_dev.data();
    auto run = [&](auto accumulate) {
      constexpr bool kAccumulate = decltype(accumulate)::value;
      if (c.slots == 4) {
        launch(c.grid, [&] { hvae::sylvester_backward_kernel<kAccumulate, 4, double>(q); });
      } else if (c.slots == 2) {
        launch(c.grid, [&] { hvae::sylvester_backward_kernel<kAccumulate, 2, double>(q); });
      } else {
        launch(c.grid, [&] { hvae::sylvester_backward_kernel<kAccumulate, 0, double>(q); });
      }
    };
    if (accumulate) {
      run(std::true_type{});
    } else {
      run(std::false_type{});
    }
  }
  auto reduce = [&](const std::vector<double>& v, int64_t per) {
    if (!c.shared) return v;
    std::vector<double> out(per, 0.0);
    for (int64_t s = 0; s < slices; ++s)
      for (int64_t i = 0; i < per; ++i) out[i] += v[s * per + i];
    return out;
  };
  const auto g1 = reduce(g1_dev, K * F), g2 = reduce(g2_dev, K * F), gb = reduce(gb_dev, K * D);
  for (int64_t i = 0; i < N * D; ++i) EXPECT_NEAR(gz_dev[i], gz_host[i], 1e-12) << "grad_z " << i;
  for (int64_t i = 0; i < PB * K * F; ++i) {
    EXPECT_NEAR(g1[i], g1_host[i], 1e-12) << "grad_r1 " << i;
    EXPECT_NEAR(g2[i], g2_host[i], 1e-12) << "grad_r2 " << i;
  }
  for (int64_t i = 0; i < PB * K * D; ++i) EXPECT_NEAR(gb[i], gb_host[i], 1e-12) << "grad_b " << i;

  // inverse: one emulated thread per sample
  std::vector<double> back(N * D, -1), work(N * 3 * D);
  {
    auto q = p;
    q.z = z_host.data();
    q.z_out = back.data();
    launch(1, [&] { hvae::sylvester_inverse_kernel<double>(q, work.data()); });
  }
  for (int64_t i = 0; i < N * D; ++i) EXPECT_NEAR(back[i], z[i], 1e-10) << "inverse " << i;
}

INSTANTIATE_TEST_SUITE_P(
    Sylvester, EmulatedKernels,
    ::testing::Values(
        // B, K, D, packed, shared, diag_tanh, per_step, grid, slots, skew
        Case{3, 3, 1, false, false, false, false, 3, 0, 0}, Case{3, 3, 1, true, true, true, true, 2, 2, 1},
        Case{4, 3, 5, false, false, true, false, 2, 4, 0}, Case{4, 3, 5, true, false, false, true, 4, 0, 0},
        Case{5, 2, 7, false, true, false, true, 2, 0, 1}, Case{5, 2, 7, true, true, true, false, 3, 4, 1},
        Case{5, 2, 7, false, true, true, true, 2, 2, 0}, Case{5, 2, 7, true, false, false, false, 3, 2, 0},
        Case{7, 3, 6, true, false, true, false, 2, 4, 1}, Case{6, 1, 9, true, false, false, true, 4, 2, 1},
        Case{2, 2, 33, true, false, true, true, 2, 0, 0}, Case{3, 2, 33, false, true, false, false, 2, 4, 0},
        Case{2, 2, 130, false, false, false, true, 2, 2, 0}, Case{2, 2, 130, true, true, true, false, 1, 0, 0},
        Case{3, 2, 130, true, false, true, false, 2, 4, 1},
        // sample dimensions: S rows per data point, the forward's rows in
        // `chunks` blocks per data point, the backward accumulating b's rows
        Case{3, 3, 5, true, false, false, false, 2, 4, 1, 4, 2}, Case{2, 2, 7, false, false, true, true, 3, 2, 0, 3, 3},
        Case{3, 2, 6, true, true, false, true, 2, 0, 0, 2, 1}, Case{1, 3, 33, true, false, true, false, 2, 4, 1, 5, 1},
        Case{2, 1, 9, false, false, false, false, 1, 0, 0, 4, 4}),
    [](const ::testing::TestParamInfo<Case>& info) {
      const Case& c = info.param;
      return "B" + std::to_string(c.B) + "K" + std::to_string(c.K) + "D" + std::to_string(c.D) +
             (c.packed ? "_packed" : "_dense") + (c.shared ? "_shared" : "_batched") +
             (c.diag_tanh ? "_tanh" : "_plain") + (c.per_step ? "_perstep" : "_sum") + "_grid" +
             std::to_string(c.grid) + "_slots" + std::to_string(c.slots) + "_skew" + std::to_string(c.skew) +
             (c.S != 1 ? "_S" + std::to_string(c.S) + "c" + std::to_string(c.chunks) : "");
    });

}  // namespace
