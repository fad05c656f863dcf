"""Fake kernels of the vMF density ops (torch.ops.hvae.vmf_log_normalizer,
vmf_kl_uniform, vmf_entropy, vmf_kl_vmf and their backward ops).

Autograd is registered in C++ (csrc/ops/vmf_density_autograd.cpp), where it
costs no Python per call; the math is csrc/hvae/vmf_density.h.
"""

from __future__ import annotations

from typing import Tuple

import torch
from torch import Tensor


def _fake_kappa_fn(kappa: Tensor, m: int, *args) -> Tensor:
    return torch.empty_like(kappa, memory_format=torch.contiguous_format)


def _fake_kappa_backward(grad: Tensor, kappa: Tensor, m: int, *args) -> Tensor:
    return kappa.new_empty(torch.broadcast_shapes(grad.shape, kappa.shape))


def _kl_vmf_dtype(*tensors: Tensor) -> torch.dtype:
    # As the C++ front end: the promoted dtype of all operands (0-dim ones included).
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    return dtype


def _fake_kl_vmf(kappa1: Tensor, kappa2: Tensor, d: Tensor, m: int) -> Tensor:
    shape = torch.broadcast_shapes(kappa1.shape, kappa2.shape, d.shape)
    return kappa1.new_empty(shape, dtype=_kl_vmf_dtype(kappa1, kappa2, d))


def _fake_kl_vmf_backward(grad: Tensor, kappa1: Tensor, kappa2: Tensor, d: Tensor, m: int) -> Tuple[Tensor, ...]:
    shape = torch.broadcast_shapes(grad.shape, kappa1.shape, kappa2.shape, d.shape)
    dtype = _kl_vmf_dtype(grad, kappa1, kappa2, d)
    return tuple(kappa1.new_empty(shape, dtype=dtype) for _ in range(3))


for _name in ("vmf_log_normalizer", "vmf_kl_uniform", "vmf_entropy"):
    torch.library.register_fake(f"hvae::{_name}")(_fake_kappa_fn)
    torch.library.register_fake(f"hvae::_{_name}_backward")(_fake_kappa_backward)
torch.library.register_fake("hvae::vmf_kl_vmf")(_fake_kl_vmf)
torch.library.register_fake("hvae::_vmf_kl_vmf_backward")(_fake_kl_vmf_backward)
