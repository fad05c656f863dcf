// Branch-free log, exp and sincos for the vectorised loops of the vMF
// sampler (the Box-Muller normals, the kappa gradient's quadrature): plain
// arithmetic and bit operations (no libm calls), so the CPU loops vectorise
// (the compiler cannot vectorise libm calls without -ffast-math) and CPU and
// CUDA compute the same values. Accuracy: a few ulp on the ranges used here
// (tests/cpp/test_vmf_math.cpp).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "hvae/common.h"

namespace hvae {
namespace fastmath {

HVAE_HD_INLINE uint64_t bits(double x) {
#if defined(__CUDA_ARCH__)
  return static_cast<uint64_t>(__double_as_longlong(x));
#else
  uint64_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
#endif
}
HVAE_HD_INLINE double double_from_bits(uint64_t b) {
#if defined(__CUDA_ARCH__)
  return __longlong_as_double(static_cast<long long>(b));
#else
  double x;
  std::memcpy(&x, &b, sizeof x);
  return x;
#endif
}
HVAE_HD_INLINE uint32_t bits(float x) {
#if defined(__CUDA_ARCH__)
  return static_cast<uint32_t>(__float_as_uint(x));
#else
  uint32_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
#endif
}
HVAE_HD_INLINE float float_from_bits(uint32_t b) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(b);
#else
  float x;
  std::memcpy(&x, &b, sizeof x);
  return x;
#endif
}

// log x for a positive normal x: x = 2^e f, f in [sqrt(1/2), sqrt(2)),
// log f = 2 atanh(s) = 2 s (1 + s^2/3 + s^4/5 + ...), s = (f-1)/(f+1),
// |s| <= 0.1716: through s^21 (double) / s^9 (float) the series error is
// below 1e-17 / 1e-9 relative. e log 2 in two parts (Cody-Waite).
// 2 atanh(s) = 2 s (1 + s^2/3 + s^4/5 + ...) through s^21, |s| <= 0.1716
// (log_pos and log1p_small).
HVAE_HD_INLINE double two_atanh_small(double s) {
  const double s2 = s * s;
  double p = 1.0 / 21;
  p = p * s2 + 1.0 / 19;
  p = p * s2 + 1.0 / 17;
  p = p * s2 + 1.0 / 15;
  p = p * s2 + 1.0 / 13;
  p = p * s2 + 1.0 / 11;
  p = p * s2 + 1.0 / 9;
  p = p * s2 + 1.0 / 7;
  p = p * s2 + 1.0 / 5;
  p = p * s2 + 1.0 / 3;
  return 2.0 * s * (1.0 + s2 * p);
}

HVAE_HD_INLINE double log_pos(double x) {
  // Shift the bits so that the exponent field counts from sqrt(1/2) (musl's
  // trick, compare-free): f = 2^-e x lands in [sqrt(1/2), sqrt(2)).
  const uint64_t b = bits(x) + (0x3ff0000000000000ull - 0x3fe6a09e667f3bcdull);
  const int e = static_cast<int>(b >> 52) - 1023;
  const double f = double_from_bits((b & 0x000fffffffffffffull) + 0x3fe6a09e667f3bcdull);
  const double ed = static_cast<double>(e);
  // log 2 = 6.93147180369123816490e-01 + 1.90821492927058770002e-10
  return ed * 6.93147180369123816490e-01 +
         (ed * 1.90821492927058770002e-10 + two_atanh_small((f - 1.0) / (f + 1.0)));
}

// log1p(t) for |t| <= 1/4 with full relative accuracy: 2 atanh(t / (2 + t)),
// |t / (2 + t)| <= 1/7.
HVAE_HD_INLINE double log1p_small(double t) { return two_atanh_small(t / (2.0 + t)); }

HVAE_HD_INLINE float log_pos(float x) {
  const uint32_t b = bits(x) + (0x3f800000u - 0x3f3504f3u);
  const int e = static_cast<int>(b >> 23) - 127;
  const float f = float_from_bits((b & 0x007fffffu) + 0x3f3504f3u);
  const float s = (f - 1.0f) / (f + 1.0f);
  const float s2 = s * s;
  float p = 1.0f / 9;
  p = p * s2 + 1.0f / 7;
  p = p * s2 + 1.0f / 5;
  p = p * s2 + 1.0f / 3;
  const float ef = static_cast<float>(e);
  return ef * 0.693145751953125f + (ef * 1.428606765330187e-06f + 2.0f * s * (1.0f + s2 * p));
}

// e^x: x = k log 2 + r, |r| <= log(2)/2, e^r by its Taylor polynomial
// through r^13 (truncation < 7e-18), times 2^k from the exponent bits. k
// comes from the bits of x log2(e) + 1.5 2^52 (no float-to-int conversion,
// which is undefined for NaN in C++). x > 709.79 gives inf (from
// log(DBL_MAX) = 709.7827 up, p 2^k overflows by itself), x < -708 gives 0
// (the normal range only), NaN gives NaN.
HVAE_HD double exp_poly(double x) {
  constexpr double shifter = 6755399441055744.0;  // 1.5 2^52
  const double t = x * 1.4426950408889634074 + shifter;
  const double kd = t - shifter;
  // log 2 in two parts, the first with 21 trailing zero bits (kd ln2_hi is
  // exact for |kd| < 2^21)
  const double r = (x - kd * 6.93147180369123816490e-01) - kd * 1.90821492927058770002e-10;
  double p = 1.0 / 6227020800.0;          // 1/13!
  p = p * r + 1.0 / 479001600.0;          // 1/12!
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  // 2^(k-1) (k - 1 + 1023 is in [1, 2046] for x in [-708, 709.79]), then times 2.
  const uint64_t k = bits(t) - bits(shifter);  // k mod 2^64
  const double scale = double_from_bits((k + 1022u) << 52);
  const double y = p * scale * 2.0;
  return x > 709.79 ? HUGE_VAL : (x < -708.0 ? 0.0 : y);
}

// sin and cos of a in [-pi/4, pi/4] by Taylor polynomials: through a^17 /
// a^16 (double, error < 2e-19) or a^9 / a^10 (float, < 2e-9).
HVAE_HD_INLINE void sincos_small(double a, double& s, double& c) {
  const double a2 = a * a;
  double ps = 1.0 / 355687428096000.0;                  // 1/17!
  ps = ps * a2 - 1.0 / 1307674368000.0;                 // 1/15!
  ps = ps * a2 + 1.0 / 6227020800.0;                    // 1/13!
  ps = ps * a2 - 1.0 / 39916800.0;                      // 1/11!
  ps = ps * a2 + 1.0 / 362880.0;                        // 1/9!
  ps = ps * a2 - 1.0 / 5040.0;
  ps = ps * a2 + 1.0 / 120.0;
  ps = ps * a2 - 1.0 / 6.0;
  s = a + a * a2 * ps;
  double pc = 1.0 / 20922789888000.0;                   // 1/16!
  pc = pc * a2 - 1.0 / 87178291200.0;                   // 1/14!
  pc = pc * a2 + 1.0 / 479001600.0;                     // 1/12!
  pc = pc * a2 - 1.0 / 3628800.0;                       // 1/10!
  pc = pc * a2 + 1.0 / 40320.0;
  pc = pc * a2 - 1.0 / 720.0;
  pc = pc * a2 + 1.0 / 24.0;
  pc = pc * a2 - 0.5;
  c = 1.0 + a2 * pc;
}

HVAE_HD_INLINE void sincos_small(float a, float& s, float& c) {
  const float a2 = a * a;
  float ps = 1.0f / 362880.0f;
  ps = ps * a2 - 1.0f / 5040.0f;
  ps = ps * a2 + 1.0f / 120.0f;
  ps = ps * a2 - 1.0f / 6.0f;
  s = a + a * a2 * ps;
  float pc = -1.0f / 3628800.0f;
  pc = pc * a2 + 1.0f / 40320.0f;
  pc = pc * a2 - 1.0f / 720.0f;
  pc = pc * a2 + 1.0f / 24.0f;
  pc = pc * a2 - 0.5f;
  c = 1.0f + a2 * pc;
}

// sin and cos of theta / 2 for theta in [0, pi], to a few ulp relative at
// both ends: past pi/4 from a = pi/2 - theta/2 (in two parts, the first
// difference exact), so cos(theta / 2) = sin a keeps its relative accuracy
// as theta -> pi.
HVAE_HD_INLINE void sincos_half(double theta, double& s, double& c) {
  const double h = 0.5 * theta;
  const bool flip = h > 0.78539816339744830962;
  // pi/2 = 1.5707963267948966 + 6.123233995736766e-17
  const double a = flip ? (1.5707963267948966 - h) + 6.123233995736766e-17 : h;
  double sa, ca;
  sincos_small(a, sa, ca);
  s = flip ? ca : sa;
  c = flip ? sa : ca;
}

// sin and cos of 2 pi u for u in [0, 1]: t = 4u (exact), q = nearest
// integer, r = t - q in [-1/2, 1/2] (exact), a = r pi/2, then the quadrant.
template <typename T>
HVAE_HD_INLINE void sincos_2pi(T u, T& s, T& c) {
  const T t = T(4) * u;
  const int qi0 = static_cast<int>(t + T(0.5));  // t >= 0: truncation is floor
  const T q = static_cast<T>(qi0);
  const T a = (t - q) * T(1.5707963267948966192313216916398);
  T sa, ca;
  sincos_small(a, sa, ca);
  const int qi = qi0 & 3;
  const bool swap = (qi & 1) != 0;
  const T ss = swap ? ca : sa;
  const T cc = swap ? sa : ca;
  s = (qi & 2) ? -ss : ss;
  c = ((qi + 1) & 2) ? -cc : cc;
}

// atan(sqrt(y / yp)) in [0, pi/2] for y, yp >= 0 (half of the angle
// 2 atan2(sqrt(y), sqrt(yp)) of the samplers), branch-free so that a loop over
// samples vectorises. x = sqrt(min/max) in [0, 1] (the larger one swapped to
// the denominator, pi/2 - atan x after); atan x = pi/4 + atan((x-1)/(x+1))
// above tan(pi/8), then atan x1 = 2 atan x2 with x2 = x1 / (1 + sqrt(1 +
// x1^2)), |x2| <= tan(pi/16) = 0.199, and atan x2 by its Taylor series
// through x2^23 (truncation < 2e-17 relative). Within 3 ulp
// (tests/cpp/test_vmf_math.cpp). NaN in y or yp gives NaN; y = yp = 0
// gives NaN (the samplers never pass it).
HVAE_HD_INLINE double atan_sqrt_ratio(double y, double yp) {
  const bool swap = y > yp;
  const double x = sqrt_((swap ? yp : y) / (swap ? y : yp));
  const bool big = x > 0.41421356237309503;  // tan(pi/8)
  const double x1 = big ? (x - 1.0) / (x + 1.0) : x;
  const double x2 = x1 / (1.0 + sqrt_(1.0 + x1 * x1));
  const double s = x2 * x2;
  double p = 1.0 / 23;
  p = p * s - 1.0 / 21;
  p = p * s + 1.0 / 19;
  p = p * s - 1.0 / 17;
  p = p * s + 1.0 / 15;
  p = p * s - 1.0 / 13;
  p = p * s + 1.0 / 11;
  p = p * s - 1.0 / 9;
  p = p * s + 1.0 / 7;
  p = p * s - 1.0 / 5;
  p = p * s + 1.0 / 3;
  const double at = (big ? 0.78539816339744830962 : 0.0) + 2.0 * (x2 - x2 * s * p);
  return swap ? 1.5707963267948966192 - at : at;
}

// float: through double, then one rounding (within 1 ulp; in float the
// steps above would leave 3).
HVAE_HD_INLINE float atan_sqrt_ratio(float y, float yp) {
  return static_cast<float>(atan_sqrt_ratio(static_cast<double>(y), static_cast<double>(yp)));
}

}  // namespace fastmath
}  // namespace hvae
