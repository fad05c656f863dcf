// The CPU block path of log_iv / log_ive (hvae/kernels/bessel_block_cpu.h)
// against the per-element bessel_eval it replaces on the CPU: every region,
// its term-count buckets, mixed orders within a block, partial blocks and the
// values that must fall back (0, inf, NaN, negative, extreme x/v). The two
// differ only by rounding (a log of a few ulp, 1/k as a product); both carry
// errors up to ~1e-14 where the shifted recurrence cancels (|log I| < 1 near
// x = 8, v ~ 12), so they must agree within the accuracy target itself
// (2e-14 / 1e-5 times max(1, |value|)); non-finite results must be identical. Accuracy against mpmath is
// tests/test_bessel_accuracy.py, through the op.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "hvae/kernels/bessel_block_cpu.h"

namespace {

template <typename T, bool kIv>
std::vector<T> block_eval(const std::vector<T>& v, const std::vector<T>& x, int block) {
  std::vector<T> out(v.size());
  for (size_t b = 0; b < v.size(); b += block) {
    const int n = static_cast<int>(std::min<size_t>(block, v.size() - b));
    hvae::bessel_block::log_iv_block<T, kIv>(v.data() + b, x.data() + b, out.data() + b, n);
  }
  return out;
}

template <typename T, bool kIv>
void expect_matches_scalar(const std::vector<T>& v, const std::vector<T>& x, int block, double tol) {
  constexpr int kWhat = kIv ? hvae::bessel_detail::kLogIv : hvae::bessel_detail::kLogIve;
  const std::vector<T> got = block_eval<T, kIv>(v, x, block);
  int bad = 0;
  for (size_t i = 0; i < v.size() && bad < 5; ++i) {
    const T want = hvae::bessel_detail::bessel_eval<T, kWhat>(v[i], x[i]);
    if (!std::isfinite(want)) {
      const bool same = std::isnan(want) ? std::isnan(got[i]) : got[i] == want;
      if (!same) ++bad;
      EXPECT_TRUE(same) << "v=" << v[i] << " x=" << x[i] << " got " << got[i] << " want " << want;
      continue;
    }
    const double err = std::fabs(double(got[i]) - double(want)) / std::fmax(1.0, std::fabs(double(want)));
    if (!(err <= tol)) ++bad;
    EXPECT_LE(err, tol) << (kIv ? "log_iv" : "log_ive") << " v=" << v[i] << " x=" << x[i]
                        << " got " << got[i] << " want " << want;
  }
}

// Orders from every region and bucket, x log-uniform over the whole range.
template <typename T>
void random_points(std::vector<T>& v, std::vector<T>& x, int n, uint64_t seed, bool one_order) {
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const double orders[] = {0.0, 0.5, 1.0, 4.0, 7.999, 8.0, 11.5, 12.0, 23.99, 24.0, 31.0,
                           32.0, 39.5, 40.0, 99.5, 100.0, 149.0, 150.0, 299.5, 300.0, 499.0,
                           999.0, 1000.0, 4999.0, 5000.0, 1e4, 3e4};
  const double fixed = orders[seed % (sizeof(orders) / sizeof(orders[0]))];
  for (int i = 0; i < n; ++i) {
    double vi = one_order ? fixed
                : u(g) < 0.5 ? orders[static_cast<int>(u(g) * (sizeof(orders) / sizeof(orders[0])))]
                             : 40.0 * u(g);
    double xi = std::pow(10.0, -12.0 + 19.0 * u(g));
    if (u(g) < 0.2) xi = vi * (0.6627434193491816 + 0.5 * (u(g) - 0.5));  // the eta-zero band
    v.push_back(static_cast<T>(vi));
    x.push_back(static_cast<T>(xi));
  }
}

template <typename T>
void edge_points(std::vector<T>& v, std::vector<T>& x) {
  const T inf = std::numeric_limits<T>::infinity(), nan = std::numeric_limits<T>::quiet_NaN();
  const T tiny = std::numeric_limits<T>::denorm_min(), small = std::numeric_limits<T>::min();
  const T big = std::numeric_limits<T>::max();
  for (T vi : {T(0), T(0.5), T(4), T(31), T(499), T(1e4), T(1e30), inf, nan, T(-1)}) {
    for (T xi : {T(0), tiny, small, T(1e-20), T(1), T(8), T(30), T(1e6), T(1e30), big, inf, nan,
                 T(-1)}) {
      v.push_back(vi);
      x.push_back(xi);
    }
  }
}

template <typename T>
void run_all(double tol) {
  for (uint64_t seed = 0; seed < 40; ++seed) {
    std::vector<T> v, x;
    random_points(v, x, 1000, seed, seed % 2 == 0);
    for (int block : {hvae::bessel_block::kBlock, 1, 7}) {
      expect_matches_scalar<T, true>(v, x, block, tol);
      expect_matches_scalar<T, false>(v, x, block, tol);
    }
  }
  std::vector<T> v, x;
  edge_points(v, x);
  expect_matches_scalar<T, true>(v, x, hvae::bessel_block::kBlock, tol);
  expect_matches_scalar<T, false>(v, x, hvae::bessel_block::kBlock, tol);
}

TEST(BesselBlock, MatchesScalarDouble) { run_all<double>(2e-14); }
TEST(BesselBlock, MatchesScalarFloat) { run_all<float>(1e-5); }

}  // namespace
