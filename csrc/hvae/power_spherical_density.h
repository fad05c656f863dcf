// Functions of the concentration kappa in the Power Spherical density on
// S^{m-1} (De Cao & Aziz 2020, "The Power Spherical distribution"): the
// log-normalizer, the entropy, KL to the uniform law and their
// kappa-derivatives. Header-only, host + device, torch-free, double inside.
//
// p(z) = (1 + mu^T z)^kappa / C,  alpha = beta + kappa,  beta = (m-1)/2,
//   log C  = (alpha+beta) log 2 + beta log pi - D_lg
//   H      = (m-1) log 2 + beta log pi - D_lg + kappa D_psi
//   KL(PS || U) = log|S^{m-1}| - H
// with the differences (a = alpha, b = beta)
//   D_lg  = lgamma(a+b) - lgamma(a),  D_psi = psi(a+b) - psi(a),
//   D_tri = psi'(a) - psi'(a+b)  (> 0),
// and d/dk log C = log 2 - D_psi, d/dk H = -kappa D_tri, d/dk KL = kappa D_tri,
// d2/dk2 log C = D_tri (the kappa log 2 of log C and of kappa d/dk log C
// cancel analytically in H; they are never formed there).
//
// The differences are never taken of two lgamma/psi values: for a >> b those
// are ~a log a and ~log a while the differences are ~b log a and ~b/a (at
// m = 3, kappa = 1e6 the naive entropy is off by ~1e-9). Instead a is shifted
// up to a' = a + N >= 10 by the recurrences (a sum of N <= 10 positive terms,
// log1p(b/(a+j)), b/((a+j)(a+b+j)), ...), and at a' the Stirling series of
// both arguments are subtracted term by term in closed form:
//   D_lg  = (a - 1/2) log1p(b/a) + b (log(a+b) - 1) + S_lg(a+b) - S_lg(a)
//   D_psi = log1p(b/a) + b/(2a(a+b)) + S_psi(a) - S_psi(a+b)
//   D_tri = b/(a(a+b)) + b(2a+b)/(2a^2(a+b)^2) + S_tri(a) - S_tri(a+b)
// where S_* are the 1/x^k tails (8 Bernoulli terms: < 1e-17 at x >= 10).
// Their differences are taken directly: they are at most ~1/(12a) in size,
// so their rounding is ~1e-18 absolute, below everything that matters here.
//
// KL near kappa = 0. KL = f(0) - f(kappa) + kappa f'(kappa) with f = log C:
// the Taylor series starts at kappa^2 [psi'(beta) - psi'(2 beta)] / 2, so
// log|S| - H cancels |H| down to O(kappa^2) (at m = 10^4, kappa = 1: 5e-5 out of
// 3.6e4). With the Bregman divergence of lgamma,
//   B(c, k) = lgamma(c) - lgamma(c+k) + k psi(c+k) >= 0,
//   KL = B(beta, kappa) - B(2 beta, kappa)      (the kappa log 2 cancel exactly),
// and B is a sum of nonnegative terms: the shift gives
//   B(c, k) = sum_{j<N} L(k/(c+j)) + B(c+N, k),  L(x) = log1p(x) - x/(1+x),
// and Stirling at c' = c + N, x = k/c',
//   B(c', k) = c' (x - log1p(x)) + L(x)/2
//              - sum_{i>=1} B_{2i}/(2i(2i-1)) c'^{1-2i} g_{2i}(x),
//   g_p(x) = (1 + p x)(1+x)^{-p} - 1 = O(x^2),
// every piece computed with relative accuracy (log1pmx, L and g_p by series
// for small x). The two B differ by a factor >= 1.5 for kappa <= 10 beta, so
// KL keeps ~1e-15 relative accuracy there, down to kappa -> 0; above, B ~ kappa
// and KL ~ beta log(kappa/beta): log|S| - H is then the accurate form. The
// Bregman form costs ~3x log|S| - H, so it is used only where the latter has
// cancelled more than 16-fold (small kappa, or kappa small next to beta).
#pragma once

#include "common.h"

namespace hvae {

// What depends on m alone, computed once per launch on the host.
struct PsDensityConsts {
  double beta;      // (m-1)/2
  double log_area;  // log|S^{m-1}| = log 2 + (m/2) log pi - lgamma(m/2)
  double h_const;   // (m-1) log 2 + beta log pi, the entropy's terms free of kappa
};

inline PsDensityConsts ps_density_consts(int64_t m) {
  PsDensityConsts c;
  const double half_m = 0.5 * static_cast<double>(m);
  c.beta = half_m - 0.5;
  c.log_area = kLog2 + half_m * kLogPi - std::lgamma(half_m);
  c.h_const = 2.0 * c.beta * kLog2 + c.beta * kLogPi;
  return c;
}

namespace ps_density_detail {

HVAE_HD double nan_d() { return ::nan(""); }
HVAE_HD double inf_d() { return HUGE_VAL; }

// Where the Stirling series is used, and how many shifts reach it (a >= 1/2).
constexpr double kStirlingMin = 10.0;
constexpr int kMaxShift = 10;
constexpr int kStirlingTerms = 8;
// KL by the Bregman form for kappa <= kBregmanMax * beta where log|S| - H
// is below kKlDirectMin of the terms it cancels.
constexpr double kBregmanMax = 10.0;
constexpr double kKlDirectMin = 1.0 / 16.0;

// B_2, B_4, ..., B_16.
HVAE_HD double bernoulli_2k(int i) {
  switch (i) {
    case 1: return 1.0 / 6.0;
    case 2: return -1.0 / 30.0;
    case 3: return 1.0 / 42.0;
    case 4: return -1.0 / 30.0;
    case 5: return 5.0 / 66.0;
    case 6: return -691.0 / 2730.0;
    case 7: return 7.0 / 6.0;
    default: return -3617.0 / 510.0;
  }
}

// The Stirling tails at x >= 10:
//   lgamma(x) = (x - 1/2) log x - x + log(2 pi)/2 + S_lg(x),  S_lg = sum B_2i/(2i(2i-1)) x^(1-2i)
//   psi(x)    = log x - 1/(2x) - S_psi(x),                   S_psi = sum B_2i/(2i) x^(-2i)
//   psi'(x)   = 1/x + 1/(2x^2) + S_tri(x),                   S_tri = sum B_2i x^(-2i-1)
struct StirlingTails {
  double lg, psi, tri;
};

HVAE_HD StirlingTails stirling_tails(double x) {
  const double r = 1.0 / x;
  const double r2 = r * r;
  StirlingTails t{0.0, 0.0, 0.0};
  double p = r;  // x^(1-2i)
  for (int i = 1; i <= kStirlingTerms; ++i) {
    const double b = bernoulli_2k(i);
    const double two_i = 2.0 * i;
    t.lg += b / (two_i * (two_i - 1.0)) * p;
    t.psi += b / two_i * (p * r);
    t.tri += b * (p * r2);
    p *= r2;
  }
  return t;
}

// a' = a shifted up to >= kStirlingMin, and the shift's sums of
//   log1p(b/(a+j)),  b/((a+j)(a+b+j)),  b(2(a+j)+b)/((a+j)^2 (a+b+j)^2)
// (positive terms: lgamma(a+b) - lgamma(a) = [same at a'] - first sum, etc.).
struct ShiftSums {
  double a, lg, psi, tri;
};

template <bool WithTri>
HVAE_HD ShiftSums shift_up(double a, double b) {
  ShiftSums s{a, 0.0, 0.0, 0.0};
  for (int j = 0; j < kMaxShift && s.a < kStirlingMin; ++j) {
    const double ab = s.a + b;
    s.lg += log1p_(b / s.a);
    s.psi += b / (s.a * ab);
    if constexpr (WithTri) s.tri += b * (s.a + ab) / ((s.a * s.a) * (ab * ab));
    s.a += 1.0;
  }
  return s;
}

// S_psi(x) alone, by Horner in 1/x^2 with the coefficients B_2i/(2i) folded.
HVAE_HD double stirling_psi_tail(double x) {
  constexpr double c[kStirlingTerms] = {1.0 / 12.0,  -1.0 / 120.0,       1.0 / 252.0, -1.0 / 240.0,
                                        1.0 / 132.0, -691.0 / 32760.0,   1.0 / 12.0,  -3617.0 / 8160.0};
  const double r2 = 1.0 / (x * x);
  double t = c[kStirlingTerms - 1];
  for (int i = kStirlingTerms - 2; i >= 0; --i) t = t * r2 + c[i];
  return t * r2;
}

// D_psi alone, on the sampler's per-sample path (its kappa gradient,
// power_spherical.h): the shift's b/((a+j)(a+b+j)) only, then the psi tails.
HVAE_HD double psi_diff(double a0, double b) {
  double acc = 0.0, a = a0;
  for (int j = 0; j < kMaxShift && a < kStirlingMin; ++j) {
    acc += b / (a * (a + b));
    a += 1.0;
  }
  const double ab = a + b;
  return log1p_(b / a) + b / (2.0 * a * ab) + (stirling_psi_tail(a) - stirling_psi_tail(ab)) + acc;
}

// D_lg and D_psi at (a, b), a >= 1/2, b >= 0.
struct LgPsiDiff {
  double lg, psi;
};

HVAE_HD LgPsiDiff lg_psi_diff(double a0, double b) {
  const ShiftSums s = shift_up<false>(a0, b);
  const double a = s.a, ab = a + b;
  const double l1p = log1p_(b / a);
  const StirlingTails ta = stirling_tails(a), tab = stirling_tails(ab);
  LgPsiDiff d;
  d.lg = (a - 0.5) * l1p + b * (log_(ab) - 1.0) + (tab.lg - ta.lg) - s.lg;
  d.psi = l1p + b / (2.0 * a * ab) + (ta.psi - tab.psi) + s.psi;
  return d;
}

// D_tri = psi'(a) - psi'(a+b) > 0 with full relative accuracy.
HVAE_HD double tri_diff(double a0, double b) {
  const ShiftSums s = shift_up<true>(a0, b);
  const double a = s.a, ab = a + b;
  const StirlingTails ta = stirling_tails(a), tab = stirling_tails(ab);
  return b / (a * ab) + b * (a + ab) / (2.0 * (a * a) * (ab * ab)) + (ta.tri - tab.tri) + s.tri;
}

// log1p(x) - x for x >= 0 with relative accuracy. For x <= 1/2, with
// u = x/(2+x): log1p(x) = 2 atanh(u) and x - 2u = u x, so
// log1p(x) - x = 2u^3 sum_j u^(2j)/(2j+3) - u x (u^2 <= 1/25: 12 terms).
HVAE_HD double log1pmx(double x) {
  if (x > 0.5) return log1p_(x) - x;
  const double u = x / (2.0 + x);
  const double u2 = u * u;
  double s = 0.0;
  for (int j = 11; j >= 0; --j) s = s * u2 + 1.0 / (2.0 * j + 3.0);
  return 2.0 * u * u2 * s - u * x;
}

// L(x) = log1p(x) - x/(1+x) >= 0 (~x^2/2), relative accuracy.
HVAE_HD double log1p_minus_ratio(double x) {
  if (x > 0.5) return log1p_(x) - x / (1.0 + x);
  return log1pmx(x) + x * x / (1.0 + x);
}

// g_p(x) = (1 + p x)(1+x)^(-p) - 1 for even p >= 4, relative accuracy: the
// power series sum_{j>=2} c_j x^j (c_2 = -p(p-1)/2,
// c_{j+1} = -c_j (p+j-1) j / ((j-1)(j+1))) for x < 1e-3, where 12 terms
// leave < (p x)^12; else expm1 of log1p(p x) - p log1p(x) (log1p(x) given),
// whose cancellation costs ~2 eps/((p-1) x) <= 1e-13 relative there (and
// these terms carry a weight <= 0.012 of the KL).
HVAE_HD double g_even(int p, double x, double log1p_x) {
  const double pd = static_cast<double>(p);
  if (x < 1e-3) {
    double c = -0.5 * pd * (pd - 1.0), xp = x * x, s = 0.0;
    for (int j = 2; j < 14; ++j) {
      s += c * xp;
      const double jd = static_cast<double>(j);
      c = -c * (pd + jd - 1.0) * jd / ((jd - 1.0) * (jd + 1.0));
      xp *= x;
    }
    return s;
  }
  return expm1_(log1p_(pd * x) - pd * log1p_x);
}

// B(c, k) = lgamma(c) - lgamma(c+k) + k psi(c+k) >= 0, c >= 1/2, k >= 0.
HVAE_HD double lgamma_bregman(double c, double k) {
  double sum = 0.0;
  for (int j = 0; j < kMaxShift && c < kStirlingMin; ++j) {
    sum += log1p_minus_ratio(k / c);
    c += 1.0;
  }
  const double x = k / c;
  const double log1p_x = log1p_(x);
  // i = 1: g_2(x) = -x^2/(1+x)^2 in closed form.
  const double x1 = x / (1.0 + x);
  double tail = -x1 * x1 / (12.0 * c);
  // Term i is ~|B_2i| c^(-2i) of B relative (|g_2i| <= p(p-1)x^2/2, B ~ c x^2/2):
  // the series stops once c^2 times that is below 1e-17 (8 terms at c = 10,
  // 3 at c >= 1e3).
  const double r2 = 1.0 / (c * c);
  double p = r2 / c;  // c^(1-2i), i = 2
  for (int i = 2; i <= kStirlingTerms; ++i) {
    const double b2i = bernoulli_2k(i);
    if (fabs_(b2i) * p * c < 1e-17) break;
    const double two_i = 2.0 * i;
    tail += b2i / (two_i * (two_i - 1.0)) * p * g_even(2 * i, x, log1p_x);
    p *= r2;
  }
  const double log1pmx_x = x > 0.5 ? log1p_x - x : log1pmx(x);
  const double big_l = x > 0.5 ? log1p_x - x1 : log1pmx_x + x * x1;
  return sum - c * log1pmx_x + 0.5 * big_l - tail;
}

}  // namespace ps_density_detail

// The functions of one concentration, and what each op evaluates.
enum class PsDensityFn : int {
  kLogNormalizer = 0,        // log C
  kLogNormalizerScaled = 1,  // log C - kappa log 2 (the constant of log p = kappa log((1 + mu^T z)/2) - [...])
  kEntropy = 2,              // H
  kKlUniform = 3,            // KL(PS || U)
};

// Value of F at kappa; NaN for a NaN or negative kappa, the limits at
// kappa = +inf (log C -> +inf, log C - kappa log 2 -> -inf, H -> -inf, KL -> +inf).
template <PsDensityFn F>
HVAE_HD double ps_density_value(const PsDensityConsts& c, double kappa) {
  using namespace ps_density_detail;
  if (isnan_(kappa) || kappa < 0.0) return nan_d();
  if (kappa == inf_d()) {
    return (F == PsDensityFn::kEntropy || F == PsDensityFn::kLogNormalizerScaled) ? -inf_d() : inf_d();
  }
  const double beta = c.beta;
  if constexpr (F == PsDensityFn::kKlUniform) {
    if (kappa == 0.0) return 0.0;
  }
  const LgPsiDiff d = lg_psi_diff(beta + kappa, beta);
  if constexpr (F == PsDensityFn::kLogNormalizer) return (c.h_const + kappa * kLog2) - d.lg;
  if constexpr (F == PsDensityFn::kLogNormalizerScaled) return c.h_const - d.lg;
  const double h = c.h_const - d.lg + kappa * d.psi;
  if constexpr (F == PsDensityFn::kEntropy) return h;
  // KL = log|S| - H rounds to ~eps times the size of the terms it adds
  // (D_lg's own terms are ~|D_lg| + beta). Where the KL is below 1/16 of
  // that, the Bregman form (~3x the cost) keeps it to ~1e-15 relative.
  const double kl = c.log_area - h;
  const double terms = fabs_(c.log_area) + c.h_const + fabs_(d.lg) + beta + kappa * d.psi;
  if (kl >= terms * kKlDirectMin || kappa > kBregmanMax * beta) return kl;
  return lgamma_bregman(beta, kappa) - lgamma_bregman(2.0 * beta, kappa);
}

// d/dkappa of F (Second: d2/dkappa2, log C and its scaled form only). NaN
// where the value is NaN; the limits at kappa = +inf.
template <PsDensityFn F, bool Second = false>
HVAE_HD double ps_density_dkappa(const PsDensityConsts& c, double kappa) {
  using namespace ps_density_detail;
  constexpr bool kLogC = F == PsDensityFn::kLogNormalizer || F == PsDensityFn::kLogNormalizerScaled;
  static_assert(!Second || kLogC, "second derivative: log C only");
  if (isnan_(kappa) || kappa < 0.0) return nan_d();
  if constexpr (kLogC && !Second) {
    const double log2 = F == PsDensityFn::kLogNormalizer ? kLog2 : 0.0;
    if (kappa == inf_d()) return log2;
    return log2 - lg_psi_diff(c.beta + kappa, c.beta).psi;
  } else {
    // D_tri ~ beta/kappa^2 at large kappa: kappa D_tri -> 0.
    if (kappa == inf_d()) return 0.0;
    const double tri = tri_diff(c.beta + kappa, c.beta);
    if constexpr (Second) return tri;
    if constexpr (F == PsDensityFn::kEntropy) return -kappa * tri;
    return kappa * tri;
  }
}

}  // namespace hvae
