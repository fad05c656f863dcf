// d theta / d kappa of the Power Spherical angle (the implicit-
// reparameterization gradient of the sampler, power_spherical.h): a series
// of the incomplete Beta function where it converges fast and without
// cancellation, else a one-sign tail quadrature. Header-only, host +
// device, no torch. docs/power_spherical.md derives both.
#pragma once

#include <cmath>

#include "hvae/common.h"
#include "hvae/lanes.h"
#include "hvae/power_spherical_density.h"
#include "hvae/vmf_grad.h"

namespace hvae {

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
HVAE_HD double ps_dtheta_dkappa_quadrature(double m, double kappa, double theta) {
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

// ---------------------------------------------------------------------------
// The series. With x = B = cos^2(theta/2), y = 1 - B = sin^2(theta/2) and
// F = I_x(alpha, beta), dB/dalpha = -(dF/dalpha) / f(x), and d theta/d kappa
// = -(dB/dalpha) / (s c) (dB = -(sin theta / 2) d theta, sin theta = 2 s c,
// s = sin(theta/2), c = cos(theta/2)). The 2F1 forms of I_x (DLMF 8.17(ii)),
//   1 - F = x^alpha y^beta / (beta B(alpha, beta)) S,  S = sum_n (alpha+beta)_n / (beta+1)_n y^n,
//   F     = x^alpha y^beta / (alpha B(alpha, beta)) T, T = sum_n (alpha+beta)_n / (alpha+1)_n x^n,
// differentiated in alpha and divided by f(x) = x^(alpha-1) y^(beta-1) / B(alpha, beta):
//   dB/dalpha =  (x y / beta)  [(log x + D) S + S'],            (y-series)
//   dB/dalpha = -(x y / alpha) [(log x + D - 1/alpha) T + T'],  (x-series)
// with D = psi(alpha + beta) - psi(alpha) (= -d log B(alpha, beta)/d alpha)
// and S' = dS/dalpha, T' = dT/dalpha: neither the Beta function nor the
// incomplete Beta is evaluated. Both are sum_n t_n, t_0 = 1, t_n = t_{n-1} r_n,
// r_n = w (alpha + beta + n - 1) / (d + n), and t'_n = t'_{n-1} r_n + t_{n-1} r'_n:
//   y-series: w = y, d = beta:  r'_n = w / (d + n);
//   x-series: w = x, d = alpha: r'_n = (w - r_n) / (d + n) = x (1 - beta) / (alpha + n)^2.
// One division per term, no transcendental: ~45 terms at m = 16 and ~80 at
// m = 64 for kappa in [1, 1e4] (the quadrature costs ~200 terms' time).
//
// Which and when:
//  - the x-series where r_1 = x (alpha+beta)/(alpha+1) <= 1/2 (B well below
//    its mean; r_n decreases towards x for beta >= 1): under 60 terms;
//  - else the y-series. Its terms grow while r_n > 1 (to n* = (y (alpha+
//    beta-1) - beta)/(1-y)), then fall as a Poisson law's (~9 sqrt(beta + n*)
//    terms to 1e-17) and at worst like y^n: predicted
//    n* + 9 sqrt(beta + n* + 1) + 40/x terms, the quadrature where that is
//    over kPsSeriesPredicted;
//  - A S + S' (A = log x + D, or log x + D - 1/alpha) cancels where the terms
//    change sign: the y-series' do in the far lower tail of B (below
//    exp(-D)), the x-series' at m = 2 (r'_n > 0). The sum keeps
//    eps (|A| S + |S'|) / |A S + S'| relative: where that ratio exceeds
//    PsSeriesTol::cancel, or a series has not converged in kPsSeriesTerms,
//    the quadrature.
constexpr int kPsSeriesTerms = 256;
constexpr double kPsSeriesPredicted = 220.0;

// Where a series stops (its tail below eps (|A| S + |S'|)) and how much
// cancellation it may carry, by the precision of the result (N, the
// quadrature's nodes: 16 for float64, 12 for float32). float64: 1e-17 and
// 1e5, ~4e-11 at worst (B below its ~1e-5 quantile at large kappa);
// float32: 1e-12 and 1e4, ~1e-8 at worst, and ~15% fewer terms.
struct PsSeriesTol {
  double eps, cancel;
};

template <int N>
HVAE_HD constexpr PsSeriesTol ps_series_tol() {
  return N >= 16 ? PsSeriesTol{1e-17, 1e5} : PsSeriesTol{1e-12, 1e4};
}

struct PsSeries {
  double value;
  bool ok;  // false: the quadrature takes over
};

// The series' epilogue: A S + S', or ok = false where it cancels or has not
// converged.
HVAE_HD PsSeries ps_series_sum(double A, double S, double dS, bool converged, PsSeriesTol tol) {
  const double sum = A * S + dS;
  const bool ok = converged && ::fabs(sum) * tol.cancel >= ::fabs(A) * S + ::fabs(dS) &&
                  ::fabs(sum) < HUGE_VAL;
  return PsSeries{sum, ok};
}

// sum_n t_n (A + H_n) = A S + S' of one series (x_form: the x-series),
// two terms a step: t_{n+1} = t_{n-1} (r_n r_{n+1}) and
// t'_{n+1} = t'_{n-1} (r_n r_{n+1}) + t_{n-1} (r'_n r_{n+1} + r_n r'_{n+1})
// keep the chains from term to term (a multiply and an add) at half the
// length of the one-term recurrence's, which bound the loop's speed.
// Tail bound after term n: r_j <= rb = max(r_n, w) for j > n (r_n is
// monotone towards w) and |d log r_j / d alpha| <= g, so the rest of S is
// under t rb / (1 - rb) and the rest of S' under
// |t'| rb / (1 - rb) + t g rb / (1 - rb)^2. It is tested every
// kPsSeriesCheck terms: the test and its exit branch (in lanes, with the
// masks' horizontal or) cost several terms' time; every 16 terms was the
// fastest of 4, 8, 16 and 32 at m = 16 and 64 (the extra terms are cheap).
// ps_y_series_lanes (below) repeats this loop operation for operation:
// keep the two alike.
constexpr int kPsSeriesCheck = 16;
static_assert(kPsSeriesTerms % kPsSeriesCheck == 0 && kPsSeriesCheck % 2 == 0,
              "whole steps, and the last term is a checked one");

HVAE_HD PsSeries ps_beta_series(double w, double d, double c, double beta, double A, bool x_form,
                                PsSeriesTol tol) {
  const double g_scale = x_form ? ::fabs(1.0 - beta) : 1.0;
  double t = 1.0, dt = 0.0, S = 1.0, dS = 0.0;
  bool converged = false;
  for (int n = 1; n < kPsSeriesTerms; n += 2) {
    const double inv1 = 1.0 / (d + double(n)), inv2 = 1.0 / (d + double(n + 1));
    const double r1 = w * (c + double(n - 1)) * inv1, r2 = w * (c + double(n)) * inv2;
    const double dr1 = x_form ? (w - r1) * inv1 : w * inv1;
    const double dr2 = x_form ? (w - r2) * inv2 : w * inv2;
    const double t1 = t * r1, dt1 = dt * r1 + t * dr1;
    const double p = r1 * r2, pd = dr1 * r2 + r1 * dr2;
    dt = dt * p + t * pd;
    t = t * p;
    S = S + (t1 + t);
    dS = dS + (dt1 + dt);
    const double rb = r2 > w ? r2 : w;
    if ((n + 1) % kPsSeriesCheck == 0 && rb < 1.0) {
      // g <= 1/(c+n) <= inv (y-series); |1-beta| / ((c+n) (alpha+n+1)) <= |1-beta| inv^2
      const double g = x_form ? g_scale * inv2 * inv2 : inv2;
      const double q = 1.0 - rb;
      const double tail = ((::fabs(A) * t + ::fabs(dt)) * q + t * g) * rb;
      if (tail <= tol.eps * (::fabs(A) * S + ::fabs(dS)) * q * q) {
        converged = true;
        break;
      }
    }
  }
  return ps_series_sum(A, S, dS, converged, tol);
}

// Which series one sample takes, and its inputs: d theta / d kappa =
// scale (A S + S') of the series with ratio w (alpha+beta+n-1) / (d+n).
enum class PsSeriesForm : int { kY = 0, kX = 1, kQuadrature = 2 };

struct PsSeriesSetup {
  PsSeriesForm form;
  double w, d, c, beta, A, scale;
  double sin_half, cos_half;  // of theta / 2
};

// sin theta and cos theta from the half angle (the PS backward's chain rule
// takes them from the sin and cos of theta / 2 the series needs anyway).
HVAE_HD VmfAngle<double> ps_angle_from_half(double theta, double sin_half, double cos_half) {
  return VmfAngle<double>{theta, (cos_half - sin_half) * (cos_half + sin_half), 2.0 * sin_half * cos_half};
}

// What the series takes of theta: s = sin(theta/2), co = cos(theta/2),
// y = s^2, x = co^2 and log x, to a few ulp relative at both ends (log1p(-y)
// while x is near 1). Branch-free (vmf_fastmath.h), so that the lanes'
// setups run as one loop.
struct PsHalfAngle {
  double s, co, y, x, log_x;
};

HVAE_HD_INLINE PsHalfAngle ps_half_angle(double theta) {
  PsHalfAngle h;
  fastmath::sincos_half(theta, h.s, h.co);
  h.y = h.s * h.s;
  h.x = h.co * h.co;
  // co >= cos(pi/2 - ulp) ~ 1e-16 in (0, pi): log_pos's domain
  const double near_one = fastmath::log1p_small(-h.y), far = 2.0 * fastmath::log_pos(h.co);
  h.log_x = h.y < 0.25 ? near_one : far;
  return h;
}

HVAE_HD VmfAngle<double> ps_angle_sin_cos(double theta) {
  double s, co;
  fastmath::sincos_half(theta, s, co);
  return ps_angle_from_half(theta, s, co);
}

// For theta in (0, pi), finite kappa >= 0; h = ps_half_angle(theta).
HVAE_HD PsSeriesSetup ps_series_setup(double m, double kappa, const PsHalfAngle& h) {
  const double beta = 0.5 * (m - 1.0), alpha = kappa + beta, c = alpha + beta;
  const double s = h.s, co = h.co, y = h.y, x = h.x, log_x = h.log_x;
  const double D = ps_density_detail::psi_diff(alpha, beta);
  const double sc = s * co;
  if (x * c <= 0.5 * (alpha + 1.0))
    return PsSeriesSetup{PsSeriesForm::kX, x, alpha, c, beta, log_x + D - 1.0 / alpha, sc / alpha, s, co};
  const double peak = ::fmax(0.0, (y * (c - 1.0) - beta) / x);
  const bool fits = peak + 9.0 * ::sqrt(beta + peak + 1.0) + 40.0 / x <= kPsSeriesPredicted;
  return PsSeriesSetup{fits ? PsSeriesForm::kY : PsSeriesForm::kQuadrature,
                       y, beta, c, beta, log_x + D, -(sc / beta), s, co};
}

HVAE_HD PsSeriesSetup ps_series_setup(double m, double kappa, double theta) {
  return ps_series_setup(m, kappa, ps_half_angle(theta));
}

// d theta / d kappa by the series a setup names (not ok for the quadrature's).
HVAE_HD PsSeries ps_series_value(const PsSeriesSetup& s, PsSeriesTol tol) {
  if (s.form == PsSeriesForm::kQuadrature) return PsSeries{0.0, false};
  const PsSeries r = ps_beta_series(s.w, s.d, s.c, s.beta, s.A, s.form == PsSeriesForm::kX, tol);
  return PsSeries{s.scale * r.value, r.ok};
}

// d theta / d kappa by a series, for theta in (0, pi), finite kappa >= 0.
HVAE_HD PsSeries ps_dtheta_dkappa_series(double m, double kappa, double theta,
                                         PsSeriesTol tol = ps_series_tol<16>()) {
  return ps_series_value(ps_series_setup(m, kappa, theta), tol);
}

// The edges of d theta / d kappa: 0 at theta outside (0, pi) and at
// kappa = inf, NaN for a negative or NaN kappa (true: *value is it).
HVAE_HD bool ps_dtheta_dkappa_edge(double kappa, double theta, double* value) {
  if (!(theta > 0.0) || !(theta < vmf_detail::kPi) || !(kappa < HUGE_VAL)) {
    *value = 0.0;
    return true;
  }
  if (!(kappa >= 0.0)) {
    *value = ::nan("");
    return true;
  }
  return false;
}

// d theta / d kappa of the sampler: the edges, else the series, else the
// quadrature (N nodes).
template <int N>
HVAE_HD double ps_dtheta_dkappa(double m, double kappa, double theta) {
  double edge;
  if (ps_dtheta_dkappa_edge(kappa, theta, &edge)) return edge;
  const PsSeries s = ps_dtheta_dkappa_series(m, kappa, theta, ps_series_tol<N>());
  return s.ok ? s.value : ps_dtheta_dkappa_quadrature<N>(m, kappa, theta);
}

#if HVAE_LANES_VECTOR
// ps_beta_series' y-series of kPsSeriesLanes samples at once (host: a GCC
// vector, one AVX2 register or two SSE2 ones), d = beta shared. Every lane
// does the scalar loop's operations in its order, and its sums are kept at
// the term where the scalar loop stops, so the results equal
// ps_beta_series' bit for bit. The sums run on past that (a few terms, each
// smaller than the last): freezing them instead would put the convergence
// test on the loop's critical path. A lane with w = 0 (unused) converges at
// the first check. (Two such vectors in step were no faster; one vector of
// 8 doubles makes GCC 12 spill every operation to memory, 5x slower.)
constexpr int kPsSeriesLanes = 4;
typedef double PsSeriesVec __attribute__((vector_size(8 * kPsSeriesLanes)));

HVAE_LANES_FN void ps_y_series_lanes(const double* w_in, const double* c_in, double beta, const double* A_in,
                                     PsSeriesTol tol, PsSeries* out) {
  using V = PsSeriesVec;
  using M = decltype(V{} < V{});  // lane masks: all ones or zero
  V w, c, A;
  for (int l = 0; l < kPsSeriesLanes; ++l) {
    w[l] = w_in[l];
    c[l] = c_in[l];
    A[l] = A_in[l];
  }
  const V abs_A = A < 0.0 ? -A : A;
  V t = V{} + 1.0, dt = V{}, S = t, dS = dt;
  V S_kept = S, dS_kept = dS;
  M active = V{} == V{};
  static_assert(kPsSeriesCheck % kPsSeriesLanes == 0, "a check's terms fill whole vectors");
  constexpr int kInvVectors = kPsSeriesCheck / kPsSeriesLanes;
  V steps[kInvVectors];  // 1 / (beta + n) of a check's terms, a vector division per lanes' worth
  for (int k = 0; k < kPsSeriesCheck; ++k) steps[k / kPsSeriesLanes][k % kPsSeriesLanes] = double(k + 1);
  for (int n0 = 0; n0 < kPsSeriesTerms; n0 += kPsSeriesCheck) {
    double invs[kPsSeriesCheck];
    for (int v = 0; v < kInvVectors; ++v) {
      const V inv_v = 1.0 / ((beta + double(n0)) + steps[v]);
      for (int l = 0; l < kPsSeriesLanes; ++l) invs[v * kPsSeriesLanes + l] = inv_v[l];
    }
    V r2 = V{};  // the ratio of the checked (last) term
    for (int k = 0; k < kPsSeriesCheck; k += 2) {
      const double inv1 = invs[k], inv2 = invs[k + 1];
      const V r1 = w * (c + double(n0 + k)) * inv1;
      r2 = w * (c + double(n0 + k + 1)) * inv2;
      const V dr1 = w * inv1, dr2 = w * inv2;
      const V t1 = t * r1, dt1 = dt * r1 + t * dr1;
      const V p = r1 * r2, pd = dr1 * r2 + r1 * dr2;
      dt = dt * p + t * pd;
      t = t * p;
      S = S + (t1 + t);
      dS = dS + (dt1 + dt);
    }
    const double inv = invs[kPsSeriesCheck - 1];
    const V rb = r2 > w ? r2 : w;
    const V q = 1.0 - rb;
    const V abs_dt = dt < 0.0 ? -dt : dt;
    const V abs_dS = dS < 0.0 ? -dS : dS;
    const V tail = ((abs_A * t + abs_dt) * q + t * inv) * rb;
    const M done = active & (rb < 1.0) & (tail <= tol.eps * (abs_A * S + abs_dS) * q * q);
    S_kept = done ? S : S_kept;
    dS_kept = done ? dS : dS_kept;
    active &= ~done;
    bool any = false;
    for (int l = 0; l < kPsSeriesLanes; ++l) any = any || active[l] != 0;
    if (!any) break;
  }
  for (int l = 0; l < kPsSeriesLanes; ++l)
    out[l] = ps_series_sum(A_in[l], S_kept[l], dS_kept[l], active[l] == 0, tol);
}

// ps_dtheta_dkappa<N> of count <= kPsSeriesLanes samples, the same values,
// with the y-series (the common case) of the samples run in lanes; and
// ps_angle_sin_cos of each theta into angle[].
template <int N>
HVAE_LANES_FN void ps_dtheta_dkappa_lanes(double m, const double* kappa, const double* theta, int count,
                                          double* out, VmfAngle<double>* angle) {
  constexpr int L = kPsSeriesLanes;
  double w[L] = {}, c[L], A[L] = {}, scale[L];
  bool in_lanes[L] = {};
  for (int l = 0; l < L; ++l) c[l] = 1.0;
  // the half angles in one loop (edge lanes' are not used)
  double th_all[L] = {};
  for (int l = 0; l < count; ++l) th_all[l] = theta[l];
  PsHalfAngle half[L];
  HVAE_SIMD_LOOP
  for (int l = 0; l < L; ++l) half[l] = ps_half_angle(th_all[l]);
  for (int l = 0; l < count; ++l) {
    const double k = kappa[l], th = theta[l];
    if (ps_dtheta_dkappa_edge(k, th, &out[l])) {
      angle[l] = ps_angle_sin_cos(th);
      continue;
    }
    const PsSeriesSetup s = ps_series_setup(m, k, half[l]);
    angle[l] = ps_angle_from_half(th, s.sin_half, s.cos_half);
    if (s.form == PsSeriesForm::kY) {
      in_lanes[l] = true;
      w[l] = s.w;
      c[l] = s.c;
      A[l] = s.A;
      scale[l] = s.scale;
      continue;
    }
    const PsSeries r = ps_series_value(s, ps_series_tol<N>());
    out[l] = r.ok ? r.value : ps_dtheta_dkappa_quadrature<N>(m, k, th);
  }
  PsSeries r[L];
  // d = beta = (m - 1) / 2, as ps_series_setup has it
  ps_y_series_lanes(w, c, 0.5 * (m - 1.0), A, ps_series_tol<N>(), r);
  for (int l = 0; l < count; ++l) {
    if (!in_lanes[l]) continue;
    out[l] = r[l].ok ? scale[l] * r[l].value : ps_dtheta_dkappa_quadrature<N>(m, kappa[l], theta[l]);
  }
}
#endif

}  // namespace hvae
