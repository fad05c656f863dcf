// CPU kernels of the Bessel ops (log_iv, log_ive, iv_ratio, iv_ratio_inverse and their
// backward ops): the header math of csrc/hvae/bessel.h in an at::parallel_for.
// log_iv and log_ive go through the vectorised block path of
// hvae/kernels/bessel_block_cpu.h; the other ops call bessel_eval per element.
#include "bessel.h"
#include "cpu_clones.h"
#include "hvae/kernels/bessel_block_cpu.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

namespace hvae_ops {
namespace {

// Bessel evaluations cost ~50-500 ns each, so small chunks already amortise
// the parallel overhead.
constexpr int64_t kGrainSize = 2048;

template <hvae::BesselFn F, typename T>
HVAE_CPU_CLONES void bessel_range(const hvae::BesselParams<T>& p, int64_t begin, int64_t end) {
  if constexpr (F == hvae::BesselFn::kLogIv || F == hvae::BesselFn::kLogIve) {
    constexpr int kBlock = hvae::bessel_block::kBlock;
    alignas(64) T vb[kBlock], xb[kBlock];
    const bool x_dense = p.index.layout[1] == hvae::OperandLayout::kContiguous;
    if (!p.v) {
      for (int j = 0; j < kBlock; ++j) vb[j] = p.v_scalar;
    }
    for (int64_t b = begin; b < end; b += kBlock) {
      const int n = static_cast<int>(end - b < kBlock ? end - b : kBlock);
      if (p.v) {
        for (int j = 0; j < n; ++j) vb[j] = p.v[p.index.offset(0, b + j)];
      }
      const T* x = p.x + b;
      if (!x_dense) {
        for (int j = 0; j < n; ++j) xb[j] = p.x[p.index.offset(1, b + j)];
        x = xb;
      }
      hvae::bessel_block::log_iv_block<T, F == hvae::BesselFn::kLogIv>(vb, x, p.out + b, n);
    }
  } else {
    for (int64_t i = begin; i < end; ++i) hvae::bessel_apply<F, T>(p, i);
  }
}

template <hvae::BesselFn F>
at::Tensor bessel_cpu(const char* op_name, const at::Tensor& v, const at::Tensor& x,
                      const at::Tensor& grad, const char* x_name = "x") {
  BesselLaunch launch = bessel_prepare(op_name, v, x, grad, x_name);
  if (launch.numel == 0) return launch.out;
  AT_DISPATCH_FLOATING_TYPES(launch.out_compute.scalar_type(), "hvae_bessel", [&] {
    const hvae::BesselParams<scalar_t> p = bessel_params<scalar_t>(launch);
    at::parallel_for(0, launch.numel, kGrainSize, [&](int64_t begin, int64_t end) {
      bessel_range<F, scalar_t>(p, begin, end);
    });
  });
  return bessel_finish(launch);
}

at::Tensor log_iv_cpu(const at::Tensor& v, const at::Tensor& x) {
  return bessel_cpu<hvae::BesselFn::kLogIv>("log_iv", v, x, {});
}
at::Tensor log_ive_cpu(const at::Tensor& v, const at::Tensor& x) {
  return bessel_cpu<hvae::BesselFn::kLogIve>("log_ive", v, x, {});
}
at::Tensor iv_ratio_cpu(const at::Tensor& v, const at::Tensor& x) {
  return bessel_cpu<hvae::BesselFn::kIvRatio>("iv_ratio", v, x, {});
}
at::Tensor log_iv_backward_cpu(const at::Tensor& grad, const at::Tensor& v, const at::Tensor& x) {
  return bessel_cpu<hvae::BesselFn::kLogIvBackward>("_log_iv_backward", v, x, grad);
}
at::Tensor log_ive_backward_cpu(const at::Tensor& grad, const at::Tensor& v, const at::Tensor& x) {
  return bessel_cpu<hvae::BesselFn::kLogIveBackward>("_log_ive_backward", v, x, grad);
}
at::Tensor iv_ratio_backward_cpu(const at::Tensor& grad, const at::Tensor& v,
                                 const at::Tensor& x) {
  return bessel_cpu<hvae::BesselFn::kIvRatioBackward>("_iv_ratio_backward", v, x, grad);
}
at::Tensor iv_ratio_inverse_cpu(const at::Tensor& v, const at::Tensor& r) {
  return bessel_cpu<hvae::BesselFn::kIvRatioInverse>("iv_ratio_inverse", v, r, {}, "r");
}
at::Tensor iv_ratio_inverse_backward_cpu(const at::Tensor& grad, const at::Tensor& v,
                                         const at::Tensor& x) {
  return bessel_cpu<hvae::BesselFn::kIvRatioInverseBackward>("_iv_ratio_inverse_backward", v, x,
                                                               grad);
}

}  // namespace

TORCH_LIBRARY_IMPL(hvae, CPU, m) {
  m.impl("log_iv", &log_iv_cpu);
  m.impl("log_ive", &log_ive_cpu);
  m.impl("iv_ratio", &iv_ratio_cpu);
  m.impl("_log_iv_backward", &log_iv_backward_cpu);
  m.impl("_log_ive_backward", &log_ive_backward_cpu);
  m.impl("_iv_ratio_backward", &iv_ratio_backward_cpu);
  m.impl("iv_ratio_inverse", &iv_ratio_inverse_cpu);
  m.impl("_iv_ratio_inverse_backward", &iv_ratio_inverse_backward_cpu);
}

}  // namespace hvae_ops
