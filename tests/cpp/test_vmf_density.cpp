// Tests of csrc/hvae/vmf_density.h against closed forms in long double:
// m = 3 (S_{1/2}(kappa) = sinh(kappa)/kappa, A = coth kappa - 1/kappa),
// m = 2 (S_0 = I_0, by its power series), the small-kappa limits, the switch
// between the power series and the Bessel branch, and the identities that tie
// the functions together. (Python tests compare the ops with mpmath.)
#include <gtest/gtest.h>

#include <cmath>

#include "hvae/vmf_density.h"

namespace {

using ld = long double;
using hvae::VmfDensityFn;

ld rel(ld a, ld b) { return std::fabs(a - b) / std::fmax(std::fabs(b), ld(1e-300)); }

// log(sinh(k)/k) without overflow or cancellation at large k.
ld log_sinhc(ld k) {
  if (k < 1) return std::log(std::sinh(k) / k);
  return k - std::log(2 * k) + std::log1p(-std::exp(-2 * k));
}

ld coth_minus_inv(ld k) { return 1 / std::tanh(k) - 1 / k; }

TEST(VmfDensity, SphereM3ClosedForms) {
  const hvae::VmfDensityConsts c = hvae::vmf_density_consts(3);
  const ld log_area = std::log(4 * ld(M_PI));
  EXPECT_LT(rel(c.log_area, log_area), 4e-16);
  for (double k : {0.05, 0.7, 1.0, 2.0, 9.5, 100.0, 700.0, 1e5}) {
    const ld log_s = log_sinhc(k);
    const ld a = coth_minus_inv(k);
    const ld kl = k * a - log_s;
    // The bounds of docs/distributions.md: 1e-14 of max(1, |value|), plus
    // ~1e-16 kappa where kappa A and log S ~ kappa enter (A is known to
    // ~1e-16 absolute).
    const auto bound = [k](ld value) { return 1e-14 * std::fmax(1.0, std::fabs(double(value))) + 2e-16 * k; };
    const ld log_c = -log_area - log_s;
    EXPECT_LT(std::fabs(hvae::vmf_density_value<VmfDensityFn::kLogNormalizer>(c, k) - log_c), bound(log_c)) << k;
    EXPECT_LT(std::fabs(hvae::vmf_density_value<VmfDensityFn::kLogNormalizerScaled>(c, k) - (log_c + k)),
              bound(log_c + k))
        << k;
    EXPECT_LT(std::fabs(hvae::vmf_density_value<VmfDensityFn::kKlUniform>(c, k) - kl), bound(kl)) << k;
    EXPECT_LT(std::fabs(hvae::vmf_density_value<VmfDensityFn::kEntropy>(c, k) - (log_area - kl)),
              bound(log_area - kl))
        << k;
    EXPECT_LT(rel(hvae::vmf_density_dkappa<VmfDensityFn::kLogNormalizer>(c, k), -a), 4e-16) << k;
    // A' = 1/k^2 - 1/sinh^2(k) (loses ~3 of long double's 19 digits at k = 0.05).
    const ld sh = k < 300 ? std::sinh(ld(k)) : HUGE_VALL;
    const ld a_prime = 1 / (ld(k) * k) - 1 / (sh * sh);
    EXPECT_LT(rel(hvae::vmf_density_dkappa<VmfDensityFn::kKlUniform>(c, k), k * a_prime), 1e-14) << k;
    EXPECT_LT(rel(hvae::vmf_density_dkappa<VmfDensityFn::kEntropy>(c, k), -k * a_prime), 1e-14) << k;
  }
}

// log I_0(k) by its power series in long double (k <= 30).
ld log_i0(ld k) {
  ld term = 1, sum = 1;
  const ld q = k * k / 4;
  for (int j = 1; j < 400; ++j) {
    term *= q / (ld(j) * j);
    sum += term;
    if (term < 1e-22L * sum) break;
  }
  return std::log(sum);
}

TEST(VmfDensity, CircleM2) {
  const hvae::VmfDensityConsts c = hvae::vmf_density_consts(2);
  for (double k : {1e-3, 0.5, 1.9, 2.1, 10.0, 30.0}) {
    const ld want = -std::log(2 * ld(M_PI)) - log_i0(k);
    EXPECT_LT(rel(hvae::vmf_density_value<VmfDensityFn::kLogNormalizer>(c, k), want), 4e-16) << k;
  }
}

TEST(VmfDensity, SmallKappaLimits) {
  for (int64_t m : {2, 3, 10, 512, 10000}) {
    const hvae::VmfDensityConsts c = hvae::vmf_density_consts(m);
    for (double k : {1e-300, 1e-150, 1e-12, 1e-8}) {
      // KL = k^2/(2m) (1 - k^2 / (2 m (m + 2)) + ...): exact to rounding here.
      const ld kl = ld(k) * k / (2 * ld(m));
      EXPECT_LT(rel(hvae::vmf_density_value<VmfDensityFn::kKlUniform>(c, k), kl), 1e-15) << m << " " << k;
      EXPECT_LT(rel(hvae::vmf_kl_vmf_value(c, 0.0, k, 0.3), kl), 1e-15) << m << " " << k;  // log S ~ k^2/(2m)
      EXPECT_LT(rel(hvae::vmf_density_dkappa<VmfDensityFn::kKlUniform>(c, k), ld(k) / m), 1e-15) << m;
    }
    EXPECT_EQ(hvae::vmf_density_value<VmfDensityFn::kKlUniform>(c, 0.0), 0.0);
    EXPECT_EQ(hvae::vmf_density_value<VmfDensityFn::kEntropy>(c, 0.0), c.log_area);
    EXPECT_EQ(hvae::vmf_density_value<VmfDensityFn::kLogNormalizer>(c, 0.0), -c.log_area);
    EXPECT_EQ(hvae::vmf_density_dkappa<VmfDensityFn::kKlUniform>(c, 0.0), 0.0);
    EXPECT_EQ(hvae::vmf_kl_vmf_value(c, 0.0, 0.0, 1.0), 0.0);
  }
}

TEST(VmfDensity, SeriesAndBesselBranchesMeet) {
  for (int64_t m : {2, 3, 10, 64, 10000}) {
    const hvae::VmfDensityConsts c = hvae::vmf_density_consts(m);
    const double k0 = 2.0 * std::sqrt(c.v + 1.0);  // y = 1
    const double below = std::nextafter(k0, 0.0), above = std::nextafter(k0, 2 * k0);
    const double lo = hvae::vmf_density_value<VmfDensityFn::kKlUniform>(c, below);
    const double hi = hvae::vmf_density_value<VmfDensityFn::kKlUniform>(c, above);
    // The Bessel branch cancels lgamma(v+1) + v log(2/kappa) against
    // log I_v: an absolute rounding of ~1e-16 of those terms
    // (docs/distributions.md; ~4e-12 at m = 1e4).
    const double cancelled = 2 * (std::lgamma(c.v + 1) + c.v * std::fabs(std::log(k0 / 2)));
    EXPECT_LT(std::fabs(lo - hi), 1e-14 * std::fabs(hi) + 1e-15 * cancelled) << m;
    const double slo = hvae::vmf_density_value<VmfDensityFn::kLogNormalizerScaled>(c, below);
    const double shi = hvae::vmf_density_value<VmfDensityFn::kLogNormalizerScaled>(c, above);
    EXPECT_LT(std::fabs(slo - shi), 1e-14 * std::fmax(1.0, std::fabs(shi))) << m;
  }
}

TEST(VmfDensity, IdentitiesAndEdges) {
  const hvae::VmfDensityConsts c = hvae::vmf_density_consts(7);
  for (double k : {0.0, 0.3, 4.0, 80.0, 5e4}) {
    // KL(vMF || vMF) with k2 = 0 is KL(vMF || U); with k1 = 0 it is log S(k2).
    const double kl_u = hvae::vmf_density_value<VmfDensityFn::kKlUniform>(c, k);
    EXPECT_LE(std::fabs(hvae::vmf_kl_vmf_value(c, k, 0.0, 0.7) - kl_u), 1e-15 * std::fmax(1.0, k)) << k;
    EXPECT_EQ(hvae::vmf_kl_vmf_value(c, k, k, 0.0), 0.0) << k;
    const double log_c = hvae::vmf_density_value<VmfDensityFn::kLogNormalizer>(c, k);
    EXPECT_LE(std::fabs(hvae::vmf_kl_vmf_value(c, 0.0, k, 0.0) - (-c.log_area - log_c)),
              1e-15 * std::fmax(1.0, k) * 4)
        << k;
    const hvae::VmfKlVmfGrad g = hvae::vmf_kl_vmf_grad(c, k, k, 0.0);
    EXPECT_EQ(g.k1, 0.0);  // a minimum
    EXPECT_EQ(g.k2, 0.0);
  }
  EXPECT_TRUE(std::isnan(hvae::vmf_density_value<VmfDensityFn::kKlUniform>(c, -1.0)));
  EXPECT_TRUE(std::isnan(hvae::vmf_density_value<VmfDensityFn::kEntropy>(c, std::nan(""))));
  EXPECT_TRUE(std::isnan(hvae::vmf_kl_vmf_value(c, 1.0, -2.0, 0.0)));
  EXPECT_EQ(hvae::vmf_density_value<VmfDensityFn::kKlUniform>(c, HUGE_VAL), HUGE_VAL);
  EXPECT_EQ(hvae::vmf_density_value<VmfDensityFn::kLogNormalizerScaled>(c, HUGE_VAL), HUGE_VAL);
}

}  // namespace
