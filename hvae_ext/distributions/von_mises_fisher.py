"""The von Mises-Fisher distribution on the unit sphere S^{m-1} of R^m."""

from __future__ import annotations

import numbers
from typing import Optional, Union

import torch
from torch import Tensor
from torch.distributions import Distribution

from .._ops.vmf import vmf_rsample
from . import constraints as sphere_constraints
from ._normalizer import (
    _entropy_op,
    _log_normalizer_op,
    coordinate_variance_terms,
    mean_resultant_length,
)

__all__ = ["VonMisesFisher"]

_DTYPES = (torch.float32, torch.float64)


def half_squared_distance(x: Tensor, y: Tensor) -> Tensor:
    """|x - y|^2 / 2 over the last dimension: 1 - x^T y for unit vectors, with
    full relative accuracy when x ~ y (the dot product loses it all: at
    kappa = 1e6, 1 - mu^T z ~ 1e-6 is below float32's resolution of mu^T z
    near 1), and off the sphere only second order in |x| - 1, |y| - 1."""
    d = x - y
    return 0.5 * (d * d).sum(-1)


class VonMisesFisher(Distribution):
    r"""von Mises-Fisher distribution on the unit sphere S^{m-1} of R^m:

    .. math::
        p(z) = C_m(\kappa) \exp(\kappa \mu^T z), \quad
        C_m(\kappa) = \frac{\kappa^{m/2-1}}{(2\pi)^{m/2} I_{m/2-1}(\kappa)}

    with respect to the surface measure of S^{m-1}; m >= 2 is the ambient
    dimension (``loc.shape[-1]``), so m = 3 is the usual sphere in R^3.
    ``concentration = 0`` is the uniform distribution.

    Args:
        loc: mean direction mu, shape ``[..., m]``, unit norm along the last
            dimension.
        concentration: kappa >= 0 (finite), a tensor broadcastable with
            ``loc[..., 0]`` or a number.
        validate_args: check the arguments (unit-norm ``loc``, finite
            ``concentration >= 0``) and the values passed to ``log_prob``, as
            torch.distributions does (default: ``Distribution._validate_args``).

    ``batch_shape`` is the broadcast of ``loc.shape[:-1]`` and
    ``concentration.shape``; ``event_shape`` is ``(m,)``. float32 and float64
    are supported; results keep the dtype and device of ``loc``.

    Numerics (see docs/distributions.md): densities are evaluated in the
    scaled form ``log p(z) = [log C + kappa] - kappa |z - mu|^2 / 2``
    (``|z - mu|^2/2 = 1 - mu^T z`` on the sphere), which stays accurate for
    kappa up to 1e6 and beyond in float32; functions of kappa alone (log C,
    A_m = I_{m/2}/I_{m/2-1}, entropy, KLs) are computed in float64 through
    ``hvae_ext.log_iv``/``iv_ratio`` and a power series for small kappa, with
    the derivative of log C taken as -A_m. Off the sphere, the gradient of
    ``log_prob`` with respect to ``loc`` differs from that of the dot-product
    form by a multiple of ``loc`` (normal to the sphere); parameterize ``loc``
    as ``F.normalize(h, dim=-1)`` as usual.

    Sampling (``rsample``) uses ``hvae_ext`` 's vMF sampler: Wood's (1994)
    rejection sampler in a stable form, with unbiased reparameterized
    gradients with respect to ``loc`` and ``concentration`` (implicit
    reparameterization, Figurnov, Mohamed & Mnih 2018, "Implicit
    Reparameterization Gradients"). As a VAE posterior with the
    ``HypersphericalUniform`` prior this is the S-VAE of Davidson et al.
    (2018), "Hyperspherical Variational Auto-Encoders".
    """

    arg_constraints = {"loc": sphere_constraints.sphere, "concentration": sphere_constraints.nonnegative_finite}
    support = sphere_constraints.sphere
    has_rsample = True

    def __init__(
        self,
        loc: Tensor,
        concentration: Union[Tensor, float],
        validate_args: Optional[bool] = None,
    ):
        if not isinstance(loc, Tensor):
            raise TypeError(f"VonMisesFisher: loc must be a Tensor, got {type(loc).__name__}")
        if loc.dtype not in _DTYPES:
            raise TypeError(f"VonMisesFisher: loc must be float32 or float64, got {loc.dtype}")
        if loc.dim() < 1 or loc.shape[-1] < 2:
            raise ValueError(
                "VonMisesFisher: loc must have shape [..., m] with m >= 2 (the ambient dimension), "
                f"got shape {tuple(loc.shape)}"
            )
        if isinstance(concentration, numbers.Real) and not isinstance(concentration, bool):
            concentration = torch.tensor(float(concentration), dtype=loc.dtype, device=loc.device)
        elif not isinstance(concentration, Tensor):
            raise TypeError(
                f"VonMisesFisher: concentration must be a Tensor or a real number, got {type(concentration).__name__}"
            )
        if concentration.device != loc.device:
            raise ValueError(
                f"VonMisesFisher: loc and concentration must be on the same device, got {loc.device} and "
                f"{concentration.device}"
            )
        if concentration.dtype != loc.dtype:
            raise TypeError(
                f"VonMisesFisher: concentration must have the dtype of loc ({loc.dtype}), got {concentration.dtype}"
            )
        try:
            batch_shape = torch.broadcast_shapes(loc.shape[:-1], concentration.shape)
        except RuntimeError as e:
            raise ValueError(
                f"VonMisesFisher: loc.shape[:-1] = {tuple(loc.shape[:-1])} and concentration.shape = "
                f"{tuple(concentration.shape)} do not broadcast"
            ) from e
        event_shape = loc.shape[-1:]
        self.loc = loc.expand(batch_shape + event_shape)
        self.concentration = concentration.expand(batch_shape)
        validate = Distribution._validate_args if validate_args is None else validate_args
        if validate:
            self._check_args()
        # The base class would check arg_constraints again with a generic message.
        super().__init__(batch_shape, event_shape, validate_args=False)
        self._validate_args = validate

    def _check_args(self) -> None:
        m = self.loc.shape[-1]
        norm = torch.linalg.vector_norm(self.loc, dim=-1)
        bad = ~sphere_constraints.sphere.check(self.loc)
        if bad.any():
            worst = (norm - 1).abs().masked_fill(~bad, 0).argmax()
            raise ValueError(
                "VonMisesFisher: loc must have unit norm along its last dimension (within "
                f"{sphere_constraints.unit_norm_tolerance(self.loc.dtype, m):.1e}); found a norm of "
                f"{norm.reshape(-1)[worst].item()!r} (normalize it, e.g. torch.nn.functional.normalize(loc, dim=-1))"
            )
        k = self.concentration
        bad = ~sphere_constraints.nonnegative_finite.check(k)
        if bad.any():
            raise ValueError(
                "VonMisesFisher: concentration must be finite and >= 0; found "
                f"{k.reshape(-1)[bad.reshape(-1)][0].item()!r}"
            )

    @property
    def m(self) -> int:
        """The ambient dimension (samples lie on S^{m-1} in R^m)."""
        return self.event_shape[0]

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(VonMisesFisher, _instance)
        batch_shape = torch.Size(batch_shape)
        new.loc = self.loc.expand(batch_shape + self.event_shape)
        new.concentration = self.concentration.expand(batch_shape)
        super(VonMisesFisher, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    # --- sampling ---------------------------------------------------------

    def rsample(self, sample_shape=torch.Size(), generator: Optional[torch.Generator] = None) -> Tensor:
        """Reparameterized samples of shape ``sample_shape + batch_shape + (m,)``,
        drawn in one call of the sampler op (no Python loop over samples).
        ``generator`` (an extension of the torch.distributions signature) is
        the torch.Generator of loc's device to draw from."""
        shape = self._extended_shape(sample_shape)
        n = shape[:-1].numel()
        loc = self.loc.expand(shape).reshape(n, self.m)
        kappa = self.concentration.expand(shape[:-1]).reshape(n)
        return vmf_rsample(loc, kappa, generator=generator).reshape(shape)

    def sample(self, sample_shape=torch.Size(), generator: Optional[torch.Generator] = None) -> Tensor:
        """``rsample`` without gradients, same shape and draws."""
        with torch.no_grad():
            return self.rsample(sample_shape, generator=generator)

    # --- densities and moments --------------------------------------------

    def log_prob(self, value: Tensor) -> Tensor:
        """log p(z) = log C_m(kappa) + kappa mu^T z, for ``value`` [..., m] on
        the sphere (broadcast with batch_shape); returns [...]. Evaluated as
        [log C + kappa] - kappa |z - mu|^2 / 2."""
        if self._validate_args:
            self._validate_sample(value)
        log_c_scaled = _log_normalizer_op(self.concentration, self.m, True)
        return log_c_scaled - self.concentration * half_squared_distance(value, self.loc)

    def entropy(self) -> Tensor:
        """H = -log C_m(kappa) - kappa A_m(kappa), shape batch_shape."""
        # H = log|S^{m-1}| - KL(vMF || U), KL = kappa A - log S_v(kappa): one op.
        return _entropy_op(self.concentration, self.m)

    @property
    def mean(self) -> Tensor:
        """E[z] = A_m(kappa) mu, A_m = I_{m/2}(kappa) / I_{m/2-1}(kappa)."""
        return mean_resultant_length(self.m, self.concentration).unsqueeze(-1) * self.loc

    @property
    def variance(self) -> Tensor:
        """Per-coordinate variance, the diagonal of
        Cov z = (A/kappa) (I - mu mu^T) + A'(kappa) mu mu^T
        (differentiable w.r.t. loc and, through A/kappa, kappa; not through A')."""
        a_over_kappa, a_prime = coordinate_variance_terms(self.m, self.concentration)
        mu2 = (self.loc * self.loc).to(torch.float64)
        var = a_over_kappa.unsqueeze(-1) * (1 - mu2) + a_prime.unsqueeze(-1) * mu2
        return var.to(self.loc.dtype)

    @property
    def mode(self) -> Tensor:
        """mu (for kappa = 0 every point of the sphere is a mode; mu is returned)."""
        return self.loc

    @property
    def mean_resultant_length(self) -> Tensor:
        """A_m(kappa) = E[mu^T z], shape batch_shape."""
        return mean_resultant_length(self.m, self.concentration)
