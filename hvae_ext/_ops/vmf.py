"""Fake kernels and the typed wrapper of the vMF sampler
(torch.ops.hvae.vmf_sample and its seeded and backward variants)."""

from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor


def _fake_rows(loc: Tensor, num_samples: int) -> Tuple[Tensor, Tensor]:
    batch, m = loc.shape
    return loc.new_empty((num_samples * batch, m)), loc.new_empty((num_samples * batch,))


@torch.library.register_fake("hvae::vmf_sample")
def _fake_sample(loc: Tensor, kappa: Tensor, generator=None, num_samples: int = 1) -> Tuple[Tensor, Tensor]:
    return _fake_rows(loc, num_samples)


@torch.library.register_fake("hvae::_vmf_sample_seeded")
def _fake_sample_seeded(loc: Tensor, kappa: Tensor, seed: int, offset: int, num_samples: int = 1):
    return _fake_rows(loc, num_samples)


@torch.library.register_fake("hvae::_vmf_sample_backward")
def _fake_backward(grad_z, z, theta, loc, kappa, need_kappa) -> Tuple[Tensor, Tensor]:
    batch, m = loc.shape
    return loc.new_empty((batch, m)), loc.new_empty((batch,))


# Autograd is registered in C++ (csrc/ops/vmf_autograd.cpp), where it costs
# no Python on the forward or the backward; only the fake kernels live here.


def vmf_sample(
    loc: Tensor, kappa: Tensor, generator: Optional[torch.Generator] = None, num_samples: int = 1
) -> Tuple[Tensor, Tensor]:
    """Samples z ~ vMF(loc, kappa) on S^{m-1}; returns (z, theta).

    loc: [B, m] unit vectors (m >= 2); kappa: [B] (or 0-dim) concentrations
    >= 0, same dtype (float32/float64) and device; generator: a
    torch.Generator of that device (default: the device's default one).
    num_samples = S draws S samples per row of loc without copying loc or
    kappa: z: [S B, m], row s B + b drawn from vMF(loc[b], kappa[b]) (view it
    as [S, B, m]); the draws equal those of the call with loc and kappa
    repeated S times. theta: [S B], the angle between z and its loc (not
    differentiable).
    """
    return torch.ops.hvae.vmf_sample.default(loc, kappa, generator, num_samples)


def vmf_rsample(
    loc: Tensor, kappa: Tensor, generator: Optional[torch.Generator] = None, num_samples: int = 1
) -> Tensor:
    """Reparameterized vMF samples z [S B, m] for loc [B, m] (unit norm) and
    kappa [B], S = num_samples (as vmf_sample); differentiable w.r.t. loc and
    kappa (the kappa gradient is the unbiased implicit-reparameterization
    one, Figurnov et al. 2018), summed over the samples inside the backward op."""
    return vmf_sample(loc, kappa, generator, num_samples)[0]
