// What this build of the op library contains and which CPU loops it runs
// (hvae::_build_info, read by `python -m hvae_ext.info`).
#pragma once

namespace hvae_ops {

// The CUDA architectures the kernels were compiled for, as nvcc's
// __CUDA_ARCH_LIST__ ("800,900"), or nullptr when the library has no CUDA
// kernels. build_info_cuda.cu sets it while the library loads; a
// function-local static, so the order of static initialisers does not matter.
const char*& cuda_arch_list();

// The nvcc version that compiled the CUDA kernels ("13.0"), or nullptr.
const char*& nvcc_version();

}  // namespace hvae_ops
