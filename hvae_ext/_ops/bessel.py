"""Fake kernels and autograd of the Bessel ops (torch.ops.hvae.log_iv & co,
and iv_ratio_inverse)."""

from __future__ import annotations

import torch
from torch import Tensor

from .common import elementwise_result_dtype, reduce_to_shape, register_no_double_backward

# forward op -> its backward op, which returns grad * d/dx op(v, x)
_BACKWARD = {
    "log_iv": "_log_iv_backward",
    "log_ive": "_log_ive_backward",
    "iv_ratio": "_iv_ratio_backward",
}


def _fake_forward(v: Tensor, x: Tensor) -> Tensor:
    shape = torch.broadcast_shapes(v.shape, x.shape)
    return x.new_empty(shape, dtype=elementwise_result_dtype(v, x))


def _fake_backward(grad: Tensor, v: Tensor, x: Tensor) -> Tensor:
    shape = torch.broadcast_shapes(grad.shape, v.shape, x.shape)
    return x.new_empty(shape, dtype=elementwise_result_dtype(v, x))


def _check_order_needs_no_grad(name: str, v, arg: str = "x") -> None:
    if isinstance(v, Tensor) and v.requires_grad:
        raise RuntimeError(
            f"hvae_ext: {name}(v, {arg}) is not differentiable with respect to the order v; "
            f"pass v.detach() (only the gradient with respect to {arg} is implemented)"
        )


def _register(name: str, backward_name: str) -> None:
    backward_op = getattr(torch.ops.hvae, backward_name).default

    def setup_context(ctx, inputs, output):
        v, x = inputs
        _check_order_needs_no_grad(name, v)
        ctx.save_for_backward(v, x)

    def backward(ctx, grad):
        v, x = ctx.saved_tensors
        grad_x = None
        if ctx.needs_input_grad[1]:
            grad_x = reduce_to_shape(backward_op(grad, v, x), x)
        return None, grad_x

    torch.library.register_fake(f"hvae::{name}")(_fake_forward)
    torch.library.register_fake(f"hvae::{backward_name}")(_fake_backward)
    torch.library.register_autograd(f"hvae::{name}", backward, setup_context=setup_context)
    register_no_double_backward(f"hvae::{backward_name}", f"hvae_ext.special.{name}")


for _name, _backward_name in _BACKWARD.items():
    _register(_name, _backward_name)


def _register_inverse() -> None:
    # x = iv_ratio_inverse(v, r): dx/dr = 1 / R_v'(x), evaluated at the output x
    # (what the backward op takes in its x slot), so nothing is solved twice.
    backward_op = torch.ops.hvae._iv_ratio_inverse_backward.default

    def setup_context(ctx, inputs, output):
        v, r = inputs
        _check_order_needs_no_grad("iv_ratio_inverse", v, "r")
        ctx.save_for_backward(v, output)
        ctx.r_shape = r.shape

    def backward(ctx, grad):
        v, x = ctx.saved_tensors
        grad_r = None
        if ctx.needs_input_grad[1]:
            grad_r = backward_op(grad, v, x)
            if grad_r.shape != ctx.r_shape:
                grad_r = grad_r.sum_to_size(ctx.r_shape)
        return None, grad_r

    torch.library.register_fake("hvae::iv_ratio_inverse")(_fake_forward)
    torch.library.register_fake("hvae::_iv_ratio_inverse_backward")(_fake_backward)
    torch.library.register_autograd("hvae::iv_ratio_inverse", backward, setup_context=setup_context)
    register_no_double_backward("hvae::_iv_ratio_inverse_backward", "hvae_ext.special.iv_ratio_inverse")


_register_inverse()
