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
                                   const at::Tensor& kappa) {
  check_float_tensor(op_name, "loc", loc);
  check_float_tensor(op_name, "kappa", kappa);
  check_like(op_name, "kappa", kappa, loc, "loc");
  TORCH_CHECK(loc.dim() == 2, op_name, ": loc must have shape [N, m], got ", loc.sizes());
  TORCH_CHECK(loc.size(1) >= 2, op_name, ": loc must have m >= 2 columns (points on S^{m-1}), got m = ",
              loc.size(1));
  VmfSampleLaunch l;
  l.n = loc.size(0);
  l.m = loc.size(1);
  l.loc = loc;
  l.kappa = kappa_view(op_name, kappa, l.n);
  l.z = at::empty({l.n, l.m}, loc.options().memory_format(at::MemoryFormat::Contiguous));
  l.theta = at::empty({l.n}, loc.options());
  return l;
}

VmfBackwardLaunch vmf_backward_prepare(const at::Tensor& grad_z, const at::Tensor& z,
                                       const at::Tensor& theta, const at::Tensor& loc,
                                       const at::Tensor& kappa, bool need_kappa) {
  const char* op_name = "_vmf_sample_backward";
  check_float_tensor(op_name, "loc", loc);
  for (const auto& [name, t] : {std::pair<const char*, const at::Tensor*>{"grad_z", &grad_z},
                                {"z", &z}, {"theta", &theta}, {"kappa", &kappa}}) {
    check_float_tensor(op_name, name, *t);
    check_like(op_name, name, *t, loc, "loc");
  }
  TORCH_CHECK(loc.dim() == 2 && loc.size(1) >= 2, op_name, ": loc must have shape [N, m], m >= 2, got ",
              loc.sizes());
  TORCH_CHECK(grad_z.sizes() == loc.sizes() && z.sizes() == loc.sizes(), op_name,
              ": grad_z and z must have the shape of loc ", loc.sizes(), ", got ", grad_z.sizes(),
              " and ", z.sizes());
  TORCH_CHECK(theta.dim() == 1 && theta.size(0) == loc.size(0), op_name,
              ": theta must have shape [N], got ", theta.sizes());
  VmfBackwardLaunch l;
  l.n = loc.size(0);
  l.m = loc.size(1);
  l.grad_z = grad_z.contiguous();
  l.z = z.contiguous();
  l.theta = theta.contiguous();
  l.loc = loc;
  l.kappa = kappa_view(op_name, kappa, l.n);
  l.need_kappa = need_kappa;
  l.grad_loc = at::empty({l.n, l.m}, loc.options());
  l.grad_kappa = need_kappa ? at::empty({l.n}, loc.options()) : at::zeros({l.n}, loc.options());
  return l;
}

}  // namespace hvae_ops
