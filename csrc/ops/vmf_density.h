// Front end shared by the CPU and CUDA kernels of the vMF density ops
// (vmf_log_normalizer, vmf_kl_uniform, vmf_entropy, vmf_kl_vmf and their
// backward ops): argument checks, dtypes, broadcasting and the torch-free
// launch parameters.
#pragma once

#include <array>

#include <ATen/ATen.h>

#include "hvae/kernels/vmf_density_elementwise.h"

namespace hvae_ops {

// One launch of a function of one concentration. Forward: out = F(kappa),
// kappa's shape and dtype. Backward (grad defined): out = grad * dF/dkappa,
// the broadcast shape of grad and kappa, kappa's dtype.
struct VmfDensityLaunch {
  at::Tensor out;          // the result
  at::Tensor out_compute;  // what the kernel writes (== out unless half/bfloat16)
  at::Tensor kappa, grad;  // operands in the compute dtype (grad undefined in the forward)
  hvae::ElementwiseIndex<2> index;
  hvae::VmfDensityConsts consts;
  int64_t numel = 0;
};

VmfDensityLaunch vmf_density_prepare(const char* op_name, const at::Tensor& kappa, int64_t m,
                                     const at::Tensor& grad);

// One launch of KL(vMF1 || vMF2) over broadcast (kappa1, kappa2, d). Forward:
// out[0] = KL; backward (grad defined): out[0..2] = grad * dKL/d(kappa1,
// kappa2, d), in the broadcast shape of all four operands.
struct VmfKlVmfLaunch {
  std::array<at::Tensor, 3> out, out_compute;  // only [0] in the forward
  at::Tensor k1, k2, d, grad;
  hvae::ElementwiseIndex<4> index;
  hvae::VmfDensityConsts consts;
  int64_t numel = 0;
  int n_out = 1;
};

VmfKlVmfLaunch vmf_kl_vmf_prepare(const char* op_name, const at::Tensor& kappa1,
                                  const at::Tensor& kappa2, const at::Tensor& d, int64_t m,
                                  const at::Tensor& grad);

// Copies the compute buffers into the outputs where they differ (half/bfloat16).
at::Tensor vmf_density_finish(VmfDensityLaunch& launch);
void vmf_kl_vmf_finish(VmfKlVmfLaunch& launch);

template <typename T>
hvae::VmfDensityParams<T> vmf_density_params(const VmfDensityLaunch& launch) {
  hvae::VmfDensityParams<T> p;
  p.kappa = launch.kappa.const_data_ptr<T>();
  p.grad = launch.grad.defined() ? launch.grad.const_data_ptr<T>() : nullptr;
  p.out = launch.out_compute.mutable_data_ptr<T>();
  p.numel = launch.numel;
  p.index = launch.index;
  p.c = launch.consts;
  return p;
}

template <typename T>
hvae::VmfKlVmfParams<T> vmf_kl_vmf_params(const VmfKlVmfLaunch& launch) {
  hvae::VmfKlVmfParams<T> p;
  p.k1 = launch.k1.const_data_ptr<T>();
  p.k2 = launch.k2.const_data_ptr<T>();
  p.d = launch.d.const_data_ptr<T>();
  p.grad = launch.grad.defined() ? launch.grad.const_data_ptr<T>() : nullptr;
  p.out0 = launch.out_compute[0].mutable_data_ptr<T>();
  p.out1 = launch.n_out > 1 ? launch.out_compute[1].mutable_data_ptr<T>() : nullptr;
  p.out2 = launch.n_out > 1 ? launch.out_compute[2].mutable_data_ptr<T>() : nullptr;
  p.numel = launch.numel;
  p.index = launch.index;
  p.c = launch.consts;
  return p;
}

}  // namespace hvae_ops
