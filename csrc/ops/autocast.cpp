// Autocast behaviour of every op of the hvae library (AutocastCPU, AutocastCUDA).
//
// Policy, the same for every op: float16 and bfloat16 tensor arguments are
// cast to float32 and the op runs below autocast; float32 and float64 are left
// as they are (torch's own float32 policy: nothing is downcast, float64 is not
// touched). So inside `torch.autocast` the special functions, the vMF sampler's
// samples and the T-SNF op's z_K and log-det come back in float32 when given
// low-precision inputs, and in float64 when given float64. The casts are
// ordinary differentiable `to` calls made above autograd, so gradients reach
// low-precision leaves (encoder weights) in their own dtype.
//
// One boxed kernel serves every schema: it walks the argument stack, so an op
// added to library.cpp needs only its name in kOps below (a test checks that
// every op in torch.ops.hvae has an AutocastCPU kernel). Written in C++, not
// with torch.library.register_autocast, because that one is a Python kernel:
// ~10 us of host time per call on a path whose GPU kernels take tens.
#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/library.h>

namespace hvae_ops {
namespace {

// Every op of TORCH_LIBRARY(hvae) (csrc/ops/library.cpp), backward ops included:
// a backward op can run inside an autocast region too (autograd.grad under
// autocast, or double-checking code that calls it directly).
constexpr const char* kOps[] = {
    "log_iv",
    "log_ive",
    "iv_ratio",
    "_log_iv_backward",
    "_log_ive_backward",
    "_iv_ratio_backward",
    "iv_ratio_inverse",
    "_iv_ratio_inverse_backward",
    "sylvester_triangular",
    "_sylvester_triangular_backward",
    "sylvester_triangular_inverse",
    "vmf_sample",
    "_vmf_sample_seeded",
    "_vmf_sample_backward",
    "power_spherical_sample",
    "_power_spherical_sample_seeded",
    "_power_spherical_sample_backward",
    "vmf_log_normalizer",
    "_vmf_log_normalizer_backward",
    "vmf_kl_uniform",
    "_vmf_kl_uniform_backward",
    "vmf_entropy",
    "_vmf_entropy_backward",
    "vmf_kl_vmf",
    "_vmf_kl_vmf_backward",
    "power_spherical_log_normalizer",
    "_power_spherical_log_normalizer_backward",
    "power_spherical_entropy",
    "_power_spherical_entropy_backward",
    "power_spherical_kl_uniform",
    "_power_spherical_kl_uniform_backward",
    "_build_info",  // no tensor arguments: listed so that every op has its autocast kernel
};

bool is_low_precision(const at::Tensor& t) {
  return t.defined() && (t.scalar_type() == at::kHalf || t.scalar_type() == at::kBFloat16);
}

void upcast_low_precision(const c10::OperatorHandle& op, torch::jit::Stack* stack) {
  // Below autocast from here on: the casts and the op itself.
  c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
  const size_t n = op.schema().arguments().size();
  for (size_t i = stack->size() - n; i < stack->size(); ++i) {
    c10::IValue& arg = (*stack)[i];
    if (arg.isTensor() && is_low_precision(arg.toTensor())) arg = arg.toTensor().to(at::kFloat);
  }
  // The keys are recomputed from the (possibly new) tensors, autocast excluded.
  op.callBoxed(stack);
}

void register_upcast(torch::Library& m) {
  for (const char* name : kOps) {
    m.impl(name, torch::CppFunction::makeFromBoxedFunction<&upcast_low_precision>());
  }
}

}  // namespace

TORCH_LIBRARY_IMPL(hvae, AutocastCPU, m) { register_upcast(m); }
TORCH_LIBRARY_IMPL(hvae, AutocastCUDA, m) { register_upcast(m); }

}  // namespace hvae_ops
