#include "sylvester.h"

#include <string>

#include <c10/util/accumulate.h>

namespace hvae_ops {
namespace {

std::string shape_str(const at::Tensor& t) { return c10::str(t.sizes()); }

void check_float(const char* op_name, const char* arg, const at::Tensor& t) {
  TORCH_CHECK(t.defined(), op_name, ": ", arg, " is an undefined tensor");
  TORCH_CHECK(t.scalar_type() == at::kFloat || t.scalar_type() == at::kDouble, op_name, ": ", arg,
              " must be float32 or float64, got ", t.scalar_type(),
              " (half/bfloat16: convert to float32 first)");
}

// Checks a factor's shape for the given layout; returns whether it is shared.
bool check_factor(const char* op_name, const char* arg, const at::Tensor& r, bool packed,
                  int64_t batch, int64_t num_flows, int64_t dim) {
  const int64_t tri = dim * (dim + 1) / 2;
  if (packed) {
    const bool shared = r.dim() == 2;
    TORCH_CHECK(shared ? r.sizes().equals({num_flows, tri})
                       : (r.dim() == 3 && r.sizes().equals({batch, num_flows, tri})),
                op_name, ": packed ", arg, " must have shape [B, K, T] = [", batch, ", ", num_flows,
                ", ", tri, "] or [K, T] = [", num_flows, ", ", tri, "] (B, D from z [..., B, D]), got ",
                shape_str(r));
    return shared;
  }
  const bool shared = r.dim() == 3;
  TORCH_CHECK(shared ? r.sizes().equals({num_flows, dim, dim})
                     : (r.dim() == 4 && r.sizes().equals({batch, num_flows, dim, dim})),
              op_name, ": dense ", arg, " must have shape [B, K, D, D] = [", batch, ", ",
              num_flows, ", ", dim, ", ", dim, "] or [K, D, D], got ", shape_str(r));
  return shared;
}

// The kernels read a row from its diagonal on with unit stride; any other
// stride (batch, step, row) is taken as it is, so expanded inputs cost nothing.
at::Tensor unit_row_stride(const at::Tensor& r) {
  if (r.size(-1) <= 1 || r.stride(-1) == 1) return r;
  return r.contiguous();
}

}  // namespace

SylvesterLaunch sylvester_prepare(const char* op_name, const at::Tensor& z, const at::Tensor& r1,
                                  const at::Tensor& r2, const at::Tensor& b,
                                  const c10::List<bool>& flips, bool packed, bool diag_tanh,
                                  bool per_step_logdet) {
  check_float(op_name, "z", z);
  check_float(op_name, "r1", r1);
  check_float(op_name, "r2", r2);
  check_float(op_name, "b", b);
  for (const at::Tensor* t : {&r1, &r2, &b}) {
    TORCH_CHECK(t->scalar_type() == z.scalar_type(), op_name,
                ": z, r1, r2 and b must have the same dtype, got z ", z.scalar_type(), ", r1 ",
                r1.scalar_type(), ", r2 ", r2.scalar_type(), ", b ", b.scalar_type());
    TORCH_CHECK(t->device() == z.device(), op_name,
                ": z, r1, r2 and b must be on the same device, got z on ", z.device(), ", r1 on ",
                r1.device(), ", r2 on ", r2.device(), ", b on ", b.device());
  }
  TORCH_CHECK(z.dim() >= 2, op_name, ": z must have shape [..., B, D], got ", shape_str(z));
  TORCH_CHECK(b.dim() == 2 || b.dim() == 3, op_name,
              ": b must have shape [B, K, D] or [K, D], got ", shape_str(b));

  SylvesterLaunch launch;
  launch.batch = z.size(-2);
  launch.dim = z.size(-1);
  launch.lead.assign(z.sizes().begin(), z.sizes().end() - 2);
  launch.samples = c10::multiply_integers(launch.lead);
  launch.b_shared = b.dim() == 2;
  launch.num_flows = b.size(-2);
  TORCH_CHECK(b.size(-1) == launch.dim && (launch.b_shared || b.size(0) == launch.batch), op_name,
              ": b must have shape [B, K, D] or [K, D] with B = ", launch.batch, ", D = ",
              launch.dim, " (z [..., B, D] has shape ", shape_str(z), "), got ", shape_str(b));
  TORCH_CHECK(launch.num_flows <= hvae::kSylvesterMaxFlows, op_name, ": at most ",
              hvae::kSylvesterMaxFlows, " flow steps per call, got K = ", launch.num_flows);
  TORCH_CHECK(static_cast<int64_t>(flips.size()) == launch.num_flows, op_name,
              ": flips must have one entry per flow step (K = ", launch.num_flows, "), got ",
              flips.size());
  launch.packed = packed;
  launch.diag_tanh = diag_tanh;
  launch.per_step_logdet = per_step_logdet;
  launch.r1_shared =
      check_factor(op_name, "r1", r1, packed, launch.batch, launch.num_flows, launch.dim);
  launch.r2_shared =
      check_factor(op_name, "r2", r2, packed, launch.batch, launch.num_flows, launch.dim);
  launch.z = sylvester_merge_samples(z, 2);
  launch.r1 = unit_row_stride(r1);
  launch.r2 = unit_row_stride(r2);
  launch.b = b;
  for (int64_t k = 0; k < launch.num_flows; ++k) {
    if (flips.get(k)) launch.flips.words[k >> 5] |= 1u << (k & 31);
  }
  return launch;
}

at::Tensor sylvester_merge_samples(const at::Tensor& t, int64_t trailing) {
  if (t.dim() == trailing) return t.unsqueeze(0);
  return t.flatten(0, t.dim() - trailing - 1);
}

SylvesterOutputs sylvester_allocate(const SylvesterLaunch& launch, bool save_steps) {
  const auto opts = launch.z.options();
  const int64_t B = launch.batch, K = launch.num_flows, D = launch.dim;
  SylvesterOutputs out;
  out.z_out = at::empty(launch.shape({B, D}), opts);
  out.logdet = at::empty(launch.per_step_logdet ? launch.shape({B, K}) : launch.shape({B}), opts);
  out.z_steps = save_steps ? at::empty(launch.shape({B, K, D}), opts) : at::empty({0}, opts);
  out.a_steps = save_steps ? at::empty(launch.shape({B, K, D}), opts) : at::empty({0}, opts);
  return out;
}

void sylvester_check_backward(const char* op_name, const SylvesterLaunch& launch,
                              at::Tensor& grad_z, at::Tensor& grad_logdet,
                              at::Tensor& z_steps, at::Tensor& a_steps) {
  const int64_t B = launch.batch, K = launch.num_flows, D = launch.dim;
  for (const at::Tensor* t : std::initializer_list<const at::Tensor*>{&grad_z, &grad_logdet, &z_steps, &a_steps}) {
    check_float(op_name, "grad/saved tensor", *t);
    TORCH_CHECK(t->scalar_type() == launch.z.scalar_type() && t->device() == launch.z.device(),
                op_name, ": gradients and saved steps must match the parameters' dtype and device");
  }
  // grad_z gave the launch its shape ([..., B, D]); the others must match it
  const std::vector<int64_t> logdet_shape = launch.per_step_logdet ? launch.shape({B, K}) : launch.shape({B});
  TORCH_CHECK(grad_logdet.sizes().equals(logdet_shape), op_name, ": grad_logdet must have shape ",
              c10::IntArrayRef(logdet_shape), " (grad_z ", shape_str(grad_z), "), got ", shape_str(grad_logdet));
  const std::vector<int64_t> steps_shape = launch.shape({B, K, D});
  TORCH_CHECK(z_steps.sizes().equals(steps_shape) && a_steps.sizes().equals(steps_shape), op_name,
              ": z_steps and a_steps must have shape ", c10::IntArrayRef(steps_shape),
              " (run the forward with save_steps=True), got ", shape_str(z_steps), " and ",
              shape_str(a_steps));
  grad_z = launch.z;  // sylvester_prepare merged grad_z's sample dimensions
  grad_logdet = sylvester_merge_samples(grad_logdet, launch.per_step_logdet ? 2 : 1);
  z_steps = z_steps.contiguous();
  a_steps = a_steps.contiguous();
}

std::vector<int64_t> sylvester_factor_shape(const SylvesterLaunch& launch, bool shared) {
  std::vector<int64_t> shape;
  if (!shared) shape.push_back(launch.batch);
  shape.push_back(launch.num_flows);
  if (launch.packed) {
    shape.push_back(launch.dim * (launch.dim + 1) / 2);
  } else {
    shape.push_back(launch.dim);
    shape.push_back(launch.dim);
  }
  return shape;
}

}  // namespace hvae_ops
