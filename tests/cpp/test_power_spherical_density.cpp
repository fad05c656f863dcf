// Tests of csrc/hvae/power_spherical_density.h against closed forms in long
// double. For odd m, beta = (m-1)/2 is an integer and the differences are
// finite sums: with alpha = beta + kappa,
//   D_lg = sum_{j<beta} log(alpha + j),  D_psi = sum 1/(alpha + j),
//   D_tri = sum 1/(alpha + j)^2,
//   KL(PS || U) = sum_{j<beta} L(kappa/(beta + j)),  L(x) = log1p(x) - x/(1+x)
// (the last from the Bregman form of the header: B(c) - B(c + beta) is the
// shift sum). m = 3: log C = (kappa+2) log 2 + log pi - log(1 + kappa),
// KL = L(kappa). (Python tests compare the ops with mpmath for every m.)
#include <gtest/gtest.h>

#include <cmath>

#include "hvae/power_spherical_density.h"

namespace {

using ld = long double;
using hvae::PsDensityFn;

ld rel(ld a, ld b) { return std::fabs(a - b) / std::fmax(std::fabs(b), ld(1e-300)); }

// L(x) = log1p(x) - x/(1+x) >= 0, by its series where it cancels.
ld big_l(ld x) {
  if (x > 1e-3L) return std::log1p(x) - x / (1 + x);
  ld sum = 0, p = x;
  for (int k = 2; k < 12; ++k) {
    p *= -x;  // (-1)^k x^k from k = 2
    sum += p * (k - 1) / k;
  }
  return -sum;
}

struct Closed {
  ld log_c, log_c_scaled, h, kl, dlog_c, dh;
  ld tri;
};

Closed closed_form(int m, ld k) {
  const int beta = (m - 1) / 2;
  ld d_lg = 0, d_psi = 0, d_tri = 0, kl = 0;
  for (int j = 0; j < beta; ++j) {
    const ld a = beta + k + j;
    d_lg += std::log(a);
    d_psi += 1 / a;
    d_tri += 1 / (a * a);
    kl += big_l(k / (beta + j));
  }
  const ld h_const = (m - 1) * std::log(ld(2)) + beta * std::log(ld(M_PI));
  Closed c;
  c.log_c_scaled = h_const - d_lg;
  c.log_c = c.log_c_scaled + k * std::log(ld(2));
  c.h = h_const - d_lg + k * d_psi;
  c.kl = kl;
  c.dlog_c = std::log(ld(2)) - d_psi;
  c.dh = -k * d_tri;
  c.tri = d_tri;
  return c;
}

TEST(PowerSphericalDensity, OddDimensionsClosedForms) {
  for (int m : {3, 5, 11, 21, 41, 201, 2001}) {
    const hvae::PsDensityConsts c = hvae::ps_density_consts(m);
    for (double k : {0.0, 1e-12, 1e-7, 1e-3, 0.3, 1.0, 4.0, 9.9, 10.1, 37.0, 1e3, 1e5, 1e6}) {
      const Closed e = closed_form(m, k);
      const auto bound = [](ld value) { return 2e-14 * std::fmax(1.0, std::fabs(double(value))); };
      EXPECT_LT(std::fabs(hvae::ps_density_value<PsDensityFn::kLogNormalizer>(c, k) - e.log_c), bound(e.log_c))
          << m << " " << k;
      EXPECT_LT(std::fabs(hvae::ps_density_value<PsDensityFn::kLogNormalizerScaled>(c, k) - e.log_c_scaled),
                bound(e.log_c_scaled))
          << m << " " << k;
      EXPECT_LT(std::fabs(hvae::ps_density_value<PsDensityFn::kEntropy>(c, k) - e.h), bound(e.h)) << m << " " << k;
      // The KL to relative precision, however small kappa is.
      if (k == 0.0) {
        EXPECT_EQ(hvae::ps_density_value<PsDensityFn::kKlUniform>(c, k), 0.0);
      } else {
        EXPECT_LT(rel(hvae::ps_density_value<PsDensityFn::kKlUniform>(c, k), e.kl), 1e-13) << m << " " << k;
      }
      EXPECT_LT(std::fabs(hvae::ps_density_dkappa<PsDensityFn::kLogNormalizer>(c, k) - e.dlog_c), 1e-15)
          << m << " " << k;
      EXPECT_LT(rel(hvae::ps_density_dkappa<PsDensityFn::kLogNormalizer, true>(c, k), e.tri), 1e-14) << m << " " << k;
      if (k > 0) {
        EXPECT_LT(rel(hvae::ps_density_dkappa<PsDensityFn::kEntropy>(c, k), e.dh), 1e-14) << m << " " << k;
        EXPECT_LT(rel(hvae::ps_density_dkappa<PsDensityFn::kKlUniform>(c, k), -e.dh), 1e-14) << m << " " << k;
      }
    }
  }
}

TEST(PowerSphericalDensity, KappaZeroIsTheUniformLaw) {
  for (int m : {2, 3, 4, 7, 64, 1000, 10000}) {
    const hvae::PsDensityConsts c = hvae::ps_density_consts(m);
    const double log_area = c.log_area;
    EXPECT_NEAR(hvae::ps_density_value<PsDensityFn::kLogNormalizer>(c, 0.0), log_area,
                1e-14 * std::fmax(1.0, std::fabs(log_area)))
        << m;
    EXPECT_NEAR(hvae::ps_density_value<PsDensityFn::kEntropy>(c, 0.0), log_area,
                1e-14 * std::fmax(1.0, std::fabs(log_area)))
        << m;
    EXPECT_EQ(hvae::ps_density_dkappa<PsDensityFn::kKlUniform>(c, 0.0), 0.0);
  }
}

TEST(PowerSphericalDensity, KlIsLogAreaMinusEntropy) {
  // Both KL branches (Bregman form for kappa <= 10 beta, log|S| - H above)
  // against the entropy, where the subtraction does not cancel much.
  for (int m : {2, 4, 10, 100}) {
    const hvae::PsDensityConsts c = hvae::ps_density_consts(m);
    for (double k : {0.5, 2.0, 5.0, 20.0, 400.0, 1e4}) {
      const double kl = hvae::ps_density_value<PsDensityFn::kKlUniform>(c, k);
      const double h = hvae::ps_density_value<PsDensityFn::kEntropy>(c, k);
      const double scale = std::fabs(c.log_area) + std::fabs(h);
      EXPECT_NEAR(kl, c.log_area - h, 4e-15 * scale) << m << " " << k;
    }
  }
}

TEST(PowerSphericalDensity, LimitsAndBadInput) {
  const hvae::PsDensityConsts c = hvae::ps_density_consts(5);
  const double inf = HUGE_VAL;
  EXPECT_EQ(hvae::ps_density_value<PsDensityFn::kLogNormalizer>(c, inf), inf);
  EXPECT_EQ(hvae::ps_density_value<PsDensityFn::kLogNormalizerScaled>(c, inf), -inf);
  EXPECT_EQ(hvae::ps_density_value<PsDensityFn::kEntropy>(c, inf), -inf);
  EXPECT_EQ(hvae::ps_density_value<PsDensityFn::kKlUniform>(c, inf), inf);
  EXPECT_EQ(hvae::ps_density_dkappa<PsDensityFn::kKlUniform>(c, inf), 0.0);
  EXPECT_DOUBLE_EQ(hvae::ps_density_dkappa<PsDensityFn::kLogNormalizer>(c, inf), std::log(2.0));
  for (double bad : {-1.0, -1e-300, std::nan("")}) {
    EXPECT_TRUE(std::isnan(hvae::ps_density_value<PsDensityFn::kLogNormalizer>(c, bad)));
    EXPECT_TRUE(std::isnan(hvae::ps_density_value<PsDensityFn::kEntropy>(c, bad)));
    EXPECT_TRUE(std::isnan(hvae::ps_density_value<PsDensityFn::kKlUniform>(c, bad)));
    EXPECT_TRUE(std::isnan(hvae::ps_density_dkappa<PsDensityFn::kEntropy>(c, bad)));
  }
}

// psi_diff (the sampler's kappa gradient, power_spherical.h) against the
// finite sum for integer beta, and against lg_psi_diff's D_psi for any beta.
TEST(PowerSphericalDensity, PsiDiffAlone) {
  for (int m : {3, 5, 17, 101, 2001, 10001}) {
    for (double k : {0.0, 1e-8, 0.3, 1.0, 7.5, 100.0, 1e4, 1e6}) {
      const double beta = 0.5 * (m - 1);
      const double d = hvae::ps_density_detail::psi_diff(beta + k, beta);
      ld sum = 0;  // D_psi = sum_{j < beta} 1/(alpha + j)
      for (int j = 0; j < (m - 1) / 2; ++j) sum += 1 / (ld(beta) + k + j);
      EXPECT_LT(rel(d, sum), 4e-15L) << m << " " << k;
    }
  }
  for (int m : {2, 4, 16, 64, 1000, 10000}) {
    for (double k : {0.0, 1e-8, 0.3, 1.0, 7.5, 100.0, 1e4, 1e6}) {
      const double beta = 0.5 * (m - 1);
      const double d = hvae::ps_density_detail::psi_diff(beta + k, beta);
      const double ref = hvae::ps_density_detail::lg_psi_diff(beta + k, beta).psi;
      EXPECT_LT(rel(d, ref), 4e-15L) << m << " " << k;
    }
  }
}

}  // namespace
