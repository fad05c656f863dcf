// Front end shared by the CPU and CUDA sampler kernels (vMF and Power
// Spherical: the same shapes, checks, Philox budget and params structs):
// argument checks, shapes, and the torch-free launch parameters.
#pragma once

#include <ATen/ATen.h>

#include "hvae/kernels/vmf_sample.h"

namespace hvae_ops {

// Checked inputs and allocated outputs of one vmf_sample launch.
// With num_samples = S the outputs have n = S B rows, row i = s B + b drawn
// from loc row b (no copies of loc or kappa; the draws equal those of the
// call with loc and kappa repeated S times, since the streams are keyed by i).
struct VmfSampleLaunch {
  at::Tensor loc;    // [B, m]
  at::Tensor kappa;  // [B] (possibly stride 0)
  at::Tensor z;      // [n, m] contiguous output
  at::Tensor theta;  // [n] output
  int64_t n = 0;
  int64_t m = 0;
  int64_t batch = 0;  // B
};

VmfSampleLaunch vmf_sample_prepare(const char* op_name, const at::Tensor& loc,
                                   const at::Tensor& kappa, int64_t num_samples);

// Checked inputs and allocated outputs of one _vmf_sample_backward launch.
// grad_z, z [n, m] and theta [n] have S = n / B rows per row of loc [B, m];
// the gradients [B, m] / [B] are summed over the samples.
struct VmfBackwardLaunch {
  at::Tensor grad_z, z, theta, loc, kappa;  // grad_z, z, theta contiguous
  at::Tensor grad_loc;                      // [B, m] contiguous output
  at::Tensor grad_kappa;                    // [B] output (zeros unless requested)
  bool need_kappa = true;
  int64_t n = 0;
  int64_t m = 0;
  int64_t batch = 0;  // B
};

VmfBackwardLaunch vmf_backward_prepare(const at::Tensor& grad_z, const at::Tensor& z,
                                       const at::Tensor& theta, const at::Tensor& loc,
                                       const at::Tensor& kappa, bool need_kappa,
                                       const char* op_name = "_vmf_sample_backward");

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
  p.batch = l.batch;
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
  p.batch = l.batch;
  return p;
}

}  // namespace hvae_ops
