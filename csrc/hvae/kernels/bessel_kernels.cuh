// CUDA kernel for the elementwise Bessel ops (torch-free: compiled by the
// CMake device-code check as well as by the extension build).
#pragma once

#include "bessel_elementwise.h"

namespace hvae {

// Grid-stride loop: one launch of a bounded grid covers any numel.
template <BesselFn F, typename T>
__global__ void bessel_kernel(BesselParams<T> p) {
  const int64_t stride = int64_t(blockDim.x) * gridDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < p.numel; i += stride) {
    bessel_apply<F, T>(p, i);
  }
}

}  // namespace hvae
