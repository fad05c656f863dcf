"""Helpers shared by the op families' registrations."""

from __future__ import annotations

import torch
from torch import Tensor


def elementwise_result_dtype(v: Tensor, x: Tensor) -> torch.dtype:
    """Output dtype of an elementwise special function, as torch.special has it:
    the promoted dtype of the operands, integers promoted to the default float."""
    dtype = torch.result_type(v, x)
    return dtype if dtype.is_floating_point else torch.get_default_dtype()


def reduce_to_shape(grad: Tensor, like: Tensor) -> Tensor:
    """Sums a gradient over the dimensions along which `like` was broadcast."""
    if grad.shape != like.shape:
        grad = grad.sum_to_size(like.shape)
    return grad


def register_no_double_backward(backward_op: str, op: str) -> None:
    """Gives the backward op `backward_op` an autograd formula that raises: an
    explicit error instead of a silent zero or an opaque dispatcher message."""

    def backward(ctx, *grads):
        raise NotImplementedError(f"double backward of {op} is not supported")

    def setup_context(ctx, inputs, output):
        pass

    torch.library.register_autograd(backward_op, backward, setup_context=setup_context)
