#include "vmf_density.h"

#include <ATen/ExpandUtils.h>

#include "elementwise_index.h"

namespace hvae_ops {
namespace {

void check_floating(const char* op_name, const char* arg, const at::Tensor& t) {
  TORCH_CHECK(t.defined(), op_name, ": ", arg, " is an undefined tensor");
  TORCH_CHECK(at::isFloatingType(t.scalar_type()), op_name, ": ", arg,
              " must be a floating-point tensor, got dtype ", t.scalar_type());
}

void check_device(const char* op_name, const char* arg, const at::Tensor& t, const at::Tensor& ref) {
  TORCH_CHECK(t.device() == ref.device(), op_name, ": ", arg, " must be on ", ref.device(),
              " like the concentration, got ", t.device());
}

void check_m(const char* op_name, int64_t m) {
  TORCH_CHECK(m >= 2, op_name, ": m (the ambient dimension) must be >= 2, got ", m);
}

// Half and bfloat16 are computed in float32 (the kernels compute in double
// whatever they load).
at::ScalarType compute_type(at::ScalarType t) {
  return (t == at::kHalf || t == at::kBFloat16) ? at::kFloat : t;
}

// Operands in the compute dtype, the output and its compute buffer.
void allocate(at::IntArrayRef shape, const at::TensorOptions& options, at::ScalarType out_dtype,
              at::Tensor& out, at::Tensor& out_compute) {
  const at::ScalarType compute = compute_type(out_dtype);
  out = at::empty(shape, options.dtype(out_dtype));
  out_compute = compute == out_dtype ? out : at::empty(shape, options.dtype(compute));
}

template <int N>
void index_or_densify(at::IntArrayRef shape, std::array<at::Tensor*, N> operands,
                      hvae::ElementwiseIndex<N>& index) {
  std::array<const at::Tensor*, N> ops;
  for (int j = 0; j < N; ++j) ops[j] = operands[j]->defined() ? operands[j] : nullptr;
  if (make_elementwise_index<N>(shape, ops, index)) return;
  // Too many non-mergeable dimensions: materialise the operands densely.
  for (at::Tensor* t : operands) {
    if (t->defined()) *t = t->expand(shape).contiguous();
  }
  const bool ok = make_elementwise_index<N>(shape, ops, index);
  TORCH_INTERNAL_ASSERT(ok, "contiguous operands must collapse to one dimension");
}

}  // namespace

VmfDensityLaunch vmf_density_prepare(const char* op_name, const at::Tensor& kappa, int64_t m,
                                     const at::Tensor& grad) {
  check_floating(op_name, "kappa", kappa);
  check_m(op_name, m);
  const at::ScalarType out_dtype = kappa.scalar_type();
  const at::ScalarType compute = compute_type(out_dtype);
  VmfDensityLaunch launch;
  launch.consts = hvae::vmf_density_consts(m);
  launch.kappa = kappa.to(compute);
  at::IntArrayRef shape = kappa.sizes();
  std::vector<int64_t> broadcast;
  if (grad.defined()) {
    check_floating(op_name, "grad", grad);
    check_device(op_name, "grad", grad, kappa);
    launch.grad = grad.to(compute);
    broadcast = at::infer_size(grad.sizes(), kappa.sizes());
    shape = broadcast;
  }
  allocate(shape, kappa.options(), out_dtype, launch.out, launch.out_compute);
  launch.numel = launch.out.numel();
  index_or_densify<2>(shape, {&launch.kappa, &launch.grad}, launch.index);
  return launch;
}

VmfKlVmfLaunch vmf_kl_vmf_prepare(const char* op_name, const at::Tensor& kappa1,
                                  const at::Tensor& kappa2, const at::Tensor& d, int64_t m,
                                  const at::Tensor& grad) {
  check_floating(op_name, "kappa1", kappa1);
  check_floating(op_name, "kappa2", kappa2);
  check_floating(op_name, "d", d);
  check_device(op_name, "kappa2", kappa2, kappa1);
  check_device(op_name, "d", d, kappa1);
  check_m(op_name, m);
  at::ScalarType out_dtype =
      at::promote_types(at::promote_types(kappa1.scalar_type(), kappa2.scalar_type()), d.scalar_type());
  std::vector<int64_t> shape = at::infer_size(at::infer_size(kappa1.sizes(), kappa2.sizes()), d.sizes());
  VmfKlVmfLaunch launch;
  if (grad.defined()) {
    check_floating(op_name, "grad", grad);
    check_device(op_name, "grad", grad, kappa1);
    out_dtype = at::promote_types(out_dtype, grad.scalar_type());
    shape = at::infer_size(shape, grad.sizes());
    launch.n_out = 3;
  }
  const at::ScalarType compute = compute_type(out_dtype);
  launch.consts = hvae::vmf_density_consts(m);
  launch.k1 = kappa1.to(compute);
  launch.k2 = kappa2.to(compute);
  launch.d = d.to(compute);
  if (grad.defined()) launch.grad = grad.to(compute);
  for (int j = 0; j < launch.n_out; ++j) {
    allocate(shape, kappa1.options(), out_dtype, launch.out[j], launch.out_compute[j]);
  }
  launch.numel = launch.out[0].numel();
  index_or_densify<4>(shape, {&launch.k1, &launch.k2, &launch.d, &launch.grad}, launch.index);
  return launch;
}

at::Tensor vmf_density_finish(VmfDensityLaunch& launch) {
  if (!launch.out_compute.is_same(launch.out)) launch.out.copy_(launch.out_compute);
  return launch.out;
}

void vmf_kl_vmf_finish(VmfKlVmfLaunch& launch) {
  for (int j = 0; j < launch.n_out; ++j) {
    if (!launch.out_compute[j].is_same(launch.out[j])) launch.out[j].copy_(launch.out_compute[j]);
  }
}

}  // namespace hvae_ops
