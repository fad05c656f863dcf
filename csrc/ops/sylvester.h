// Front end shared by the CPU and CUDA Sylvester kernels: argument checks,
// layouts and the torch-free params structs of csrc/hvae/sylvester.h.
#pragma once

#include <ATen/ATen.h>

#include <initializer_list>
#include <vector>

#include "hvae/sylvester.h"

namespace hvae_ops {

// The checked operands of one call. The layout (dense or packed) is explicit
// (the `packed` flag of the schema), so a tensor's dimension count says
// whether it is shared: dense [B, K, D, D] / [K, D, D], packed [B, K, T] /
// [K, T], b [B, K, D] / [K, D].
//
// z may have leading sample dimensions, [..., B, D]: `lead` keeps them and
// `z` is the [S, B, D] view (S = their product; 1 for a plain [B, D] z)
// that the kernels index; the parameters are per data point b or shared.
struct SylvesterLaunch {
  int64_t batch = 0, num_flows = 0, dim = 0, samples = 1;
  bool packed = false, diag_tanh = false, per_step_logdet = false;
  bool r1_shared = false, r2_shared = false, b_shared = false;
  std::vector<int64_t> lead;  // the sample dimensions of z (empty: [B, D])
  at::Tensor z, r1, r2, b;    // z [S, B, D]; r1, r2 with unit stride along a row
  hvae::SylvesterFlips flips{};

  int64_t rows() const { return samples * batch; }
  // lead + trailing: the shape of an output with the sample dimensions
  std::vector<int64_t> shape(std::initializer_list<int64_t> trailing) const {
    std::vector<int64_t> out(lead);
    out.insert(out.end(), trailing);
    return out;
  }
};

// t [..., trailing dims] with the leading dimensions merged into one
// ([S, ...]; a view where they are mergeable, as for contiguous or expanded
// tensors), or t with a size-1 dimension in front when it has none.
at::Tensor sylvester_merge_samples(const at::Tensor& t, int64_t trailing);

SylvesterLaunch sylvester_prepare(const char* op_name, const at::Tensor& z, const at::Tensor& r1,
                                  const at::Tensor& r2, const at::Tensor& b,
                                  const c10::List<bool>& flips, bool packed, bool diag_tanh,
                                  bool per_step_logdet);

// Forward outputs: z_K [B, D], logdet [B] or [B, K], and the saved steps
// z_steps, a_steps [B, K, D] (shape [0] when not saved).
struct SylvesterOutputs {
  at::Tensor z_out, logdet, z_steps, a_steps;
};
SylvesterOutputs sylvester_allocate(const SylvesterLaunch& launch, bool save_steps);

// Checks the backward's extra operands against the launch, makes the saved
// steps contiguous and merges the sample dimensions of grad_z and
// grad_logdet (to [S, B, D] and [S, B] / [S, B, K]) in place.
void sylvester_check_backward(const char* op_name, const SylvesterLaunch& launch,
                              at::Tensor& grad_z, at::Tensor& grad_logdet,
                              at::Tensor& z_steps, at::Tensor& a_steps);

// Shape of a parameter's gradient when it is shared ([K, ...]) or not.
std::vector<int64_t> sylvester_factor_shape(const SylvesterLaunch& launch, bool shared);

template <typename T>
hvae::SylvesterFactor<T> sylvester_factor(const at::Tensor& r, bool shared, bool packed) {
  hvae::SylvesterFactor<T> f;
  f.data = r.const_data_ptr<T>();
  const int64_t k_dim = shared ? 0 : 1;
  f.batch_stride = shared ? 0 : r.stride(0);
  f.step_stride = r.stride(k_dim);
  f.row_stride = packed ? 0 : r.stride(k_dim + 1);
  return f;
}

template <typename T>
hvae::SylvesterParams<T> sylvester_params(const SylvesterLaunch& launch,
                                          const SylvesterOutputs& out) {
  hvae::SylvesterParams<T> p;
  p.batch = launch.batch;
  p.samples = launch.samples;
  p.sample_chunks = 1;
  p.num_flows = launch.num_flows;
  p.dim = launch.dim;
  p.packed = launch.packed;
  p.diag_tanh = launch.diag_tanh;
  p.per_step_logdet = launch.per_step_logdet;
  p.flips = launch.flips;
  p.z = launch.z.const_data_ptr<T>();
  p.z_sample_stride = launch.z.stride(0);
  p.z_batch_stride = launch.z.stride(1);
  p.z_dim_stride = launch.z.stride(2);
  p.r1 = sylvester_factor<T>(launch.r1, launch.r1_shared, launch.packed);
  p.r2 = sylvester_factor<T>(launch.r2, launch.r2_shared, launch.packed);
  p.b = launch.b.const_data_ptr<T>();
  p.b_batch_stride = launch.b_shared ? 0 : launch.b.stride(0);
  p.b_step_stride = launch.b.stride(launch.b_shared ? 0 : 1);
  p.b_dim_stride = launch.b.stride(launch.b_shared ? 1 : 2);
  p.z_out = out.z_out.defined() ? out.z_out.mutable_data_ptr<T>() : nullptr;
  p.logdet = out.logdet.defined() ? out.logdet.mutable_data_ptr<T>() : nullptr;
  p.zs = out.z_steps.defined() && out.z_steps.numel() > 0 ? out.z_steps.mutable_data_ptr<T>()
                                                          : nullptr;
  p.as = out.a_steps.defined() && out.a_steps.numel() > 0 ? out.a_steps.mutable_data_ptr<T>()
                                                          : nullptr;
  return p;
}

// Inputs and output buffers of the backward. The gradient buffers are
// contiguous [B or slices, K, F] / [K, D]; a shared parameter's gets batch
// stride 0, which tells the kernels to use their own accumulator slice.
struct SylvesterGradients {
  at::Tensor grad_z, grad_r1, grad_r2, grad_b;  // outputs
};

template <typename T>
hvae::SylvesterBackwardParams<T> sylvester_backward_params(const SylvesterLaunch& launch,
                                                           const at::Tensor& grad_z,
                                                           const at::Tensor& grad_logdet,
                                                           const at::Tensor& z_steps,
                                                           const at::Tensor& a_steps,
                                                           const SylvesterGradients& g) {
  const int64_t K = launch.num_flows, D = launch.dim;
  const int64_t F = hvae::sylvester_factor_size(D, launch.packed);
  hvae::SylvesterBackwardParams<T> bp;
  bp.fwd = sylvester_params<T>(launch, SylvesterOutputs{});
  // grad_z [S, B, D] and grad_logdet [S, B] / [S, B, K] (sylvester_check_backward)
  bp.grad_z_out = grad_z.const_data_ptr<T>();
  bp.gz_sample_stride = grad_z.stride(0);
  bp.gz_batch_stride = grad_z.stride(1);
  bp.gz_dim_stride = grad_z.stride(2);
  bp.grad_logdet = grad_logdet.const_data_ptr<T>();
  bp.gl_sample_stride = grad_logdet.stride(0);
  bp.gl_batch_stride = grad_logdet.stride(1);
  bp.gl_step_stride = launch.per_step_logdet ? grad_logdet.stride(2) : 0;
  bp.zs = z_steps.const_data_ptr<T>();
  bp.as = a_steps.const_data_ptr<T>();
  bp.grad_z = g.grad_z.mutable_data_ptr<T>();
  bp.grad_r1 = g.grad_r1.mutable_data_ptr<T>();
  bp.grad_r2 = g.grad_r2.mutable_data_ptr<T>();
  bp.grad_b = g.grad_b.mutable_data_ptr<T>();
  bp.grad_r1_batch_stride = launch.r1_shared ? 0 : K * F;
  bp.grad_r2_batch_stride = launch.r2_shared ? 0 : K * F;
  bp.grad_b_batch_stride = launch.b_shared ? 0 : K * D;
  return bp;
}

}  // namespace hvae_ops
