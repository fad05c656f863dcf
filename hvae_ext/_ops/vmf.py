"""Fake kernels, autograd and the typed wrapper of the vMF sampler
(torch.ops.hvae.vmf_sample and its seeded and backward variants)."""

from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor

from .common import register_no_double_backward


def _fake_sample(loc: Tensor, kappa: Tensor, *args) -> Tuple[Tensor, Tensor]:
    n, m = loc.shape
    return loc.new_empty((n, m)), loc.new_empty((n,))


def _fake_backward(grad_z, z, theta, loc, kappa, need_kappa) -> Tuple[Tensor, Tensor]:
    n, m = loc.shape
    return loc.new_empty((n, m)), loc.new_empty((n,))


def _setup_context(ctx, inputs, output):
    loc, kappa = inputs[0], inputs[1]
    z, theta = output
    ctx.mark_non_differentiable(theta)
    ctx.save_for_backward(z, theta, loc, kappa)


def _backward(ctx, grad_z, grad_theta):
    z, theta, loc, kappa = ctx.saved_tensors
    need_loc, need_kappa = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
    if grad_z is None or not (need_loc or need_kappa):
        return (None,) * len(ctx.needs_input_grad)
    grad_loc, grad_kappa = torch.ops.hvae._vmf_sample_backward.default(
        grad_z, z, theta, loc, kappa, bool(need_kappa)
    )
    if need_kappa and kappa.dim() == 0:
        grad_kappa = grad_kappa.sum()
    rest = (None,) * (len(ctx.needs_input_grad) - 2)
    return (grad_loc if need_loc else None, grad_kappa if need_kappa else None) + rest


for _name in ("vmf_sample", "_vmf_sample_seeded"):
    torch.library.register_fake(f"hvae::{_name}")(_fake_sample)
    torch.library.register_autograd(f"hvae::{_name}", _backward, setup_context=_setup_context)
torch.library.register_fake("hvae::_vmf_sample_backward")(_fake_backward)
register_no_double_backward("hvae::_vmf_sample_backward", "hvae_ext vmf_rsample")


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
