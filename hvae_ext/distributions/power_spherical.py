"""The Power Spherical distribution on the unit sphere S^{m-1} of R^m
(De Cao & Aziz 2020, "The Power Spherical distribution")."""

from __future__ import annotations

from typing import Optional, Union

import torch
from torch import Tensor

from .. import _ops  # noqa: F401  (registers torch.ops.hvae)
from . import constraints as sphere_constraints
from ._directional import DirectionalLaw
from ._power_spherical_normalizer import _ps_entropy_op, _ps_log_normalizer_op

__all__ = ["PowerSpherical", "log_half_one_plus_cos"]


def log_half_one_plus_cos(z: Tensor, mu: Tensor) -> Tensor:
    """log((1 + mu^T z) / 2) over the last dimension, for unit vectors, with
    full accuracy at both ends:

    * near z = mu, as log1p(-d/2) with d = |z - mu|^2 / 2 = 1 - mu^T z
      (relative accuracy of the small d: at kappa = 1e6 the density's
      kappa log(...) needs it, which the dot product near 1 loses in float32);
    * near z = -mu, as log(s/2) with s = |z + mu|^2 / 2 = 1 + mu^T z
      (the dot product gives s no relative accuracy there; this tends to
      -inf at the antipode, as it should).

    Off the sphere both differ from the dot-product form only at second order
    in |z| - 1, |mu| - 1."""
    diff = z - mu
    total = z + mu
    d = 0.5 * (diff * diff).sum(-1)
    s = 0.5 * (total * total).sum(-1)
    near = d <= s
    # The clamp keeps the unselected branch finite, so that its zero gradient
    # stays zero (0 * inf would be NaN).
    return torch.where(near, torch.log1p(-0.5 * d.clamp(max=1.0)), torch.log(0.5 * s))


class PowerSpherical(DirectionalLaw):
    r"""Power Spherical distribution on the unit sphere S^{m-1} of R^m:

    .. math::
        p(z) = \frac{(1 + \mu^T z)^\kappa}{C_m(\kappa)}, \quad
        C_m(\kappa) = 2^{\alpha+\beta} \pi^\beta
            \frac{\Gamma(\alpha)}{\Gamma(\alpha+\beta)},
        \quad \alpha = \tfrac{m-1}{2} + \kappa, \ \beta = \tfrac{m-1}{2},

    with respect to the surface measure of S^{m-1} (De Cao & Aziz 2020); m >= 2
    is the ambient dimension (``loc.shape[-1]``). t = mu^T z has the law of
    2 B - 1, B ~ Beta(alpha, beta), and the direction orthogonal to mu is
    uniform. ``scale = 0`` is the uniform distribution.

    Args:
        loc: mean direction mu, shape ``[..., m]``, unit norm along the last
            dimension.
        scale: kappa >= 0 (finite), a tensor broadcastable with ``loc[..., 0]``
            or a number (the name of the ``power_spherical`` package).
        validate_args: check the arguments (unit-norm ``loc``, finite
            ``scale >= 0``) and the values passed to ``log_prob``, as
            VonMisesFisher does: ValueError at once on CPU, asynchronous
            asserts (no host sync) on CUDA and under torch.compile.

    ``batch_shape`` is the broadcast of ``loc.shape[:-1]`` and ``scale.shape``;
    ``event_shape`` is ``(m,)``. dtypes as VonMisesFisher: float32 and float64
    computed as given; float16/bfloat16 parameters in float32 (``loc``
    renormalized there), densities in float32, samples in ``loc``'s dtype
    outside autocast and float32 inside.

    Numerics (docs/power_spherical.md): ``log_prob`` is
    ``kappa log((1 + mu^T z)/2) - [log C - kappa log 2]``, with the log term
    accurate near z = mu and near z = -mu (``log_half_one_plus_cos``) and the
    bracket O(m log kappa), computed in double inside a fused op; the entropy
    and KL to ``HypersphericalUniform`` are fused ops too, accurate to ~1e-14
    relative in float64 for m up to 1e4 and kappa up to 1e6 (the KL to full
    relative precision as kappa -> 0).

    Sampling (``rsample``) is hvae_ext's fused Power Spherical sampler: t from
    the Beta law, a uniform tangent direction and the Householder rotation to
    mu, with reparameterized gradients for loc and kappa.
    """

    arg_constraints = {"loc": sphere_constraints.sphere, "scale": sphere_constraints.nonnegative_finite}
    _kappa_name = "scale"
    # The sampler op itself (hvae_ext._ops.power_spherical; autograd in C++):
    # one Python call less than power_spherical_rsample on every step.
    _sample_op = torch.ops.hvae.power_spherical_sample.default

    def __init__(self, loc: Tensor, scale: Union[Tensor, float], validate_args: Optional[bool] = None):
        # Construction, validation, expand and sampling: _directional.py.
        super().__init__(loc, scale, validate_args)

    @property
    def concentration(self) -> Tensor:
        """kappa (``scale``), the name VonMisesFisher uses."""
        return self.scale

    def expand(self, batch_shape, _instance=None):
        return self._expand_into(self._get_checked_instance(PowerSpherical, _instance), batch_shape)

    # --- densities and moments --------------------------------------------

    def log_prob(self, value: Tensor) -> Tensor:
        """log p(z) = kappa log1p(mu^T z) - log C, for ``value`` [..., m] on the
        sphere (broadcast with batch_shape); returns [...]. Evaluated as
        kappa log((1 + mu^T z)/2) - [log C - kappa log 2], both parts accurate
        (see ``log_half_one_plus_cos``); kappa = 0 gives -log|S^{m-1}|
        everywhere, the antipode included."""
        if self._validate_args:
            self._validate_sample(value)
        kappa = self.scale
        log_c_scaled = _ps_log_normalizer_op(kappa, self.m, True)
        log_t = log_half_one_plus_cos(value, self.loc)
        # 0 * log(0) at the antipode of the uniform law (kappa = 0) is 0, not NaN.
        term = torch.where(kappa == 0, 0.0, kappa * log_t)
        return term - log_c_scaled

    def entropy(self) -> Tensor:
        """H = (m-1) log 2 + beta log pi - [lgamma(alpha+beta) - lgamma(alpha)]
        + kappa [psi(alpha+beta) - psi(alpha)], shape batch_shape (one fused op)."""
        return _ps_entropy_op(self.scale, self.m)

    def _t_moments(self):
        """(E[t], Var(t), (1 - E[t^2])/(m-1)) of t = mu^T z, t = 2B - 1 with
        B ~ Beta(alpha, beta), n = alpha + beta = kappa + m - 1:
        E[t] = kappa/n, Var(t) = 4 alpha beta/(n^2 (n+1)),
        E[1 - t^2]/(m-1) = 2 alpha/(n (n+1)); all sums of positive terms."""
        kappa = self.scale
        beta = 0.5 * (self.m - 1)
        alpha = kappa + beta
        n = kappa + (self.m - 1)
        mean_t = kappa / n
        var_t = 4.0 * alpha * beta / (n * n * (n + 1.0))
        perp = 2.0 * alpha / (n * (n + 1.0))
        return mean_t, var_t, perp

    @property
    def mean(self) -> Tensor:
        """E[z] = E[t] mu, E[t] = kappa / (kappa + m - 1)."""
        return self._t_moments()[0].unsqueeze(-1) * self.loc

    @property
    def variance(self) -> Tensor:
        """Per-coordinate variance, the diagonal of
        Cov z = Var(t) mu mu^T + E[1 - t^2]/(m-1) (I - mu mu^T)
        (as VonMisesFisher.variance; the full matrix is
        ``var_t mu mu^T + perp (I - mu mu^T)`` with the terms of this formula).
        At kappa = 0: 1/m."""
        _, var_t, perp = self._t_moments()
        mu2 = self.loc * self.loc
        return perp.unsqueeze(-1) * (1 - mu2) + var_t.unsqueeze(-1) * mu2

    @property
    def mode(self) -> Tensor:
        """mu (for kappa = 0 every point of the sphere is a mode; mu is returned)."""
        return self.loc

    @property
    def mean_resultant_length(self) -> Tensor:
        """E[mu^T z] = kappa / (kappa + m - 1), shape batch_shape."""
        return self._t_moments()[0]
