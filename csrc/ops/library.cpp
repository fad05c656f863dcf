// The one schema registry of the hvae operator library. Backends register
// their kernels next to their code (TORCH_LIBRARY_IMPL blocks in the other
// files of csrc/ops/); fake kernels live in hvae_ext/_ops/, and so does the
// autograd of the Bessel ops; the vMF and T-SNF ops' autograd is in C++
// (csrc/ops/*_autograd.cpp), where it costs no Python per call.
#include <torch/library.h>

TORCH_LIBRARY(hvae, m) {
  // Each family's fake kernels are registered from Python; the
  // set_python_module call before its defs tells the dispatcher which module.

  // Modified Bessel function of the first kind, real order v >= 0 (special.py).
  m.set_python_module("hvae_ext._ops.bessel");
  m.def("log_iv(Tensor v, Tensor x) -> Tensor");
  m.def("log_ive(Tensor v, Tensor x) -> Tensor");
  m.def("iv_ratio(Tensor v, Tensor x) -> Tensor");
  m.def("_log_iv_backward(Tensor grad, Tensor v, Tensor x) -> Tensor");
  m.def("_log_ive_backward(Tensor grad, Tensor v, Tensor x) -> Tensor");
  m.def("_iv_ratio_backward(Tensor grad, Tensor v, Tensor x) -> Tensor");
  // x >= 0 with iv_ratio(v, x) = r; the backward takes x, the forward's output.
  m.def("iv_ratio_inverse(Tensor v, Tensor r) -> Tensor");
  m.def("_iv_ratio_inverse_backward(Tensor grad, Tensor v, Tensor x) -> Tensor");

  // Triangular Sylvester flow steps (T-SNF; hvae_ext/_ops/sylvester.py). The
  // layout is explicit (packed), flips[k] says whether step k reverses z, and
  // save_steps makes the forward return z_steps, a_steps [B, K, D] for the
  // backward (shape [0] otherwise).
  m.set_python_module("hvae_ext._ops.sylvester");
  m.def(
      "sylvester_triangular(Tensor z, Tensor r1, Tensor r2, Tensor b, bool[] flips, bool packed, "
      "bool per_step_logdet=False, bool diag_tanh=False, bool save_steps=False) "
      "-> (Tensor z_out, Tensor logdet, Tensor z_steps, Tensor a_steps)");
  m.def(
      "_sylvester_triangular_backward(Tensor grad_z, Tensor grad_logdet, Tensor r1, Tensor r2, "
      "Tensor b, Tensor z_steps, Tensor a_steps, bool[] flips, bool packed, bool per_step_logdet, "
      "bool diag_tanh) -> (Tensor grad_z, Tensor grad_r1, Tensor grad_r2, Tensor grad_b)");
  m.def(
      "sylvester_triangular_inverse(Tensor z, Tensor r1, Tensor r2, Tensor b, bool[] flips, "
      "bool packed, bool diag_tanh=False) -> Tensor");

  // von Mises-Fisher sampling on S^{m-1} (distributions.py). z: [N, m] samples,
  // theta: [N] angle between z and loc (what the backward needs); N = S B for
  // loc [B, m] and num_samples = S (row s B + b drawn from loc row b).
  m.set_python_module("hvae_ext._ops.vmf");
  m.def("vmf_sample(Tensor loc, Tensor kappa, Generator? generator=None, int num_samples=1) "
        "-> (Tensor z, Tensor theta)",
        {at::Tag::nondeterministic_seeded});
  m.def("_vmf_sample_seeded(Tensor loc, Tensor kappa, int seed, int offset, int num_samples=1) "
        "-> (Tensor z, Tensor theta)");
  m.def("_vmf_sample_backward(Tensor grad_z, Tensor z, Tensor theta, Tensor loc, Tensor kappa, "
        "bool need_kappa) -> (Tensor grad_loc, Tensor grad_kappa)");

  // Power Spherical sampling on S^{m-1} (De Cao and Aziz 2020;
  // hvae_ext/_ops/power_spherical.py, math in csrc/hvae/power_spherical.h):
  // the vMF sampler's shapes, semantics and Philox layout with t = mu^T z =
  // 2 B - 1, B ~ Beta((m-1)/2 + kappa, (m-1)/2).
  m.set_python_module("hvae_ext._ops.power_spherical");
  m.def("power_spherical_sample(Tensor loc, Tensor kappa, Generator? generator=None, "
        "int num_samples=1) -> (Tensor z, Tensor theta)",
        {at::Tag::nondeterministic_seeded});
  m.def("_power_spherical_sample_seeded(Tensor loc, Tensor kappa, int seed, int offset, "
        "int num_samples=1) -> (Tensor z, Tensor theta)");
  m.def("_power_spherical_sample_backward(Tensor grad_z, Tensor z, Tensor theta, Tensor loc, "
        "Tensor kappa, bool need_kappa) -> (Tensor grad_loc, Tensor grad_kappa)");

  // vMF densities as functions of the concentration (hvae_ext/_ops/vmf_density.py;
  // math in csrc/hvae/vmf_density.h): log C_m(kappa) (scaled: + kappa),
  // KL(vMF || uniform), entropy, and KL(vMF1 || vMF2) given
  // d = |mu1 - mu2|^2 / 2. Computed in double, returned in the input dtype.
  m.set_python_module("hvae_ext._ops.vmf_density");
  m.def("vmf_log_normalizer(Tensor kappa, int m, bool scaled=False) -> Tensor");
  m.def("_vmf_log_normalizer_backward(Tensor grad, Tensor kappa, int m, bool scaled) -> Tensor");
  m.def("vmf_kl_uniform(Tensor kappa, int m) -> Tensor");
  m.def("_vmf_kl_uniform_backward(Tensor grad, Tensor kappa, int m) -> Tensor");
  m.def("vmf_entropy(Tensor kappa, int m) -> Tensor");
  m.def("_vmf_entropy_backward(Tensor grad, Tensor kappa, int m) -> Tensor");
  m.def("vmf_kl_vmf(Tensor kappa1, Tensor kappa2, Tensor d, int m) -> Tensor");
  m.def("_vmf_kl_vmf_backward(Tensor grad, Tensor kappa1, Tensor kappa2, Tensor d, int m) "
        "-> (Tensor grad_kappa1, Tensor grad_kappa2, Tensor grad_d)");

  // Power Spherical densities as functions of the concentration
  // (hvae_ext/_ops/power_spherical_density.py; math in
  // csrc/hvae/power_spherical_density.h): log C (scaled: log C - kappa log 2),
  // the entropy and KL(PS || uniform) on S^{m-1}. Computed in double,
  // returned in the input dtype. The log-normalizer's backward with
  // second=True gives grad * d2/dkappa2 log C (its double backward).
  m.set_python_module("hvae_ext._ops.power_spherical_density");
  m.def("power_spherical_log_normalizer(Tensor kappa, int m, bool scaled=False) -> Tensor");
  m.def("_power_spherical_log_normalizer_backward(Tensor grad, Tensor kappa, int m, bool scaled=False, "
        "bool second=False) -> Tensor");
  m.def("power_spherical_entropy(Tensor kappa, int m) -> Tensor");
  m.def("_power_spherical_entropy_backward(Tensor grad, Tensor kappa, int m) -> Tensor");
  m.def("power_spherical_kl_uniform(Tensor kappa, int m) -> Tensor");
  m.def("_power_spherical_kl_uniform_backward(Tensor grad, Tensor kappa, int m) -> Tensor");

  // What this build contains and which CPU loops it runs, as "key=value"
  // lines (build_info.cpp; python -m hvae_ext.info).
  m.def("_build_info() -> str");
}
