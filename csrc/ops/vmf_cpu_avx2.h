// The CPU vMF loops built for AVX2 (vmf_cpu_avx2.cpp), chosen at run time.
#pragma once

#include <cstdint>

namespace hvae_ops {

// True when this build has the AVX2 loops, the CPU runs them, and the
// environment variable HVAE_EXT_NO_AVX2 is unset.
bool vmf_cpu_avx2_available();

// vmf_sample_one / vmf_backward_one for i in [begin, end); `params` points
// to a hvae::VmfSampleParams<T> / hvae::VmfBackwardParams<T>; power_spherical
// selects the angle law (hvae::PsAngleLaw instead of hvae::VmfAngleLaw).
void vmf_sample_range_avx2(const void* params, bool is_double, int64_t begin, int64_t end,
                           bool power_spherical = false);
void vmf_backward_range_avx2(const void* params, bool is_double, int64_t begin, int64_t end,
                             bool power_spherical = false);
// vmf_backward_sum (batch entry b, samples [s0, s1)); gl_sum, gk_sum, row are T*.
void vmf_backward_sum_avx2(const void* params, bool is_double, int64_t b, int64_t s0, int64_t s1, void* gl_sum,
                           void* gk_sum, void* row, bool power_spherical = false);

}  // namespace hvae_ops
