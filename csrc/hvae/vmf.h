// Reparameterized von Mises-Fisher sampling on S^{m-1}: Wood's (1994)
// rejection sampler in a cancellation-free form, the Householder rotation
// e1 -> mu, and the implicit-reparameterization gradient d theta / d kappa
// (Figurnov, Mohamed and Mnih 2018). Header-only, host + device, no torch.
// docs/vmf.md derives every formula below.
//
// Conventions: m is the ambient dimension, w = mu^T z = cos(theta) with theta
// in [0, pi] the angle between the sample and the mean direction. The sampler
// carries y = 1 - w and y' = 1 + w, each computed without cancellation, and
// reports theta = 2 atan2(sqrt(y), sqrt(y')), which keeps both ends accurate.
//
// Random-number layout (csrc/hvae/philox.h): sample i uses subsequence i.
// The angle is drawn from the stream that starts at block `offset`; at most
// vmf_angle_blocks<T>() blocks are used. The m - 1 tangent normals come in
// Box-Muller pairs; pair k is computed from block
//   offset + vmf_angle_blocks<T>() + k        (double: four words per pair)
//   offset + vmf_angle_blocks<T>() + k / 2    (float: words 2(k%2), 2(k%2)+1)
// so any thread or lane can compute any pair directly (CPU loops, CUDA
// threads and warps give the same values). A launch consumes
// vmf_offset_increment<T>(m) blocks of every subsequence.
#pragma once

#include <cstdint>

#include "hvae/bessel.h"
#include "hvae/common.h"
#include "hvae/philox.h"
#include "hvae/vmf_fastmath.h"

namespace hvae {

// Rejection tries before giving up (the last proposal is then kept). The
// acceptance probability is >= 0.65 for every m and kappa (numerically, over
// m in [2, 1e4], kappa in [1e-3, 1e8]; >= 0.68 for m >= 4), so all tries fail
// with probability < 0.35^64 ~ 1e-29.
constexpr int kVmfMaxTries = 64;

namespace vmf_detail {
HVAE_HD float atan2_(float y, float x) { return ::atan2f(y, x); }
HVAE_HD double atan2_(double y, double x) { return ::atan2(y, x); }
constexpr double kPi = 3.14159265358979323846264338327950288;
}  // namespace vmf_detail

// ---------------------------------------------------------------------------
// Random-number budget.

template <typename T>
HVAE_HD constexpr uint64_t vmf_angle_words_per_try() {
  return uint64_t(normal_words<T>() + gamma_max_words<T>() + uniform_words<T>());
}
template <typename T>
HVAE_HD constexpr uint64_t vmf_angle_blocks() {
  return (uint64_t(kVmfMaxTries) * vmf_angle_words_per_try<T>() + 3) / 4;
}
// Box-Muller pairs for the m - 1 tangent normals.
HVAE_HD int64_t vmf_normal_pairs(int64_t m) { return m / 2; }
template <typename T>
HVAE_HD uint64_t vmf_normal_blocks(int64_t m) {
  const int64_t pairs = vmf_normal_pairs(m);
  return sizeof(T) > 4 ? uint64_t(pairs) : uint64_t((pairs + 1) / 2);
}
template <typename T>
HVAE_HD uint64_t vmf_offset_increment(int64_t m) {
  return vmf_angle_blocks<T>() + vmf_normal_blocks<T>(m);
}

// ---------------------------------------------------------------------------
// The angle.

template <typename T>
struct VmfAngle {
  T theta;      // angle between z and mu, in [0, pi]
  T cos_theta;  // w = mu^T z
  T sin_theta;  // sqrt(1 - w^2)
};

// From y = 1 - w and y' = 1 + w: tan(theta/2) = sqrt(y / y'),
// sin(theta) = sqrt(y y'), and w from whichever of y, y' is below 1.
template <typename T>
HVAE_HD VmfAngle<T> vmf_angle_from_halves(T y, T yp) {
  VmfAngle<T> a;
  a.theta = T(2) * vmf_detail::atan2_(sqrt_(y), sqrt_(yp));
  a.sin_theta = sqrt_(y * yp);
  a.cos_theta = y <= T(1) ? T(1) - y : yp - T(1);
  return a;
}

template <typename T>
HVAE_HD VmfAngle<T> vmf_angle_nan() {
  const T nan = quiet_nan<T>();
  return VmfAngle<T>{nan, nan, nan};
}

// Wood's envelope parameter in the stable form b = (m-1)/(2 kappa +
// sqrt(4 kappa^2 + (m-1)^2)); hypot keeps 4 kappa^2 from overflowing.
template <typename T>
HVAE_HD T vmf_wood_b(T m, T kappa) {
  return (m - T(1)) / (T(2) * kappa + hypot_(T(2) * kappa, m - T(1)));
}

// 1 - b without cancellation as kappa -> 0 (b -> 1):
// 1 - b = (2k + 4k^2 / (h + m - 1)) / (2k + h), h = hypot(2k, m - 1).
template <typename T>
HVAE_HD T vmf_wood_one_minus_b(T m, T kappa, T b) {
  if (b < T(0.5)) return T(1) - b;
  const T k2 = T(2) * kappa;
  const T h = hypot_(k2, m - T(1));
  return (k2 + k2 * k2 / (h + m - T(1))) / (k2 + h);
}

// m = 3: exact inverse CDF of w (density ~ e^{kappa w} on [-1, 1]) from one
// uniform v = 1 - u:  kappa (1 - w) = -log1p(v expm1(-2 kappa)),
//                     kappa (1 + w) = log1p((1 - v) expm1(2 kappa)).
template <typename T>
HVAE_HD VmfAngle<T> vmf_angle_m3(PhiloxStream& s, T kappa) {
  const T v = uniform_open01<T>(s);
  const T one_minus_v = T(1) - v;  // exact on the grid of uniform_open01
  if (kappa == T(0)) return vmf_angle_from_halves(T(2) * v, T(2) * one_minus_v);
  const T y = -log1p_(v * expm1_(T(-2) * kappa)) / kappa;
  T yp;
  // y' by its own formula only where 2 - y would cancel (y > 1, which needs
  // a small kappa) and expm1(2 kappa) is finite.
  if (y > T(1) && kappa < T(40)) {
    yp = log1p_(one_minus_v * expm1_(T(2) * kappa)) / kappa;
  } else {
    yp = max_(T(2) - y, T(0));
  }
  return vmf_angle_from_halves(y, yp);
}

// Wood (1994), for m = 2 and m >= 4. With the envelope parameter b, the
// proposal is w = (1 - (1+b) eps) / D, eps ~ Beta((m-1)/2, (m-1)/2),
// D = 1 - (1-b) eps = (1 - eps) + b eps, hence
//   1 - w = 2 b eps / D,   1 + w = 2 (1 - eps) / D   (no cancellation).
// Wood's test  kappa w + (m-1) log(1 - x0 w) - c >= log u  equals, with
// kappa = (m-1)(1-b^2)/(4b) (the definition of b solved for kappa),
//   (m-1) [log s - (s - 1)] >= log u,  s - 1 = (1-b)(2 eps - 1) / (2 D),
// both sides <= 0 and free of cancellation for any kappa and m.
// Beta(a, a) comes from a Student t (t_nu -> (1 + t/sqrt(nu+t^2))/2):
// with N ~ N(0,1), G ~ Gamma(a), S = sqrt(N^2 + 2G), 2 eps - 1 = N / S and
// eps, 1 - eps as (S +- N)/(2S) or G/(S (S -+ N)), whichever does not cancel.
// m = 2 (a = 1/2) uses eps = sin^2(pi u / 2) instead.
template <typename T>
HVAE_HD VmfAngle<T> vmf_angle_wood(PhiloxStream& s, int64_t m_int, T kappa) {
  const T m = T(m_int);
  const T b = vmf_wood_b(m, kappa);
  const T one_minus_b = vmf_wood_one_minus_b(m, kappa, b);
  const T alpha = T(0.5) * (m - T(1));
  NormalPair<T> pair{T(0), T(0)};
  T y = T(0), yp = T(2);
  for (int t = 0; t < kVmfMaxTries; ++t) {
    T eps, ome, two_eps_m1;
    if (m_int == 2) {
      const T half_angle = T(0.5 * vmf_detail::kPi) * uniform_open01<T>(s);
      const T sn = sin_(half_angle), cs = cos_(half_angle);
      eps = sn * sn;
      ome = cs * cs;
      two_eps_m1 = (sn - cs) * (sn + cs);
    } else {
      T n;
      if ((t & 1) == 0) {
        pair = normal_pair<T>(s);
        n = pair.z0;
      } else {
        n = pair.z1;
      }
      const T g = marsaglia_tsang<T>(s, alpha, false);
      const T S = sqrt_(n * n + T(2) * g);
      if (n >= T(0)) {
        eps = (S + n) / (T(2) * S);
        ome = g / (S * (S + n));
      } else {
        eps = g / (S * (S - n));
        ome = (S - n) / (T(2) * S);
      }
      two_eps_m1 = n / S;
    }
    const T D = ome + b * eps;
    y = T(2) * b * eps / D;
    yp = T(2) * ome / D;
    const T u = uniform_left_open01<T>(s);
    const T sm1 = one_minus_b * two_eps_m1 / (T(2) * D);
    if (log_(u) <= (m - T(1)) * log1pmx(sm1)) break;
  }
  return vmf_angle_from_halves(y, yp);
}

// The angle of sample `subsequence`: kappa = 0 is the uniform law (Wood with
// b = 1 accepts every proposal), kappa = inf the point mass theta = 0, and a
// negative or NaN kappa gives NaN.
template <typename T>
HVAE_HD VmfAngle<T> vmf_draw_angle(uint64_t seed, uint64_t subsequence, uint64_t offset,
                                   int64_t m, T kappa) {
  if (!(kappa >= T(0))) return vmf_angle_nan<T>();
  if (kappa == infinity<T>()) return VmfAngle<T>{T(0), T(1), T(0)};
  PhiloxStream s(seed, subsequence, offset);
  if (m == 3) return vmf_angle_m3<T>(s, kappa);
  return vmf_angle_wood<T>(s, m, kappa);
}

// ---------------------------------------------------------------------------
// Tangent normals: Box-Muller pair k of a sample (layout at the top).

// philox4x32_10 of (block, subsequence) under key seed, written without the
// branch of philox.h's round loop so that CPU loops over blocks vectorise.
HVAE_HD PhiloxCounter vmf_normal_block(uint64_t seed, uint64_t subsequence, uint64_t block) {
  PhiloxCounter ctr;
  ctr.v[0] = static_cast<uint32_t>(block);
  ctr.v[1] = static_cast<uint32_t>(block >> 32);
  ctr.v[2] = static_cast<uint32_t>(subsequence);
  ctr.v[3] = static_cast<uint32_t>(subsequence >> 32);
  PhiloxKey key;
  key.v[0] = static_cast<uint32_t>(seed);
  key.v[1] = static_cast<uint32_t>(seed >> 32);
  ctr = philox_round(ctr, key);
#if defined(__CUDA_ARCH__)
#pragma unroll
#elif defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#pragma GCC unroll 10
#endif
  for (int r = 1; r < kPhiloxRounds; ++r) {
    key.v[0] += kPhiloxW0;
    key.v[1] += kPhiloxW1;
    ctr = philox_round(ctr, key);
  }
  return ctr;
}

// Box-Muller with the branch-free log, sqrt and sincos of vmf_fastmath.h (the same
// values on CPU and GPU, and vectorisable loops on the CPU).
template <typename T>
HVAE_HD NormalPair<T> vmf_box_muller(T u1, T u2) {
  const T r = fastmath::sqrt_pos(T(-2) * fastmath::log_pos(u1));
  T s, c;
  fastmath::sincos_2pi(u2, s, c);
  return NormalPair<T>{r * c, r * s};
}

// The double uniforms of philox.h (left_open01_from_bits, open01_from_bits),
// value for value, from 32-bit halves: SSE2 has no vector uint64 -> double
// conversion, but every partial sum here is exact (or, for the left-open
// one, rounded once, like the 64-bit conversion), so the results are equal.
HVAE_HD double vmf_u32_to_double(uint32_t x) {
  return double(static_cast<int32_t>(x ^ 0x80000000u)) + 2147483648.0;
}
HVAE_HD double vmf_left_open01(uint32_t hi, uint32_t lo) {
  return (vmf_u32_to_double(hi) * 2.3283064365386963e-10 +     // 2^-32
          vmf_u32_to_double(lo) * 5.42101086242752217e-20) +  // 2^-64
         2.71050543121376109e-20;                             // 2^-65
}
HVAE_HD double vmf_open01(uint32_t hi, uint32_t lo) {
  return (vmf_u32_to_double(hi) * 2097152.0 + double(static_cast<int32_t>(lo >> 12)) * 2.0 + 1.0) *
         1.1102230246251565404e-16;  // 2^-53
}

template <typename T>
HVAE_HD NormalPair<T> vmf_normal_pair(uint64_t seed, uint64_t subsequence, uint64_t offset,
                                      int64_t k);

template <>
HVAE_HD NormalPair<double> vmf_normal_pair<double>(uint64_t seed, uint64_t subsequence,
                                                   uint64_t offset, int64_t k) {
  const PhiloxCounter w = vmf_normal_block(
      seed, subsequence, offset + vmf_angle_blocks<double>() + uint64_t(k));
  return vmf_box_muller<double>(vmf_left_open01(w.v[0], w.v[1]), vmf_open01(w.v[2], w.v[3]));
}

template <>
HVAE_HD NormalPair<float> vmf_normal_pair<float>(uint64_t seed, uint64_t subsequence,
                                                 uint64_t offset, int64_t k) {
  const PhiloxCounter w = vmf_normal_block(
      seed, subsequence, offset + vmf_angle_blocks<float>() + uint64_t(k / 2));
  const bool second = (k & 1) != 0;
  return vmf_box_muller<float>(left_open01_from_bits(second ? w.v[2] : w.v[0]),
                               open01_from_bits(second ? w.v[3] : w.v[1]));
}

// Pairs k0 .. k0 + count - 1 into out[0 .. 2 count): the values of
// vmf_normal_pair, in one loop per block that the CPU compiler vectorises
// (k0 even for float, where a block holds two pairs).
#if defined(_OPENMP) && !defined(__CUDA_ARCH__)
#define HVAE_SIMD_LOOP _Pragma("omp simd")
#else
#define HVAE_SIMD_LOOP
#endif
// The outputs go to one array per component (unit stride), so the loops
// vectorise under -fwrapv too (Python's default flags), where GCC cannot
// prove that an index like 2 p does not wrap.
HVAE_HD void vmf_normal_pairs_fill(uint64_t seed, uint64_t subsequence, uint64_t offset,
                                   int64_t k0, int count, double* __restrict__ z0,
                                   double* __restrict__ z1) {
  const uint64_t base = offset + vmf_angle_blocks<double>() + uint64_t(k0);
  HVAE_SIMD_LOOP
  for (int p = 0; p < count; ++p) {
    const PhiloxCounter w = vmf_normal_block(seed, subsequence, base + uint64_t(p));
    const NormalPair<double> g = vmf_box_muller<double>(vmf_left_open01(w.v[0], w.v[1]),
                                                        vmf_open01(w.v[2], w.v[3]));
    z0[p] = g.z0;
    z1[p] = g.z1;
  }
}

// float: block q holds pairs 2q (into a0, a1) and 2q + 1 (into b0, b1).
HVAE_HD void vmf_normal_pairs_fill(uint64_t seed, uint64_t subsequence, uint64_t offset,
                                   int64_t k0, int count, float* __restrict__ a0,
                                   float* __restrict__ a1, float* __restrict__ b0,
                                   float* __restrict__ b1) {
  const uint64_t base = offset + vmf_angle_blocks<float>() + uint64_t(k0 / 2);
  const int blocks = (count + 1) / 2;
  HVAE_SIMD_LOOP
  for (int q = 0; q < blocks; ++q) {
    const PhiloxCounter w = vmf_normal_block(seed, subsequence, base + uint64_t(q));
    const NormalPair<float> g0 =
        vmf_box_muller<float>(left_open01_from_bits(w.v[0]), open01_from_bits(w.v[1]));
    const NormalPair<float> g1 =
        vmf_box_muller<float>(left_open01_from_bits(w.v[2]), open01_from_bits(w.v[3]));
    a0[q] = g0.z0;
    a1[q] = g0.z1;
    b0[q] = g1.z0;
    b1[q] = g1.z1;
  }
}

// Pairs k0 .. k0 + count - 1 (count <= kVmfChunkPairs, k0 even) into
// z[1 + 2 k0 ...], at most z[m - 1]: the values of vmf_normal_pair.
constexpr int kVmfChunkPairs = 64;

HVAE_HD void vmf_normal_chunk(uint64_t seed, uint64_t subsequence, uint64_t offset, int64_t k0,
                              int count, int64_t m, double* z) {
  double c0[kVmfChunkPairs], c1[kVmfChunkPairs];
  vmf_normal_pairs_fill(seed, subsequence, offset, k0, count, c0, c1);
  for (int p = 0; p < count; ++p) {
    const int64_t j = 1 + 2 * (k0 + p);
    z[j] = c0[p];
    if (j + 1 < m) z[j + 1] = c1[p];
  }
}

HVAE_HD void vmf_normal_chunk(uint64_t seed, uint64_t subsequence, uint64_t offset, int64_t k0,
                              int count, int64_t m, float* z) {
  float a0[kVmfChunkPairs / 2], a1[kVmfChunkPairs / 2], b0[kVmfChunkPairs / 2],
      b1[kVmfChunkPairs / 2];
  vmf_normal_pairs_fill(seed, subsequence, offset, k0, count, a0, a1, b0, b1);
  for (int p = 0; p < count; ++p) {
    const int64_t j = 1 + 2 * (k0 + p);
    const int q = p / 2;
    const bool second = (p & 1) != 0;
    z[j] = second ? b0[q] : a0[q];
    if (j + 1 < m) z[j + 1] = second ? b1[q] : a1[q];
  }
}

// ---------------------------------------------------------------------------
// Householder rotation e1 -> mu.
//
// R = -sigma (I - 2 u u^T / q), u = e1 + sigma mu, q = u^T u, sigma = sign(mu_1)
// (+1 at mu_1 = 0). Then R e1 = mu, R is symmetric and orthogonal, and
// q = (1 + |mu_1|)^2 + sum_{j>1} mu_j^2 >= 1, so nothing cancels at mu = +-e1.
// q is summed from the entries, so R stays orthogonal (|z| = 1) even for a
// loc whose norm is 1 only to rounding.

template <typename T>
struct VmfReflector {
  T sigma;  // +-1
  T u1;     // 1 + |mu_1|
  T q;      // u^T u
};

template <typename T>
HVAE_HD VmfReflector<T> vmf_reflector(T mu1, T tail_sq) {
  VmfReflector<T> r;
  r.sigma = mu1 >= T(0) ? T(1) : T(-1);
  r.u1 = T(1) + r.sigma * mu1;
  r.q = r.u1 * r.u1 + tail_sq;
  return r;
}

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
  double inv_sin_theta;
  int small_power;  // m - 2 when it is an integer <= kVmfSmallPower, else -1

  // The integrand from sh = sin(phi/2), ch = cos(phi/2). For small integer
  // m - 2 the power (sin phi / sin theta)^(m-2) is taken by squaring instead
  // of through log and exp (should the power overflow, which needs
  // sin theta < 1e-10, the log form is used).
  HVAE_HD double value_half(double sh, double ch) const {
    const double y_phi = 2.0 * sh * sh;
    const double e = kappa * (y_theta - y_phi);
    const double g = ::fabs(one_minus_A - y_phi);
    if (small_power >= 0) {
      const double r = 2.0 * sh * ch * inv_sin_theta;
      double pw = 1.0, base = r;
      for (int n = small_power, i = 0; i < 5; ++i, n >>= 1) {
        if (n & 1) pw *= base;
        base *= base;
      }
      if (pw < HUGE_VAL) return g * pw * ::exp(e);  // else: the log form below
    }
    return g * ::exp(e + mm2 * (::log(2.0 * sh * ch) - log_sin_theta));
  }
};

// Largest m - 2 whose power is taken by squaring (5 bits).
constexpr int kVmfSmallPower = 30;

// Widens a panel [a, a + len] (len signed), psi(a) = peak, until psi at its
// end is at least 0.8 kVmfWindowDrop below the peak, or |len| = limit.
HVAE_HD double vmf_widen(const VmfTailIntegrand& f, double a, double peak, double len,
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
// half angles c/2 -+ d_j share sin d_j and cos d_j (angle addition), which
// halves the sincos work.
template <int N>
HVAE_HD double vmf_panel(const VmfTailIntegrand& f, double a, double len) {
  if (len == 0.0) return 0.0;
  const double h = 0.5 * len;
  const double c = a + h;
  const double sc = ::sin(0.5 * c), cc = ::cos(0.5 * c);
  double sum = 0.0;
  for (int j = 0; j < N / 2; ++j) {
    const double d = 0.5 * h * VmfGaussLegendre<N>::node(j);
    const double sd = ::sin(d), cd = ::cos(d);
    const double lo = f.value_half(sc * cd - cc * sd, cc * cd + sc * sd);
    const double hi = f.value_half(sc * cd + cc * sd, cc * cd - sc * sd);
    sum += VmfGaussLegendre<N>::weight(j) * (lo + hi);
  }
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
  const double st = 2.0 * sh * ch, ct = ::cos(theta);
  VmfTailIntegrand f;
  f.mm2 = mm2;
  f.kappa = kappa;
  f.log_sin_theta = ::log(st);
  f.inv_sin_theta = 1.0 / st;
  f.small_power = (mm2 == ::floor(mm2) && mm2 <= kVmfSmallPower) ? int(mm2) : -1;
  f.y_theta = 2.0 * sh * sh;
  f.one_minus_A = 1.0 - A;
  const bool upper = f.one_minus_A >= f.y_theta;  // w >= A
  const double tail_end = upper ? 0.0 : pi;

  // Mode: (m-2) cos phi = kappa sin^2 phi, cos phi* = 2k / (m-2 + hypot(m-2, 2k)),
  // sin^2 phi* = (m-2) cos phi* / kappa; -psi''(phi*) = (m-2)/sin^2 + kappa cos.
  double mode, curv_mode;
  if (mm2 == 0.0) {
    mode = 0.0;
    curv_mode = kappa;
  } else if (kappa == 0.0) {
    mode = 0.5 * pi;
    curv_mode = mm2;
  } else {
    const double c = 2.0 * kappa / (mm2 + ::hypot(mm2, 2.0 * kappa));
    const double s2 = mm2 * c / kappa;
    mode = ::atan2(::sqrt(s2), c);
    curv_mode = mm2 / s2 + kappa * c;
  }
  const bool mode_in_tail = upper ? (mode < theta) : (mode > theta);
  const double T = kVmfWindowDrop;
  double J = 0.0;
  if (mode_in_tail) {
    const double L = curv_mode > 0.0 ? ::sqrt(2.0 * T / curv_mode) : HUGE_VAL;
    // Towards theta, then away from it (to the tail's end).
    const double to_theta = theta - mode;
    const double lim1 = ::fabs(to_theta);
    const double peak = f.psi(mode);
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
