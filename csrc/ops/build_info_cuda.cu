// Records, while the library loads, that it has CUDA kernels and for which
// architectures (see build_info.h). No kernels here.
#include "build_info.h"

#define HVAE_STR_(...) #__VA_ARGS__
#define HVAE_STR(...) HVAE_STR_(__VA_ARGS__)

namespace {

#ifdef __CUDA_ARCH_LIST__
// nvcc >= 11.5 defines it in host and device passes: the sorted values of
// __CUDA_ARCH__ this file is compiled for, e.g. 800,900.
constexpr const char* kArchList = HVAE_STR(__CUDA_ARCH_LIST__);
#else
constexpr const char* kArchList = "unknown (nvcc < 11.5)";
#endif

const bool registered = [] {
  hvae_ops::cuda_arch_list() = kArchList;
  hvae_ops::nvcc_version() = HVAE_STR(__CUDACC_VER_MAJOR__) "." HVAE_STR(__CUDACC_VER_MINOR__);
  return true;
}();

}  // namespace
