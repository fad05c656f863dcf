// One element of a Bessel op, shared by the CPU loop and the CUDA kernel.
#pragma once

#include "../bessel.h"
#include "../iv_ratio_inverse.h"
#include "../strided.h"

namespace hvae {

// Which function an elementwise Bessel launch evaluates. The *Backward
// members are the backward ops: out = grad * d/dx f(v, x). For
// kIvRatioInverse the second operand is r, and its backward takes x, the
// forward's output, in that slot: out = grad * dx/dr = grad / R_v'(x).
enum class BesselFn : int {
  kLogIv = 0,
  kLogIve = 1,
  kIvRatio = 2,
  kLogIvBackward = 3,
  kLogIveBackward = 4,
  kIvRatioBackward = 5,
  kIvRatioInverse = 6,
  kIvRatioInverseBackward = 7,
};

template <typename T>
struct BesselParams {
  const T* __restrict__ v;     // order tensor, or nullptr when v_scalar is used
  const T* __restrict__ x;     // argument tensor
  const T* __restrict__ grad;  // incoming gradient (backward functions only)
  T* __restrict__ out;         // contiguous output of numel elements
  T v_scalar;                  // the order when v == nullptr
  int64_t numel;
  ElementwiseIndex<3> index;   // operands in order: v, x, grad
};

template <BesselFn F, typename T>
HVAE_HD T bessel_value(T v, T x) {
  if constexpr (F == BesselFn::kLogIv) return log_iv(v, x);
  if constexpr (F == BesselFn::kLogIve) return log_ive(v, x);
  if constexpr (F == BesselFn::kIvRatio) return iv_ratio(v, x);
  if constexpr (F == BesselFn::kLogIvBackward) return log_iv_dx(v, x);
  if constexpr (F == BesselFn::kLogIveBackward) return log_ive_dx(v, x);
  if constexpr (F == BesselFn::kIvRatioBackward) return iv_ratio_dx(v, x);
  if constexpr (F == BesselFn::kIvRatioInverse) return iv_ratio_inverse(v, x);
  if constexpr (F == BesselFn::kIvRatioInverseBackward) return iv_ratio_inverse_dr(v, x);
}

template <BesselFn F>
constexpr bool bessel_is_backward() {
  return F == BesselFn::kLogIvBackward || F == BesselFn::kLogIveBackward ||
         F == BesselFn::kIvRatioBackward || F == BesselFn::kIvRatioInverseBackward;
}

template <BesselFn F, typename T>
HVAE_HD void bessel_apply(const BesselParams<T>& p, int64_t i) {
  const T v = p.v ? p.v[p.index.offset(0, i)] : p.v_scalar;
  const T x = p.x[p.index.offset(1, i)];
  T y = bessel_value<F, T>(v, x);
  if constexpr (bessel_is_backward<F>()) y *= p.grad[p.index.offset(2, i)];
  p.out[i] = y;
}

}  // namespace hvae
