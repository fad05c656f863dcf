// CPU kernels of the Power Spherical density ops: the header math of
// csrc/hvae/power_spherical_density.h in an at::parallel_for (no
// HVAE_CPU_CLONES, for the reason given in vmf_density.cpp).
#include "power_spherical_density.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

namespace hvae_ops {
namespace {

using hvae::PsDensityFn;

// An element costs ~0.1-1 us (Stirling tails, up to ten shift steps; the KL
// twice that near kappa = 0): 512 of them are worth a thread (as for the
// vMF density ops: B = 1024 runs on two).
constexpr int64_t kGrainSize = 512;

template <PsDensityFn F, int Order>
at::Tensor ps_density_cpu(const char* op_name, const at::Tensor& kappa, int64_t m, const at::Tensor& grad) {
  VmfDensityLaunch launch = vmf_density_prepare(op_name, kappa, m, grad);
  if (launch.numel == 0) return launch.out;
  AT_DISPATCH_FLOATING_TYPES(launch.out_compute.scalar_type(), "hvae_ps_density", [&] {
    const hvae::PsDensityParams<scalar_t> p = ps_density_params<scalar_t>(launch, m);
    at::parallel_for(0, launch.numel, kGrainSize, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) hvae::ps_density_apply<F, Order, scalar_t>(p, i);
    });
  });
  return vmf_density_finish(launch);
}

at::Tensor log_normalizer_cpu(const at::Tensor& kappa, int64_t m, bool scaled) {
  constexpr const char* name = "power_spherical_log_normalizer";
  return scaled ? ps_density_cpu<PsDensityFn::kLogNormalizerScaled, 0>(name, kappa, m, {})
                : ps_density_cpu<PsDensityFn::kLogNormalizer, 0>(name, kappa, m, {});
}
at::Tensor log_normalizer_backward_cpu(const at::Tensor& grad, const at::Tensor& kappa, int64_t m, bool scaled,
                                       bool second) {
  constexpr const char* name = "_power_spherical_log_normalizer_backward";
  // d2/dkappa2 is the same with and without the kappa log 2.
  if (second) return ps_density_cpu<PsDensityFn::kLogNormalizer, 2>(name, kappa, m, grad);
  return scaled ? ps_density_cpu<PsDensityFn::kLogNormalizerScaled, 1>(name, kappa, m, grad)
                : ps_density_cpu<PsDensityFn::kLogNormalizer, 1>(name, kappa, m, grad);
}
at::Tensor entropy_cpu(const at::Tensor& kappa, int64_t m) {
  return ps_density_cpu<PsDensityFn::kEntropy, 0>("power_spherical_entropy", kappa, m, {});
}
at::Tensor entropy_backward_cpu(const at::Tensor& grad, const at::Tensor& kappa, int64_t m) {
  return ps_density_cpu<PsDensityFn::kEntropy, 1>("_power_spherical_entropy_backward", kappa, m, grad);
}
at::Tensor kl_uniform_cpu(const at::Tensor& kappa, int64_t m) {
  return ps_density_cpu<PsDensityFn::kKlUniform, 0>("power_spherical_kl_uniform", kappa, m, {});
}
at::Tensor kl_uniform_backward_cpu(const at::Tensor& grad, const at::Tensor& kappa, int64_t m) {
  return ps_density_cpu<PsDensityFn::kKlUniform, 1>("_power_spherical_kl_uniform_backward", kappa, m, grad);
}

}  // namespace

TORCH_LIBRARY_IMPL(hvae, CPU, m) {
  m.impl("power_spherical_log_normalizer", &log_normalizer_cpu);
  m.impl("_power_spherical_log_normalizer_backward", &log_normalizer_backward_cpu);
  m.impl("power_spherical_entropy", &entropy_cpu);
  m.impl("_power_spherical_entropy_backward", &entropy_backward_cpu);
  m.impl("power_spherical_kl_uniform", &kl_uniform_cpu);
  m.impl("_power_spherical_kl_uniform_backward", &kl_uniform_backward_cpu);
}

}  // namespace hvae_ops
