// CUDA kernels of the Power Spherical density ops: the same header math as
// the CPU loop (computed in double, rounded once), in a grid-stride kernel on
// the current stream. Nothing here syncs with the host.
#include "power_spherical_density.h"

#include <algorithm>

#include <ATen/Dispatch.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include "hvae/kernels/power_spherical_density_kernels.cuh"

namespace hvae_ops {
namespace {

using hvae::PsDensityFn;

constexpr int kThreads = 128;

unsigned grid_blocks(int64_t numel) {
  const auto* props = at::cuda::getCurrentDeviceProperties();
  const int64_t max_blocks = int64_t(props->multiProcessorCount) * 8;
  return static_cast<unsigned>(std::min<int64_t>((numel + kThreads - 1) / kThreads, max_blocks));
}

template <PsDensityFn F, int Order>
at::Tensor ps_density_cuda(const char* op_name, const at::Tensor& kappa, int64_t m, const at::Tensor& grad) {
  const c10::cuda::CUDAGuard guard(kappa.device());
  VmfDensityLaunch launch = vmf_density_prepare(op_name, kappa, m, grad);
  if (launch.numel == 0) return launch.out;
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES(launch.out_compute.scalar_type(), "hvae_ps_density", [&] {
    hvae::ps_density_kernel<F, Order, scalar_t>
        <<<grid_blocks(launch.numel), kThreads, 0, stream>>>(ps_density_params<scalar_t>(launch, m));
  });
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return vmf_density_finish(launch);
}

at::Tensor log_normalizer_cuda(const at::Tensor& kappa, int64_t m, bool scaled) {
  constexpr const char* name = "power_spherical_log_normalizer";
  return scaled ? ps_density_cuda<PsDensityFn::kLogNormalizerScaled, 0>(name, kappa, m, {})
                : ps_density_cuda<PsDensityFn::kLogNormalizer, 0>(name, kappa, m, {});
}
at::Tensor log_normalizer_backward_cuda(const at::Tensor& grad, const at::Tensor& kappa, int64_t m, bool scaled,
                                       bool second) {
  constexpr const char* name = "_power_spherical_log_normalizer_backward";
  // d2/dkappa2 is the same with and without the kappa log 2.
  if (second) return ps_density_cuda<PsDensityFn::kLogNormalizer, 2>(name, kappa, m, grad);
  return scaled ? ps_density_cuda<PsDensityFn::kLogNormalizerScaled, 1>(name, kappa, m, grad)
                : ps_density_cuda<PsDensityFn::kLogNormalizer, 1>(name, kappa, m, grad);
}
at::Tensor entropy_cuda(const at::Tensor& kappa, int64_t m) {
  return ps_density_cuda<PsDensityFn::kEntropy, 0>("power_spherical_entropy", kappa, m, {});
}
at::Tensor entropy_backward_cuda(const at::Tensor& grad, const at::Tensor& kappa, int64_t m) {
  return ps_density_cuda<PsDensityFn::kEntropy, 1>("_power_spherical_entropy_backward", kappa, m, grad);
}
at::Tensor kl_uniform_cuda(const at::Tensor& kappa, int64_t m) {
  return ps_density_cuda<PsDensityFn::kKlUniform, 0>("power_spherical_kl_uniform", kappa, m, {});
}
at::Tensor kl_uniform_backward_cuda(const at::Tensor& grad, const at::Tensor& kappa, int64_t m) {
  return ps_density_cuda<PsDensityFn::kKlUniform, 1>("_power_spherical_kl_uniform_backward", kappa, m, grad);
}

}  // namespace

TORCH_LIBRARY_IMPL(hvae, CUDA, m) {
  m.impl("power_spherical_log_normalizer", &log_normalizer_cuda);
  m.impl("_power_spherical_log_normalizer_backward", &log_normalizer_backward_cuda);
  m.impl("power_spherical_entropy", &entropy_cuda);
  m.impl("_power_spherical_entropy_backward", &entropy_backward_cuda);
  m.impl("power_spherical_kl_uniform", &kl_uniform_cuda);
  m.impl("_power_spherical_kl_uniform_backward", &kl_uniform_backward_cuda);
}

}  // namespace hvae_ops
