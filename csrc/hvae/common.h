// Shared helpers for the header-only math in csrc/hvae/.
//
// Everything under csrc/hvae/ is plain C++17 that compiles both with a host
// compiler and with nvcc (as __host__ __device__ code). It includes no torch or
// ATen header, so CI can compile every kernel's device code without a CUDA
// build of torch, and C++ users can reuse the math on its own.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#if defined(__CUDACC__)
#define HVAE_HD __host__ __device__ __forceinline__
#define HVAE_HD_INLINE HVAE_HD
#define HVAE_DEVICE_CODE 1
#else
#define HVAE_HD inline
#define HVAE_DEVICE_CODE 0
// For the bodies of the CPU's vectorised loops over samples (Box-Muller,
// the angle): a loop vectorises only with them inlined, which GCC's unit
// growth limit stops in the large sampler units.
#if defined(__GNUC__)
#define HVAE_HD_INLINE inline __attribute__((always_inline))
#else
#define HVAE_HD_INLINE inline
#endif
#endif

namespace hvae {

// Type-exact math wrappers. Overloads on float and double call the C
// functions of that precision, which exist both on the host and in CUDA
// device code; this avoids relying on std:: overloads in device code and on
// silent float -> double promotion on the host.
HVAE_HD float exp_(float x) { return ::expf(x); }
HVAE_HD double exp_(double x) { return ::exp(x); }
HVAE_HD float expm1_(float x) { return ::expm1f(x); }
HVAE_HD double expm1_(double x) { return ::expm1(x); }
HVAE_HD float log_(float x) { return ::logf(x); }
HVAE_HD double log_(double x) { return ::log(x); }
HVAE_HD float log1p_(float x) { return ::log1pf(x); }
HVAE_HD double log1p_(double x) { return ::log1p(x); }
HVAE_HD float sqrt_(float x) { return ::sqrtf(x); }
HVAE_HD double sqrt_(double x) { return ::sqrt(x); }
HVAE_HD float hypot_(float x, float y) { return ::hypotf(x, y); }
HVAE_HD double hypot_(double x, double y) { return ::hypot(x, y); }
HVAE_HD float asinh_(float x) { return ::asinhf(x); }
HVAE_HD double asinh_(double x) { return ::asinh(x); }
HVAE_HD float tanh_(float x) { return ::tanhf(x); }
HVAE_HD double tanh_(double x) { return ::tanh(x); }
HVAE_HD float lgamma_(float x) { return ::lgammaf(x); }
HVAE_HD double lgamma_(double x) { return ::lgamma(x); }
HVAE_HD float fabs_(float x) { return ::fabsf(x); }
HVAE_HD double fabs_(double x) { return ::fabs(x); }
HVAE_HD float floor_(float x) { return ::floorf(x); }
HVAE_HD double floor_(double x) { return ::floor(x); }
HVAE_HD float ceil_(float x) { return ::ceilf(x); }
HVAE_HD double ceil_(double x) { return ::ceil(x); }
HVAE_HD float sin_(float x) { return ::sinf(x); }
HVAE_HD double sin_(double x) { return ::sin(x); }
HVAE_HD float cos_(float x) { return ::cosf(x); }
HVAE_HD double cos_(double x) { return ::cos(x); }
HVAE_HD float fma_(float a, float b, float c) { return ::fmaf(a, b, c); }
HVAE_HD double fma_(double a, double b, double c) { return ::fma(a, b, c); }
HVAE_HD float frexp_(float x, int* e) { return ::frexpf(x, e); }
HVAE_HD double frexp_(double x, int* e) { return ::frexp(x, e); }
HVAE_HD bool isnan_(float x) { return x != x; }
HVAE_HD bool isnan_(double x) { return x != x; }

template <typename T>
HVAE_HD T quiet_nan() {
  return std::numeric_limits<T>::quiet_NaN();
}
template <typename T>
HVAE_HD T infinity() {
  return std::numeric_limits<T>::infinity();
}

template <typename T>
HVAE_HD T min_(T a, T b) {
  return a < b ? a : b;
}
template <typename T>
HVAE_HD T max_(T a, T b) {
  return a > b ? a : b;
}

// ln(2*pi) and ln(pi) to double precision (they round correctly to float).
constexpr double kLog2Pi = 1.8378770664093454835606594728112;
constexpr double kLogPi = 1.1447298858494001741434273513531;
constexpr double kLog2 = 0.69314718055994530941723212145818;

}  // namespace hvae
