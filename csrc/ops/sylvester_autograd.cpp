// Autograd of the triangular Sylvester flow op, in C++ (the Autograd
// dispatch key), for the reason given in vmf_autograd.cpp: a Python autograd
// formula costs ~100 us of host time per forward + backward, more than the
// kernels take on a GPU at the sizes VAEs use.
//
//   sylvester_triangular: differentiable in z, r1, r2 and b when called with
//       save_steps = True (the saved z_k and a_k feed the backward); z_steps
//       and a_steps are not differentiable. The backward is
//       _sylvester_triangular_backward, whose own derivative (double
//       backward) raises NotImplementedError.
#include <tuple>

#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/autograd.h>
#include <torch/library.h>

namespace hvae_ops {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;
using Quad = std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor>;

// The kernels below autograd; the caller holds an AutoDispatchBelowADInplaceOrView guard.
Quad forward_below_autograd(const at::Tensor& z, const at::Tensor& r1, const at::Tensor& r2,
                            const at::Tensor& b, const c10::List<bool>& flips, bool packed,
                            bool per_step_logdet, bool diag_tanh, bool save_steps) {
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow("hvae::sylvester_triangular", "")
                             .typed<Quad(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                         const at::Tensor&, c10::List<bool>, bool, bool, bool, bool)>();
  return op.call(z, r1, r2, b, flips, packed, per_step_logdet, diag_tanh, save_steps);
}

Quad backward_below_autograd(const at::Tensor& grad_z, const at::Tensor& grad_logdet,
                             const at::Tensor& r1, const at::Tensor& r2, const at::Tensor& b,
                             const at::Tensor& z_steps, const at::Tensor& a_steps,
                             const c10::List<bool>& flips, bool packed, bool per_step_logdet,
                             bool diag_tanh) {
  static const auto op =
      c10::Dispatcher::singleton()
          .findSchemaOrThrow("hvae::_sylvester_triangular_backward", "")
          .typed<Quad(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
                      const at::Tensor&, const at::Tensor&, const at::Tensor&, c10::List<bool>, bool,
                      bool, bool)>();
  return op.call(grad_z, grad_logdet, r1, r2, b, z_steps, a_steps, flips, packed, per_step_logdet,
                 diag_tanh);
}

variable_list as_list(const Quad& q) {
  return {std::get<0>(q), std::get<1>(q), std::get<2>(q), std::get<3>(q)};
}

// _sylvester_triangular_backward as a graph node whose own backward raises.
class SylvesterBackwardFunction : public torch::autograd::Function<SylvesterBackwardFunction> {
 public:
  static variable_list forward(AutogradContext*, const at::Tensor& grad_z, const at::Tensor& grad_logdet,
                               const at::Tensor& r1, const at::Tensor& r2, const at::Tensor& b,
                               const at::Tensor& z_steps, const at::Tensor& a_steps,
                               const c10::List<bool>& flips, bool packed, bool per_step_logdet,
                               bool diag_tanh) {
    at::AutoDispatchBelowADInplaceOrView guard;
    return as_list(backward_below_autograd(grad_z, grad_logdet, r1, r2, b, z_steps, a_steps, flips,
                                           packed, per_step_logdet, diag_tanh));
  }

  static variable_list backward(AutogradContext*, variable_list) {
    TORCH_CHECK_NOT_IMPLEMENTED(false, "hvae_ext: double backward of hvae_ext sylvester_triangular is "
                                       "not supported (its gradient is not itself differentiable)");
  }
};

class SylvesterFunction : public torch::autograd::Function<SylvesterFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& z, const at::Tensor& r1,
                               const at::Tensor& r2, const at::Tensor& b, const c10::List<bool>& flips,
                               bool packed, bool per_step_logdet, bool diag_tanh, bool save_steps) {
    at::AutoDispatchBelowADInplaceOrView guard;
    const Quad out = forward_below_autograd(z, r1, r2, b, flips, packed, per_step_logdet, diag_tanh, save_steps);
    const at::Tensor &z_steps = std::get<2>(out), &a_steps = std::get<3>(out);
    ctx->mark_non_differentiable({z_steps, a_steps});
    ctx->save_for_backward({r1, r2, b, z_steps, a_steps});
    ctx->saved_data["flips"] = flips;
    ctx->saved_data["packed"] = packed;
    ctx->saved_data["per_step_logdet"] = per_step_logdet;
    ctx->saved_data["diag_tanh"] = diag_tanh;
    ctx->saved_data["save_steps"] = save_steps;
    return as_list(out);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    TORCH_CHECK(ctx->saved_data["save_steps"].toBool(),
                "hvae::sylvester_triangular was called with save_steps=False, so it cannot be "
                "differentiated; call hvae_ext's sylvester_triangular wrapper (or pass save_steps=True)");
    const variable_list saved = ctx->get_saved_variables();
    // grads of z_K and logdet (zeros where unused: materialized by autograd)
    variable_list g = SylvesterBackwardFunction::apply(
        grads[0], grads[1], saved[0], saved[1], saved[2], saved[3], saved[4],
        ctx->saved_data["flips"].toBoolList(), ctx->saved_data["packed"].toBool(),
        ctx->saved_data["per_step_logdet"].toBool(), ctx->saved_data["diag_tanh"].toBool());
    // z, r1, r2, b, then the five non-tensor arguments
    return {g[0], g[1], g[2], g[3], {}, {}, {}, {}, {}};
  }
};

Quad sylvester_triangular_autograd(const at::Tensor& z, const at::Tensor& r1, const at::Tensor& r2,
                                   const at::Tensor& b, c10::List<bool> flips, bool packed,
                                   bool per_step_logdet, bool diag_tanh, bool save_steps) {
  const variable_list r =
      SylvesterFunction::apply(z, r1, r2, b, flips, packed, per_step_logdet, diag_tanh, save_steps);
  return {r[0], r[1], r[2], r[3]};
}

Quad sylvester_triangular_backward_autograd(const at::Tensor& grad_z, const at::Tensor& grad_logdet,
                                            const at::Tensor& r1, const at::Tensor& r2,
                                            const at::Tensor& b, const at::Tensor& z_steps,
                                            const at::Tensor& a_steps, c10::List<bool> flips,
                                            bool packed, bool per_step_logdet, bool diag_tanh) {
  const variable_list r = SylvesterBackwardFunction::apply(grad_z, grad_logdet, r1, r2, b, z_steps, a_steps,
                                                           flips, packed, per_step_logdet, diag_tanh);
  return {r[0], r[1], r[2], r[3]};
}

}  // namespace

TORCH_LIBRARY_IMPL(hvae, Autograd, m) {
  m.impl("sylvester_triangular", &sylvester_triangular_autograd);
  m.impl("_sylvester_triangular_backward", &sylvester_triangular_backward_autograd);
}

}  // namespace hvae_ops
