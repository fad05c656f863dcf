"""Fake kernels and the typed wrapper of the vMF sampler
(torch.ops.hvae.vmf_sample and its seeded and backward variants)."""

from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor


def _fake_sample(loc: Tensor, kappa: Tensor, *args) -> Tuple[Tensor, Tensor]:
    n, m = loc.shape
    return loc.new_empty((n, m)), loc.new_empty((n,))


def _fake_backward(grad_z, z, theta, loc, kappa, need_kappa) -> Tuple[Tensor, Tensor]:
    n, m = loc.shape
    return loc.new_empty((n, m)), loc.new_empty((n,))


# Autograd is registered in C++ (csrc/ops/vmf_autograd.cpp), where it costs
# no Python on the forward or the backward; only the fake kernels live here.
for _name in ("vmf_sample", "_vmf_sample_seeded"):
    torch.library.register_fake(f"hvae::{_name}")(_fake_sample)
torch.library.register_fake("hvae::_vmf_sample_backward")(_fake_backward)


def vmf_sample(
    loc: Tensor, kappa: Tensor, generator: Optional[torch.Generator] = None
) -> Tuple[Tensor, Tensor]:
    """Samples z ~ vMF(loc, kappa) on S^{m-1}; returns (z, theta).

    loc: [N, m] unit vectors (m >= 2); kappa: [N] (or 0-dim) concentrations
    >= 0, same dtype (float32/float64) and device; generator: a
    torch.Generator of that device (default: the device's default one).
    z: [N, m]; theta: [N], the angle between z and loc (not differentiable).
    """
    return torch.ops.hvae.vmf_sample.default(loc, kappa, generator)


def vmf_rsample(loc: Tensor, kappa: Tensor, generator: Optional[torch.Generator] = None) -> Tensor:
    """Reparameterized vMF sample z [N, m] for loc [N, m] (unit norm) and
    kappa [N]; differentiable w.r.t. loc and kappa (the kappa gradient is the
    unbiased implicit-reparameterization one, Figurnov et al. 2018)."""
    return vmf_sample(loc, kappa, generator)[0]
