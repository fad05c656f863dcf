"""The von Mises-Fisher distribution on the unit sphere S^{m-1} of R^m."""

from __future__ import annotations

import numbers
import warnings
from typing import Optional, Union

import torch
from torch import Tensor
from torch.distributions import Distribution

from .. import _ops  # noqa: F401  (registers torch.ops.hvae)
from . import constraints as sphere_constraints
from ._validation import check_on_sphere, check_value_shape, check_vmf_args, loc_tolerance
from ._normalizer import (
    _entropy_op,
    _log_normalizer_op,
    coordinate_variance_terms,
    mean_resultant_length,
)

__all__ = ["VonMisesFisher"]

_DTYPES = (torch.float32, torch.float64)
# computed in float32
_LOW_DTYPES = (torch.float16, torch.bfloat16)

# The sampler op itself (autograd in C++): one Python call less than
# _ops.vmf.vmf_rsample on every step.
_sample_op = torch.ops.hvae.vmf_sample.default

_warned_trailing_one = False


def _concentration_tensor(
    concentration, loc: Tensor, owner: str = "VonMisesFisher", name: str = "concentration"
) -> Tensor:
    if isinstance(concentration, numbers.Real) and not isinstance(concentration, bool):
        # in the compute dtype: a number is not rounded to float16/bfloat16 first
        dtype = torch.float32 if loc.dtype in _LOW_DTYPES else loc.dtype
        return torch.tensor(float(concentration), dtype=dtype, device=loc.device)
    raise TypeError(
        f"{owner}: {name} must be a Tensor or a real number, got {type(concentration).__name__}"
    )


def _compute_dtype(loc: Tensor, concentration: Tensor, owner: str = "VonMisesFisher", name: str = "concentration"):
    """(loc, concentration) in the dtype the sampler and densities compute in:
    float64 when loc is float64 (then concentration must be too), else
    float32, with float16/bfloat16 cast up (a differentiable cast, so
    gradients reach low-precision parameters in their own dtype)."""
    for arg, t in (("loc", loc), (name, concentration)):
        if t.dtype not in _DTYPES and t.dtype not in _LOW_DTYPES:
            raise TypeError(
                f"{owner}: {arg} must be float32 or float64 (float16 and bfloat16 are computed in "
                f"float32), got {t.dtype}"
            )
    if torch.float64 in (loc.dtype, concentration.dtype) and loc.dtype != concentration.dtype:
        raise TypeError(
            f"{owner}: {name} must have the dtype of loc ({loc.dtype}), got {concentration.dtype} "
            "(float16, bfloat16 and float32 may be mixed: they are computed in float32)"
        )
    if loc.dtype in _LOW_DTYPES:
        loc = loc.float()
    if concentration.dtype in _LOW_DTYPES:
        concentration = concentration.float()
    return loc, concentration


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
            stacklevel=3,
        )
    return batch_shape


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
    support = sphere_constraints.sphere
    has_rsample = True

    def __init__(
        self,
        loc: Tensor,
        concentration: Union[Tensor, float],
        validate_args: Optional[bool] = None,
    ):
        # The common case (tensors of one computable dtype, concentration of
        # loc's batch shape) runs a handful of attribute reads: construction is
        # on every training step's host path.
        if not isinstance(loc, Tensor):
            raise TypeError(f"VonMisesFisher: loc must be a Tensor, got {type(loc).__name__}")
        loc_dtype = loc.dtype
        if loc.dim() < 1 or loc.shape[-1] < 2:
            raise ValueError(
                "VonMisesFisher: loc must have shape [..., m] with m >= 2 (the ambient dimension), "
                f"got shape {tuple(loc.shape)}"
            )
        if not isinstance(concentration, Tensor):
            concentration = _concentration_tensor(concentration, loc)
        if concentration.dtype is not loc_dtype or loc_dtype not in _DTYPES:
            loc, concentration = _compute_dtype(loc, concentration)
        if concentration.device != loc.device:
            raise ValueError(
                f"VonMisesFisher: loc and concentration must be on the same device, got {loc.device} and "
                f"{concentration.device}"
            )
        event_shape = loc.shape[-1:]
        batch_shape = loc.shape[:-1]
        if concentration.shape != batch_shape:
            batch_shape = _broadcast_batch(loc, concentration)
            if loc.shape[:-1] != batch_shape:
                loc = loc.expand(batch_shape + event_shape)
            if concentration.shape != batch_shape:
                concentration = concentration.expand(batch_shape)
        self.loc = loc
        self.concentration = concentration
        # float16/bfloat16 parameters are computed in float32; outside autocast
        # the samples are rounded back to this dtype (None: loc's own).
        self._sample_dtype = None if loc_dtype in _DTYPES else loc_dtype
        validate = Distribution._validate_args if validate_args is None else validate_args
        if validate:
            self._check_args()
        if self._sample_dtype is not None:
            # A float16/bfloat16 unit vector is unit only to its rounding
            # (|loc| - 1 up to 2^-9 in bfloat16); the float32 computation
            # takes its direction.
            self.loc = torch.nn.functional.normalize(self.loc, dim=-1)
        # Distribution.__init__ with validate_args=False only stores the shapes
        # (its generic constraint check is replaced by _check_args).
        self._batch_shape = batch_shape
        self._event_shape = event_shape
        self._validate_args = validate

    def _check_args(self) -> None:
        """Unit-norm loc, finite concentration >= 0: ValueError naming the
        argument and the value on CPU; an asynchronous assert (no host sync) on
        CUDA and under torch.compile (see _validation.py)."""
        tol = loc_tolerance(self.loc.dtype, self.loc.shape[-1], self._sample_dtype)
        check_vmf_args(self.loc, self.concentration, tol)

    def _validate_sample(self, value: Tensor) -> None:
        # torch's version reads the support check back to the host (a sync on
        # CUDA, a graph break when compiled); this one queues an async assert there.
        check_value_shape(value, self._batch_shape, self._event_shape)
        check_on_sphere(value, "VonMisesFisher")

    @property
    def m(self) -> int:
        """The ambient dimension (samples lie on S^{m-1} in R^m)."""
        return self._event_shape[0]

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(VonMisesFisher, _instance)
        batch_shape = torch.Size(batch_shape)
        new.loc = self.loc.expand(batch_shape + self.event_shape)
        new.concentration = self.concentration.expand(batch_shape)
        new._sample_dtype = self._sample_dtype
        new._batch_shape = batch_shape
        new._event_shape = self._event_shape
        new._validate_args = self._validate_args
        return new

    # --- sampling ---------------------------------------------------------

    def rsample(self, sample_shape=torch.Size(), generator: Optional[torch.Generator] = None) -> Tensor:
        """Reparameterized samples of shape ``sample_shape + batch_shape + (m,)``,
        drawn in one call of the sampler op (no Python loop over samples).
        ``generator`` (an extension of the torch.distributions signature) is
        the torch.Generator of loc's device to draw from.

        S samples of each of the B batch entries come from one call without
        copies of loc or kappa per sample: row s B + b is sample s of entry b,
        the order (and so the draws) of loc expanded to ``shape`` and flattened.

        dtype: loc's (float32 or float64). For float16/bfloat16 parameters the
        sampler runs in float32, and the samples are rounded to loc's dtype
        outside autocast and stay float32 inside an autocast region (like
        torch's float32 ops there)."""
        loc, kappa = self.loc, self.concentration
        if not sample_shape and loc.dim() == 2:
            # batch [B]: the op's own shapes, nothing to expand or reshape
            z = _sample_op(loc, kappa, generator)[0]
        else:
            shape = self._extended_shape(sample_shape)
            num_samples = torch.Size(sample_shape).numel()
            z = _sample_op(loc.reshape(-1, self.m), kappa.reshape(-1), generator, num_samples)[0].view(shape)
        if self._sample_dtype is not None and not torch.is_autocast_enabled(z.device.type):
            z = z.to(self._sample_dtype)
        return z

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
