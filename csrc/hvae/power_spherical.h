// The angle law of the Power Spherical distribution (De Cao and Aziz 2020)
// for the shared sampler pipeline of kernels/vmf_sample.h: the draw of the
// angle here, its implicit-reparameterization gradient d theta / d kappa in
// power_spherical_grad.h. Header-only, host + device, no torch.
// docs/power_spherical.md derives both.
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
#include "hvae/power_spherical_grad.h"
#include "hvae/vmf.h"

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
  return PsDraw<T>{gamma<T, true>(s, alpha)};
}

// The first Marsaglia-Tsang try of rows i0 .. i0 + rows - 1 together (CPU,
// rows <= kVmfSampleRows): its squeeze u < 1 - 0.0331 x^4 alone accepts
// E[max(0, 1 - 0.0331 x^4)] = 92% of draws, with no transcendental but the
// Box-Muller normal's, so one loop over the rows vectorises. Its words are the
// first of each row's stream (block `offset`, and offset + 1 for double);
// rows it does not accept (and kappa = inf, NaN or < 0, alpha < 1) take
// ps_draw. The values are ps_draw's.
template <typename T>
inline void ps_draw_rows(uint64_t seed, uint64_t i0, int rows, uint64_t offset, int64_t m, const T* kappa,
                         PsDraw<T>* out) {
  constexpr int per_row = sizeof(T) > 4 ? 2 : 1;
  alignas(32) uint32_t w[4][kVmfRowWords];
  vmf_philox_words_rows(seed, i0, rows, offset, per_row, w[0], w[1], w[2], w[3]);
  T g[kVmfSampleRows];
  int accepted[kVmfSampleRows];
  HVAE_SIMD_LOOP
  for (int r = 0; r < rows; ++r) {
    T u1, u2, u;  // normal_pair's two uniforms and the try's
    if (sizeof(T) > 4) {
      const int e = 2 * r;
      u1 = T(vmf_left_open01(w[0][e], w[1][e]));
      u2 = T(vmf_open01(w[2][e], w[3][e]));
      u = T(vmf_open01(w[0][e + 1], w[1][e + 1]));
    } else {
      u1 = T(left_open01_from_bits(w[0][r]));
      u2 = T(open01_from_bits(w[1][r]));
      u = T(open01_from_bits(w[2][r]));
    }
    // marsaglia_tsang's first try, expression for expression
    const T alpha = T(0.5) * (T(m) - T(1)) + kappa[r];
    const T d = alpha - T(1) / T(3);
    const T c = T(1) / sqrt_(T(9) * d);
    const T x = box_muller_fast<T>(u1, u2).z0;
    const T t = c * x;
    const T one_plus_t = T(1) + t;
    const T x2 = x * x;
    g[r] = d * (one_plus_t * one_plus_t * one_plus_t);
    // & rather than &&: no branches in the loop
    accepted[r] = (kappa[r] >= T(0)) & (kappa[r] < infinity<T>()) & (alpha >= T(1)) & (t > T(-1)) &
                  (u < T(1) - T(0.0331) * x2 * x2);
  }
  for (int r = 0; r < rows; ++r) {
    out[r] = accepted[r] ? PsDraw<T>{g[r]} : ps_draw<T>(seed, i0 + uint64_t(r), offset, m, kappa[r]);
  }
}

// The angle from G1 and |n|^2 = 2 G2: y = 2 |n|^2 / (2 G1 + |n|^2),
// y' = 4 G1 / (2 G1 + |n|^2). |n| = 0 (all normals 0) gives theta = 0, G1 =
// inf (kappa = inf) the point mass theta = 0 and a NaN G1 NaN. Branch-free,
// theta from fastmath::atan_sqrt_ratio: a loop over rows vectorises.
template <typename T>
HVAE_HD VmfAngle<T> ps_angle(const PsDraw<T>& d, T norm2) {
  const T den = T(2) * d.g1 + norm2;
  const T y = T(2) * norm2 / den, yp = T(4) * d.g1 / den;
  VmfAngle<T> a = vmf_angle_from_halves(y, yp, T(2) * fastmath::atan_sqrt_ratio(y, yp));
  const bool point = d.g1 == infinity<T>();  // y = 0 and y' = inf / inf
  a.theta = point ? T(0) : a.theta;
  a.cos_theta = point ? T(1) : a.cos_theta;
  a.sin_theta = point ? T(0) : a.sin_theta;
  return a;
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
  template <typename T>
  static void draw_rows(uint64_t seed, uint64_t i0, int rows, uint64_t offset, int64_t m, const T* kappa,
                        PsDraw<T>* out) {
    ps_draw_rows<T>(seed, i0, rows, offset, m, kappa, out);
  }
  template <typename T>
  static void angle_rows(const PsDraw<T>* d, const T* norm2, int rows, VmfAngle<T>* out) {
    HVAE_SIMD_LOOP
    for (int r = 0; r < rows; ++r) out[r] = ps_angle<T>(d[r], norm2[r]);
  }
  template <int N>
  HVAE_HD static double dtheta_dkappa(double m, double kappa, double theta) {
    return ps_dtheta_dkappa<N>(m, kappa, theta);
  }
  // From the half angle, whose sin and cos the series takes anyway.
  HVAE_HD static VmfAngle<double> sin_cos(double theta) { return ps_angle_sin_cos(theta); }
  // count <= kPsSeriesLanes; the y-series of the block in lanes in the AVX2
  // build (vmf_cpu_avx2.cpp; the same values: in SSE2 lanes it would be
  // 3x slower than one sample at a time).
  template <int N>
  HVAE_HD static void dtheta_dkappa_block(double m, const double* kappa, const double* theta, int count,
                                          double* out, VmfAngle<double>* angle) {
#if HVAE_LANES_VECTOR && defined(HVAE_PS_SERIES_LANES)
    ps_dtheta_dkappa_lanes<N>(m, kappa, theta, count, out, angle);
#else
    for (int k = 0; k < count; ++k) {
      out[k] = ps_dtheta_dkappa<N>(m, kappa[k], theta[k]);
      angle[k] = sin_cos(theta[k]);
    }
#endif
  }
};

}  // namespace hvae
