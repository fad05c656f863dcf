// Autograd of the vMF density ops, in C++ (the Autograd dispatch key), for the
// reason given in vmf_autograd.cpp: a Python autograd formula costs
// ~20-30 us of host time per call each way, more than these O(batch) ops
// themselves at VAE batch sizes.
//
//   vmf_log_normalizer: backward _vmf_log_normalizer_backward, which is
//       itself differentiable once (d/dkappa of -A is -A', through
//       _iv_ratio_backward): the log-normalizer has a correct second
//       derivative, and a third raises from _iv_ratio_backward.
//   vmf_kl_uniform, vmf_entropy, vmf_kl_vmf: backward ops
//       _vmf_<op>_backward, whose own derivative (double backward) raises
//       NotImplementedError instead of silently giving zero (the first two
//       through the templates of kappa_autograd.h).
// Gradients are summed back to each input's shape where the op broadcast it.
#include <tuple>

#include <ATen/ExpandUtils.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/autograd.h>
#include <torch/library.h>

#include "kappa_autograd.h"

namespace hvae_ops {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;
using Triple = std::tuple<at::Tensor, at::Tensor, at::Tensor>;

using density_autograd::kappa_autograd;
using density_autograd::kappa_backward_autograd;
using density_autograd::reduce_to;

// --- the ops below autograd (the caller holds an AutoDispatchBelowADInplaceOrView guard)

at::Tensor log_normalizer_op(const at::Tensor& kappa, int64_t m, bool scaled) {
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow("hvae::vmf_log_normalizer", "")
                             .typed<at::Tensor(const at::Tensor&, int64_t, bool)>();
  return op.call(kappa, m, scaled);
}

at::Tensor log_normalizer_backward_op(const at::Tensor& grad, const at::Tensor& kappa, int64_t m,
                                      bool scaled) {
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow("hvae::_vmf_log_normalizer_backward", "")
                             .typed<at::Tensor(const at::Tensor&, const at::Tensor&, int64_t, bool)>();
  return op.call(grad, kappa, m, scaled);
}

// With autograd (called from a backward, so that create_graph records it).
at::Tensor iv_ratio_backward_op(const at::Tensor& grad, const at::Tensor& v, const at::Tensor& x) {
  static const auto op =
      c10::Dispatcher::singleton()
          .findSchemaOrThrow("hvae::_iv_ratio_backward", "")
          .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&)>();
  return op.call(grad, v, x);
}

struct KlUniformOp {
  static constexpr const char* kForward = "hvae::vmf_kl_uniform";
  static constexpr const char* kBackward = "hvae::_vmf_kl_uniform_backward";
  static constexpr const char* kWhat = "vmf_kl_uniform (KL(vMF || uniform))";
};
struct EntropyOp {
  static constexpr const char* kForward = "hvae::vmf_entropy";
  static constexpr const char* kBackward = "hvae::_vmf_entropy_backward";
  static constexpr const char* kWhat = "vmf_entropy";
};

Triple kl_vmf_backward_op(const at::Tensor& grad, const at::Tensor& k1, const at::Tensor& k2,
                          const at::Tensor& d, int64_t m) {
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow("hvae::_vmf_kl_vmf_backward", "")
                             .typed<Triple(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                           const at::Tensor&, int64_t)>();
  return op.call(grad, k1, k2, d, m);
}

at::Tensor kl_vmf_op(const at::Tensor& k1, const at::Tensor& k2, const at::Tensor& d, int64_t m) {
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow("hvae::vmf_kl_vmf", "")
                             .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                               int64_t)>();
  return op.call(k1, k2, d, m);
}

// --- log C_m(kappa) -------------------------------------------------------------

// grad * (-A) (scaled: grad * (1 - A)), differentiable once more.
class LogNormalizerBackwardFunction : public torch::autograd::Function<LogNormalizerBackwardFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& grad, const at::Tensor& kappa,
                               int64_t m, bool scaled) {
    at::AutoDispatchBelowADInplaceOrView guard;
    ctx->save_for_backward({grad, kappa});
    ctx->saved_data["m"] = m;
    ctx->saved_data["scaled"] = scaled;
    return {log_normalizer_backward_op(grad, kappa, m, scaled)};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    variable_list out(4);
    const at::Tensor& gg = grads[0];
    if (!gg.defined()) return out;
    const variable_list saved = ctx->get_saved_variables();
    const at::Tensor &grad = saved[0], &kappa = saved[1];
    const int64_t m = ctx->saved_data["m"].toInt();
    const bool scaled = ctx->saved_data["scaled"].toBool();
    if (ctx->needs_input_grad(0)) {
      out[0] = reduce_to(LogNormalizerBackwardFunction::apply(gg, kappa, m, scaled)[0], grad);
    }
    if (ctx->needs_input_grad(1)) {
      // d/dkappa of grad * (-A) and of grad * (1 - A) are both -grad A'.
      const at::Tensor v = at::scalar_tensor(0.5 * static_cast<double>(m) - 1.0, at::kDouble);
      out[1] = reduce_to(iv_ratio_backward_op(gg.mul(grad), v, kappa).neg(), kappa);
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
                                                            ctx->saved_data["scaled"].toBool())[0],
                       kappa);
    return out;
  }
};

// --- KL(vMF1 || vMF2) --------------------------------------------------------------

class KlVmfBackwardFunction : public torch::autograd::Function<KlVmfBackwardFunction> {
 public:
  static variable_list forward(AutogradContext*, const at::Tensor& grad, const at::Tensor& k1,
                               const at::Tensor& k2, const at::Tensor& d, int64_t m) {
    at::AutoDispatchBelowADInplaceOrView guard;
    const auto [g1, g2, gd] = kl_vmf_backward_op(grad, k1, k2, d, m);
    return {g1, g2, gd};
  }
  static variable_list backward(AutogradContext*, variable_list) {
    TORCH_CHECK_NOT_IMPLEMENTED(false, "hvae_ext: double backward of vmf_kl_vmf (KL(vMF || vMF)) is not supported");
  }
};

class KlVmfFunction : public torch::autograd::Function<KlVmfFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& k1, const at::Tensor& k2,
                               const at::Tensor& d, int64_t m) {
    at::AutoDispatchBelowADInplaceOrView guard;
    ctx->save_for_backward({k1, k2, d});
    ctx->saved_data["m"] = m;
    return {kl_vmf_op(k1, k2, d, m)};
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    variable_list out(4);
    const bool any = ctx->needs_input_grad(0) || ctx->needs_input_grad(1) || ctx->needs_input_grad(2);
    if (!grads[0].defined() || !any) return out;
    const variable_list saved = ctx->get_saved_variables();
    const variable_list g = KlVmfBackwardFunction::apply(grads[0], saved[0], saved[1], saved[2],
                                                         ctx->saved_data["m"].toInt());
    for (size_t j = 0; j < 3; ++j) {
      if (ctx->needs_input_grad(j)) out[j] = reduce_to(g[j], saved[j]);
    }
    return out;
  }
};

// --- registrations -------------------------------------------------------------

at::Tensor log_normalizer_autograd(const at::Tensor& kappa, int64_t m, bool scaled) {
  return LogNormalizerFunction::apply(kappa, m, scaled)[0];
}
at::Tensor log_normalizer_backward_autograd(const at::Tensor& grad, const at::Tensor& kappa, int64_t m,
                                            bool scaled) {
  return LogNormalizerBackwardFunction::apply(grad, kappa, m, scaled)[0];
}
at::Tensor kl_vmf_autograd(const at::Tensor& k1, const at::Tensor& k2, const at::Tensor& d, int64_t m) {
  return KlVmfFunction::apply(k1, k2, d, m)[0];
}
Triple kl_vmf_backward_autograd(const at::Tensor& grad, const at::Tensor& k1, const at::Tensor& k2,
                                const at::Tensor& d, int64_t m) {
  const variable_list r = KlVmfBackwardFunction::apply(grad, k1, k2, d, m);
  return {r[0], r[1], r[2]};
}

}  // namespace

TORCH_LIBRARY_IMPL(hvae, Autograd, m) {
  m.impl("vmf_log_normalizer", &log_normalizer_autograd);
  m.impl("_vmf_log_normalizer_backward", &log_normalizer_backward_autograd);
  m.impl("vmf_kl_uniform", &kappa_autograd<KlUniformOp>);
  m.impl("_vmf_kl_uniform_backward", &kappa_backward_autograd<KlUniformOp>);
  m.impl("vmf_entropy", &kappa_autograd<EntropyOp>);
  m.impl("_vmf_entropy_backward", &kappa_backward_autograd<EntropyOp>);
  m.impl("vmf_kl_vmf", &kl_vmf_autograd);
  m.impl("_vmf_kl_vmf_backward", &kl_vmf_backward_autograd);
}

}  // namespace hvae_ops
