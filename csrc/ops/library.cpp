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
}
