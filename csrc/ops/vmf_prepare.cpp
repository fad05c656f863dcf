#include "vmf.h"

namespace hvae_ops {
namespace {

void check_float_tensor(const char* op_name, const char* arg, const at::Tensor& t) {
  TORCH_CHECK(t.defined(), op_name, ": ", arg, " is an undefined tensor");
  TORCH_CHECK(t.scalar_type() == at::kFloat || t.scalar_type() == at::kDouble, op_name, ": ",
              arg, " must be float32 or float64, got ", t.scalar_type());
}

void check_like(const char* op_name, const char* arg, const at::Tensor& t, const at::Tensor& ref,
                const char* ref_name) {
  TORCH_CHECK(t.device() == ref.device(), op_name, ": ", arg, " must be on the device of ",
              ref_name, " (", ref.device(), "), got ", t.device());
  TORCH_CHECK(t.scalar_type() == ref.scalar_type(), op_name, ": ", arg, " must have the dtype of ",
              ref_name, " (", ref.scalar_type(), "), got ", t.scalar_type());
}

// kappa as an [n] view: a 0-dim kappa is broadcast (stride 0).
at::Tensor kappa_view(const char* op_name, const at::Tensor& kappa, int64_t n) {
  if (kappa.dim() == 0) return kappa.expand({n});
  TORCH_CHECK(kappa.dim() == 1 && kappa.size(0) == n, op_name,
              ": kappa must have shape [N] matching loc [N, m] with N = ", n, ", got ",
              kappa.sizes());
  return kappa;
}

}  // namespace

uint64_t vmf_offset_increment(at::ScalarType dtype, int64_t m) {
  return dtype == at::kDouble ? hvae::vmf_offset_increment<double>(m)
                              : hvae::vmf_offset_increment<float>(m);
}

VmfSampleLaunch vmf_sample_prepare(const char* op_name, const at::Tensor& loc,
                                   const at::Tensor& kappa, int64_t num_samples) {
  check_float_tensor(op_name, "loc", loc);
  check_float_tensor(op_name, "kappa", kappa);
  check_like(op_name, "kappa", kappa, loc, "loc");
  TORCH_CHECK(loc.dim() == 2, op_name, ": loc must have shape [N, m], got ", loc.sizes());
  TORCH_CHECK(loc.size(1) >= 2, op_name, ": loc must have m >= 2 columns (points on S^{m-1}), got m = ",
              loc.size(1));
  TORCH_CHECK(num_samples >= 0, op_name, ": num_samples must be >= 0, got ", num_samples);
  VmfSampleLaunch l;
  l.batch = loc.size(0);
  l.n = num_samples * l.batch;
  l.m = loc.size(1);
  l.loc = loc;
  l.kappa = kappa_view(op_name, kappa, l.batch);
  l.z = at::empty({l.n, l.m}, loc.options().memory_format(at::MemoryFormat::Contiguous));
  l.theta = at::empty({l.n}, loc.options());
  return l;
}

VmfBackwardLaunch vmf_backward_prepare(const at::Tensor& grad_z, const at::Tensor& z,
                                       const at::Tensor& theta, const at::Tensor& loc,
                                       const at::Tensor& kappa, bool need_kappa,
                                       const char* op_name) {
  check_float_tensor(op_name, "loc", loc);
  for (const auto& [name, t] : {std::pair<const char*, const at::Tensor*>{"grad_z", &grad_z},
                                {"z", &z}, {"theta", &theta}, {"kappa", &kappa}}) {
    check_float_tensor(op_name, name, *t);
    check_like(op_name, name, *t, loc, "loc");
  }
  TORCH_CHECK(loc.dim() == 2 && loc.size(1) >= 2, op_name, ": loc must have shape [N, m], m >= 2, got ",
              loc.sizes());
  // z [S B, m]: S samples per row of loc [B, m]
  const int64_t B = loc.size(0), n = z.dim() == 2 ? z.size(0) : -1;
  TORCH_CHECK(z.dim() == 2 && z.size(1) == loc.size(1) && (B == 0 ? n == 0 : n % B == 0) &&
                  grad_z.sizes() == z.sizes(), op_name,
              ": z and grad_z must have shape [S B, m] for loc [B, m] = ", loc.sizes(),
              " (S samples per row of loc), got ", z.sizes(), " and ", grad_z.sizes());
  TORCH_CHECK(theta.dim() == 1 && theta.size(0) == n, op_name, ": theta must have shape [", n,
              "] (one angle per row of z), got ", theta.sizes());
  VmfBackwardLaunch l;
  l.n = n;
  l.batch = B;
  l.m = loc.size(1);
  l.grad_z = grad_z.contiguous();
  l.z = z.contiguous();
  l.theta = theta.contiguous();
  l.loc = loc;
  l.kappa = kappa_view(op_name, kappa, B);
  l.need_kappa = need_kappa;
  l.grad_loc = at::empty({B, l.m}, loc.options());
  l.grad_kappa = need_kappa ? at::empty({B}, loc.options()) : at::zeros({B}, loc.options());
  return l;
}

}  // namespace hvae_ops
