// Autograd of the Power Spherical density ops, in C++ (the Autograd dispatch
// key), for the host-time reason given in vmf_autograd.cpp.
//
//   power_spherical_log_normalizer: backward
//       _power_spherical_log_normalizer_backward(grad, kappa, m, scaled) =
//       grad (log 2 - D_psi) (scaled: -grad D_psi), itself differentiable once: its kappa
//       derivative is grad D_tri (the same op with second=True), whose own
//       derivative raises. So log C has a correct second derivative.
//   power_spherical_entropy, power_spherical_kl_uniform: backward ops
//       _power_spherical_<op>_backward (grad -/+ kappa D_tri) whose double
//       backward raises NotImplementedError (kappa_autograd.h).
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/autograd.h>
#include <torch/library.h>

#include "kappa_autograd.h"

namespace hvae_ops {
namespace {

using density_autograd::kappa_autograd;
using density_autograd::kappa_backward_autograd;
using density_autograd::reduce_to;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct EntropyOp {
  static constexpr const char* kForward = "hvae::power_spherical_entropy";
  static constexpr const char* kBackward = "hvae::_power_spherical_entropy_backward";
  static constexpr const char* kWhat = "power_spherical_entropy";
};
struct KlUniformOp {
  static constexpr const char* kForward = "hvae::power_spherical_kl_uniform";
  static constexpr const char* kBackward = "hvae::_power_spherical_kl_uniform_backward";
  static constexpr const char* kWhat = "power_spherical_kl_uniform (KL(PowerSpherical || uniform))";
};

at::Tensor log_normalizer_op(const at::Tensor& kappa, int64_t m, bool scaled) {
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow("hvae::power_spherical_log_normalizer", "")
                             .typed<at::Tensor(const at::Tensor&, int64_t, bool)>();
  return op.call(kappa, m, scaled);
}

at::Tensor log_normalizer_backward_op(const at::Tensor& grad, const at::Tensor& kappa, int64_t m, bool scaled,
                                      bool second) {
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow("hvae::_power_spherical_log_normalizer_backward", "")
                             .typed<at::Tensor(const at::Tensor&, const at::Tensor&, int64_t, bool, bool)>();
  return op.call(grad, kappa, m, scaled, second);
}

// grad * d^n/dkappa^n log C (scaled: of log C - kappa log 2), n = 1
// (second = false) or 2. n = 1 is differentiable once more (through n = 2);
// n = 2 is not.
class LogNormalizerBackwardFunction : public torch::autograd::Function<LogNormalizerBackwardFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& grad, const at::Tensor& kappa, int64_t m,
                               bool scaled, bool second) {
    at::AutoDispatchBelowADInplaceOrView guard;
    ctx->save_for_backward({grad, kappa});
    ctx->saved_data["m"] = m;
    ctx->saved_data["scaled"] = scaled;
    ctx->saved_data["second"] = second;
    return {log_normalizer_backward_op(grad, kappa, m, scaled, second)};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    variable_list out(5);
    const at::Tensor& gg = grads[0];
    if (!gg.defined()) return out;
    TORCH_CHECK_NOT_IMPLEMENTED(!ctx->saved_data["second"].toBool(),
                                "hvae_ext: the third derivative of power_spherical_log_normalizer is not supported");
    const variable_list saved = ctx->get_saved_variables();
    const at::Tensor &grad = saved[0], &kappa = saved[1];
    const int64_t m = ctx->saved_data["m"].toInt();
    const bool scaled = ctx->saved_data["scaled"].toBool();
    if (ctx->needs_input_grad(0)) {
      out[0] = reduce_to(LogNormalizerBackwardFunction::apply(gg, kappa, m, scaled, false)[0], grad);
    }
    if (ctx->needs_input_grad(1)) {
      out[1] = reduce_to(LogNormalizerBackwardFunction::apply(gg.mul(grad), kappa, m, scaled, true)[0], kappa);
    }
    return out;
  }
};

class LogNormalizerFunction : public torch::autograd::Function<LogNormalizerFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& kappa, int64_t m, bool scaled) {
    at::AutoDispatchBelowADInplaceOrView guard;
    ctx->save_for_backward({kappa});
    ctx->saved_data["m"] = m;
    ctx->saved_data["scaled"] = scaled;
    return {log_normalizer_op(kappa, m, scaled)};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    variable_list out(3);
    if (!grads[0].defined() || !ctx->needs_input_grad(0)) return out;
    const at::Tensor kappa = ctx->get_saved_variables()[0];
    out[0] = reduce_to(LogNormalizerBackwardFunction::apply(grads[0], kappa, ctx->saved_data["m"].toInt(),
                                                            ctx->saved_data["scaled"].toBool(), false)[0],
                       kappa);
    return out;
  }
};

at::Tensor log_normalizer_autograd(const at::Tensor& kappa, int64_t m, bool scaled) {
  return LogNormalizerFunction::apply(kappa, m, scaled)[0];
}
at::Tensor log_normalizer_backward_autograd(const at::Tensor& grad, const at::Tensor& kappa, int64_t m,
                                            bool scaled, bool second) {
  return LogNormalizerBackwardFunction::apply(grad, kappa, m, scaled, second)[0];
}

}  // namespace

TORCH_LIBRARY_IMPL(hvae, Autograd, m) {
  m.impl("power_spherical_log_normalizer", &log_normalizer_autograd);
  m.impl("_power_spherical_log_normalizer_backward", &log_normalizer_backward_autograd);
  m.impl("power_spherical_entropy", &kappa_autograd<EntropyOp>);
  m.impl("_power_spherical_entropy_backward", &kappa_backward_autograd<EntropyOp>);
  m.impl("power_spherical_kl_uniform", &kappa_autograd<KlUniformOp>);
  m.impl("_power_spherical_kl_uniform_backward", &kappa_backward_autograd<KlUniformOp>);
}

}  // namespace hvae_ops
