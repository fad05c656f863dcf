// One element of a Power Spherical density op, shared by the CPU loop and the
// CUDA kernel: load in the storage type, compute in double
// (power_spherical_density.h), round once on the store.
#pragma once

#include "../power_spherical_density.h"
#include "../strided.h"

namespace hvae {

// Forward (Order 0): out = F(kappa). Backward (Order 1): out = grad * dF/dkappa;
// Order 2 (log C only): out = grad * d2F/dkappa2.
template <typename T>
struct PsDensityParams {
  const T* __restrict__ kappa;
  const T* __restrict__ grad;  // backward only
  T* __restrict__ out;         // contiguous, numel elements
  int64_t numel;
  ElementwiseIndex<2> index;   // operands in order: kappa, grad
  PsDensityConsts c;
};

template <PsDensityFn F, int Order, typename T>
HVAE_HD void ps_density_apply(const PsDensityParams<T>& p, int64_t i) {
  const double kappa = static_cast<double>(p.kappa[p.index.offset(0, i)]);
  if constexpr (Order == 0) {
    p.out[i] = static_cast<T>(ps_density_value<F>(p.c, kappa));
  } else {
    const double g = static_cast<double>(p.grad[p.index.offset(1, i)]);
    p.out[i] = static_cast<T>(g * ps_density_dkappa<F, Order == 2>(p.c, kappa));
  }
}

}  // namespace hvae
