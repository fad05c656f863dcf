// Device-code compile check for the Sylvester flow kernels (built by CMake's
// HVAE_CUDA_DEVICE_CHECK without torch; never linked or launched): every
// kernel for float and double, as csrc/ops/sylvester_cuda.cu instantiates them.
#include "hvae/kernels/sylvester_kernels.cuh"

namespace hvae {

#define HVAE_INSTANTIATE_SYLVESTER(T)                                                               \
  template __global__ void sylvester_forward_kernel<false, T>(SylvesterParams<T>);                 \
  template __global__ void sylvester_forward_kernel<true, T>(SylvesterParams<T>);                  \
  template __global__ void sylvester_backward_kernel<true, false, T>(SylvesterBackwardParams<T>);  \
  template __global__ void sylvester_backward_kernel<true, true, T>(SylvesterBackwardParams<T>);   \
  template __global__ void sylvester_backward_kernel<false, false, T>(SylvesterBackwardParams<T>); \
  template __global__ void sylvester_backward_kernel<false, true, T>(SylvesterBackwardParams<T>);  \
  template __global__ void sylvester_inverse_kernel<T>(SylvesterParams<T>, T*);

HVAE_INSTANTIATE_SYLVESTER(float)
HVAE_INSTANTIATE_SYLVESTER(double)

#undef HVAE_INSTANTIATE_SYLVESTER

}  // namespace hvae
