// Front end of the Power Spherical density ops (power_spherical_log_normalizer,
// power_spherical_entropy, power_spherical_kl_uniform and their backward ops).
// Argument checks, dtypes and broadcasting are the vMF density ops'
// (vmf_density_prepare: the same one-concentration launch); only the
// torch-free constants and parameters differ.
#pragma once

#include "hvae/kernels/power_spherical_density_elementwise.h"
#include "vmf_density.h"

namespace hvae_ops {

template <typename T>
hvae::PsDensityParams<T> ps_density_params(const VmfDensityLaunch& launch, int64_t m) {
  hvae::PsDensityParams<T> p;
  p.kappa = launch.kappa.const_data_ptr<T>();
  p.grad = launch.grad.defined() ? launch.grad.const_data_ptr<T>() : nullptr;
  p.out = launch.out_compute.mutable_data_ptr<T>();
  p.numel = launch.numel;
  p.index = launch.index;
  p.c = hvae::ps_density_consts(m);
  return p;
}

}  // namespace hvae_ops
