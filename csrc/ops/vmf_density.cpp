// CPU kernels of the vMF density ops: the header math of
// csrc/hvae/vmf_density.h in an at::parallel_for.
//
// No HVAE_CPU_CLONES here: these ops are O(batch) next to a network, so what
// they cost at VAE batch sizes is host overhead, not the loop; a second,
// flattened copy of the double-precision Bessel code per function would only
// add build time.
#include "vmf_density.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

namespace hvae_ops {
namespace {

using hvae::VmfDensityFn;

// An element costs ~0.1-1 us (double-precision Bessel functions).
constexpr int64_t kGrainSize = 512;

template <VmfDensityFn F, bool Backward>
at::Tensor density_cpu(const char* op_name, const at::Tensor& kappa, int64_t m, const at::Tensor& grad) {
  VmfDensityLaunch launch = vmf_density_prepare(op_name, kappa, m, grad);
  if (launch.numel == 0) return launch.out;
  AT_DISPATCH_FLOATING_TYPES(launch.out_compute.scalar_type(), "hvae_vmf_density", [&] {
    const hvae::VmfDensityParams<scalar_t> p = vmf_density_params<scalar_t>(launch);
    at::parallel_for(0, launch.numel, kGrainSize, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) hvae::vmf_density_apply<F, Backward, scalar_t>(p, i);
    });
  });
  return vmf_density_finish(launch);
}

template <bool Backward>
void kl_vmf_cpu(VmfKlVmfLaunch& launch) {
  if (launch.numel == 0) return;
  AT_DISPATCH_FLOATING_TYPES(launch.out_compute[0].scalar_type(), "hvae_vmf_kl_vmf", [&] {
    const hvae::VmfKlVmfParams<scalar_t> p = vmf_kl_vmf_params<scalar_t>(launch);
    at::parallel_for(0, launch.numel, kGrainSize, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) hvae::vmf_kl_vmf_apply<Backward, scalar_t>(p, i);
    });
  });
  vmf_kl_vmf_finish(launch);
}

at::Tensor log_normalizer_cpu(const at::Tensor& kappa, int64_t m, bool scaled) {
  return scaled ? density_cpu<VmfDensityFn::kLogNormalizerScaled, false>("vmf_log_normalizer", kappa, m, {})
                : density_cpu<VmfDensityFn::kLogNormalizer, false>("vmf_log_normalizer", kappa, m, {});
}
at::Tensor log_normalizer_backward_cpu(const at::Tensor& grad, const at::Tensor& kappa, int64_t m,
                                       bool scaled) {
  constexpr const char* name = "_vmf_log_normalizer_backward";
  return scaled ? density_cpu<VmfDensityFn::kLogNormalizerScaled, true>(name, kappa, m, grad)
                : density_cpu<VmfDensityFn::kLogNormalizer, true>(name, kappa, m, grad);
}
at::Tensor kl_uniform_cpu(const at::Tensor& kappa, int64_t m) {
  return density_cpu<VmfDensityFn::kKlUniform, false>("vmf_kl_uniform", kappa, m, {});
}
at::Tensor kl_uniform_backward_cpu(const at::Tensor& grad, const at::Tensor& kappa, int64_t m) {
  return density_cpu<VmfDensityFn::kKlUniform, true>("_vmf_kl_uniform_backward", kappa, m, grad);
}
at::Tensor entropy_cpu(const at::Tensor& kappa, int64_t m) {
  return density_cpu<VmfDensityFn::kEntropy, false>("vmf_entropy", kappa, m, {});
}
at::Tensor entropy_backward_cpu(const at::Tensor& grad, const at::Tensor& kappa, int64_t m) {
  return density_cpu<VmfDensityFn::kEntropy, true>("_vmf_entropy_backward", kappa, m, grad);
}
at::Tensor kl_vmf_cpu_op(const at::Tensor& kappa1, const at::Tensor& kappa2, const at::Tensor& d, int64_t m) {
  VmfKlVmfLaunch launch = vmf_kl_vmf_prepare("vmf_kl_vmf", kappa1, kappa2, d, m, {});
  kl_vmf_cpu<false>(launch);
  return launch.out[0];
}
std::tuple<at::Tensor, at::Tensor, at::Tensor> kl_vmf_backward_cpu(const at::Tensor& grad,
                                                                   const at::Tensor& kappa1,
                                                                   const at::Tensor& kappa2,
                                                                   const at::Tensor& d, int64_t m) {
  VmfKlVmfLaunch launch = vmf_kl_vmf_prepare("_vmf_kl_vmf_backward", kappa1, kappa2, d, m, grad);
  kl_vmf_cpu<true>(launch);
  return {launch.out[0], launch.out[1], launch.out[2]};
}

}  // namespace

TORCH_LIBRARY_IMPL(hvae, CPU, m) {
  m.impl("vmf_log_normalizer", &log_normalizer_cpu);
  m.impl("_vmf_log_normalizer_backward", &log_normalizer_backward_cpu);
  m.impl("vmf_kl_uniform", &kl_uniform_cpu);
  m.impl("_vmf_kl_uniform_backward", &kl_uniform_backward_cpu);
  m.impl("vmf_entropy", &entropy_cpu);
  m.impl("_vmf_entropy_backward", &entropy_backward_cpu);
  m.impl("vmf_kl_vmf", &kl_vmf_cpu_op);
  m.impl("_vmf_kl_vmf_backward", &kl_vmf_backward_cpu);
}

}  // namespace hvae_ops
