// CUDA kernel of the Power Spherical density ops (torch-free: compiled by the
// CMake device-code check as well as by the extension build).
#pragma once

#include "power_spherical_density_elementwise.h"

namespace hvae {

// Grid-stride loop: one launch of a bounded grid covers any numel.
template <PsDensityFn F, int Order, typename T>
__global__ void ps_density_kernel(PsDensityParams<T> p) {
  const int64_t stride = int64_t(blockDim.x) * gridDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < p.numel; i += stride) {
    ps_density_apply<F, Order, T>(p, i);
  }
}

}  // namespace hvae
