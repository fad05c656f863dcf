"""Fake kernels of the Power Spherical density ops
(torch.ops.hvae.power_spherical_log_normalizer, power_spherical_entropy,
power_spherical_kl_uniform and their backward ops).

Autograd is registered in C++ (csrc/ops/power_spherical_density_autograd.cpp);
the math is csrc/hvae/power_spherical_density.h.
"""

from __future__ import annotations

import torch
from torch import Tensor


def _fake_kappa_fn(kappa: Tensor, m: int, *args) -> Tensor:
    return torch.empty_like(kappa, memory_format=torch.contiguous_format)


def _fake_kappa_backward(grad: Tensor, kappa: Tensor, m: int, *args) -> Tensor:
    return kappa.new_empty(torch.broadcast_shapes(grad.shape, kappa.shape))


for _name in ("power_spherical_log_normalizer", "power_spherical_entropy", "power_spherical_kl_uniform"):
    torch.library.register_fake(f"hvae::{_name}")(_fake_kappa_fn)
    torch.library.register_fake(f"hvae::_{_name}_backward")(_fake_kappa_backward)
