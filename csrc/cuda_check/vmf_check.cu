// Device-code compile check for the vMF sampler kernels (built by CMake's
// HVAE_CUDA_DEVICE_CHECK without torch; never linked or launched): every
// kernel for float and double, as the extension instantiates them (there
// with a PhiloxCudaState-reading Rng instead of VmfFixedSeed).
#include "hvae/kernels/vmf_kernels.cuh"

namespace hvae {

#define HVAE_INSTANTIATE_VMF(T)                                                              \
  template __global__ void vmf_sample_thread_kernel<T, VmfFixedSeed>(VmfSampleParams<T>,      \
                                                                      VmfFixedSeed);          \
  template __global__ void vmf_sample_warp_kernel<T, VmfFixedSeed>(VmfSampleParams<T>,        \
                                                                    VmfFixedSeed, int);       \
  template __global__ void vmf_backward_thread_kernel<T>(VmfBackwardParams<T>);               \
  template __global__ void vmf_backward_warp_kernel<T>(VmfBackwardParams<T>, int);

HVAE_INSTANTIATE_VMF(float)
HVAE_INSTANTIATE_VMF(double)

#undef HVAE_INSTANTIATE_VMF

}  // namespace hvae
