"""The von Mises-Fisher distribution on the unit sphere S^{m-1} of R^m."""

from __future__ import annotations

import warnings
from typing import Optional, Union

import torch
from torch import Tensor

from .. import _ops  # noqa: F401  (registers torch.ops.hvae)
from . import constraints as sphere_constraints
from ._directional import DirectionalLaw
from ._normalizer import (
    _entropy_op,
    _log_normalizer_op,
    coordinate_variance_terms,
    mean_resultant_length,
)

__all__ = ["VonMisesFisher"]

_warned_trailing_one = False


def _broadcast_batch(loc: Tensor, concentration: Tensor) -> torch.Size:
    """broadcast(loc.shape[:-1], concentration.shape), with a warning (once)
    for s-vae-pytorch's [B, 1] concentration, which crosses every
    concentration with every mean."""
    global _warned_trailing_one
    try:
        batch_shape = torch.broadcast_shapes(loc.shape[:-1], concentration.shape)
    except RuntimeError as e:
        raise ValueError(
            f"VonMisesFisher: loc.shape[:-1] = {tuple(loc.shape[:-1])} and concentration.shape = "
            f"{tuple(concentration.shape)} do not broadcast"
        ) from e
    k = concentration.shape
    if (not _warned_trailing_one and len(k) >= 2 and k[-1] == 1 and loc.dim() >= 2 and loc.shape[-2] > 1
            and k[-2] == loc.shape[-2]):
        _warned_trailing_one = True
        warnings.warn(
            f"VonMisesFisher: concentration of shape {tuple(k)} against loc of shape {tuple(loc.shape)} "
            f"broadcasts to the batch shape {tuple(batch_shape)}: its trailing size-1 dimension pairs every "
            "concentration with every mean. For one concentration per mean, pass concentration.squeeze(-1) "
            "(shape loc.shape[:-1]), or use hvae_ext.compat.svae.VonMisesFisher(loc, scale), which takes "
            "s-vae-pytorch's [..., 1] scale. (This warning is shown once.)",
            UserWarning,
            stacklevel=5,  # here, the method, DirectionalLaw.__init__, VonMisesFisher.__init__, the caller
        )
    return batch_shape


def half_squared_distance(x: Tensor, y: Tensor) -> Tensor:
    """|x - y|^2 / 2 over the last dimension: 1 - x^T y for unit vectors, with
    full relative accuracy when x ~ y (the dot product loses it all: at
    kappa = 1e6, 1 - mu^T z ~ 1e-6 is below float32's resolution of mu^T z
    near 1), and off the sphere only second order in |x| - 1, |y| - 1."""
    d = x - y
    return 0.5 * (d * d).sum(-1)


class VonMisesFisher(DirectionalLaw):
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
            On CPU a bad value raises ValueError at once; on CUDA and under
            torch.compile the checks are asynchronous asserts (no host sync)
            that fail at the next synchronisation, naming the argument.

    ``batch_shape`` is the broadcast of ``loc.shape[:-1]`` and
    ``concentration.shape`` (a ``[B, 1]`` concentration against ``loc``
    ``[B, m]`` gives ``[B, B]``, with a warning); ``event_shape`` is ``(m,)``.
    dtypes: float32 and float64 are computed as given; float16/bfloat16
    parameters in float32 (``loc`` renormalized there), with densities in
    float32 and samples in ``loc``'s dtype outside autocast, float32 inside a
    ``torch.autocast`` region. Results keep the device of ``loc``.

    Numerics (see docs/distributions.md): densities are evaluated in the
    scaled form ``log p(z) = [log C + kappa] - kappa |z - mu|^2 / 2``
    (``|z - mu|^2/2 = 1 - mu^T z`` on the sphere), which stays accurate for
    kappa up to 1e6 and beyond in float32; functions of kappa alone (log C,
    entropy, KLs) are fused ops (``torch.ops.hvae.vmf_log_normalizer``,
    ``vmf_entropy``, ``vmf_kl_uniform``, ``vmf_kl_vmf``) that compute in
    double inside the kernel (log I_v and a power series for small kappa) and
    round once, with the derivative of log C taken as -A_m. Off the sphere, the gradient of
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
    _kappa_name = "concentration"
    # The sampler op itself (autograd in C++): one Python call less than
    # _ops.vmf.vmf_rsample on every step.
    _sample_op = torch.ops.hvae.vmf_sample.default

    def __init__(
        self,
        loc: Tensor,
        concentration: Union[Tensor, float],
        validate_args: Optional[bool] = None,
    ):
        # Construction, validation, expand and sampling: _directional.py.
        super().__init__(loc, concentration, validate_args)

    def _broadcast_batch(self, loc: Tensor, kappa: Tensor) -> torch.Size:
        return _broadcast_batch(loc, kappa)

    def expand(self, batch_shape, _instance=None):
        return self._expand_into(self._get_checked_instance(VonMisesFisher, _instance), batch_shape)

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
