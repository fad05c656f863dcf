// The kappa gradient of the vMF sampler: d theta / d kappa by implicit
// reparameterization (Figurnov, Mohamed and Mnih 2018), a Gauss-Legendre
// quadrature over one tail of the angle's density, in log space.
// Header-only, host + device, no torch; docs/vmf.md has the derivation.
#pragma once

#include <cmath>

#include "hvae/bessel.h"
#include "hvae/common.h"
#include "hvae/vmf.h"

namespace hvae {

// ---------------------------------------------------------------------------
// d theta / d kappa by implicit reparameterization.
//
// With F the CDF of w, dw/dkappa = -(dF/dkappa)(w) / f(w) and
// dF/dkappa(w) = int_{-1}^{w} (t - A) f(t) dt, A = A_m(kappa) = E[w]
// = I_{m/2}(kappa) / I_{m/2-1}(kappa). In theta (t = cos phi) the normaliser
// cancels and, with psi(phi) = (m-2) log(sin phi / sin theta)
// + kappa (cos phi - cos theta),
//   d theta / d kappa = int_theta^pi (cos phi - A) e^psi dphi
//                     = -int_0^theta (cos phi - A) e^psi dphi.
// We integrate the tail on which cos phi - A has one sign (upper [0, theta]
// when w >= A, else lower [theta, pi]), so the sum has no cancellation, and
// d theta / d kappa = -int_tail |cos phi - A| e^psi dphi.
// The integrand is unimodal (mode phi* of sin^{m-2} e^{kappa cos}). The
// quadrature covers the window where psi is within kVmfWindowDrop of its peak:
// one or two Gauss-Legendre panels (n nodes) from the peak outwards, their
// lengths from the slope and curvature of psi at the peak, each checked (and
// widened, <= 3 times) by evaluating psi at its far end. Everything is in
// log space: cos phi - cos theta = 2 (s_theta^2 - s_phi^2), s = sin(./2).

constexpr double kVmfWindowDrop = 25.0;

// Gauss-Legendre nodes and weights on [-1, 1] (positive half; symmetric).
template <int N>
struct VmfGaussLegendre;

template <>
struct VmfGaussLegendre<8> {
  HVAE_HD static double node(int j) {
    constexpr double x[4] = {0.18343464249564978, 0.525532409916329, 0.7966664774136267,
                             0.9602898564975362};
    return x[j];
  }
  HVAE_HD static double weight(int j) {
    constexpr double w[4] = {0.36268378337836166, 0.3137066458778869, 0.22238103445337443,
                             0.10122853629037706};
    return w[j];
  }
};

template <>
struct VmfGaussLegendre<12> {
  HVAE_HD static double node(int j) {
    constexpr double x[6] = {0.1252334085114689, 0.3678314989981802, 0.5873179542866175,
                             0.7699026741943047, 0.9041172563704748, 0.9815606342467192};
    return x[j];
  }
  HVAE_HD static double weight(int j) {
    constexpr double w[6] = {0.2491470458134027, 0.2334925365383546, 0.20316742672306573,
                             0.16007832854334642, 0.10693932599531907, 0.04717533638651141};
    return w[j];
  }
};

template <>
struct VmfGaussLegendre<16> {
  HVAE_HD static double node(int j) {
    constexpr double x[8] = {0.09501250983763744, 0.2816035507792589, 0.45801677765722737,
                             0.6178762444026438,  0.755404408355003,  0.8656312023878318,
                             0.9445750230732326,  0.9894009349916499};
    return x[j];
  }
  HVAE_HD static double weight(int j) {
    constexpr double w[8] = {0.18945061045506864, 0.18260341504492364, 0.16915651939500265,
                             0.1495959888165767,  0.12462897125553407, 0.0951585116824926,
                             0.062253523938647456, 0.027152459411754176};
    return w[j];
  }
};

// psi and the integrand |cos phi - A| e^psi, with everything that depends on
// theta only computed once.
struct VmfTailIntegrand {
  double mm2;          // m - 2
  double kappa;
  double log_sin_theta;
  double y_theta;      // 1 - cos theta = 2 sin^2(theta/2)
  double one_minus_A;

  HVAE_HD double psi(double phi) const {
    const double sh = ::sin(0.5 * phi);
    const double ch = ::cos(0.5 * phi);
    const double y_phi = 2.0 * sh * sh;
    double p = kappa * (y_theta - y_phi);
    if (mm2 != 0.0) p += mm2 * (::log(2.0 * sh * ch) - log_sin_theta);
    return p;
  }

  // The integrand from sh = sin(phi/2), ch = cos(phi/2), with the
  // branch-free exp and log of vmf_fastmath.h, so that a panel's nodes are
  // one vectorised loop on the CPU. sin phi is clamped to DBL_MIN only to
  // keep log_pos in its domain; the nodes lie inside (0, pi) and the
  // sampler's theta is far above 1e-308, so the clamp never binds.
  HVAE_HD double value_half(double sh, double ch) const {
    const double y_phi = 2.0 * sh * sh;
    const double g = ::fabs(one_minus_A - y_phi);
    const double s = 2.0 * sh * ch;
    const double sin_phi = s > 2.2250738585072014e-308 ? s : 2.2250738585072014e-308;
    const double lg = mm2 * (fastmath::log_pos(sin_phi) - log_sin_theta);
    return g * fastmath::exp_poly(kappa * (y_theta - y_phi) + lg);
  }
};

// Widens a panel [a, a + len] (len signed), psi(a) = peak, until psi at its
// end is at least 0.8 kVmfWindowDrop below the peak, or |len| = limit.
// F: VmfTailIntegrand, or another law's integrand with psi(phi) and
// value_half(sin(phi/2), cos(phi/2)) (power_spherical.h).
template <typename F>
HVAE_HD double vmf_widen(const F& f, double a, double peak, double len,
                         double limit) {
  const double sign = len < 0.0 ? -1.0 : 1.0;
  double mag = ::fmin(::fabs(len), limit);
  for (int i = 0; i < 3 && mag < limit; ++i) {
    const double drop = peak - f.psi(a + sign * mag);
    if (drop >= 0.8 * kVmfWindowDrop) break;
    mag = ::fmin(limit, mag * kVmfWindowDrop / ::fmax(drop, kVmfWindowDrop / 8.0));
  }
  return sign * mag;
}

// Gauss-Legendre on [a, a + len]. The nodes c -+ h x_j come in pairs whose
// half angles c/2 -+ d_j share sin d_j and cos d_j (angle addition; |d_j| <=
// pi/4, where fastmath::sincos_small holds), which halves the sincos work.
// The node loops have no libm call and no branch, so they vectorise; the
// weighted sum is taken in a fixed order.
template <int N, typename F>
HVAE_HD double vmf_panel(const F& f, double a, double len) {
  if (len == 0.0) return 0.0;
  const double h = 0.5 * len;
  const double c = a + h;
  const double sc = ::sin(0.5 * c), cc = ::cos(0.5 * c);
#if defined(__CUDA_ARCH__)
  // Device: pair by pair, the same operations in the same order (the host's
  // arrays below would keep ~30 more registers a thread live).
  double sum = 0.0;
  for (int j = 0; j < N / 2; ++j) {
    double sd, cd;
    fastmath::sincos_small(0.5 * h * VmfGaussLegendre<N>::node(j), sd, cd);
    const double lo = f.value_half(sc * cd - cc * sd, cc * cd + sc * sd);
    const double hi = f.value_half(sc * cd + cc * sd, cc * cd - sc * sd);
    sum += VmfGaussLegendre<N>::weight(j) * (lo + hi);
  }
#else
  // Host: half-angle sines and cosines of node c - h x_j at index j and of
  // c + h x_j at N/2 + j; then the integrand at all N nodes (the loop the
  // compiler vectorises); then the weighted sum.
  double sh[N], ch[N], xs[N / 2];
  for (int j = 0; j < N / 2; ++j) xs[j] = VmfGaussLegendre<N>::node(j);
  HVAE_SIMD_LOOP
  for (int j = 0; j < N / 2; ++j) {
    double sd, cd;
    fastmath::sincos_small(0.5 * h * xs[j], sd, cd);
    sh[j] = sc * cd - cc * sd;
    ch[j] = cc * cd + sc * sd;
    sh[N / 2 + j] = sc * cd + cc * sd;
    ch[N / 2 + j] = cc * cd - sc * sd;
  }
  double v[N];
  HVAE_SIMD_LOOP
  for (int k = 0; k < N; ++k) v[k] = f.value_half(sh[k], ch[k]);
  double sum = 0.0;
  for (int j = 0; j < N / 2; ++j) sum += VmfGaussLegendre<N>::weight(j) * (v[j] + v[N / 2 + j]);
#endif
  return sum * ::fabs(h);
}

// d theta / d kappa at (m, kappa, theta) given A = A_m(kappa); N = 16
// reaches ~2e-8 relative (checked against mpmath), N = 12 ~1e-6 (float32).
template <int N>
HVAE_HD double vmf_dtheta_dkappa(double m, double kappa, double theta, double A) {
  const double pi = vmf_detail::kPi;
  if (!(theta > 0.0) || !(theta < pi) || !(kappa < HUGE_VAL)) return 0.0;
  if (!(kappa >= 0.0)) return ::nan("");
  const double mm2 = m - 2.0;
  const double sh = ::sin(0.5 * theta), ch = ::cos(0.5 * theta);
  const double st = 2.0 * sh * ch, ct = (ch - sh) * (ch + sh);
  VmfTailIntegrand f;
  f.mm2 = mm2;
  f.kappa = kappa;
  f.log_sin_theta = ::log(st);
  f.y_theta = 2.0 * sh * sh;
  f.one_minus_A = 1.0 - A;
  const bool upper = f.one_minus_A >= f.y_theta;  // w >= A
  const double tail_end = upper ? 0.0 : pi;

  // Mode: (m-2) cos phi = kappa sin^2 phi, cos phi* = 2k / (m-2 + hypot(m-2, 2k)),
  // sin^2 phi* = (m-2) cos phi* / kappa; -psi''(phi*) = (m-2)/sin^2 + kappa cos.
  // psi(phi*) = kappa (y_theta - (1 - cos phi*)) + (m-2) (log(sin^2 phi*)/2 - log sin theta).
  double mode, curv_mode, y_mode, log_sin_mode;
  if (mm2 == 0.0) {
    mode = 0.0;
    curv_mode = kappa;
    y_mode = 0.0;
    log_sin_mode = 0.0;  // multiplied by m - 2 = 0
  } else if (kappa == 0.0) {
    mode = 0.5 * pi;
    curv_mode = mm2;
    y_mode = 1.0;
    log_sin_mode = 0.0;
  } else {
    const double k2 = 2.0 * kappa;
    // hypot only where the squares could overflow (it costs a libm call)
    const double h = k2 < 1e150 && mm2 < 1e150 ? ::sqrt(mm2 * mm2 + k2 * k2) : ::hypot(mm2, k2);
    const double c = k2 / (mm2 + h);
    const double s2 = mm2 * c / kappa;
    mode = ::atan2(::sqrt(s2), c);
    curv_mode = mm2 / s2 + kappa * c;
    y_mode = s2 / (1.0 + c);  // 1 - cos = sin^2 / (1 + cos), no cancellation
    log_sin_mode = 0.5 * ::log(s2);
  }
  const bool mode_in_tail = upper ? (mode < theta) : (mode > theta);
  const double T = kVmfWindowDrop;
  double J = 0.0;
  if (mode_in_tail) {
    const double L = curv_mode > 0.0 ? ::sqrt(2.0 * T / curv_mode) : HUGE_VAL;
    // Towards theta, then away from it (to the tail's end).
    const double to_theta = theta - mode;
    const double lim1 = ::fabs(to_theta);
    const double peak = f.kappa * (f.y_theta - y_mode) + mm2 * (log_sin_mode - f.log_sin_theta);
    const double len1 =
        vmf_widen(f, mode, peak, (to_theta < 0.0 ? -1.0 : 1.0) * ::fmin(L, lim1), lim1);
    const double lim2 = ::fabs(tail_end - mode);
    const double dir2 = upper ? -1.0 : 1.0;
    const double len2 = lim2 > 0.0 ? vmf_widen(f, mode, peak, dir2 * ::fmin(L, lim2), lim2) : 0.0;
    J = vmf_panel<N>(f, mode, len1) + vmf_panel<N>(f, mode, len2);
  } else {
    // The integrand decays away from theta: slope and curvature of psi there.
    const double slope = ::fabs(mm2 * ct / st - kappa * st);
    const double curv = ::fmax(mm2 / (st * st) + kappa * ct, 0.0);
    const double denom = slope + ::sqrt(slope * slope + 2.0 * curv * T);
    const double L = denom > 0.0 ? 2.0 * T / denom : HUGE_VAL;
    const double lim = ::fabs(tail_end - theta);
    const double dir = upper ? -1.0 : 1.0;
    // psi(theta) = 0 by definition.
    J = vmf_panel<N>(f, theta, vmf_widen(f, theta, 0.0, dir * ::fmin(L, lim), lim));
  }
  return -J;
}

// A_m(kappa) = I_{m/2}(kappa) / I_{m/2-1}(kappa) (0 at kappa = 0, 1 at inf).
HVAE_HD double vmf_mean_cos(double m, double kappa) {
  if (kappa == 0.0) return 0.0;
  if (!(kappa < HUGE_VAL)) return 1.0;
  return iv_ratio<double>(0.5 * m - 1.0, kappa);
}

}  // namespace hvae
