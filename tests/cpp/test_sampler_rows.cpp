// The CPU samplers' loop over blocks of rows (vmf_sample_range and
// vmf_sample_rows of csrc/hvae/kernels/vmf_sample.h: the draws, the normals
// and the angles of up to kVmfSampleRows samples together) against
// vmf_sample_one a sample at a time (what CUDA runs): the same z and theta,
// bit for bit, for both angle laws. Covered: every m where the normals are
// taken by rows and some where they are not, partial blocks and an unaligned
// first row, sample rows (batch), strided loc, and kappa = 0, inf, NaN, < 0,
// and the Power Spherical's alpha < 1 (m = 2, kappa < 1/2), whose Gamma
// draws leave the rows' first try for ps_draw. This is the baseline build;
// the AVX2 build's words are tested in test_philox_avx2.cpp, and the two
// builds' ops against each other in Python.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "sampler_params.h"

namespace {

template <typename T>
bool same_bits(T a, T b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

template <typename T, typename Law>
void expect_rows_equal_one(int64_t m, int64_t n, int64_t begin, int64_t batch, bool strided,
                           double log10_kappa_lo = -3.0, double log10_kappa_hi = 6.0) {
  const int64_t rows = batch == 0 ? n : batch, ls1 = strided ? 2 : 1;
  std::mt19937_64 rng(static_cast<unsigned>(m * 131 + n + batch));
  std::uniform_real_distribution<double> unif(log10_kappa_lo, log10_kappa_hi);
  std::vector<T> loc(rows * m * ls1, T(0)), kappa(rows);
  const double special[] = {0.0, 1e-3, 0.3, 1.0, HUGE_VAL, std::nan(""), -1.0, 1e6};
  for (int64_t i = 0; i < rows; ++i) {
    const std::vector<double> v = sampler_test::random_unit(rng, m);
    for (int64_t j = 0; j < m; ++j) loc[i * m * ls1 + j * ls1] = T(v[j]);
    kappa[i] = i % 5 == 1 ? T(special[(i / 5) % 8]) : T(std::pow(10.0, unif(rng)));
  }
  const hvae::VmfSampleParams<T> p =
      sampler_test::sample_params(loc, kappa, n, m, ls1, batch, 0x9e3779b97f4a7c15ULL, 11);
  std::vector<T> z_one(n * m, T(-7)), th_one(n, T(-7)), z_rows(n * m, T(-7)), th_rows(n, T(-7));
  auto q = p;
  q.z = z_one.data();
  q.theta = th_one.data();
  for (int64_t i = begin; i < n; ++i) hvae::vmf_sample_one<T, Law>(q, i);
  q.z = z_rows.data();
  q.theta = th_rows.data();
  hvae::vmf_sample_range<T, Law>(q, begin, n);
  int bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    bool ok = same_bits(th_one[i], th_rows[i]);
    for (int64_t j = 0; j < m; ++j) ok = ok && same_bits(z_one[i * m + j], z_rows[i * m + j]);
    if (!ok && ++bad <= 3) {
      ADD_FAILURE() << "m=" << m << " row " << i << " kappa " << kappa[batch == 0 ? i : i % batch]
                    << " theta " << th_one[i] << " vs " << th_rows[i];
    }
  }
  EXPECT_EQ(bad, 0) << "m=" << m << " n=" << n << " batch=" << batch;
}

template <typename T, typename Law>
void expect_all_rows_equal_one() {
  for (int64_t m : {2, 3, 4, 5, 6, 16, 17, 24, 25, 32, 33, 48, 49, 64, 300}) {
    expect_rows_equal_one<T, Law>(m, 37, 0, 0, false);
    expect_rows_equal_one<T, Law>(m, 45, 3, 0, true);
    expect_rows_equal_one<T, Law>(m, 40, 5, 7, false);
  }
  // kappa in [0.3, 3] at m = 2, 3: the Gamma's shape near 1, where
  // Marsaglia-Tsang rejects most often (~5% of first tries)
  for (int64_t m : {2, 3}) expect_rows_equal_one<T, Law>(m, 2000, 0, 0, false, -0.5, 0.5);
}

TEST(SamplerRows, VmfFloat) { expect_all_rows_equal_one<float, hvae::VmfAngleLaw>(); }
TEST(SamplerRows, VmfDouble) { expect_all_rows_equal_one<double, hvae::VmfAngleLaw>(); }
TEST(SamplerRows, PowerSphericalFloat) { expect_all_rows_equal_one<float, hvae::PsAngleLaw>(); }
TEST(SamplerRows, PowerSphericalDouble) { expect_all_rows_equal_one<double, hvae::PsAngleLaw>(); }

}  // namespace
