// Inverse of the Bessel ratio R_v(x) = I_{v+1}(x) / I_v(x) in x: the x >= 0
// with R_v(x) = r, for v >= 0 and r in [0, 1). Header-only, host + device.
//
// R_v increases from 0 (x = 0) to 1 (x -> inf), so the root is unique.
// Method (docs/numerics.md, "iv_ratio_inverse"):
//   1. A bracket from bounds of the Amos-Segura type (Amos 1974; Segura 2011,
//      J. Math. Anal. Appl. 374, Thm. 1; Ruiz-Antolin & Segura 2016), for v >= 0, x > 0:
//        x / (a + sqrt(x^2 + (v+3/2)^2)) < R_v(x) < x / (a + sqrt(x^2 + a (v+3/2))),
//      a = v + 1/2. Each bound B(x) = x / (a + sqrt(x^2 + b2)) increases in x,
//      and B(x) = r at x = r (a + sqrt(r^2 a^2 + (1-r^2) b2)) / (1 - r^2), so
//      inverting the upper bound gives lo <= root and the lower bound hi >= root.
//      The lower bound is exact to first order at both ends (x/(2v+2) as x -> 0,
//      1 - a/x as x -> inf), so hi is the starting point.
//   2. Safeguarded Newton from hi with R' = iv_ratio_dx (cancellation-free):
//      every evaluation shrinks the bracket; a step that leaves it is replaced
//      by bisection. R_v is concave in x (R_v' decreases; checked numerically
//      over the tested domain), so from hi the first step lands just left of
//      the root and the rest approach it monotonically (quadratically).
//      Near r = 1 the bracket (width O(1) at x ~ 1e8) is narrower than the
//      rounding noise of R there; a step past an end is then clamped to it once.
//   3. Stop when |R(x) - r| is at rounding level, or after a step of relative
//      size <= kStepTol (the next error is ~ step^2), or after kMaxIter steps.
// Everything runs in double and is rounded once, for float as well.
#pragma once

#include "bessel.h"

namespace hvae {
namespace bessel_detail {

struct IvRatioInverseCfg {
  // Worst case over v in [0, 1e4], r in [1e-10, 1 - 1e-12]: 5 evaluations of R
  // (tests/cpp/test_iv_ratio_inverse.cpp); the cap only bounds the cost should
  // rounding noise of R keep the step from shrinking.
  static constexpr int kMaxIter = 12;
  static constexpr double kStepTol = 1e-9;
  static constexpr double kResidTol = 4.0 * 2.220446049250313e-16;
};

// x with x / (a + sqrt(x^2 + b2)) = r, b2 = a^2 c; om = 1 - r (exact for r >= 1/2).
HVAE_HD double invert_ratio_bound(double a, double c, double r, double om) {
  const double one_m_r2 = om * (1.0 + r);
  // r last: r a would underflow for the smallest subnormal r
  return (a * (1.0 + sqrt_(r * r + one_m_r2 * c)) / one_m_r2) * r;
}

// The root and the number of ratio evaluations it took (for the tests).
HVAE_HD double iv_ratio_inverse_impl(double v, double r, int* evaluations) {
  using Cfg = IvRatioInverseCfg;
  if (evaluations) *evaluations = 0;
  if (isnan_(v) || isnan_(r) || v < 0.0 || r < 0.0 || r >= 1.0) return bessel_nan(0.0);
  if (r == 0.0) return 0.0;
  if (v == bessel_inf(0.0)) return bessel_inf(0.0);  // R_v(x) -> 0 as v -> inf for every x
  const double a = v + 0.5;
  const double k = (v + 1.5) / a;  // (v+3/2)^2 = a^2 k^2, a (v+3/2) = a^2 k
  const double om = 1.0 - r;
  double lo = invert_ratio_bound(a, k, r, om);
  double hi = invert_ratio_bound(a, k * k, r, om);
  double x = hi;
  bool clamped = false;
  for (int i = 0; i < Cfg::kMaxIter; ++i) {
    const double f = bessel_eval<double, kRatio>(v, x) - r;
    if (evaluations) ++*evaluations;
    if (fabs_(f) <= Cfg::kResidTol * r) return x;
    // A sign against the (proven) bracket is rounding noise at the root.
    if (f > 0.0) {
      if (x <= lo) return x;
      hi = x;
    } else {
      if (x >= hi) return x;
      lo = x;
    }
    double xn = x - f / bessel_eval<double, kRatioDx>(v, x);
    bool newton = xn > lo && xn < hi;  // false for a NaN step too
    if (!newton) {
      // Near r = 1 the bracket is narrower than the rounding noise of R (its
      // width is O(1) at x ~ 1e8): a step just past an end means the computed
      // root is at that end, so try the end once before bisecting.
      if (!clamped && (xn <= lo || xn >= hi)) {
        xn = xn <= lo ? lo : hi;
        clamped = true;
      } else {
        xn = 0.5 * (lo + hi);
      }
    }
    const bool converged = newton && fabs_(xn - x) <= Cfg::kStepTol * xn;
    x = xn;
    if (converged) break;
  }
  return x;
}

}  // namespace bessel_detail

// x >= 0 with I_{v+1}(x) / I_v(x) = r. r = 0 gives 0; r < 0, r >= 1, NaN or
// v < 0 give NaN. x grows like (v + 1/2) / (1 - r) as r -> 1.
template <typename T>
HVAE_HD T iv_ratio_inverse(T v, T r) {
  return static_cast<T>(
      bessel_detail::iv_ratio_inverse_impl(static_cast<double>(v), static_cast<double>(r), nullptr));
}

// dx/dr of the inverse at x = iv_ratio_inverse(v, r): 1 / R_v'(x), in double.
template <typename T>
HVAE_HD T iv_ratio_inverse_dr(T v, T x) {
  return static_cast<T>(
      1.0 / bessel_detail::bessel_eval<double, bessel_detail::kRatioDx>(static_cast<double>(v),
                                                                         static_cast<double>(x)));
}

}  // namespace hvae
