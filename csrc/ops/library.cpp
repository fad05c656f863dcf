// The one schema registry of the hvae operator library. Backends register
// their kernels next to their code (TORCH_LIBRARY_IMPL blocks in the other
// files of csrc/ops/); fake kernels and autograd live in hvae_ext/_ops/.
#include <torch/library.h>

TORCH_LIBRARY(hvae, m) {
  // Each family's fake kernels and autograd are registered from Python; the
  // set_python_module call before its defs tells the dispatcher which module.

  // Modified Bessel function of the first kind, real order v >= 0 (special.py).
  m.set_python_module("hvae_ext._ops.bessel");
  m.def("log_iv(Tensor v, Tensor x) -> Tensor");
  m.def("log_ive(Tensor v, Tensor x) -> Tensor");
  m.def("iv_ratio(Tensor v, Tensor x) -> Tensor");
  m.def("_log_iv_backward(Tensor grad, Tensor v, Tensor x) -> Tensor");
  m.def("_log_ive_backward(Tensor grad, Tensor v, Tensor x) -> Tensor");
  m.def("_iv_ratio_backward(Tensor grad, Tensor v, Tensor x) -> Tensor");

  // von Mises-Fisher sampling on S^{m-1} (distributions.py). z: [N, m] samples,
  // theta: [N] angle between z and loc (what the backward needs).
  m.set_python_module("hvae_ext._ops.vmf");
  m.def("vmf_sample(Tensor loc, Tensor kappa, Generator? generator=None) -> (Tensor z, Tensor theta)",
        {at::Tag::nondeterministic_seeded});
  m.def("_vmf_sample_seeded(Tensor loc, Tensor kappa, int seed, int offset) -> (Tensor z, Tensor theta)");
  m.def("_vmf_sample_backward(Tensor grad_z, Tensor z, Tensor theta, Tensor loc, Tensor kappa, "
        "bool need_kappa) -> (Tensor grad_loc, Tensor grad_kappa)");
}
