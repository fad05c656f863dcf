"""Pure-PyTorch float64 reference of the Power Spherical distribution (De Cao &
Aziz 2020): a sampler (Beta marginal, uniform tangent direction, Householder
rotation) and the density, written from the definitions for tests. Not
accurate where the library's ops are (the differences of lgamma and digamma
are taken literally), and not fast."""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor

__all__ = ["ps_log_normalizer_reference", "ps_entropy_reference", "ps_log_prob_reference", "ps_sample_reference"]


def _alpha_beta(m: int, kappa: Tensor):
    beta = (m - 1) / 2.0
    return kappa.double() + beta, beta


def ps_log_normalizer_reference(m: int, kappa: Tensor) -> Tensor:
    """log C = (alpha + beta) log 2 + beta log pi + lgamma(alpha) - lgamma(alpha + beta)."""
    alpha, beta = _alpha_beta(m, kappa)
    return (alpha + beta) * math.log(2) + beta * math.log(math.pi) + torch.lgamma(alpha) - torch.lgamma(alpha + beta)


def ps_entropy_reference(m: int, kappa: Tensor) -> Tensor:
    """H = log C - kappa (log 2 + psi(alpha) - psi(alpha + beta))."""
    alpha, beta = _alpha_beta(m, kappa)
    return ps_log_normalizer_reference(m, kappa) - kappa.double() * (
        math.log(2) + torch.digamma(alpha) - torch.digamma(alpha + beta)
    )


def ps_log_prob_reference(loc: Tensor, kappa: Tensor, z: Tensor) -> Tensor:
    """kappa log1p(mu^T z) - log C, in float64."""
    m = loc.shape[-1]
    t = (loc.double() * z.double()).sum(-1)
    return kappa.double() * torch.log1p(t) - ps_log_normalizer_reference(m, kappa)


def _householder_to(loc: Tensor, x: Tensor) -> Tensor:
    """Maps e1 to loc by the reflection across the bisector of e1 and loc
    (x -> x - 2 (u^T x) u, u = (e1 - loc)/|e1 - loc|); the identity at loc = e1."""
    e1 = torch.zeros_like(loc)
    e1[..., 0] = 1.0
    u = e1 - loc
    norm = u.norm(dim=-1, keepdim=True)
    u = torch.where(norm > 0, u / norm.clamp_min(1e-300), torch.zeros_like(u))
    return x - 2.0 * (x * u).sum(-1, keepdim=True) * u


def ps_sample_reference(
    loc: Tensor, kappa: Tensor, num_samples: int = 1, generator: Optional[torch.Generator] = None
) -> Tensor:
    """Samples [num_samples, B, m] of PowerSpherical(loc [B, m], kappa [B]) in
    float64: t = 2 B - 1 with B ~ Beta(alpha, beta) (torch.distributions.Beta,
    so reparameterized in kappa), v uniform on S^{m-2}, z = H (t, sqrt(1-t^2) v)
    with H the Householder reflection e1 -> loc. ``generator`` seeds the
    tangent directions only (torch's Beta sampler takes no generator)."""
    loc = loc.double()
    kappa = kappa.double()
    batch, m = loc.shape
    alpha, beta = _alpha_beta(m, kappa)
    b = torch.distributions.Beta(alpha, torch.full_like(alpha, beta)).rsample((num_samples,))
    t = 2.0 * b - 1.0
    v = torch.randn((num_samples, batch, m - 1), dtype=torch.float64, generator=generator)
    v = v / v.norm(dim=-1, keepdim=True)
    # sqrt(1 - t^2) = 2 sqrt(B (1 - B)), without the cancellation of 1 - t^2 near t = 1
    s = 2.0 * torch.sqrt(b * (1.0 - b))
    x = torch.cat((t.unsqueeze(-1), s.unsqueeze(-1) * v), dim=-1)
    return _householder_to(loc.expand(num_samples, batch, m), x)
