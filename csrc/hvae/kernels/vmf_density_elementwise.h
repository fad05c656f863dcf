// One element of a vMF density op, shared by the CPU loop and the CUDA
// kernel: load in the storage type, compute in double (vmf_density.h), round
// once on the store.
#pragma once

#include "../strided.h"
#include "../vmf_density.h"

namespace hvae {

// The functions of one concentration (log C, log C + kappa, KL to U, entropy).
// Forward: out = F(kappa). Backward: out = grad * dF/dkappa.
template <typename T>
struct VmfDensityParams {
  const T* __restrict__ kappa;
  const T* __restrict__ grad;  // backward only
  T* __restrict__ out;         // contiguous, numel elements
  int64_t numel;
  ElementwiseIndex<2> index;   // operands in order: kappa, grad
  VmfDensityConsts c;
};

template <VmfDensityFn F, bool Backward, typename T>
HVAE_HD void vmf_density_apply(const VmfDensityParams<T>& p, int64_t i) {
  const double kappa = static_cast<double>(p.kappa[p.index.offset(0, i)]);
  if constexpr (Backward) {
    const double g = static_cast<double>(p.grad[p.index.offset(1, i)]);
    p.out[i] = static_cast<T>(g * vmf_density_dkappa<F>(p.c, kappa));
  } else {
    p.out[i] = static_cast<T>(vmf_density_value<F>(p.c, kappa));
  }
}

// KL(vMF1 || vMF2) of (k1, k2, d = |mu1 - mu2|^2/2). Forward: out0 = KL.
// Backward: out0, out1, out2 = grad * dKL/dk1, dKL/dk2, dKL/dd.
template <typename T>
struct VmfKlVmfParams {
  const T* __restrict__ k1;
  const T* __restrict__ k2;
  const T* __restrict__ d;
  const T* __restrict__ grad;  // backward only
  T* __restrict__ out0;        // contiguous outputs of numel elements
  T* __restrict__ out1;        // backward only
  T* __restrict__ out2;        // backward only
  int64_t numel;
  ElementwiseIndex<4> index;   // operands in order: k1, k2, d, grad
  VmfDensityConsts c;
};

template <bool Backward, typename T>
HVAE_HD void vmf_kl_vmf_apply(const VmfKlVmfParams<T>& p, int64_t i) {
  const double k1 = static_cast<double>(p.k1[p.index.offset(0, i)]);
  const double k2 = static_cast<double>(p.k2[p.index.offset(1, i)]);
  const double d = static_cast<double>(p.d[p.index.offset(2, i)]);
  if constexpr (Backward) {
    const double g = static_cast<double>(p.grad[p.index.offset(3, i)]);
    const VmfKlVmfGrad dkl = vmf_kl_vmf_grad(p.c, k1, k2, d);
    p.out0[i] = static_cast<T>(g * dkl.k1);
    p.out1[i] = static_cast<T>(g * dkl.k2);
    p.out2[i] = static_cast<T>(g * dkl.d);
  } else {
    p.out0[i] = static_cast<T>(vmf_kl_vmf_value(p.c, k1, k2, d));
  }
}

}  // namespace hvae
