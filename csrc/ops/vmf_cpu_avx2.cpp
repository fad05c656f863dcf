// The per-sample sampler loops of csrc/hvae/kernels/vmf_sample.h (vMF and
// Power Spherical angle laws) compiled for
// AVX2 (no FMA, so no contraction: the values equal the baseline build's),
// about 1.8x faster for the vectorised Box-Muller loop. The headers are
// included inside namespace hvae_avx2, so these AVX2 copies of the inline
// functions never stand in for the baseline ones at link time. No torch here.
#include "vmf_cpu_avx2.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define HVAE_VMF_AVX2 1
#pragma GCC push_options
#pragma GCC target("avx2")
// The Philox words of the normals with AVX2 intrinsics (vmf.h calls
// ::hvae::philox_avx2 when HVAE_VMF_PHILOX_AVX2 is set). Included here,
// outside the namespace below, because it includes <immintrin.h>.
#include "hvae/philox_avx2.h"
#define HVAE_VMF_PHILOX_AVX2 1
// The Power Spherical kappa gradient's series in lanes (power_spherical.h).
#define HVAE_PS_SERIES_LANES 1
namespace hvae_avx2 {
#include "hvae/kernels/vmf_sample.h"
}  // namespace hvae_avx2

namespace {

using VmfLaw = hvae_avx2::hvae::VmfAngleLaw;
using PsLaw = hvae_avx2::hvae::PsAngleLaw;

template <typename T, typename Law>
void sample_range(const void* params, int64_t begin, int64_t end) {
  const auto& p = *static_cast<const hvae_avx2::hvae::VmfSampleParams<T>*>(params);
  hvae_avx2::hvae::vmf_sample_range<T, Law>(p, begin, end);
}

template <typename T, typename Law>
void backward_range(const void* params, int64_t begin, int64_t end) {
  const auto& p = *static_cast<const hvae_avx2::hvae::VmfBackwardParams<T>*>(params);
  hvae_avx2::hvae::vmf_backward_range<T, Law>(p, begin, end);
}

template <typename T, typename Law>
void backward_sum(const void* params, int64_t b, int64_t s0, int64_t s1, void* gl_sum, void* gk_sum, void* row) {
  const auto& p = *static_cast<const hvae_avx2::hvae::VmfBackwardParams<T>*>(params);
  hvae_avx2::hvae::vmf_backward_sum<T, Law>(p, b, s0, s1, static_cast<T*>(gl_sum), static_cast<T*>(gk_sum),
                                            static_cast<T*>(row));
}

}  // namespace
#pragma GCC pop_options
#else
#define HVAE_VMF_AVX2 0
#endif

namespace hvae_ops {

bool vmf_cpu_avx2_available() {
#if HVAE_VMF_AVX2
  // HVAE_EXT_NO_AVX2=1 keeps the baseline loops (the tests compare the two).
  static const bool ok = __builtin_cpu_supports("avx2") && std::getenv("HVAE_EXT_NO_AVX2") == nullptr;
  return ok;
#else
  return false;
#endif
}

void vmf_sample_range_avx2(const void* params, bool is_double, int64_t begin, int64_t end,
                           bool power_spherical) {
#if HVAE_VMF_AVX2
  if (is_double) {
    (power_spherical ? sample_range<double, PsLaw> : sample_range<double, VmfLaw>)(params, begin, end);
  } else {
    (power_spherical ? sample_range<float, PsLaw> : sample_range<float, VmfLaw>)(params, begin, end);
  }
#else
  (void)params, (void)is_double, (void)begin, (void)end, (void)power_spherical;
#endif
}

void vmf_backward_range_avx2(const void* params, bool is_double, int64_t begin, int64_t end,
                             bool power_spherical) {
#if HVAE_VMF_AVX2
  if (is_double) {
    (power_spherical ? backward_range<double, PsLaw> : backward_range<double, VmfLaw>)(params, begin, end);
  } else {
    (power_spherical ? backward_range<float, PsLaw> : backward_range<float, VmfLaw>)(params, begin, end);
  }
#else
  (void)params, (void)is_double, (void)begin, (void)end, (void)power_spherical;
#endif
}

void vmf_backward_sum_avx2(const void* params, bool is_double, int64_t b, int64_t s0, int64_t s1, void* gl_sum,
                           void* gk_sum, void* row, bool power_spherical) {
#if HVAE_VMF_AVX2
  if (is_double) {
    (power_spherical ? backward_sum<double, PsLaw> : backward_sum<double, VmfLaw>)(params, b, s0, s1, gl_sum,
                                                                                   gk_sum, row);
  } else {
    (power_spherical ? backward_sum<float, PsLaw> : backward_sum<float, VmfLaw>)(params, b, s0, s1, gl_sum,
                                                                                 gk_sum, row);
  }
#else
  (void)params, (void)is_double, (void)b, (void)s0, (void)s1, (void)gl_sum, (void)gk_sum, (void)row,
      (void)power_spherical;
#endif
}

}  // namespace hvae_ops
