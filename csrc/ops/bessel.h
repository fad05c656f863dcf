// Front end shared by the CPU and CUDA Bessel kernels: argument checks,
// dtype promotion, broadcasting and the torch-free launch parameters.
#pragma once

#include <ATen/ATen.h>

#include "hvae/kernels/bessel_elementwise.h"

namespace hvae_ops {

// Everything a backend needs to run one elementwise Bessel op.
struct BesselLaunch {
  at::Tensor out;          // the result, in the output dtype
  at::Tensor out_compute;  // contiguous buffer the kernel writes (== out unless half/bfloat16)
  at::Tensor v, x, grad;   // operands in the compute dtype; v undefined when v_is_scalar
  bool v_is_scalar = false;
  double v_scalar = 0.0;
  hvae::ElementwiseIndex<3> index;
  int64_t numel = 0;
};

// Checks and prepares `fn(v, x)` (times `grad` for the backward functions;
// pass an undefined tensor for the forward ones). A 0-dim CPU `v` is read as
// a plain scalar, so a Python-number order costs no broadcast copy and no
// host-device transfer. `x_name` is the second operand's name in errors
// (r for iv_ratio_inverse).
BesselLaunch bessel_prepare(const char* op_name, const at::Tensor& v, const at::Tensor& x,
                            const at::Tensor& grad, const char* x_name = "x");

// Copies the compute buffer into the output when they differ (half/bfloat16).
at::Tensor bessel_finish(BesselLaunch& launch);

template <typename T>
hvae::BesselParams<T> bessel_params(const BesselLaunch& launch) {
  hvae::BesselParams<T> p;
  p.v = launch.v_is_scalar ? nullptr : launch.v.const_data_ptr<T>();
  p.v_scalar = static_cast<T>(launch.v_scalar);
  p.x = launch.x.const_data_ptr<T>();
  p.grad = launch.grad.defined() ? launch.grad.const_data_ptr<T>() : nullptr;
  p.out = launch.out_compute.mutable_data_ptr<T>();
  p.numel = launch.numel;
  p.index = launch.index;
  return p;
}

}  // namespace hvae_ops
