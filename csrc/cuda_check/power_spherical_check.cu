// Device-code compile check for the Power Spherical sampler kernels (built by
// CMake's HVAE_CUDA_DEVICE_CHECK without torch; never linked or launched):
// the vMF kernels of vmf_kernels.cuh with the PS angle law, for float and
// double, as the extension instantiates them (there with a
// PhiloxCudaState-reading Rng instead of VmfFixedSeed).
#include "hvae/kernels/vmf_kernels.cuh"

namespace hvae {

#define HVAE_INSTANTIATE_PS(T)                                                                   \
  template __global__ void vmf_sample_thread_kernel<T, VmfFixedSeed, PsAngleLaw>(                \
      VmfSampleParams<T>, VmfFixedSeed);                                                         \
  template __global__ void vmf_sample_warp_kernel<T, VmfFixedSeed, PsAngleLaw>(                  \
      VmfSampleParams<T>, VmfFixedSeed, int);                                                    \
  template __global__ void vmf_backward_thread_kernel<T, PsAngleLaw>(VmfBackwardParams<T>);      \
  template __global__ void vmf_backward_warp_kernel<T, PsAngleLaw>(VmfBackwardParams<T>, int);

HVAE_INSTANTIATE_PS(float)
HVAE_INSTANTIATE_PS(double)

#undef HVAE_INSTANTIATE_PS

}  // namespace hvae
