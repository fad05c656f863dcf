// CUDA kernels of the Bessel ops: the same header math as the CPU loop, in a
// grid-stride kernel on the current stream.
#include "bessel.h"

#include <ATen/Dispatch.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include "hvae/kernels/bessel_kernels.cuh"

namespace hvae_ops {
namespace {

constexpr int kThreads = 256;

template <hvae::BesselFn F>
at::Tensor bessel_cuda(const char* op_name, const at::Tensor& v, const at::Tensor& x,
                       const at::Tensor& grad, const char* x_name = "x") {
  const c10::cuda::CUDAGuard guard(x.device());
  BesselLaunch launch = bessel_prepare(op_name, v, x, grad, x_name);
  if (launch.numel == 0) return launch.out;
  const auto* props = at::cuda::getCurrentDeviceProperties();
  // Enough blocks to fill every SM several times; the grid-stride loop covers the rest.
  const int64_t max_blocks = int64_t(props->multiProcessorCount) * 8;
  const int64_t blocks = std::min<int64_t>((launch.numel + kThreads - 1) / kThreads, max_blocks);
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES(launch.out_compute.scalar_type(), "hvae_bessel", [&] {
    hvae::bessel_kernel<F, scalar_t>
        <<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(bessel_params<scalar_t>(launch));
  });
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return bessel_finish(launch);
}

at::Tensor log_iv_cuda(const at::Tensor& v, const at::Tensor& x) {
  return bessel_cuda<hvae::BesselFn::kLogIv>("log_iv", v, x, {});
}
at::Tensor log_ive_cuda(const at::Tensor& v, const at::Tensor& x) {
  return bessel_cuda<hvae::BesselFn::kLogIve>("log_ive", v, x, {});
}
at::Tensor iv_ratio_cuda(const at::Tensor& v, const at::Tensor& x) {
  return bessel_cuda<hvae::BesselFn::kIvRatio>("iv_ratio", v, x, {});
}
at::Tensor log_iv_backward_cuda(const at::Tensor& grad, const at::Tensor& v, const at::Tensor& x) {
  return bessel_cuda<hvae::BesselFn::kLogIvBackward>("_log_iv_backward", v, x, grad);
}
at::Tensor log_ive_backward_cuda(const at::Tensor& grad, const at::Tensor& v, const at::Tensor& x) {
  return bessel_cuda<hvae::BesselFn::kLogIveBackward>("_log_ive_backward", v, x, grad);
}
at::Tensor iv_ratio_backward_cuda(const at::Tensor& grad, const at::Tensor& v,
                                  const at::Tensor& x) {
  return bessel_cuda<hvae::BesselFn::kIvRatioBackward>("_iv_ratio_backward", v, x, grad);
}
at::Tensor iv_ratio_inverse_cuda(const at::Tensor& v, const at::Tensor& r) {
  return bessel_cuda<hvae::BesselFn::kIvRatioInverse>("iv_ratio_inverse", v, r, {}, "r");
}
at::Tensor iv_ratio_inverse_backward_cuda(const at::Tensor& grad, const at::Tensor& v,
                                         const at::Tensor& x) {
  return bessel_cuda<hvae::BesselFn::kIvRatioInverseBackward>("_iv_ratio_inverse_backward", v, x,
                                                               grad);
}

}  // namespace

TORCH_LIBRARY_IMPL(hvae, CUDA, m) {
  m.impl("log_iv", &log_iv_cuda);
  m.impl("log_ive", &log_ive_cuda);
  m.impl("iv_ratio", &iv_ratio_cuda);
  m.impl("_log_iv_backward", &log_iv_backward_cuda);
  m.impl("_log_ive_backward", &log_ive_backward_cuda);
  m.impl("_iv_ratio_backward", &iv_ratio_backward_cuda);
  m.impl("iv_ratio_inverse", &iv_ratio_inverse_cuda);
  m.impl("_iv_ratio_inverse_backward", &iv_ratio_inverse_backward_cuda);
}

}  // namespace hvae_ops
