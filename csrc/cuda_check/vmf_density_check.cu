// Device-code compile check for the vMF density kernels (built by CMake's
// HVAE_CUDA_DEVICE_CHECK without torch; never linked or launched): every
// function, forward and backward, for float and double, as the extension
// instantiates them.
#include "hvae/kernels/vmf_density_kernels.cuh"

namespace hvae {

#define HVAE_INSTANTIATE_VMF_DENSITY(FN, BWD)                                                  \
  template __global__ void vmf_density_kernel<VmfDensityFn::FN, BWD, float>(VmfDensityParams<float>); \
  template __global__ void vmf_density_kernel<VmfDensityFn::FN, BWD, double>(VmfDensityParams<double>);

HVAE_INSTANTIATE_VMF_DENSITY(kLogNormalizer, false)
HVAE_INSTANTIATE_VMF_DENSITY(kLogNormalizer, true)
HVAE_INSTANTIATE_VMF_DENSITY(kLogNormalizerScaled, false)
HVAE_INSTANTIATE_VMF_DENSITY(kLogNormalizerScaled, true)
HVAE_INSTANTIATE_VMF_DENSITY(kKlUniform, false)
HVAE_INSTANTIATE_VMF_DENSITY(kKlUniform, true)
HVAE_INSTANTIATE_VMF_DENSITY(kEntropy, false)
HVAE_INSTANTIATE_VMF_DENSITY(kEntropy, true)

#undef HVAE_INSTANTIATE_VMF_DENSITY

template __global__ void vmf_kl_vmf_kernel<false, float>(VmfKlVmfParams<float>);
template __global__ void vmf_kl_vmf_kernel<false, double>(VmfKlVmfParams<double>);
template __global__ void vmf_kl_vmf_kernel<true, float>(VmfKlVmfParams<float>);
template __global__ void vmf_kl_vmf_kernel<true, double>(VmfKlVmfParams<double>);

}  // namespace hvae
