// The angle law of the Power Spherical distribution (De Cao and Aziz 2020)
// for the shared sampler pipeline of kernels/vmf_sample.h: the draw of the
// angle and its implicit-reparameterization gradient d theta / d kappa.
// Header-only, host + device, no torch. docs/power_spherical.md derives it.
//
// On S^{m-1}, t = mu^T z = cos(theta) = 2 B - 1 with B ~ Beta(alpha, beta),
// alpha = (m-1)/2 + kappa, beta = (m-1)/2. With G1 ~ Gamma(alpha) and
// G2 ~ Gamma(beta) independent, B = G1 / (G1 + G2), and
//   y = 1 - t = 2 G2 / (G1 + G2),   y' = 1 + t = 2 G1 / (G1 + G2),
// both free of cancellation. G2 = |n|^2 / 2 for the m - 1 tangent normals n
// the pipeline draws anyway, and n / |n| (the tangent direction) is
// independent of |n|: only G1 needs a draw of its own (Marsaglia-Tsang).
//
// Random-number layout: the vMF one (vmf.h), so that the normals come from
// the same blocks and the same code. G1 uses the first words of the angle
// stream at block `offset` (at most gamma_max_words, which fit the vMF angle
// blocks); a launch consumes vmf_offset_increment<T>(m) blocks.
#pragma once

#include <cmath>

#include "hvae/common.h"
#include "hvae/philox.h"
#include "hvae/power_spherical_density.h"
#include "hvae/vmf.h"
#include "hvae/vmf_grad.h"

namespace hvae {

static_assert(uint64_t(gamma_max_words<float>()) <= 4 * vmf_angle_blocks<float>() &&
                  uint64_t(gamma_max_words<double>()) <= 4 * vmf_angle_blocks<double>(),
              "the Gamma draw fits the angle blocks of the vMF layout");

// What the angle draw leaves for after the normals: G1 ~ Gamma(alpha), or
// +inf for kappa = inf (theta = 0), or NaN for a negative or NaN kappa.
template <typename T>
struct PsDraw {
  T g1;
};

template <typename T>
HVAE_HD PsDraw<T> ps_draw(uint64_t seed, uint64_t subsequence, uint64_t offset, int64_t m,
                          T kappa) {
  if (!(kappa >= T(0))) return PsDraw<T>{quiet_nan<T>()};
  if (kappa == infinity<T>()) return PsDraw<T>{infinity<T>()};
  PhiloxStream s(seed, subsequence, offset);
  // alpha >= 1/2: gamma() boosts alpha < 1 by U^(1/alpha), U^2 at worst,
  // which cannot underflow.
  const T alpha = T(0.5) * (T(m) - T(1)) + kappa;
  return PsDraw<T>{gamma<T>(s, alpha)};
}

// The angle from G1 and |n|^2 = 2 G2: y = 2 |n|^2 / (2 G1 + |n|^2),
// y' = 4 G1 / (2 G1 + |n|^2). |n| = 0 (all normals 0) gives theta = 0.
template <typename T>
HVAE_HD VmfAngle<T> ps_angle(const PsDraw<T>& d, T norm2) {
  if (isnan_(d.g1)) return vmf_angle_nan<T>();
  if (d.g1 == infinity<T>()) return VmfAngle<T>{T(0), T(1), T(0)};
  const T den = T(2) * d.g1 + norm2;
  return vmf_angle_from_halves(T(2) * norm2 / den, T(4) * d.g1 / den);
}

// ---------------------------------------------------------------------------
// d theta / d kappa, as vmf_grad.h does for the vMF. The density of theta is
// f(phi) ~ (1 + cos phi)^kappa sin^{m-2} phi ~ c^{2a} s^{2b'}, c = cos(phi/2),
// s = sin(phi/2), a = kappa + (m-2)/2, b' = (m-2)/2, and d log f / d kappa =
// log(1 + cos phi) - E[log(1 + t)] = 2 log c + D, D = psi(alpha + beta) -
// psi(alpha) (E log B = -D). With psi(phi) = log f(phi) - log f(theta):
//   d theta / d kappa = -int_0^theta (2 log c + D) e^psi dphi
//                     = int_theta^pi (2 log c + D) e^psi dphi,
// and 2 log c + D decreases in phi: the tail on which it has one sign
// ([0, theta] where 2 log c_theta + D >= 0, else [theta, pi]) gives
// d theta / d kappa = -int_tail |2 log c + D| e^psi dphi, no cancellation.
// psi is concave, its mode phi* has cos^2(phi*/2) = a / (a + b'), and
// -psi'' = a / (2 c^2) + b' / (2 s^2), = a + b' = kappa + m - 2 at the mode.
// (For the Beta variable B = c^2: dB/dalpha = -(sin theta / 2) dtheta/dkappa.)

struct PsTailIntegrand {
  double two_a;   // 2a = 2 kappa + m - 2, the power of cos(phi/2)
  double two_b;   // 2b' = m - 2, the power of sin(phi/2)
  double log_c_theta;
  double log_s_theta;
  double D;       // psi(alpha + beta) - psi(alpha)

  // Only sizes the panels (vmf_widen, the grading): the fast log is enough,
  // and the same log as value_half's keeps psi(theta) = 0 exact.
  HVAE_HD double psi(double phi) const {
    constexpr double tiny = 2.2250738585072014e-308;
    const double c = ::cos(0.5 * phi), s = ::sin(0.5 * phi);
    double p = 0.0;
    if (two_a != 0.0) p += two_a * (fastmath::log_pos(c > tiny ? c : tiny) - log_c_theta);
    if (two_b != 0.0) p += two_b * (fastmath::log_pos(s > tiny ? s : tiny) - log_s_theta);
    return p;
  }

  // From s = sin(phi/2), c = cos(phi/2), with the branch-free log and exp of
  // vmf_fastmath.h (a panel's nodes vectorise on the CPU); both lie in (0, 1]
  // at the nodes, the clamp only keeps log_pos in its domain.
  HVAE_HD double value_half(double s, double c) const {
    constexpr double tiny = 2.2250738585072014e-308;
    const double lc = fastmath::log_pos(c > tiny ? c : tiny);
    const double ls = fastmath::log_pos(s > tiny ? s : tiny);
    const double g = ::fabs(D + 2.0 * lc);
    return g * fastmath::exp_poly(two_a * (lc - log_c_theta) + two_b * (ls - log_s_theta));
  }
};

// Panels per decade towards phi = pi, where 2 log c has its (integrable) log
// singularity: [a, pi] is cut at pi - d r^k, d = pi - a, r = kPsGradeRatio,
// until psi there is kPsGradeDrop below the reference or k = kPsGradeLevels
// (the rest, under d r^16 ~ 7e-14 d wide, is left out: < 1e-11 relative).
constexpr double kPsGradeRatio = 0.15;
constexpr int kPsGradeLevels = 16;
constexpr double kPsGradeDrop = 40.0;

template <int N>
HVAE_HD double ps_panel_to_pi(const PsTailIntegrand& f, double a, double ref) {
  const double pi = vmf_detail::kPi;
  double d = pi - a;
  double lo = a;
  double sum = 0.0;
  for (int k = 0; k < kPsGradeLevels; ++k) {
    const double hi = pi - d * kPsGradeRatio;
    sum += vmf_panel<N>(f, lo, hi - lo);
    if (f.psi(hi) < ref - kPsGradeDrop) break;
    lo = hi;
    d *= kPsGradeRatio;
  }
  return sum;
}

// One panel from a (psi(a) = ref) over len, graded when it ends at pi.
template <int N>
HVAE_HD double ps_panel(const PsTailIntegrand& f, double a, double len, double limit, double ref) {
  if (len > 0.0 && len >= limit && a + limit >= vmf_detail::kPi - 1e-15)
    return ps_panel_to_pi<N>(f, a, ref);
  return vmf_panel<N>(f, a, len);
}

template <int N>
HVAE_HD double ps_dtheta_dkappa(double m, double kappa, double theta) {
  const double pi = vmf_detail::kPi;
  if (!(theta > 0.0) || !(theta < pi) || !(kappa < HUGE_VAL)) return 0.0;
  if (!(kappa >= 0.0)) return ::nan("");
  const double a = kappa + 0.5 * (m - 2.0), b = 0.5 * (m - 2.0);
  const double sh = ::sin(0.5 * theta), ch = ::cos(0.5 * theta);
  PsTailIntegrand f;
  f.two_a = 2.0 * a;
  f.two_b = 2.0 * b;
  // theta in (0, pi): ch, sh > 0; the fast log (as value_half's) where normal
  constexpr double tiny = 2.2250738585072014e-308;
  f.log_c_theta = ch > tiny ? fastmath::log_pos(ch) : ::log(ch);
  f.log_s_theta = sh > tiny ? fastmath::log_pos(sh) : ::log(sh);
  // psi(alpha + beta) - psi(alpha) without cancellation for alpha >> beta
  // (the density ops' difference, power_spherical_density.h)
  f.D = ps_density_detail::psi_diff(kappa + 0.5 * (m - 1.0), 0.5 * (m - 1.0));
  const bool upper = f.D + 2.0 * f.log_c_theta >= 0.0;
  const double tail_end = upper ? 0.0 : pi;

  // The mode phi* has tan^2(phi*/2) = b'/a (0 at m = 2, where the density
  // c^{2 kappa} peaks at phi = 0, constant for kappa = 0): phi* < theta iff
  // b' c^2 < a s^2, decided without the mode's atan2.
  const bool mode_below_theta = b * ch * ch < a * sh * sh || b == 0.0;
  const bool mode_in_tail = upper ? mode_below_theta : !mode_below_theta;
  const double curv_mode = a + b;
  const double T = kVmfWindowDrop;
  double J = 0.0;
  if (mode_in_tail) {
    double mode, peak;
    if (b == 0.0) {
      mode = 0.0;
      peak = -f.two_a * f.log_c_theta;
    } else {
      mode = 2.0 * ::atan2(::sqrt(b), ::sqrt(a));
      // log c*^2 = -log1p(b/a), log s*^2 = -log1p(a/b)
      peak = -a * ::log1p(b / a) - b * ::log1p(a / b) - f.two_a * f.log_c_theta -
             f.two_b * f.log_s_theta;
    }
    const double L = curv_mode > 0.0 ? ::sqrt(2.0 * T / curv_mode) : HUGE_VAL;
    const double to_theta = theta - mode;
    const double lim1 = ::fabs(to_theta);
    const double len1 =
        vmf_widen(f, mode, peak, (to_theta < 0.0 ? -1.0 : 1.0) * ::fmin(L, lim1), lim1);
    const double lim2 = ::fabs(tail_end - mode);
    const double dir2 = upper ? -1.0 : 1.0;
    const double len2 = lim2 > 0.0 ? vmf_widen(f, mode, peak, dir2 * ::fmin(L, lim2), lim2) : 0.0;
    J = vmf_panel<N>(f, mode, len1) + ps_panel<N>(f, mode, len2, lim2, peak);
  } else {
    // psi decays away from theta: its slope and curvature there.
    const double slope = ::fabs(b * ch / sh - a * sh / ch);
    const double curv = a / (2.0 * ch * ch) + b / (2.0 * sh * sh);
    const double denom = slope + ::sqrt(slope * slope + 2.0 * curv * T);
    const double L = denom > 0.0 ? 2.0 * T / denom : HUGE_VAL;
    const double lim = ::fabs(tail_end - theta);
    const double dir = upper ? -1.0 : 1.0;
    const double len = vmf_widen(f, theta, 0.0, dir * ::fmin(L, lim), lim);
    J = ps_panel<N>(f, theta, len, lim, 0.0);
  }
  return -J;
}

// The angle law of the Power Spherical for the sampler pipeline
// (kernels/vmf_sample.h; VmfAngleLaw there is the vMF one).
struct PsAngleLaw {
  template <typename T>
  using Draw = PsDraw<T>;

  template <typename T>
  HVAE_HD static PsDraw<T> draw(uint64_t seed, uint64_t subsequence, uint64_t offset, int64_t m,
                                T kappa) {
    return ps_draw<T>(seed, subsequence, offset, m, kappa);
  }
  template <typename T>
  HVAE_HD static VmfAngle<T> angle(const PsDraw<T>& d, T norm2) {
    return ps_angle<T>(d, norm2);
  }
  template <int N>
  HVAE_HD static double dtheta_dkappa(double m, double kappa, double theta) {
    return ps_dtheta_dkappa<N>(m, kappa, theta);
  }
};

}  // namespace hvae
