"""Fake kernels and the typed wrappers of the Power Spherical sampler
(torch.ops.hvae.power_spherical_sample and its seeded and backward variants).

The ops share the vMF sampler's pipeline (csrc/hvae/kernels/vmf_sample.h):
only the law of the angle differs, t = mu^T z = 2 B - 1 with
B ~ Beta((m-1)/2 + kappa, (m-1)/2) (De Cao and Aziz 2020).
"""

from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor

from . import vmf as _vmf


# The ops' schemas are the vMF sampler's, argument for argument, so are
# their fake kernels: the same functions serve both families.
for _name, _fake in (
    ("power_spherical_sample", _vmf._fake_sample),
    ("_power_spherical_sample_seeded", _vmf._fake_sample_seeded),
    ("_power_spherical_sample_backward", _vmf._fake_backward),
):
    torch.library.register_fake(f"hvae::{_name}")(_fake)

# Autograd is registered in C++ (csrc/ops/vmf_autograd.cpp, with the vMF
# sampler's), where it costs no Python on the forward or the backward.


def power_spherical_sample(
    loc: Tensor, kappa: Tensor, generator: Optional[torch.Generator] = None, num_samples: int = 1
) -> Tuple[Tensor, Tensor]:
    """Samples z ~ PowerSpherical(loc, kappa) on S^{m-1}; returns (z, theta).

    The density is proportional to (1 + loc^T z)^kappa: t = loc^T z =
    cos(theta) = 2 B - 1 with B ~ Beta((m-1)/2 + kappa, (m-1)/2), and the
    tangent direction is uniform. One fused kernel, no rejection of samples
    (only the Gamma variate of B has Marsaglia-Tsang's bounded loop).

    loc: [B, m] unit vectors (m >= 2); kappa: [B] (or 0-dim) concentrations
    >= 0, same dtype (float32/float64) and device; generator: a
    torch.Generator of that device (default: the device's default one).
    num_samples = S draws S samples per row of loc without copying loc or
    kappa: z: [S B, m], row s B + b drawn from PS(loc[b], kappa[b]) (view it
    as [S, B, m]); the draws equal those of the call with loc and kappa
    repeated S times. theta: [S B], the angle between z and its loc (not
    differentiable).
    """
    return torch.ops.hvae.power_spherical_sample.default(loc, kappa, generator, num_samples)


def power_spherical_rsample(
    loc: Tensor, kappa: Tensor, generator: Optional[torch.Generator] = None, num_samples: int = 1
) -> Tensor:
    """Reparameterized Power Spherical samples z [S B, m] for loc [B, m]
    (unit norm) and kappa [B], S = num_samples (as power_spherical_sample);
    differentiable w.r.t. loc and kappa. The kappa gradient is the exact
    implicit-reparameterization one through the Beta CDF (unbiased; no
    straight-through or score-function term), summed over the samples
    inside the backward op."""
    return power_spherical_sample(loc, kappa, generator, num_samples)[0]
