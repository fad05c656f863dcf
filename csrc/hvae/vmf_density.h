// Functions of the concentration kappa in the von Mises-Fisher density on
// S^{m-1}: the log-normalizer, KL to the uniform law, entropy, KL between two
// vMFs, and their kappa-derivatives. Header-only, host + device, torch-free.
//
// Everything is written through one function of kappa,
//   log S_v(kappa) = log( Gamma(v+1) (2/kappa)^v I_v(kappa) ),  v = m/2 - 1,
// the Bessel function divided by the leading term of its power series:
// S_v = sum_k (kappa^2/4)^k / (k! (v+1)_k), S_v(0) = 1, and, exactly,
// d/dkappa log S_v = A_m(kappa) = I_{v+1}/I_v = iv_ratio(v, kappa). With
// log|S^{m-1}| = log 2 + (m/2) log pi - lgamma(m/2):
//   log C_m          = -log|S^{m-1}| - log S_v           d/dk: -A
//   log C_m + kappa  = -log|S^{m-1}| - (log S_v - kappa)  d/dk: 1 - A
//   KL(vMF || U)     = kappa A - log S_v                  d/dk: kappa A'
//   H(vMF)           = log|S^{m-1}| - KL(vMF || U)        d/dk: -kappa A'
//   KL(vMF1 || vMF2) = log S(k2) - log S(k1) - (k2 - k1) A1 + k2 A1 d,
//                      d = |mu1 - mu2|^2 / 2 = 1 - mu1^T mu2 on the sphere,
//     d/dk1 = A1' (k1 - k2 (1 - d)),  d/dk2 = A2 - A1 (1 - d),  d/dd = k2 A1,
// with A' = 1 - A^2 - (m-1) A / kappa = iv_ratio_dx(v, kappa), which the
// Bessel code evaluates without cancellation (1/m at kappa = 0).
// KL(U || vMF) = log S_v(kappa) is KL(vMF1 || vMF2) at k1 = 0 (A(0) = 0,
// log S(0) = 0 exactly).
//
// Everything is computed in double whatever the storage type and rounded
// once: kappa (1 - A) is O(m) while kappa reaches 1e6, and float32 cannot
// hold 1 - A better than ~1e-7 absolute (0.1 in kappa (1 - A)).
//
// Small kappa: KL ~ kappa^2/(2m) is kappa A ~ kappa^2/m minus
// log S ~ kappa^2/(2m), two terms within a factor of two, so it keeps full
// relative precision once log S is log1p of its series (the textbook
// log C + kappa A + log|S| cancels O(m log m) down to kappa^2).
#pragma once

#include "bessel.h"
#include "common.h"

namespace hvae {

// What depends on m alone, computed once per launch on the host.
struct VmfDensityConsts {
  double v;          // m/2 - 1
  double lgamma_v1;  // lgamma(v + 1) = lgamma(m/2)
  double log_area;   // log|S^{m-1}| = log 2 + (m/2) log pi - lgamma(m/2)
};

inline VmfDensityConsts vmf_density_consts(int64_t m) {
  VmfDensityConsts c;
  const double half_m = 0.5 * static_cast<double>(m);
  c.v = half_m - 1.0;
  c.lgamma_v1 = std::lgamma(half_m);
  c.log_area = kLog2 + half_m * kLogPi - c.lgamma_v1;
  return c;
}

namespace vmf_density_detail {

HVAE_HD double nan_d() { return ::nan(""); }
HVAE_HD double inf_d() { return HUGE_VAL; }

// The power series is used for y = kappa^2 / (4 (v+1)) <= 1. Term k over
// term 1 is at most y^(k-1)/k!, so K terms leave a relative remainder below
// y^K/(K+1)! < 1e-17: K = 2, 3, 5, 10, 20 for y up to 1e-9, 1e-6, 1e-3, 0.1, 1.
constexpr double kSeriesYMax = 1.0;
constexpr int kSeriesMaxTerms = 20;

HVAE_HD int series_terms(double y) {
  return y <= 1e-9 ? 2 : y <= 1e-6 ? 3 : y <= 1e-3 ? 5 : y <= 0.1 ? 10 : kSeriesMaxTerms;
}

// log S_v(kappa) (Scaled: log S_v(kappa) - kappa) for finite kappa > 0.
template <bool Scaled>
HVAE_HD double log_normalized_iv(const VmfDensityConsts& c, double kappa) {
  const double v = c.v;
  const double q = 0.25 * kappa * kappa;
  const double y = q / (v + 1.0);
  if (y <= kSeriesYMax) {
    // S - 1 = t1 (1 + q/(2(v+2)) (1 + q/(3(v+3)) (1 + ...))), t1 = q/(v+1):
    // Horner from the top over positive terms, relative error ~K eps; log1p
    // keeps it when S - 1 ~ y is tiny.
    const int K = series_terms(y);
    double acc = 1.0;
    for (int i = 0; i < kSeriesMaxTerms - 1; ++i) {
      const int k = K - i;
      if (k < 2) break;
      acc = 1.0 + acc * (q / (static_cast<double>(k) * (v + static_cast<double>(k))));
    }
    const double log_s = log1p_(y * acc);
    return Scaled ? log_s - kappa : log_s;
  }
  // lgamma(v+1) + v log(2/kappa) + log I_v(kappa): the terms cancel down to
  // log S >= log1p(y) > 0.69, an absolute rounding of ~1e-16 of their size.
  // The scaled form takes log_ive, so that nothing of size kappa is added
  // and subtracted.
  const double log_bessel = Scaled ? log_ive(v, kappa) : log_iv(v, kappa);
  return c.lgamma_v1 + v * (kLog2 - log_(kappa)) + log_bessel;
}

// A'(kappa) = 1 - A^2 - (m-1) A/kappa (1/m at kappa = 0).
HVAE_HD double mean_resultant_length_dx(const VmfDensityConsts& c, double kappa) {
  return iv_ratio_dx(c.v, kappa);
}

// kappa A'(kappa); its limit is 0 at kappa = 0 and at kappa = inf
// (kappa A' ~ (m-1)/(2 kappa)).
HVAE_HD double kappa_a_prime(const VmfDensityConsts& c, double kappa) {
  if (kappa == inf_d()) return 0.0;
  return kappa * mean_resultant_length_dx(c, kappa);
}

}  // namespace vmf_density_detail

// The functions of one concentration, and (VmfDensityFn order) what each op
// evaluates.
enum class VmfDensityFn : int {
  kLogNormalizer = 0,        // log C_m(kappa)
  kLogNormalizerScaled = 1,  // log C_m(kappa) + kappa
  kKlUniform = 2,            // KL(vMF || U)
  kEntropy = 3,              // H(vMF)
};

// Value of F at kappa; NaN for a NaN or negative kappa (like log_iv), the
// limits at kappa = +inf (log C -> -inf, log C + kappa -> +inf, KL -> +inf).
template <VmfDensityFn F>
HVAE_HD double vmf_density_value(const VmfDensityConsts& c, double kappa) {
  using namespace vmf_density_detail;
  if (isnan_(kappa) || kappa < 0.0) return nan_d();
  if (kappa == inf_d()) {
    if constexpr (F == VmfDensityFn::kLogNormalizer || F == VmfDensityFn::kEntropy) return -inf_d();
    return inf_d();
  }
  if constexpr (F == VmfDensityFn::kLogNormalizer) {
    return -c.log_area - (kappa == 0.0 ? 0.0 : log_normalized_iv<false>(c, kappa));
  } else if constexpr (F == VmfDensityFn::kLogNormalizerScaled) {
    return -c.log_area - (kappa == 0.0 ? 0.0 : log_normalized_iv<true>(c, kappa));
  } else {
    const double kl = kappa == 0.0 ? 0.0 : kappa * iv_ratio(c.v, kappa) - log_normalized_iv<false>(c, kappa);
    if constexpr (F == VmfDensityFn::kKlUniform) return kl;
    return c.log_area - kl;
  }
}

// d/dkappa of F (NaN where the value is NaN).
template <VmfDensityFn F>
HVAE_HD double vmf_density_dkappa(const VmfDensityConsts& c, double kappa) {
  using namespace vmf_density_detail;
  if (isnan_(kappa) || kappa < 0.0) return nan_d();
  if constexpr (F == VmfDensityFn::kLogNormalizer) return -iv_ratio(c.v, kappa);
  if constexpr (F == VmfDensityFn::kLogNormalizerScaled) return 1.0 - iv_ratio(c.v, kappa);
  if constexpr (F == VmfDensityFn::kKlUniform) return kappa_a_prime(c, kappa);
  if constexpr (F == VmfDensityFn::kEntropy) return -kappa_a_prime(c, kappa);
}

// KL(vMF(mu1, k1) || vMF(mu2, k2)) with d = |mu1 - mu2|^2 / 2.
HVAE_HD double vmf_kl_vmf_value(const VmfDensityConsts& c, double k1, double k2, double d) {
  using namespace vmf_density_detail;
  if (isnan_(k1) || isnan_(k2) || k1 < 0.0 || k2 < 0.0) return nan_d();
  const double a1 = iv_ratio(c.v, k1);
  const double log_s1 = k1 == 0.0 ? 0.0 : log_normalized_iv<false>(c, k1);
  const double log_s2 = k2 == 0.0 ? 0.0 : log_normalized_iv<false>(c, k2);
  return log_s2 - log_s1 - (k2 - k1) * a1 + k2 * a1 * d;
}

struct VmfKlVmfGrad {
  double k1, k2, d;
};

HVAE_HD VmfKlVmfGrad vmf_kl_vmf_grad(const VmfDensityConsts& c, double k1, double k2, double d) {
  using namespace vmf_density_detail;
  if (isnan_(k1) || isnan_(k2) || k1 < 0.0 || k2 < 0.0) return {nan_d(), nan_d(), nan_d()};
  const double a1 = iv_ratio(c.v, k1);
  const double a2 = iv_ratio(c.v, k2);
  const double cos12 = 1.0 - d;
  VmfKlVmfGrad g;
  g.k1 = mean_resultant_length_dx(c, k1) * (k1 - k2 * cos12);
  g.k2 = a2 - a1 * cos12;
  g.d = k2 * a1;
  return g;
}

}  // namespace hvae
