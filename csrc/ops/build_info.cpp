// hvae::_build_info: facts about this build that Python cannot see, as
// "key=value" lines (hvae_ext/info.py parses and prints them). The CPU-path
// answers repeat the exact tests the library's dispatch makes: the ifunc of
// the HVAE_CPU_CLONES loops (cpu_clones.h) and vmf_cpu_avx2_available().
#include "build_info.h"

#include <torch/library.h>
#include <torch/version.h>

#include <cstdlib>
#include <sstream>
#include <string>

#include "cpu_clones.h"
#include "vmf_cpu_avx2.h"

#define HVAE_STR_(...) #__VA_ARGS__
#define HVAE_STR(...) HVAE_STR_(__VA_ARGS__)

namespace hvae_ops {

const char*& cuda_arch_list() {
  static const char* list = nullptr;
  return list;
}

const char*& nvcc_version() {
  static const char* version = nullptr;
  return version;
}

namespace {

// Whether this build compiles HVAE_CPU_CLONES loops twice: the macro is empty
// when it does not (cpu_clones.h).
constexpr bool kHasCpuClones = sizeof(HVAE_STR(HVAE_CPU_CLONES)) > 1;

bool cpu_has_avx2() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
#else
  return false;
#endif
}

// Which clone the ifunc resolver of a HVAE_CPU_CLONES function picks. GCC's
// resolver for target_clones("arch=x86-64-v3", "default") tests the same
// feature bit as __builtin_cpu_supports("x86-64-v3") (GCC >= 12, Clang >= 16).
std::string cpu_clone_picked() {
  if (!kHasCpuClones) return "none (one build, no clones)";
#if defined(__x86_64__) && ((defined(__clang__) && __clang_major__ >= 16) || (!defined(__clang__) && __GNUC__ >= 12))
  __builtin_cpu_init();
  return __builtin_cpu_supports("x86-64-v3") ? "x86-64-v3" : "x86-64";
#else
  return "unknown (compiler cannot query x86-64-v3)";
#endif
}

std::string vmf_loops() {
  if (vmf_cpu_avx2_available()) return "avx2";
  if (std::getenv("HVAE_EXT_NO_AVX2") != nullptr) return "baseline (HVAE_EXT_NO_AVX2 is set)";
  if (!cpu_has_avx2()) return "baseline (CPU without AVX2)";
  return "baseline (AVX2 copy not built by this compiler)";
}

std::string build_info() {
  std::ostringstream out;
  out << "built_with_torch=" << TORCH_VERSION << "\n";
#if defined(__clang__)
  out << "compiler=" << __VERSION__ << "\n";  // "Clang 17.0.6 ..."
#elif defined(__GNUC__)
  out << "compiler=GCC " << __VERSION__ << "\n";
#endif
#ifdef _OPENMP
  out << "openmp=" << _OPENMP << "\n";
#else
  out << "openmp=0\n";
#endif
  out << "cuda_arch_list=" << (cuda_arch_list() ? cuda_arch_list() : "") << "\n";
  out << "nvcc=" << (nvcc_version() ? nvcc_version() : "") << "\n";
  out << "cpu_clones=" << (kHasCpuClones ? "x86-64-v3,x86-64" : "") << "\n";
  out << "cpu_clone_picked=" << cpu_clone_picked() << "\n";
  out << "vmf_cpu_loops=" << vmf_loops() << "\n";
  return out.str();
}

}  // namespace
}  // namespace hvae_ops

// No tensor arguments: the dispatcher runs a CompositeImplicitAutograd kernel
// for an empty key set.
TORCH_LIBRARY_IMPL(hvae, CompositeImplicitAutograd, m) {
  m.impl("_build_info", &hvae_ops::build_info);
}
