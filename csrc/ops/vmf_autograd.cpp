// Autograd of the sampler ops on the sphere, in C++ (the Autograd dispatch
// key): vMF (vmf_sample, ...) and Power Spherical (power_spherical_sample,
// ...), the same graph with the op names of a `Names` policy.
//
// The other families register autograd from Python (torch.library); this one
// does not because at the sizes a VAE uses (B ~ 1e3) the sampler's kernels
// take tens of microseconds on a GPU, while a Python autograd formula costs
// ~20-30 us of host time on the forward and as much on the backward, which
// then dominates rsample + backward. Here forward and backward stay in C++.
//
//   vmf_sample, _vmf_sample_seeded:  z, theta = op(loc, kappa, ...); theta is
//       not differentiable; the backward is _vmf_sample_backward, which sums
//       the gradients of num_samples > 1 samples per row of loc itself.
//   _vmf_sample_backward: has no derivative; asking for one (double backward)
//       raises NotImplementedError instead of silently giving zero.
#include <optional>
#include <tuple>

#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/autograd.h>
#include <torch/library.h>

namespace hvae_ops {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;
using Pair = std::tuple<at::Tensor, at::Tensor>;

struct VmfNames {
  static constexpr const char* sample = "hvae::vmf_sample";
  static constexpr const char* seeded = "hvae::_vmf_sample_seeded";
  static constexpr const char* backward = "hvae::_vmf_sample_backward";
  static constexpr const char* double_backward =
      "hvae_ext: double backward of vmf_rsample is not supported "
      "(the vMF sampler's gradient is not itself differentiable)";
};

struct PsNames {
  static constexpr const char* sample = "hvae::power_spherical_sample";
  static constexpr const char* seeded = "hvae::_power_spherical_sample_seeded";
  static constexpr const char* backward = "hvae::_power_spherical_sample_backward";
  static constexpr const char* double_backward =
      "hvae_ext: double backward of power_spherical_rsample is not supported "
      "(the Power Spherical sampler's gradient is not itself differentiable)";
};

// The ops' kernels below autograd (CPU, CUDA, or the fake kernel under
// torch.compile): the caller holds an AutoDispatchBelowADInplaceOrView guard.
template <typename Names>
Pair sample_below_autograd(const at::Tensor& loc, const at::Tensor& kappa,
                           const std::optional<at::Generator>& generator, int64_t num_samples) {
  static const auto op =
      c10::Dispatcher::singleton()
          .findSchemaOrThrow(Names::sample, "")
          .template typed<Pair(const at::Tensor&, const at::Tensor&, std::optional<at::Generator>, int64_t)>();
  return op.call(loc, kappa, generator, num_samples);
}

template <typename Names>
Pair seeded_below_autograd(const at::Tensor& loc, const at::Tensor& kappa, int64_t seed,
                           int64_t offset, int64_t num_samples) {
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow(Names::seeded, "")
                             .template typed<Pair(const at::Tensor&, const at::Tensor&, int64_t, int64_t, int64_t)>();
  return op.call(loc, kappa, seed, offset, num_samples);
}

template <typename Names>
Pair backward_below_autograd(const at::Tensor& grad_z, const at::Tensor& z,
                             const at::Tensor& theta, const at::Tensor& loc,
                             const at::Tensor& kappa, bool need_kappa) {
  static const auto op =
      c10::Dispatcher::singleton()
          .findSchemaOrThrow(Names::backward, "")
          .template typed<Pair(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
                      const at::Tensor&, bool)>();
  return op.call(grad_z, z, theta, loc, kappa, need_kappa);
}

// The backward op as a graph node whose own backward raises.
template <typename Names>
class VmfBackwardFunction : public torch::autograd::Function<VmfBackwardFunction<Names>> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& grad_z, const at::Tensor& z,
                               const at::Tensor& theta, const at::Tensor& loc,
                               const at::Tensor& kappa, bool need_kappa) {
    at::AutoDispatchBelowADInplaceOrView guard;
    const auto [grad_loc, grad_kappa] = backward_below_autograd<Names>(grad_z, z, theta, loc, kappa, need_kappa);
    return {grad_loc, grad_kappa};
  }

  static variable_list backward(AutogradContext*, variable_list) {
    TORCH_CHECK_NOT_IMPLEMENTED(false, Names::double_backward);
  }
};

// Saves what _vmf_sample_backward needs; shared by both sampling ops.
void save_sample(AutogradContext* ctx, const at::Tensor& loc, const at::Tensor& kappa,
                 const at::Tensor& z, const at::Tensor& theta) {
  ctx->mark_non_differentiable({theta});
  ctx->save_for_backward({z, theta, loc, kappa});
}

// Gradients w.r.t. (loc, kappa) followed by `extra` undefined ones for the
// non-tensor arguments.
template <typename Names>
variable_list sample_backward(AutogradContext* ctx, const variable_list& grads, size_t extra) {
  variable_list out(2 + extra);
  const at::Tensor& grad_z = grads[0];
  const bool need_loc = ctx->needs_input_grad(0), need_kappa = ctx->needs_input_grad(1);
  if (!grad_z.defined() || !(need_loc || need_kappa)) return out;
  const variable_list saved = ctx->get_saved_variables();
  const at::Tensor &z = saved[0], &theta = saved[1], &loc = saved[2], &kappa = saved[3];
  variable_list g = VmfBackwardFunction<Names>::apply(grad_z, z, theta, loc, kappa, need_kappa);
  if (need_loc) out[0] = g[0];
  // a 0-dim kappa was broadcast over the batch
  if (need_kappa) out[1] = kappa.dim() == 0 ? g[1].sum() : g[1];
  return out;
}

template <typename Names>
class VmfSampleFunction : public torch::autograd::Function<VmfSampleFunction<Names>> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& loc, const at::Tensor& kappa,
                               const std::optional<at::Generator>& generator, int64_t num_samples) {
    at::AutoDispatchBelowADInplaceOrView guard;
    const auto [z, theta] = sample_below_autograd<Names>(loc, kappa, generator, num_samples);
    save_sample(ctx, loc, kappa, z, theta);
    return {z, theta};
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    return sample_backward<Names>(ctx, grads, 2);
  }
};

template <typename Names>
class VmfSampleSeededFunction : public torch::autograd::Function<VmfSampleSeededFunction<Names>> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& loc, const at::Tensor& kappa,
                               int64_t seed, int64_t offset, int64_t num_samples) {
    at::AutoDispatchBelowADInplaceOrView guard;
    const auto [z, theta] = seeded_below_autograd<Names>(loc, kappa, seed, offset, num_samples);
    save_sample(ctx, loc, kappa, z, theta);
    return {z, theta};
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    return sample_backward<Names>(ctx, grads, 3);
  }
};

template <typename Names>
Pair sample_autograd(const at::Tensor& loc, const at::Tensor& kappa,
                         std::optional<at::Generator> generator, int64_t num_samples) {
  const variable_list r = VmfSampleFunction<Names>::apply(loc, kappa, generator, num_samples);
  return {r[0], r[1]};
}

template <typename Names>
Pair seeded_autograd(const at::Tensor& loc, const at::Tensor& kappa, int64_t seed,
                                int64_t offset, int64_t num_samples) {
  const variable_list r = VmfSampleSeededFunction<Names>::apply(loc, kappa, seed, offset, num_samples);
  return {r[0], r[1]};
}

template <typename Names>
Pair backward_autograd(const at::Tensor& grad_z, const at::Tensor& z,
                                  const at::Tensor& theta, const at::Tensor& loc,
                                  const at::Tensor& kappa, bool need_kappa) {
  const variable_list r = VmfBackwardFunction<Names>::apply(grad_z, z, theta, loc, kappa, need_kappa);
  return {r[0], r[1]};
}

}  // namespace

TORCH_LIBRARY_IMPL(hvae, Autograd, m) {
  m.impl("vmf_sample", &sample_autograd<VmfNames>);
  m.impl("_vmf_sample_seeded", &seeded_autograd<VmfNames>);
  m.impl("_vmf_sample_backward", &backward_autograd<VmfNames>);
  m.impl("power_spherical_sample", &sample_autograd<PsNames>);
  m.impl("_power_spherical_sample_seeded", &seeded_autograd<PsNames>);
  m.impl("_power_spherical_sample_backward", &backward_autograd<PsNames>);
}

}  // namespace hvae_ops
