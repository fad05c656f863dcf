// Host-side checks of csrc/hvae/iv_ratio_inverse.h: the bracket, the round
// trip, the evaluation count and the edge conventions (the mpmath comparison
// over the whole domain is tests/test_iv_ratio_inverse.py, through the op).
#include <gtest/gtest.h>

#include <cmath>
#include <initializer_list>
#include <limits>
#include <vector>

#include "hvae/iv_ratio_inverse.h"

namespace {

using hvae::bessel_detail::invert_ratio_bound;
using hvae::bessel_detail::iv_ratio_inverse_impl;

struct Spot {
  double v, x, ratio;  // I_{v+1}(x)/I_v(x) from mpmath.besseli (mp.dps = 40)
};
constexpr Spot kSpots[] = {
    {0.0, 1.0, 0.44638996589653450705},
    {0.5, 10.0, 0.90000000412230725337},
    {3.5, 0.01, 0.0011111099887785739832},
    {31.0, 100.0, 0.73238019409658213679},
    {499.0, 1000.0, 0.61818681291010495934},
};

std::vector<double> orders() {
  std::vector<double> v = {0.0};
  for (int i = 0; i <= 28; ++i) v.push_back(std::pow(10.0, -3.0 + 7.0 * i / 28));
  return v;
}

// r log-spaced in [1e-10, 1) and 1 - r log-spaced in [1e-12, 0.5].
std::vector<double> ratios() {
  std::vector<double> r;
  for (int i = 0; i <= 40; ++i) r.push_back(std::pow(10.0, -10.0 + 10.0 * i / 40) * 0.999);
  for (int i = 0; i <= 40; ++i) r.push_back(1.0 - std::pow(10.0, -12.0 + 11.7 * i / 40));
  return r;
}

TEST(IvRatioInverse, BracketHoldsAtMpmathValues) {
  for (const Spot& s : kSpots) {
    const double a = s.v + 0.5, k = (s.v + 1.5) / a, om = 1.0 - s.ratio;
    EXPECT_LE(invert_ratio_bound(a, k, s.ratio, om), s.x * (1 + 1e-15)) << "v=" << s.v;
    EXPECT_GE(invert_ratio_bound(a, k * k, s.ratio, om), s.x * (1 - 1e-15)) << "v=" << s.v;
  }
}

TEST(IvRatioInverse, MatchesMpmathWithinConditioning) {
  for (const Spot& s : kSpots) {
    // relative error of x = relative error of r (~2e-15 for iv_ratio) times
    // the condition number (r/x) dx/dr = r / (x R')
    const double cond = s.ratio / (s.x * hvae::iv_ratio_dx(s.v, s.x));
    EXPECT_NEAR(hvae::iv_ratio_inverse(s.v, s.ratio), s.x, 4e-15 * cond * s.x) << "v=" << s.v;
  }
}

TEST(IvRatioInverse, RoundTripAndEvaluationCount) {
  int worst_evals = 0;
  double worst = 0.0;
  for (double v : orders()) {
    for (double r : ratios()) {
      int evals = 0;
      const double x = iv_ratio_inverse_impl(v, r, &evals);
      worst_evals = evals > worst_evals ? evals : worst_evals;
      const double err = std::fabs(hvae::iv_ratio(v, x) - r) / r;
      worst = err > worst ? err : worst;
      EXPECT_LE(err, 1e-14) << "v=" << v << " r=" << r;
    }
  }
  // kMaxIter (12) is a cost bound only: the bracket and the clamp keep it at 5.
  EXPECT_LE(worst_evals, 5);
  EXPECT_LE(worst, 2e-15);
}

TEST(IvRatioInverse, FloatRoundsTheDoubleSolution) {
  for (double v : orders()) {
    for (double r : ratios()) {
      const float vf = static_cast<float>(v), rf = static_cast<float>(r);
      if (!(rf > 0.0f && rf < 1.0f)) continue;
      EXPECT_EQ(hvae::iv_ratio_inverse(vf, rf),
                static_cast<float>(hvae::iv_ratio_inverse(double(vf), double(rf))));
    }
  }
}

TEST(IvRatioInverse, SpecialValues) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(hvae::iv_ratio_inverse(2.0, 0.0), 0.0);
  EXPECT_EQ(hvae::iv_ratio_inverse(0.0, 0.0), 0.0);
  for (double r : {-1e-300, -0.5, 1.0, 1.5, inf, nan}) {
    EXPECT_TRUE(std::isnan(hvae::iv_ratio_inverse(1.5, r))) << r;
  }
  EXPECT_TRUE(std::isnan(hvae::iv_ratio_inverse(-0.5, 0.3)));
  EXPECT_TRUE(std::isnan(hvae::iv_ratio_inverse(nan, 0.3)));
  EXPECT_TRUE(std::isnan(hvae::iv_ratio_inverse(-0.5f, 0.3f)));
  EXPECT_EQ(hvae::iv_ratio_inverse(inf, 0.3), inf);
  // dx/dr at x = 0 is 1 / R'(0) = 2 (v + 1)
  EXPECT_EQ(hvae::iv_ratio_inverse_dr(1.0, 0.0), 4.0);
  EXPECT_EQ(hvae::iv_ratio_inverse_dr(1.0f, 0.0f), 4.0f);
  // a subnormal r: x ~ r (2v + 2)
  EXPECT_NEAR(hvae::iv_ratio_inverse(1.0, 1e-310), 4e-310, 1e-323);
  EXPECT_GT(hvae::iv_ratio_inverse(0.0, std::numeric_limits<double>::denorm_min()), 0.0);
}

TEST(IvRatioInverse, DerivativeMatchesFiniteDifference) {
  for (double v : {0.0, 0.5, 3.0, 40.0, 700.0}) {
    for (double r : {1e-3, 0.2, 0.6, 0.9, 0.999}) {
      const double h = 1e-6 * (1.0 - r) * r;
      const double fd =
          (hvae::iv_ratio_inverse(v, r + h) - hvae::iv_ratio_inverse(v, r - h)) / (2 * h);
      const double x = hvae::iv_ratio_inverse(v, r);
      EXPECT_NEAR(hvae::iv_ratio_inverse_dr(v, x), fd, 1e-6 * fd) << "v=" << v << " r=" << r;
    }
  }
}

}  // namespace
