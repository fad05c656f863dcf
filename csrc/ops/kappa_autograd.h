// Autograd of an op F(kappa, m) of one concentration whose backward is its own
// op, grad * F'(kappa), and whose double backward is not supported (an
// explicit NotImplementedError, never a silent zero). Shared by the vMF and
// Power Spherical density ops (vmf_density_autograd.cpp,
// power_spherical_density_autograd.cpp). Op names:
//   struct Op {
//     static constexpr const char* kForward;   // "hvae::op"  (Tensor kappa, int m) -> Tensor
//     static constexpr const char* kBackward;  // "hvae::_op_backward"  (Tensor grad, Tensor kappa, int m)
//     static constexpr const char* kWhat;      // the name in the double-backward error
//   };
#pragma once

#include <ATen/ExpandUtils.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/autograd.h>

namespace hvae_ops {
namespace density_autograd {

// The gradient summed back to the shape (and dtype) of the input it belongs to.
inline at::Tensor reduce_to(const at::Tensor& grad, const at::Tensor& like) {
  at::Tensor g = grad.sym_sizes().equals(like.sym_sizes()) ? grad : at::sum_to(grad, like.sym_sizes());
  return g.scalar_type() == like.scalar_type() ? g : g.to(like.scalar_type());
}

template <class Op>
at::Tensor kappa_op(const at::Tensor& kappa, int64_t m) {
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow(Op::kForward, "")
                             .template typed<at::Tensor(const at::Tensor&, int64_t)>();
  return op.call(kappa, m);
}

template <class Op>
at::Tensor kappa_backward_op(const at::Tensor& grad, const at::Tensor& kappa, int64_t m) {
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow(Op::kBackward, "")
                             .template typed<at::Tensor(const at::Tensor&, const at::Tensor&, int64_t)>();
  return op.call(grad, kappa, m);
}

template <class Op>
class KappaBackwardFunction : public torch::autograd::Function<KappaBackwardFunction<Op>> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext*, const at::Tensor& grad,
                                                const at::Tensor& kappa, int64_t m) {
    at::AutoDispatchBelowADInplaceOrView guard;
    return {kappa_backward_op<Op>(grad, kappa, m)};
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext*,
                                                 torch::autograd::variable_list) {
    TORCH_CHECK_NOT_IMPLEMENTED(false, "hvae_ext: double backward of ", Op::kWhat, " is not supported");
  }
};

template <class Op>
class KappaFunction : public torch::autograd::Function<KappaFunction<Op>> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const at::Tensor& kappa,
                                                int64_t m) {
    at::AutoDispatchBelowADInplaceOrView guard;
    ctx->save_for_backward({kappa});
    ctx->saved_data["m"] = m;
    return {kappa_op<Op>(kappa, m)};
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    torch::autograd::variable_list out(2);
    if (!grads[0].defined() || !ctx->needs_input_grad(0)) return out;
    const at::Tensor kappa = ctx->get_saved_variables()[0];
    out[0] = reduce_to(KappaBackwardFunction<Op>::apply(grads[0], kappa, ctx->saved_data["m"].toInt())[0],
                       kappa);
    return out;
  }
};

// The Autograd-key kernels of the op and of its backward op.
template <class Op>
at::Tensor kappa_autograd(const at::Tensor& kappa, int64_t m) {
  return KappaFunction<Op>::apply(kappa, m)[0];
}
template <class Op>
at::Tensor kappa_backward_autograd(const at::Tensor& grad, const at::Tensor& kappa, int64_t m) {
  return KappaBackwardFunction<Op>::apply(grad, kappa, m)[0];
}

}  // namespace density_autograd
}  // namespace hvae_ops
