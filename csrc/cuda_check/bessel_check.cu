// Device-code compile check for the Bessel kernels (built by CMake's
// HVAE_CUDA_DEVICE_CHECK without torch; never linked or launched): every
// function of BesselFn for float and double, as the extension instantiates them.
#include "hvae/kernels/bessel_kernels.cuh"

namespace hvae {

#define HVAE_INSTANTIATE_BESSEL(FN)                                             \
  template __global__ void bessel_kernel<BesselFn::FN, float>(BesselParams<float>); \
  template __global__ void bessel_kernel<BesselFn::FN, double>(BesselParams<double>);

HVAE_INSTANTIATE_BESSEL(kLogIv)
HVAE_INSTANTIATE_BESSEL(kLogIve)
HVAE_INSTANTIATE_BESSEL(kIvRatio)
HVAE_INSTANTIATE_BESSEL(kLogIvBackward)
HVAE_INSTANTIATE_BESSEL(kLogIveBackward)
HVAE_INSTANTIATE_BESSEL(kIvRatioBackward)
HVAE_INSTANTIATE_BESSEL(kIvRatioInverse)
HVAE_INSTANTIATE_BESSEL(kIvRatioInverseBackward)

#undef HVAE_INSTANTIATE_BESSEL

}  // namespace hvae
