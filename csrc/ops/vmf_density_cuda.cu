// CUDA kernels of the vMF density ops: the same header math as the CPU loop
// (computed in double, rounded once), in grid-stride kernels on the current
// stream. Nothing here syncs with the host.
#include "vmf_density.h"

#include <algorithm>

#include <ATen/Dispatch.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include "hvae/kernels/vmf_density_kernels.cuh"

namespace hvae_ops {
namespace {

using hvae::VmfDensityFn;

// The per-element work is double-precision Bessel code with many live
// registers: smaller blocks keep more of them resident.
constexpr int kThreads = 128;

unsigned grid_blocks(int64_t numel) {
  const auto* props = at::cuda::getCurrentDeviceProperties();
  // Enough blocks to fill every SM several times; the grid-stride loop covers the rest.
  const int64_t max_blocks = int64_t(props->multiProcessorCount) * 8;
  return static_cast<unsigned>(std::min<int64_t>((numel + kThreads - 1) / kThreads, max_blocks));
}

template <VmfDensityFn F, bool Backward>
at::Tensor density_cuda(const char* op_name, const at::Tensor& kappa, int64_t m, const at::Tensor& grad) {
  const c10::cuda::CUDAGuard guard(kappa.device());
  VmfDensityLaunch launch = vmf_density_prepare(op_name, kappa, m, grad);
  if (launch.numel == 0) return launch.out;
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES(launch.out_compute.scalar_type(), "hvae_vmf_density", [&] {
    hvae::vmf_density_kernel<F, Backward, scalar_t>
        <<<grid_blocks(launch.numel), kThreads, 0, stream>>>(vmf_density_params<scalar_t>(launch));
  });
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return vmf_density_finish(launch);
}

template <bool Backward>
void kl_vmf_cuda(VmfKlVmfLaunch& launch) {
  if (launch.numel == 0) return;
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES(launch.out_compute[0].scalar_type(), "hvae_vmf_kl_vmf", [&] {
    hvae::vmf_kl_vmf_kernel<Backward, scalar_t>
        <<<grid_blocks(launch.numel), kThreads, 0, stream>>>(vmf_kl_vmf_params<scalar_t>(launch));
  });
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  vmf_kl_vmf_finish(launch);
}

at::Tensor log_normalizer_cuda(const at::Tensor& kappa, int64_t m, bool scaled) {
  return scaled ? density_cuda<VmfDensityFn::kLogNormalizerScaled, false>("vmf_log_normalizer", kappa, m, {})
                : density_cuda<VmfDensityFn::kLogNormalizer, false>("vmf_log_normalizer", kappa, m, {});
}
at::Tensor log_normalizer_backward_cuda(const at::Tensor& grad, const at::Tensor& kappa, int64_t m,
                                        bool scaled) {
  constexpr const char* name = "_vmf_log_normalizer_backward";
  return scaled ? density_cuda<VmfDensityFn::kLogNormalizerScaled, true>(name, kappa, m, grad)
                : density_cuda<VmfDensityFn::kLogNormalizer, true>(name, kappa, m, grad);
}
at::Tensor kl_uniform_cuda(const at::Tensor& kappa, int64_t m) {
  return density_cuda<VmfDensityFn::kKlUniform, false>("vmf_kl_uniform", kappa, m, {});
}
at::Tensor kl_uniform_backward_cuda(const at::Tensor& grad, const at::Tensor& kappa, int64_t m) {
  return density_cuda<VmfDensityFn::kKlUniform, true>("_vmf_kl_uniform_backward", kappa, m, grad);
}
at::Tensor entropy_cuda(const at::Tensor& kappa, int64_t m) {
  return density_cuda<VmfDensityFn::kEntropy, false>("vmf_entropy", kappa, m, {});
}
at::Tensor entropy_backward_cuda(const at::Tensor& grad, const at::Tensor& kappa, int64_t m) {
  return density_cuda<VmfDensityFn::kEntropy, true>("_vmf_entropy_backward", kappa, m, grad);
}
at::Tensor kl_vmf_cuda_op(const at::Tensor& kappa1, const at::Tensor& kappa2, const at::Tensor& d,
                          int64_t m) {
  const c10::cuda::CUDAGuard guard(kappa1.device());
  VmfKlVmfLaunch launch = vmf_kl_vmf_prepare("vmf_kl_vmf", kappa1, kappa2, d, m, {});
  kl_vmf_cuda<false>(launch);
  return launch.out[0];
}
std::tuple<at::Tensor, at::Tensor, at::Tensor> kl_vmf_backward_cuda(const at::Tensor& grad,
                                                                    const at::Tensor& kappa1,
                                                                    const at::Tensor& kappa2,
                                                                    const at::Tensor& d, int64_t m) {
  const c10::cuda::CUDAGuard guard(kappa1.device());
  VmfKlVmfLaunch launch = vmf_kl_vmf_prepare("_vmf_kl_vmf_backward", kappa1, kappa2, d, m, grad);
  kl_vmf_cuda<true>(launch);
  return {launch.out[0], launch.out[1], launch.out[2]};
}

}  // namespace

TORCH_LIBRARY_IMPL(hvae, CUDA, m) {
  m.impl("vmf_log_normalizer", &log_normalizer_cuda);
  m.impl("_vmf_log_normalizer_backward", &log_normalizer_backward_cuda);
  m.impl("vmf_kl_uniform", &kl_uniform_cuda);
  m.impl("_vmf_kl_uniform_backward", &kl_uniform_backward_cuda);
  m.impl("vmf_entropy", &entropy_cuda);
  m.impl("_vmf_entropy_backward", &entropy_backward_cuda);
  m.impl("vmf_kl_vmf", &kl_vmf_cuda_op);
  m.impl("_vmf_kl_vmf_backward", &kl_vmf_backward_cuda);
}

}  // namespace hvae_ops
