// Front end shared by the CPU and CUDA vMF sampler kernels: argument checks,
// shapes, and the torch-free launch parameters.
#pragma once

#include <ATen/ATen.h>

#include "hvae/kernels/vmf_sample.h"

namespace hvae_ops {

// Checked inputs and allocated outputs of one vmf_sample launch.
struct VmfSampleLaunch {
  at::Tensor loc;    // [n, m]
  at::Tensor kappa;  // [n] (possibly stride 0)
  at::Tensor z;      // [n, m] contiguous output
  at::Tensor theta;  // [n] output
  int64_t n = 0;
  int64_t m = 0;
};

VmfSampleLaunch vmf_sample_prepare(const char* op_name, const at::Tensor& loc,
                                   const at::Tensor& kappa);

// Checked inputs and allocated outputs of one _vmf_sample_backward launch.
struct VmfBackwardLaunch {
  at::Tensor grad_z, z, theta, loc, kappa;  // grad_z, z, theta contiguous
  at::Tensor grad_loc;                      // [n, m] contiguous output
  at::Tensor grad_kappa;                    // [n] output (zeros unless requested)
  bool need_kappa = true;
  int64_t n = 0;
  int64_t m = 0;
};

VmfBackwardLaunch vmf_backward_prepare(const at::Tensor& grad_z, const at::Tensor& z,
                                       const at::Tensor& theta, const at::Tensor& loc,
                                       const at::Tensor& kappa, bool need_kappa);

// Philox blocks one sample's stream may use: what a launch must reserve.
uint64_t vmf_offset_increment(at::ScalarType dtype, int64_t m);

template <typename T>
hvae::VmfSampleParams<T> vmf_sample_params(const VmfSampleLaunch& l, uint64_t seed,
                                           uint64_t offset) {
  hvae::VmfSampleParams<T> p;
  p.loc = l.loc.const_data_ptr<T>();
  p.kappa = l.kappa.const_data_ptr<T>();
  p.z = l.z.mutable_data_ptr<T>();
  p.theta = l.theta.mutable_data_ptr<T>();
  p.loc_stride0 = l.loc.stride(0);
  p.loc_stride1 = l.loc.stride(1);
  p.kappa_stride = l.kappa.stride(0);
  p.n = l.n;
  p.m = l.m;
  p.seed = seed;
  p.offset = offset;
  return p;
}

template <typename T>
hvae::VmfBackwardParams<T> vmf_backward_params(const VmfBackwardLaunch& l) {
  hvae::VmfBackwardParams<T> p;
  p.grad_z = l.grad_z.const_data_ptr<T>();
  p.z = l.z.const_data_ptr<T>();
  p.theta = l.theta.const_data_ptr<T>();
  p.loc = l.loc.const_data_ptr<T>();
  p.kappa = l.kappa.const_data_ptr<T>();
  p.grad_loc = l.grad_loc.mutable_data_ptr<T>();
  p.grad_kappa = l.need_kappa ? l.grad_kappa.mutable_data_ptr<T>() : nullptr;
  p.loc_stride0 = l.loc.stride(0);
  p.loc_stride1 = l.loc.stride(1);
  p.kappa_stride = l.kappa.stride(0);
  p.n = l.n;
  p.m = l.m;
  return p;
}

}  // namespace hvae_ops
