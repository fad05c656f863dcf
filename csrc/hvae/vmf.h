// Reparameterized von Mises-Fisher sampling on S^{m-1}: Wood's (1994)
// rejection sampler in a cancellation-free form, the Householder rotation
// e1 -> mu, and the implicit-reparameterization gradient d theta / d kappa
// (Figurnov, Mohamed and Mnih 2018; in vmf_grad.h). Header-only, host +
// device, no torch. docs/vmf.md derives every formula below.
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
// The Power Spherical passes theta of its own (fastmath::atan_sqrt_ratio,
// which its loops over samples vectorise).
template <typename T>
HVAE_HD VmfAngle<T> vmf_angle_from_halves(T y, T yp, T theta) {
  VmfAngle<T> a;
  a.theta = theta;
  a.sin_theta = sqrt_(y * yp);
  a.cos_theta = y <= T(1) ? T(1) - y : yp - T(1);
  return a;
}
template <typename T>
HVAE_HD VmfAngle<T> vmf_angle_from_halves(T y, T yp) {
  return vmf_angle_from_halves(y, yp, T(2) * vmf_detail::atan2_(sqrt_(y), sqrt_(yp)));
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
  // Past the equator (y > 1, which needs a small kappa) y itself has lost
  // its precision (the log1p argument is near -1) and 2 - y would pass that
  // on: there y' comes from its own formula (while expm1(2 kappa) is finite)
  // and y = 2 - y', so that y + y' = 2 and cos^2 + sin^2 = 1 to rounding
  // (sin theta = sqrt(y y') mixes the two).
  if (y > T(1) && kappa < T(40)) {
    const T yp = log1p_(one_minus_v * expm1_(T(2) * kappa)) / kappa;
    return vmf_angle_from_halves(T(2) - yp, yp);
  }
  return vmf_angle_from_halves(y, max_(T(2) - y, T(0)));
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
  return box_muller_fast<double>(vmf_left_open01(w.v[0], w.v[1]), vmf_open01(w.v[2], w.v[3]));
}

template <>
HVAE_HD NormalPair<float> vmf_normal_pair<float>(uint64_t seed, uint64_t subsequence,
                                                 uint64_t offset, int64_t k) {
  const PhiloxCounter w = vmf_normal_block(
      seed, subsequence, offset + vmf_angle_blocks<float>() + uint64_t(k / 2));
  const bool second = (k & 1) != 0;
  return box_muller_fast<float>(left_open01_from_bits(second ? w.v[2] : w.v[0]),
                               open01_from_bits(second ? w.v[3] : w.v[1]));
}

#if defined(_OPENMP) && !defined(__CUDA_ARCH__)
#define HVAE_SIMD_LOOP _Pragma("omp simd")
#else
#define HVAE_SIMD_LOOP
#endif

// Normals come in chunks of at most kVmfChunkPairs pairs (k0 even), on the CPU
// in three vectorised loops: the Philox words of the chunk's blocks, one array
// per word; Box-Muller on them, into a buffer in z's order; a copy into z.
constexpr int kVmfChunkPairs = 64;
// Word arrays hold whole groups of philox_avx2::kLanes blocks.
constexpr int kVmfChunkWords = kVmfChunkPairs;

// Philox words of blocks base .. base + count - 1 of one subsequence. The
// CPU's AVX2 build (vmf_cpu_avx2.cpp) defines HVAE_VMF_PHILOX_AVX2 and takes
// sixteen blocks at a time with intrinsics (philox_avx2.h); the words are the same.
HVAE_HD void vmf_philox_words(uint64_t seed, uint64_t subsequence, uint64_t base, int count,
                              uint32_t* __restrict__ w0, uint32_t* __restrict__ w1,
                              uint32_t* __restrict__ w2, uint32_t* __restrict__ w3) {
  int p = 0;
#if defined(HVAE_VMF_PHILOX_AVX2) && !defined(__CUDA_ARCH__)
  constexpr int lanes = ::hvae::philox_avx2::kLanes;
  static_assert(kVmfChunkWords % lanes == 0, "whole groups fit the word arrays");
  // A group costs about as much as five blocks one at a time, so fewer
  // than five (m = 3 needs one) take the loop below; so do groups whose
  // counter's low word would wrap (one in 2^28): the intrinsics do not carry.
  for (; count - p >= 5 && uint32_t(base + uint64_t(p)) <= 0xFFFFFFFFu - (lanes - 1); p += lanes) {
    ::hvae::philox_avx2::words16(seed, subsequence, base + uint64_t(p), w0 + p, w1 + p, w2 + p,
                                 w3 + p);
  }
#endif
  HVAE_SIMD_LOOP
  for (int q = p; q < count; ++q) {
    const PhiloxCounter w = vmf_normal_block(seed, subsequence, base + uint64_t(q));
    w0[q] = w.v[0];
    w1[q] = w.v[1];
    w2[q] = w.v[2];
    w3[q] = w.v[3];
  }
}

// The normals of pairs k0 .. k0 + count - 1, flat in z's order, into
// z[1 + 2 k0 ...], at most z[m - 1].
template <typename T>
HVAE_HD void vmf_store_normals(const T* flat, int64_t k0, int count, int64_t m, T* z) {
  const int n = static_cast<int>(min_<int64_t>(2 * count, m - 1 - 2 * k0));
  T* dst = z + 1 + 2 * k0;
  for (int i = 0; i < n; ++i) dst[i] = flat[i];
}

// Pairs k0 .. k0 + count - 1 (count <= kVmfChunkPairs) into z[1 + 2 k0 ...],
// at most z[m - 1]: the values of vmf_normal_pair. double: a block a pair.
HVAE_HD void vmf_normal_chunk(uint64_t seed, uint64_t subsequence, uint64_t offset, int64_t k0,
                              int count, int64_t m, double* z) {
  uint32_t w[4][kVmfChunkWords];
  vmf_philox_words(seed, subsequence, offset + vmf_angle_blocks<double>() + uint64_t(k0), count,
                   w[0], w[1], w[2], w[3]);
  double out[kVmfChunkPairs][2];
  HVAE_SIMD_LOOP
  for (int q = 0; q < count; ++q) {
    const NormalPair<double> g =
        box_muller_fast<double>(vmf_left_open01(w[0][q], w[1][q]), vmf_open01(w[2][q], w[3][q]));
    out[q][0] = g.z0;
    out[q][1] = g.z1;
  }
  vmf_store_normals(&out[0][0], k0, count, m, z);
}

// float: block q holds pairs k0 + 2q and k0 + 2q + 1 (k0 even).
HVAE_HD void vmf_normal_chunk(uint64_t seed, uint64_t subsequence, uint64_t offset, int64_t k0,
                              int count, int64_t m, float* z) {
  uint32_t w[4][kVmfChunkWords];
  const int blocks = (count + 1) / 2;
  vmf_philox_words(seed, subsequence, offset + vmf_angle_blocks<float>() + uint64_t(k0 / 2),
                   blocks, w[0], w[1], w[2], w[3]);
  float out[kVmfChunkPairs / 2][4];
  HVAE_SIMD_LOOP
  for (int q = 0; q < blocks; ++q) {
    const NormalPair<float> g0 =
        box_muller_fast<float>(left_open01_from_bits(w[0][q]), open01_from_bits(w[1][q]));
    const NormalPair<float> g1 =
        box_muller_fast<float>(left_open01_from_bits(w[2][q]), open01_from_bits(w[3][q]));
    out[q][0] = g0.z0;
    out[q][1] = g0.z1;
    out[q][2] = g1.z0;
    out[q][3] = g1.z1;
  }
  vmf_store_normals(&out[0][0], k0, count, m, z);
}

// ---------------------------------------------------------------------------
// The CPU loops over blocks of samples (kernels/vmf_sample.h): at small m a
// sample needs fewer Philox blocks and Box-Muller pairs than fill the
// vectors, so the blocks of kVmfSampleRows samples are taken together. Host
// only (the buffers would sit in a CUDA thread's local memory).

constexpr int kVmfSampleRows = 16;
// Rows of at most this many normal blocks take the normals together.
constexpr int kVmfRowNormalBlocks = 12;
// Entries of the word arrays: whole groups of 16 (philox_avx2's lanes).
constexpr int kVmfRowWords = kVmfSampleRows * kVmfRowNormalBlocks;
static_assert(kVmfRowWords % 16 == 0, "the word arrays hold whole groups");

// Words of block base + q of subsequence i0 + r at entry r per_row + q, for
// r < rows, q < per_row (rows per_row <= kVmfRowWords). The AVX2 build takes
// sixteen counters at a time (philox_avx2.h); the words are the same.
inline void vmf_philox_words_rows(uint64_t seed, uint64_t i0, int rows, uint64_t base, int per_row,
                                  uint32_t* __restrict__ w0, uint32_t* __restrict__ w1,
                                  uint32_t* __restrict__ w2, uint32_t* __restrict__ w3) {
  const int count = rows * per_row;
  int p = 0;
#if defined(HVAE_VMF_PHILOX_AVX2) && !defined(__CUDA_ARCH__)
  // The counters in place of the words, then groups of sixteen (the last one
  // padded when it has five or more: a group costs about five blocks).
  for (int r = 0; r < rows; ++r) {
    for (int q = 0; q < per_row; ++q) {
      const int e = r * per_row + q;
      const uint64_t block = base + uint64_t(q), sub = i0 + uint64_t(r);
      w0[e] = static_cast<uint32_t>(block);
      w1[e] = static_cast<uint32_t>(block >> 32);
      w2[e] = static_cast<uint32_t>(sub);
      w3[e] = static_cast<uint32_t>(sub >> 32);
    }
  }
  for (int e = count; e < kVmfRowWords && e % 16 != 0; ++e) w0[e] = w1[e] = w2[e] = w3[e] = 0;
  for (; count - p >= 5; p += 16) ::hvae::philox_avx2::words16_in_place(seed, w0 + p, w1 + p, w2 + p, w3 + p);
#endif
  for (int e = p; e < count; ++e) {
    const PhiloxCounter w = vmf_normal_block(seed, i0 + uint64_t(e / per_row), base + uint64_t(e % per_row));
    w0[e] = w.v[0];
    w1[e] = w.v[1];
    w2[e] = w.v[2];
    w3[e] = w.v[3];
  }
}

// The tangent normals of rows i0 .. i0 + rows - 1 (rows <= kVmfSampleRows,
// vmf_normal_blocks<T>(m) <= kVmfRowNormalBlocks) into z[r m + 1 ...]: the
// values of vmf_normal_pair, Box-Muller over all rows' blocks in one loop.
inline void vmf_normal_rows(uint64_t seed, uint64_t i0, int rows, uint64_t offset, int64_t m, double* z) {
  alignas(32) uint32_t w[4][kVmfRowWords];
  const int pairs = static_cast<int>(vmf_normal_pairs(m));
  vmf_philox_words_rows(seed, i0, rows, offset + vmf_angle_blocks<double>(), pairs, w[0], w[1], w[2], w[3]);
  double out[kVmfRowWords][2];
  HVAE_SIMD_LOOP
  for (int e = 0; e < rows * pairs; ++e) {
    const NormalPair<double> g =
        box_muller_fast<double>(vmf_left_open01(w[0][e], w[1][e]), vmf_open01(w[2][e], w[3][e]));
    out[e][0] = g.z0;
    out[e][1] = g.z1;
  }
  for (int r = 0; r < rows; ++r) vmf_store_normals(&out[r * pairs][0], 0, pairs, m, z + r * m);
}

// float: a block holds two pairs (the last one of an odd count unused).
inline void vmf_normal_rows(uint64_t seed, uint64_t i0, int rows, uint64_t offset, int64_t m, float* z) {
  alignas(32) uint32_t w[4][kVmfRowWords];
  const int pairs = static_cast<int>(vmf_normal_pairs(m));
  const int blocks = (pairs + 1) / 2;
  vmf_philox_words_rows(seed, i0, rows, offset + vmf_angle_blocks<float>(), blocks, w[0], w[1], w[2], w[3]);
  float out[kVmfRowWords][4];
  HVAE_SIMD_LOOP
  for (int e = 0; e < rows * blocks; ++e) {
    const NormalPair<float> g0 = box_muller_fast<float>(left_open01_from_bits(w[0][e]), open01_from_bits(w[1][e]));
    const NormalPair<float> g1 = box_muller_fast<float>(left_open01_from_bits(w[2][e]), open01_from_bits(w[3][e]));
    out[e][0] = g0.z0;
    out[e][1] = g0.z1;
    out[e][2] = g1.z0;
    out[e][3] = g1.z1;
  }
  for (int r = 0; r < rows; ++r) vmf_store_normals(&out[r * blocks][0], 0, pairs, m, z + r * m);
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

}  // namespace hvae
