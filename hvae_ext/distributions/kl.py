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
nearby directions). Each KL is one fused op of the hvae library (see
_normalizer.py), computed in double inside the kernel and rounded once; no
float64 copy is made in Python. For KL(vMF || vMF) the direction term
d = |mu1 - mu2|^2 / 2 is an input of the op, computed here in loc's dtype
with ordinary autograd through both locs (an O(batch m) reduction that
autograd handles well; fusing it would make the op a reduction with [..., m]
gradients and broadcasting of both locs, for no gain in accuracy: the op
reads d in the input dtype either way). KL(U || vMF) = log S_v is the same
op at k1 = 0, d = 0.

KL(PowerSpherical(mu, k) || U) = log|S^{m-1}| - H(PS), one fused op as well
(_power_spherical_normalizer.py), accurate to full relative precision as
k -> 0, where it is ~ k^2 [psi'(beta) - psi'(2 beta)] / 2, beta = (m-1)/2.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.distributions import register_kl

from ._normalizer import _kl_uniform_op, _kl_vmf_op
from ._power_spherical_normalizer import _ps_kl_uniform_op
from .hyperspherical_uniform import HypersphericalUniform
from .power_spherical import PowerSpherical
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
    kl = _kl_uniform_op(p.concentration, m)
    return _batch(kl, p, q) if q.batch_shape else kl


@register_kl(HypersphericalUniform, VonMisesFisher)
def _kl_uniform_vmf(p: HypersphericalUniform, q: VonMisesFisher) -> Tensor:
    m = _same_dimension(p, q)
    zero = q.concentration.new_zeros(())
    kl = _kl_vmf_op(zero, q.concentration, zero, m)
    return _batch(kl, p, q) if p.batch_shape else kl


@register_kl(HypersphericalUniform, HypersphericalUniform)
def _kl_uniform_uniform(p: HypersphericalUniform, q: HypersphericalUniform) -> Tensor:
    _same_dimension(p, q)
    shape = torch.broadcast_shapes(p.batch_shape, q.batch_shape)
    return torch.zeros(shape, dtype=p.dtype, device=p.device)


@register_kl(VonMisesFisher, VonMisesFisher)
def _kl_vmf_vmf(p: VonMisesFisher, q: VonMisesFisher) -> Tensor:
    m = _same_dimension(p, q)
    return _kl_vmf_op(p.concentration, q.concentration, half_squared_distance(p.loc, q.loc), m)


@register_kl(PowerSpherical, HypersphericalUniform)
def _kl_power_spherical_uniform(p: PowerSpherical, q: HypersphericalUniform) -> Tensor:
    m = _same_dimension(p, q)
    kl = _ps_kl_uniform_op(p.scale, m)
    return _batch(kl, p, q) if q.batch_shape else kl
