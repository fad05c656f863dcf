// Device-code compile check for the Sylvester flow kernels (built by CMake's
// HVAE_CUDA_DEVICE_CHECK without torch; never linked or launched): every
// kernel for float and double, as csrc/ops/sylvester_cuda.cu instantiates them.
#include "hvae/kernels/sylvester_kernels.cuh"

namespace hvae {

#define HVAE_INSTANTIATE_SYLVESTER_SLOTS(T, S)                                                     \
  template __global__ void sylvester_forward_kernel<S, T>(SylvesterParams<T>);                     \
  template __global__ void sylvester_backward_kernel<true, S, T>(SylvesterBackwardParams<T>);      \
  template __global__ void sylvester_backward_kernel<false, S, T>(SylvesterBackwardParams<T>);

#define HVAE_INSTANTIATE_SYLVESTER(T)                              \
  HVAE_INSTANTIATE_SYLVESTER_SLOTS(T, 0)                           \
  HVAE_INSTANTIATE_SYLVESTER_SLOTS(T, 2)                           \
  HVAE_INSTANTIATE_SYLVESTER_SLOTS(T, 4)                           \
  template __global__ void sylvester_inverse_kernel<T>(SylvesterParams<T>, T*);

HVAE_INSTANTIATE_SYLVESTER(float)
HVAE_INSTANTIATE_SYLVESTER(double)

#undef HVAE_INSTANTIATE_SYLVESTER
#undef HVAE_INSTANTIATE_SYLVESTER_SLOTS

}  // namespace hvae
