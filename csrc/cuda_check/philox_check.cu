// Device-code compile check for csrc/hvae/philox.h (built by CMake's
// HVAE_CUDA_DEVICE_CHECK; never linked or launched). It instantiates every
// sampler for float and double so nvcc and ptxas see all of them for each
// target architecture.
#include <cstdint>

#include "hvae/philox.h"

namespace hvae {
namespace cuda_check {

// Draws of each law for sample i from subsequence i; out has 8 values per
// sample.
template <typename T>
__global__ void philox_samplers_kernel(uint64_t seed, uint64_t offset, T alpha,
                                       T a, T b, int64_t n,
                                       T* __restrict__ out) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
       i < n; i += stride) {
    PhiloxStream s(seed, static_cast<uint64_t>(i), offset);
    const NormalPair<T> z = normal_pair<T>(s);
    const BetaDraw<T> bx = beta_pair<T>(s, a, b);
    const BetaDraw<T> lb = log_beta_pair<T>(s, a, b);
    T* o = out + 8 * i;
    o[0] = uniform_open01<T>(s);
    o[1] = uniform_left_open01<T>(s);
    o[2] = z.z0 + z.z1 + normal<T>(s);
    o[3] = gamma<T>(s, alpha);
    o[4] = log_gamma<T>(s, alpha);
    o[5] = bx.x + bx.one_minus_x + beta<T>(s, a, b);
    o[6] = lb.x + lb.one_minus_x;
    o[7] = static_cast<T>(s.next4().v[0]);
  }
}

template __global__ void philox_samplers_kernel<float>(uint64_t, uint64_t, float, float,
                                                       float, int64_t, float*);
template __global__ void philox_samplers_kernel<double>(uint64_t, uint64_t, double,
                                                        double, double, int64_t,
                                                        double*);

}  // namespace cuda_check
}  // namespace hvae
