// Device-code compile check for the Power Spherical density kernels (built by
// CMake's HVAE_CUDA_DEVICE_CHECK without torch; never linked or launched):
// every function and derivative order, for float and double, as the
// extension instantiates them.
#include "hvae/kernels/power_spherical_density_kernels.cuh"

namespace hvae {

#define HVAE_INSTANTIATE_PS_DENSITY(FN, ORDER)                                                        \
  template __global__ void ps_density_kernel<PsDensityFn::FN, ORDER, float>(PsDensityParams<float>);  \
  template __global__ void ps_density_kernel<PsDensityFn::FN, ORDER, double>(PsDensityParams<double>);

HVAE_INSTANTIATE_PS_DENSITY(kLogNormalizer, 0)
HVAE_INSTANTIATE_PS_DENSITY(kLogNormalizer, 1)
HVAE_INSTANTIATE_PS_DENSITY(kLogNormalizer, 2)
HVAE_INSTANTIATE_PS_DENSITY(kLogNormalizerScaled, 0)
HVAE_INSTANTIATE_PS_DENSITY(kLogNormalizerScaled, 1)
HVAE_INSTANTIATE_PS_DENSITY(kEntropy, 0)
HVAE_INSTANTIATE_PS_DENSITY(kEntropy, 1)
HVAE_INSTANTIATE_PS_DENSITY(kKlUniform, 0)
HVAE_INSTANTIATE_PS_DENSITY(kKlUniform, 1)

#undef HVAE_INSTANTIATE_PS_DENSITY

}  // namespace hvae
