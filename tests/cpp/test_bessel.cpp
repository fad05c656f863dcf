// Host-side spot checks of csrc/hvae/bessel.h (the full mpmath comparison is
// tests/test_bessel_accuracy.py, through the extension ops).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "hvae/bessel.h"

namespace {

struct Spot {
  double v, x, log_iv, ratio;  // mpmath, 40 digits
};

// log I_v(x) and I_{v+1}(x)/I_v(x) from mpmath.besseli (mp.dps = 40)
constexpr Spot kSpots[] = {
    {0.0, 1.0, 0.23591435850717864869, 0.44638996589653450705},
    {0.5, 10.0, 7.9297689182371507916, 0.90000000412230725337},
    {3.5, 0.01, -20.997841798207820796, 0.0011111099887785739832},
    {31.0, 100.0, 91.988975079706840893, 0.73238019409658213679},
    {499.0, 1000.0, 873.48051327608122765, 0.61818681291010495934},
};

TEST(Bessel, SpotValuesDouble) {
  for (const Spot& s : kSpots) {
    EXPECT_NEAR(hvae::log_iv(s.v, s.x), s.log_iv, 2e-14 * std::fmax(1.0, std::fabs(s.log_iv)))
        << "v=" << s.v << " x=" << s.x;
    EXPECT_NEAR(hvae::log_ive(s.v, s.x), s.log_iv - s.x,
                2e-14 * std::fmax(1.0, std::fabs(s.log_iv - s.x)));
    EXPECT_NEAR(hvae::iv_ratio(s.v, s.x), s.ratio, 2e-15 * s.ratio) << "v=" << s.v << " x=" << s.x;
    const double r = s.ratio;
    EXPECT_NEAR(hvae::log_iv_dx(s.v, s.x), r + s.v / s.x, 1e-14 * (r + s.v / s.x));
  }
}

TEST(Bessel, SpotValuesFloat) {
  for (const Spot& s : kSpots) {
    const float v = static_cast<float>(s.v), x = static_cast<float>(s.x);
    if (static_cast<double>(v) != s.v || static_cast<double>(x) != s.x) continue;
    EXPECT_NEAR(hvae::log_iv(v, x), s.log_iv, 1e-5 * std::fmax(1.0, std::fabs(s.log_iv)));
    EXPECT_NEAR(hvae::iv_ratio(v, x), s.ratio, 5e-7 * s.ratio);
  }
}

TEST(Bessel, DerivativesConsistent) {
  // finite differences of the values (loose: checks signs and formulas)
  for (double v : {0.0, 0.5, 2.0, 10.0, 31.5, 40.0, 700.0}) {
    for (double x : {0.05, 1.0, 3.0, 7.0, 9.0, 30.0, 500.0, 4000.0}) {
      const double h = 1e-5 * x;
      const double d1 = (hvae::log_iv(v, x + h) - hvae::log_iv(v, x - h)) / (2 * h);
      const double d2 = (hvae::iv_ratio(v, x + h) - hvae::iv_ratio(v, x - h)) / (2 * h);
      EXPECT_NEAR(hvae::log_iv_dx(v, x), d1, 1e-6 * std::fabs(d1) + 1e-9) << v << " " << x;
      EXPECT_NEAR(hvae::log_ive_dx(v, x), d1 - 1, 1e-6 * std::fabs(d1) + 1e-9) << v << " " << x;
      EXPECT_NEAR(hvae::iv_ratio_dx(v, x), d2, 1e-5 * std::fabs(d2) + 1e-12) << v << " " << x;
    }
  }
}

TEST(Bessel, SpecialValues) {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(hvae::log_iv(0.0, 0.0), 0.0);
  EXPECT_EQ(hvae::log_iv(1.5, 0.0), -inf);
  EXPECT_EQ(hvae::log_ive(2.0, inf), -inf);
  EXPECT_EQ(hvae::log_iv(2.0, inf), inf);
  EXPECT_EQ(hvae::iv_ratio(2.0, 0.0), 0.0);
  EXPECT_EQ(hvae::iv_ratio(2.0, inf), 1.0);
  EXPECT_EQ(hvae::iv_ratio_dx(1.0, 0.0), 0.25);
  EXPECT_EQ(hvae::log_ive_dx(0.0, 0.0), -1.0);
  EXPECT_EQ(hvae::log_iv_dx(0.0, 0.0), 0.0);
  EXPECT_EQ(hvae::log_iv_dx(3.0, 0.0), inf);
  EXPECT_TRUE(std::isnan(hvae::log_iv(-1.0, 1.0)));
  EXPECT_TRUE(std::isnan(hvae::log_iv(1.0, -1.0)));
  EXPECT_TRUE(std::isnan(hvae::iv_ratio(nan, 1.0)));
  EXPECT_TRUE(std::isnan(hvae::log_ive_dx(1.0, nan)));
  EXPECT_TRUE(std::isnan(hvae::iv_ratio_dx(1.0f, std::numeric_limits<float>::quiet_NaN())));
}

TEST(Bessel, FiniteEverywhere) {
  for (double v : {0.0, 1e-6, 0.5, 7.9, 11.99, 12.0, 23.99, 24.0, 31.99, 32.0, 1e3, 1e4}) {
    for (double x = 1e-10; x < 1e300; x *= 7.3) {
      const float vf = static_cast<float>(v), xf = static_cast<float>(x);
      EXPECT_TRUE(std::isfinite(hvae::log_iv(v, x)) && std::isfinite(hvae::log_ive(v, x)) &&
                  std::isfinite(hvae::iv_ratio(v, x)) && std::isfinite(hvae::log_iv_dx(v, x)) &&
                  std::isfinite(hvae::log_ive_dx(v, x)) && std::isfinite(hvae::iv_ratio_dx(v, x)))
          << "double v=" << v << " x=" << x;
      if (x < 3e38) {
        EXPECT_TRUE(std::isfinite(hvae::log_iv(vf, xf)) && std::isfinite(hvae::log_ive(vf, xf)) &&
                    std::isfinite(hvae::iv_ratio(vf, xf)) && std::isfinite(hvae::log_iv_dx(vf, xf)) &&
                    std::isfinite(hvae::log_ive_dx(vf, xf)) &&
                    std::isfinite(hvae::iv_ratio_dx(vf, xf)))
            << "float v=" << v << " x=" << x;
      }
    }
  }
}

}  // namespace
