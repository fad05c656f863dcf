"""KL divergences between the hyperspherical distributions (registered with
torch.distributions.register_kl, so torch.distributions.kl_divergence finds them).

With log S_v(kappa) = log(Gamma(v+1) (2/kappa)^v I_v(kappa)), v = m/2 - 1, and
A = A_m(kappa) (see _normalizer.py):

    KL(vMF(mu, k) || U)            = k A - log S_v(k)
    KL(U || vMF(mu, k))            = log S_v(k)
    KL(vMF(mu1, k1) || vMF(mu2, k2)) = log S_v(k2) - log S_v(k1) - (k2 - k1) A(k1)
                                       + k2 A(k1) |mu1 - mu2|^2 / 2

The last: E_1[log p1 - log p2] = log C1 - log C2 + k1 A1 - k2 A1 mu2^T mu1 with
log C = -log|S| - log S_v and 1 - mu1^T mu2 = |mu1 - mu2|^2 / 2 (exact for
nearby directions). The terms in kappa are evaluated in float64 (O(batch)
work) and rounded once.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.distributions import register_kl

from ._normalizer import log_normalized_iv, mean_resultant_length
from .hyperspherical_uniform import HypersphericalUniform
from .von_mises_fisher import VonMisesFisher, half_squared_distance

__all__ = []


def _same_dimension(p, q) -> int:
    if p.event_shape != q.event_shape:
        raise ValueError(
            f"KL between {type(p).__name__} and {type(q).__name__} on spheres of different dimensions: "
            f"event shapes {tuple(p.event_shape)} and {tuple(q.event_shape)}"
        )
    return p.event_shape[0]


def _batch(value: Tensor, p, q) -> Tensor:
    return value.expand(torch.broadcast_shapes(p.batch_shape, q.batch_shape))


@register_kl(VonMisesFisher, HypersphericalUniform)
def _kl_vmf_uniform(p: VonMisesFisher, q: HypersphericalUniform) -> Tensor:
    m = _same_dimension(p, q)
    kappa = p.concentration.to(torch.float64)
    kl = kappa * mean_resultant_length(m, kappa) - log_normalized_iv(m, kappa)
    return _batch(kl.to(p.loc.dtype), p, q)


@register_kl(HypersphericalUniform, VonMisesFisher)
def _kl_uniform_vmf(p: HypersphericalUniform, q: VonMisesFisher) -> Tensor:
    m = _same_dimension(p, q)
    return _batch(log_normalized_iv(m, q.concentration).to(q.loc.dtype), p, q)


@register_kl(HypersphericalUniform, HypersphericalUniform)
def _kl_uniform_uniform(p: HypersphericalUniform, q: HypersphericalUniform) -> Tensor:
    _same_dimension(p, q)
    shape = torch.broadcast_shapes(p.batch_shape, q.batch_shape)
    return torch.zeros(shape, dtype=p.dtype, device=p.device)


@register_kl(VonMisesFisher, VonMisesFisher)
def _kl_vmf_vmf(p: VonMisesFisher, q: VonMisesFisher) -> Tensor:
    m = _same_dimension(p, q)
    k1 = p.concentration.to(torch.float64)
    k2 = q.concentration.to(torch.float64)
    a1 = mean_resultant_length(m, k1)
    direction = half_squared_distance(p.loc, q.loc).to(torch.float64)
    kl = log_normalized_iv(m, k2) - log_normalized_iv(m, k1) - (k2 - k1) * a1 + k2 * a1 * direction
    return kl.to(torch.promote_types(p.loc.dtype, q.loc.dtype))
