// Tests of csrc/hvae/vmf.h: the stable envelope b and 1 - b, the
// cancellation-free 1 - w and acceptance test against long double versions
// of Wood's formulas, the m = 3 inverse CDF, the Householder rotation, and
// d theta / d kappa against a brute-force long double integral.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "hvae/vmf.h"
#include "hvae/vmf_grad.h"

namespace {

using ld = long double;

ld rel(ld a, ld b) { return std::fabs(a - b) / std::fabs(b); }

TEST(VmfMath, WoodBMatchesDefinition) {
  for (double m : {2.0, 3.0, 5.0, 64.0, 1e4}) {
    for (double k : {1e-6, 1e-2, 1.0, 30.0, 1e4, 1e8}) {
      const double b = hvae::vmf_wood_b(m, k);
      const ld h = std::sqrt(4 * ld(k) * k + ld(m - 1) * (m - 1));
      const ld bl = ld(m - 1) / (2 * ld(k) + h);
      EXPECT_LT(rel(b, bl), 4e-16) << m << " " << k;
      // 1 - b: long double's own 1 - bl cancels as well (to ~1e-19 / (1 - b)).
      const double omb = hvae::vmf_wood_one_minus_b(m, k, b);
      const ld omb_ref = (2 * ld(k) + h - ld(m - 1)) / (2 * ld(k) + h);
      EXPECT_LT(rel(omb, omb_ref), 4e-16 + 1e-19 / double(omb_ref)) << m << " " << k;
    }
  }
  // float: kappa = 1e8, m = 1e4 stays finite and accurate.
  const float bf = hvae::vmf_wood_b(1e4f, 1e8f);
  EXPECT_LT(rel(bf, 9999.0L / (2e8L + std::sqrt(4e16L + 9999.0L * 9999.0L))), 2e-7);
}

TEST(VmfMath, AcceptanceEqualsWoodsTest) {
  // (m-1) log1pmx(s-1) == kappa w + (m-1) log(1 - x0 w) - c (Wood 1994),
  // with kappa = (m-1)(1-b^2)/(4b) so that the identity is exact.
  for (double m : {2.0, 4.0, 16.0, 500.0}) {
    for (double k : {0.1, 3.0, 200.0}) {
      const double b = hvae::vmf_wood_b(m, k);
      const ld kk = ld(m - 1) * (1 - ld(b) * b) / (4 * ld(b));
      for (double eps : {0.01, 0.3, 0.5, 0.77, 0.999}) {
        const double D = (1 - eps) + b * eps;
        const double s_m1 = (1 - b) * (2 * eps - 1) / (2 * D);
        const double ours = (m - 1) * hvae::log1pmx(s_m1);
        const ld x0 = (1 - ld(b)) / (1 + ld(b));
        const ld w = (1 - (1 + ld(b)) * eps) / (1 - (1 - ld(b)) * eps);
        const ld c = kk * x0 + ld(m - 1) * std::log(1 - x0 * x0);
        const ld wood = kk * w + ld(m - 1) * std::log(1 - x0 * w) - c;
        EXPECT_NEAR(ours, double(wood), 1e-9 * (1 + std::fabs(double(wood)))) << m << k << eps;
        // and 1 - w = 2 b eps / D without cancellation
        EXPECT_LT(rel(2 * b * eps / D, 1 - w), 1e-12);
      }
    }
  }
}

TEST(VmfMath, OneMinusWAtHugeKappa) {
  // kappa = 1e8, float: 1 - w ~ (m-1)/(2 kappa) keeps full relative accuracy.
  for (int t = 0; t < 50; ++t) {
    const hvae::VmfAngle<float> a = hvae::vmf_draw_angle<float>(7, t, 0, 5, 1e8f);
    EXPECT_GT(a.theta, 0.0f);
    EXPECT_LT(a.theta, 1e-2f);
    EXPECT_NEAR(a.cos_theta, 1.0f, 1e-6f);
    EXPECT_NEAR(a.sin_theta, std::sin(a.theta), 1e-5f * a.theta);
  }
}

TEST(VmfMath, InverseCdfM3) {
  // kappa (1 - w) = -log1p(v expm1(-2 kappa)) inverts F(w) = (e^{kw} - e^{-k})/(e^k - e^{-k}).
  for (double k : {1e-8, 0.3, 5.0, 300.0}) {
    for (int seed = 0; seed < 20; ++seed) {
      hvae::PhiloxStream s(11, seed, 0);
      const hvae::VmfAngle<double> a = hvae::vmf_angle_m3<double>(s, k);
      hvae::PhiloxStream s2(11, seed, 0);
      const double v = hvae::uniform_open01<double>(s2);
      const ld w = std::cos(ld(a.theta));
      // exact relation: e^{-k(1-w)} = 1 - v (1 - e^{-2k})
      const ld lhs = std::exp(-ld(k) * (1 - w));
      const ld rhs = 1 - ld(v) * (-std::expm1(-2 * ld(k)));
      EXPECT_LT(rel(lhs, rhs), 1e-9) << k << " " << v;
    }
  }
}

TEST(VmfMath, HouseholderMapsE1AndIsOrthogonal) {
  const int m = 5;
  std::vector<std::vector<double>> mus = {
      {1, 0, 0, 0, 0}, {-1, 0, 0, 0, 0}, {0, 1, 0, 0, 0}, {0.6, 0.8, 0, 0, 0}, {-0.5, 0.5, 0.5, 0.5, 0}};
  for (const auto& mu : mus) {
    double tail = 0;
    for (int j = 1; j < m; ++j) tail += mu[j] * mu[j];
    const hvae::VmfReflector<double> r = hvae::vmf_reflector(mu[0], tail);
    EXPECT_GE(r.q, 1.0);
    // R x = -sigma (x - 2 u (u^T x) / q), u = e1 + sigma mu
    auto apply = [&](const std::vector<double>& x) {
      std::vector<double> u(m);
      for (int j = 0; j < m; ++j) u[j] = r.sigma * mu[j] + (j == 0 ? 1.0 : 0.0);
      double ux = 0;
      for (int j = 0; j < m; ++j) ux += u[j] * x[j];
      std::vector<double> y(m);
      for (int j = 0; j < m; ++j) y[j] = -r.sigma * (x[j] - 2 * u[j] * ux / r.q);
      return y;
    };
    const std::vector<double> e1 = apply({1, 0, 0, 0, 0});
    for (int j = 0; j < m; ++j) EXPECT_NEAR(e1[j], mu[j], 1e-15);
    const std::vector<double> x = {0.3, -1.2, 0.7, 2.0, -0.1};
    const std::vector<double> y = apply(x);
    double nx = 0, ny = 0;
    for (int j = 0; j < m; ++j) nx += x[j] * x[j], ny += y[j] * y[j];
    EXPECT_NEAR(nx, ny, 1e-13);
    const std::vector<double> back = apply(y);  // R is an involution
    for (int j = 0; j < m; ++j) EXPECT_NEAR(back[j], x[j], 1e-14);
  }
}

// d theta/d kappa = int_theta^pi (cos phi - A) e^psi dphi
//                 = -int_0^theta (cos phi - A) e^psi dphi
// by composite Simpson in long double on a fine grid, over whichever tail has
// the smaller integral of |integrand| (the other one cancels).
ld brute_dtheta(double m, double k, double theta, double A) {
  const int n = 100000;
  auto f = [&](ld p) {
    const ld s = std::sin(p);
    if (m != 2 && s == 0) return ld(0);
    ld lp = ld(k) * (std::cos(p) - std::cos(ld(theta)));
    if (m != 2) lp += ld(m - 2) * std::log(s / std::sin(ld(theta)));
    return (std::cos(p) - ld(A)) * std::exp(lp);
  };
  auto simpson = [&](ld a, ld b, ld& abs_sum) {
    const ld h = (b - a) / n;
    ld sum = f(a) + f(b);
    abs_sum = std::fabs(f(a)) + std::fabs(f(b));
    for (int i = 1; i < n; ++i) {
      const ld v = (i % 2 ? 4 : 2) * f(a + i * h);
      sum += v;
      abs_sum += std::fabs(v);
    }
    abs_sum *= h / 3;
    return sum * h / 3;
  };
  ld abs_lower, abs_upper;
  const ld lower = simpson(theta, M_PI, abs_lower);
  const ld upper = -simpson(0, theta, abs_upper);
  return abs_lower < abs_upper ? lower : upper;
}

TEST(VmfMath, DthetaDkappaMatchesBruteForce) {
  for (double m : {2.0, 3.0, 6.0, 40.0}) {
    for (double k : {0.0, 0.7, 4.0, 25.0}) {
      const double A = hvae::vmf_mean_cos(m, k);
      for (double theta : {0.2, 0.9, 1.6, 2.4, 3.0}) {
        const double ours = hvae::vmf_dtheta_dkappa<16>(m, k, theta, A);
        const ld ref = brute_dtheta(m, k, theta, A);
        if (std::fabs(double(ref)) < 1e-200) continue;
        EXPECT_LT(rel(ours, ref), 1e-7) << m << " " << k << " " << theta;
        EXPECT_LE(ours, 0.0);
      }
    }
  }
}

TEST(VmfMath, DthetaDkappaEdges) {
  EXPECT_EQ(hvae::vmf_dtheta_dkappa<16>(5.0, 2.0, 0.0, hvae::vmf_mean_cos(5.0, 2.0)), 0.0);
  EXPECT_EQ(hvae::vmf_dtheta_dkappa<16>(5.0, HUGE_VAL, 0.1, 1.0), 0.0);
  const double big = hvae::vmf_dtheta_dkappa<16>(1e4, 1e8, 0.0097, hvae::vmf_mean_cos(1e4, 1e8));
  EXPECT_TRUE(std::isfinite(big));
  EXPECT_LT(big, 0.0);
}

TEST(VmfMath, NormalUniformsMatchPhilox) {
  // The vectorisable double uniforms equal philox.h's, bit for bit.
  hvae::PhiloxStream s(3, 4, 5);
  for (int i = 0; i < 100000; ++i) {
    const uint32_t hi = s.next_u32(), lo = i < 8 ? 0xffffffffu * uint32_t(i & 1) : s.next_u32();
    EXPECT_EQ(hvae::vmf_left_open01(hi, lo), hvae::left_open01_from_bits(hi, lo));
    EXPECT_EQ(hvae::vmf_open01(hi, lo), hvae::open01_from_bits(hi, lo));
  }
}

// The chunked normals (the CPU's vectorised loops) equal vmf_normal_pair, the
// per-pair definition, bit for bit, also where the counter's low word wraps
// inside the normals (second offset). The AVX2 copy: test_philox_avx2.cpp.
template <typename T>
void expect_chunks_equal_pairs() {
  for (int64_t m : {2, 3, 6, 16, 17, 130, 257, 513}) {
    const uint64_t offsets[] = {0, 0x100000000ull - hvae::vmf_angle_blocks<T>() - 37};
    for (uint64_t offset : offsets) {
      std::vector<T> z(m + 1, T(-7));
      const int64_t pairs = hvae::vmf_normal_pairs(m);
      for (int64_t k0 = 0; k0 < pairs; k0 += hvae::kVmfChunkPairs) {
        const int count = int(std::min<int64_t>(hvae::kVmfChunkPairs, pairs - k0));
        hvae::vmf_normal_chunk(5, 11, offset, k0, count, m, z.data());
      }
      EXPECT_EQ(z[0], T(-7));
      EXPECT_EQ(z[m], T(-7));
      for (int64_t k = 0; k < pairs; ++k) {
        const hvae::NormalPair<T> g = hvae::vmf_normal_pair<T>(5, 11, offset, k);
        ASSERT_EQ(z[1 + 2 * k], g.z0) << m << " " << k;
        if (2 + 2 * k < m) {
          ASSERT_EQ(z[2 + 2 * k], g.z1) << m << " " << k;
        }
      }
    }
  }
}

TEST(VmfMath, NormalChunksEqualPairs) {
  expect_chunks_equal_pairs<float>();
  expect_chunks_equal_pairs<double>();
}

TEST(VmfMath, FastMathAccuracy) {
  for (int i = 1; i <= 200000; ++i) {
    const double u = i / 200001.0;
    EXPECT_NEAR(hvae::fastmath::log_pos(u), std::log(u), 4e-16 * std::fabs(std::log(u)) + 1.2e-16);
    // a few ulp: the Box-Muller radius needs no more
    EXPECT_NEAR(hvae::fastmath::log_pos(float(u)), std::log(float(u)), 3e-7f * std::fabs(std::log(float(u))) + 6e-8f);
    double s, c;
    hvae::fastmath::sincos_2pi(u, s, c);
    const ld two_pi_u = 2 * 3.14159265358979323846264338327950288L * ld(u);
    EXPECT_NEAR(s, double(std::sin(two_pi_u)), 3.5e-16);
    EXPECT_NEAR(c, double(std::cos(two_pi_u)), 3.5e-16);
    float sf, cf;
    hvae::fastmath::sincos_2pi(float(u), sf, cf);
    EXPECT_NEAR(sf, std::sin(2 * M_PI * double(float(u))), 3e-7);
    EXPECT_NEAR(cf, std::cos(2 * M_PI * double(float(u))), 3e-7);
    // exp over the range the quadrature uses, from deep underflow to overflow
    const double x = -720.0 + 1435.0 * u;
    const ld ex = std::exp(ld(x));
    if (x < -708.0) {
      EXPECT_EQ(hvae::fastmath::exp_poly(x), 0.0) << x;
    } else if (ex > ld(std::numeric_limits<double>::max())) {
      EXPECT_EQ(hvae::fastmath::exp_poly(x), HUGE_VAL) << x;
    } else {
      EXPECT_LE(std::fabs(hvae::fastmath::exp_poly(x) - double(ex)), 6e-16 * double(ex)) << x;
    }
  }
  for (double x : {-1e-300, 0.0, 1e-300, 1e-8, -0.3465, 0.3466, 1.0, -1.0, 709.78, -707.9}) {
    EXPECT_LE(std::fabs(hvae::fastmath::exp_poly(x) - std::exp(x)), 6e-16 * std::exp(x)) << x;
  }
  EXPECT_EQ(hvae::fastmath::exp_poly(0.0), 1.0);
  EXPECT_EQ(hvae::fastmath::exp_poly(HUGE_VAL), HUGE_VAL);
  EXPECT_EQ(hvae::fastmath::exp_poly(-HUGE_VAL), 0.0);
  EXPECT_TRUE(std::isnan(hvae::fastmath::exp_poly(std::nan(""))));
  // sin and cos of theta/2 over [0, pi], both ends to a few ulp relative
  // (the Power Spherical gradient's half angle), and log1p on [-1/4, 1/4]
  for (int i = 0; i <= 100000; ++i) {
    const double u = i / 100000.0;
    for (double theta : {3.14159265358979323846 * u, 1e-300 + 1e-8 * u, 3.14159265358979323846 * (1.0 - 1e-9 * u)}) {
      double s, c;
      hvae::fastmath::sincos_half(theta, s, c);
      const ld h = ld(theta) / 2;
      EXPECT_LE(std::fabs(ld(s) - std::sin(h)), 4e-16L * std::sin(h) + 1e-320L) << theta;
      EXPECT_LE(std::fabs(ld(c) - std::cos(h)), 4e-16L * std::cos(h)) << theta;
    }
    const double t = -0.25 + 0.5 * u;
    EXPECT_LE(std::fabs(ld(hvae::fastmath::log1p_small(t)) - std::log1p(ld(t))), 4.5e-16L * std::fabs(std::log1p(ld(t))))
        << t;
  }
  EXPECT_EQ(hvae::fastmath::log1p_small(0.0), 0.0);
  EXPECT_EQ(hvae::fastmath::log1p_small(-1e-300), -1e-300);
  EXPECT_EQ(hvae::fastmath::log_pos(1.0), 0.0);
  EXPECT_NEAR(hvae::fastmath::log_pos(2.710505431213761e-20), std::log(2.710505431213761e-20), 1e-13);
}

// The samplers' half angle atan(sqrt(y / y')) against long double atan2,
// over y' = 2 - y (the samplers' pairs) and independent y, y' spanning the
// ranges they reach, both ends of [0, pi/2] included: within 3 ulp (double)
// or 1 ulp (float).
TEST(VmfMath, FastAtanSqrtRatio) {
  auto check = [](double y, double yp) {
    const ld exact = std::atan2(std::sqrt(ld(y)), std::sqrt(ld(yp)));
    const double got = hvae::fastmath::atan_sqrt_ratio(y, yp);
    EXPECT_LE(std::fabs(ld(got) - exact), 3 * std::numeric_limits<double>::epsilon() * exact) << y << " " << yp;
    const float yf = float(y), ypf = float(yp);
    const ld exact_f = std::atan2(std::sqrt(ld(yf)), std::sqrt(ld(ypf)));
    const float got_f = hvae::fastmath::atan_sqrt_ratio(yf, ypf);
    EXPECT_LE(std::fabs(ld(got_f) - exact_f), ld(std::nextafter(got_f, 4.0f) - got_f)) << y << " " << yp;
  };
  for (int i = 0; i <= 100000; ++i) {
    const double y = 2.0 * i / 100000.0;
    check(y, 2.0 - y);
    const double tiny = std::pow(10.0, -30.0 + 30.0 * i / 100000.0);  // 1e-30 .. 1
    check(tiny, 2.0);
    check(2.0, tiny);
    check(tiny, 2.0 - tiny);
    check(2.0 - tiny, tiny);
  }
  EXPECT_EQ(hvae::fastmath::atan_sqrt_ratio(0.0, 2.0), 0.0);
  EXPECT_EQ(hvae::fastmath::atan_sqrt_ratio(0.0f, 2.0f), 0.0f);
  EXPECT_EQ(hvae::fastmath::atan_sqrt_ratio(2.0, 0.0), 1.5707963267948966192);
  EXPECT_NEAR(hvae::fastmath::atan_sqrt_ratio(1.0, 1.0), std::atan(1.0), 2.3e-16);
  EXPECT_EQ(hvae::fastmath::atan_sqrt_ratio(1e-300, 2.0), std::atan(std::sqrt(0.5e-300)));
  const double nan = std::nan("");
  for (double y : {nan, 0.0, 1.0}) {
    EXPECT_TRUE(std::isnan(hvae::fastmath::atan_sqrt_ratio(y, nan)));
    EXPECT_TRUE(std::isnan(hvae::fastmath::atan_sqrt_ratio(nan, y)));
    EXPECT_TRUE(std::isnan(hvae::fastmath::atan_sqrt_ratio(float(y), float(nan))));
  }
}

}  // namespace
