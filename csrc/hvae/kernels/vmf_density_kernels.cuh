// CUDA kernels of the vMF density ops (torch-free: compiled by the CMake
// device-code check as well as by the extension build).
#pragma once

#include "vmf_density_elementwise.h"

namespace hvae {

// Grid-stride loops: one launch of a bounded grid covers any numel.
template <VmfDensityFn F, bool Backward, typename T>
__global__ void vmf_density_kernel(VmfDensityParams<T> p) {
  const int64_t stride = int64_t(blockDim.x) * gridDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < p.numel; i += stride) {
    vmf_density_apply<F, Backward, T>(p, i);
  }
}

template <bool Backward, typename T>
__global__ void vmf_kl_vmf_kernel(VmfKlVmfParams<T> p) {
  const int64_t stride = int64_t(blockDim.x) * gridDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < p.numel; i += stride) {
    vmf_kl_vmf_apply<Backward, T>(p, i);
  }
}

}  // namespace hvae
