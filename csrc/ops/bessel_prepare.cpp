#include "bessel.h"

#include <array>

#include <ATen/ExpandUtils.h>

#include "elementwise_index.h"

namespace hvae_ops {
namespace {

bool is_cpu_scalar(const at::Tensor& t) { return t.dim() == 0 && t.device().is_cpu(); }

void check_real(const char* op_name, const char* arg, const at::Tensor& t) {
  TORCH_CHECK(t.defined(), op_name, ": ", arg, " is an undefined tensor");
  TORCH_CHECK(!t.is_complex() && t.scalar_type() != at::kBool, op_name, ": ", arg,
              " must be a real number tensor, got dtype ", t.scalar_type());
}

}  // namespace

BesselLaunch bessel_prepare(const char* op_name, const at::Tensor& v, const at::Tensor& x,
                            const at::Tensor& grad, const char* x_name) {
  check_real(op_name, "v", v);
  check_real(op_name, x_name, x);
  const bool v_scalar = is_cpu_scalar(v) && !x.device().is_cpu();
  TORCH_CHECK(v_scalar || v.device() == x.device(), op_name,
              ": v and ", x_name, " must be on the same device (or v a 0-dim CPU tensor), got v on ",
              v.device(), " and ", x_name, " on ", x.device());

  // Output dtype as torch.special does it: the promoted type, integers to the
  // default float type. Half and bfloat16 are computed in float32.
  at::ScalarType out_dtype = at::result_type(v, x);
  if (!at::isFloatingType(out_dtype)) out_dtype = c10::typeMetaToScalarType(at::get_default_dtype());
  const at::ScalarType compute_dtype =
      (out_dtype == at::kHalf || out_dtype == at::kBFloat16) ? at::kFloat : out_dtype;

  std::vector<int64_t> shape = v_scalar ? x.sizes().vec() : at::infer_size(v.sizes(), x.sizes());
  if (grad.defined()) {
    check_real(op_name, "grad", grad);
    TORCH_CHECK(grad.device() == x.device(), op_name, ": grad must be on ", x.device(),
                ", got ", grad.device());
    shape = at::infer_size(shape, grad.sizes());
  }

  BesselLaunch launch;
  launch.x = x.to(compute_dtype);
  if (v_scalar || (is_cpu_scalar(v) && x.device().is_cpu())) {
    launch.v_is_scalar = true;
    launch.v_scalar = v.item<double>();
  } else {
    launch.v = v.to(compute_dtype);
  }
  if (grad.defined()) launch.grad = grad.to(compute_dtype);
  launch.out = at::empty(shape, x.options().dtype(out_dtype));
  launch.out_compute =
      out_dtype == compute_dtype ? launch.out : at::empty(shape, x.options().dtype(compute_dtype));
  launch.numel = launch.out.numel();

  std::array<const at::Tensor*, 3> ops = {launch.v_is_scalar ? nullptr : &launch.v, &launch.x,
                                          grad.defined() ? &launch.grad : nullptr};
  if (!make_elementwise_index<3>(shape, ops, launch.index)) {
    // Too many non-mergeable dimensions: materialise the operands densely.
    for (at::Tensor* t : {&launch.v, &launch.x, &launch.grad}) {
      if (t->defined()) *t = t->expand(shape).contiguous();
    }
    const bool ok = make_elementwise_index<3>(shape, ops, launch.index);
    TORCH_INTERNAL_ASSERT(ok, "contiguous operands must collapse to one dimension");
  }
  return launch;
}

at::Tensor bessel_finish(BesselLaunch& launch) {
  if (!launch.out_compute.is_same(launch.out)) launch.out.copy_(launch.out_compute);
  return launch.out;
}

}  // namespace hvae_ops
