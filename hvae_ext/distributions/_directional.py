"""What VonMisesFisher and PowerSpherical share: a law on S^{m-1} given by a
mean direction ``loc`` [..., m] and a concentration kappa, invariant under
rotations about ``loc``, sampled by one fused op (the vMF and Power
Spherical samplers share their kernels too, csrc/hvae/kernels/vmf_sample.h).

The subclass names its concentration (``concentration`` for the vMF,
``scale`` for the Power Spherical, after the packages users come from), the
sampler op, and keeps its own ``__init__`` signature and docstring; the
construction, validation, ``expand`` and sampling are here, once.
"""

from __future__ import annotations

import numbers
from typing import Optional

import torch
from torch import Tensor
from torch.distributions import Distribution

from . import constraints as sphere_constraints
from ._validation import check_on_sphere, check_value_shape, check_vmf_args, loc_tolerance

_DTYPES = (torch.float32, torch.float64)
# computed in float32
_LOW_DTYPES = (torch.float16, torch.bfloat16)


def _kappa_tensor(kappa, loc: Tensor, owner: str, name: str) -> Tensor:
    if isinstance(kappa, numbers.Real) and not isinstance(kappa, bool):
        # in the compute dtype: a number is not rounded to float16/bfloat16 first
        dtype = torch.float32 if loc.dtype in _LOW_DTYPES else loc.dtype
        return torch.tensor(float(kappa), dtype=dtype, device=loc.device)
    raise TypeError(f"{owner}: {name} must be a Tensor or a real number, got {type(kappa).__name__}")


def _compute_dtype(loc: Tensor, kappa: Tensor, owner: str, name: str):
    """(loc, kappa) in the dtype the samplers and densities compute in:
    float64 when loc is float64 (then kappa must be too), else float32, with
    float16/bfloat16 cast up (a differentiable cast, so gradients reach
    low-precision parameters in their own dtype)."""
    for arg, t in (("loc", loc), (name, kappa)):
        if t.dtype not in _DTYPES and t.dtype not in _LOW_DTYPES:
            raise TypeError(
                f"{owner}: {arg} must be float32 or float64 (float16 and bfloat16 are computed in "
                f"float32), got {t.dtype}"
            )
    if torch.float64 in (loc.dtype, kappa.dtype) and loc.dtype != kappa.dtype:
        raise TypeError(
            f"{owner}: {name} must have the dtype of loc ({loc.dtype}), got {kappa.dtype} "
            "(float16, bfloat16 and float32 may be mixed: they are computed in float32)"
        )
    if loc.dtype in _LOW_DTYPES:
        loc = loc.float()
    if kappa.dtype in _LOW_DTYPES:
        kappa = kappa.float()
    return loc, kappa


class DirectionalLaw(Distribution):
    """Base of the laws with a mean direction and a concentration (not public).

    Subclasses set ``_kappa_name`` (the attribute and argument name of kappa)
    and ``_sample_op`` (``torch.ops.hvae.<law>_sample.default``: loc [B, m],
    kappa [B], generator, num_samples -> (z [S B, m], theta)), and define
    ``expand`` as ``self._expand_into(self._get_checked_instance(Cls,
    _instance), batch_shape)`` (torch's check that a subclass with its own
    ``__init__`` has its own ``expand``)."""

    _kappa_name: str
    _sample_op = None
    support = sphere_constraints.sphere
    has_rsample = True

    def __init__(self, loc: Tensor, kappa, validate_args: Optional[bool] = None):
        # The common case (tensors of one computable dtype, kappa of loc's
        # batch shape) runs a handful of attribute reads: construction is on
        # every training step's host path.
        owner, name = type(self).__name__, self._kappa_name
        if not isinstance(loc, Tensor):
            raise TypeError(f"{owner}: loc must be a Tensor, got {type(loc).__name__}")
        loc_dtype = loc.dtype
        if loc.dim() < 1 or loc.shape[-1] < 2:
            raise ValueError(
                f"{owner}: loc must have shape [..., m] with m >= 2 (the ambient dimension), "
                f"got shape {tuple(loc.shape)}"
            )
        if not isinstance(kappa, Tensor):
            kappa = _kappa_tensor(kappa, loc, owner, name)
        if kappa.dtype is not loc_dtype or loc_dtype not in _DTYPES:
            loc, kappa = _compute_dtype(loc, kappa, owner, name)
        if kappa.device != loc.device:
            raise ValueError(
                f"{owner}: loc and {name} must be on the same device, got {loc.device} and {kappa.device}"
            )
        event_shape = loc.shape[-1:]
        batch_shape = loc.shape[:-1]
        if kappa.shape != batch_shape:
            batch_shape = self._broadcast_batch(loc, kappa)
            if loc.shape[:-1] != batch_shape:
                loc = loc.expand(batch_shape + event_shape)
            if kappa.shape != batch_shape:
                kappa = kappa.expand(batch_shape)
        self.loc = loc
        setattr(self, name, kappa)
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

    def _broadcast_batch(self, loc: Tensor, kappa: Tensor) -> torch.Size:
        """broadcast(loc.shape[:-1], kappa.shape), or ValueError."""
        try:
            return torch.broadcast_shapes(loc.shape[:-1], kappa.shape)
        except RuntimeError as e:
            raise ValueError(
                f"{type(self).__name__}: loc.shape[:-1] = {tuple(loc.shape[:-1])} and {self._kappa_name}.shape = "
                f"{tuple(kappa.shape)} do not broadcast"
            ) from e

    @property
    def _kappa(self) -> Tensor:
        return getattr(self, self._kappa_name)

    def _check_args(self) -> None:
        """Unit-norm loc, finite kappa >= 0: ValueError naming the argument and
        the value on CPU; an asynchronous assert (no host sync) on CUDA and
        under torch.compile (see _validation.py)."""
        tol = loc_tolerance(self.loc.dtype, self.loc.shape[-1], self._sample_dtype)
        check_vmf_args(self.loc, self._kappa, tol, type(self).__name__, self._kappa_name)

    def _validate_sample(self, value: Tensor) -> None:
        # torch's version reads the support check back to the host (a sync on
        # CUDA, a graph break when compiled); this one queues an async assert there.
        check_value_shape(value, self._batch_shape, self._event_shape)
        check_on_sphere(value, type(self).__name__)

    @property
    def m(self) -> int:
        """The ambient dimension (samples lie on S^{m-1} in R^m)."""
        return self._event_shape[0]

    def _expand_into(self, new: "DirectionalLaw", batch_shape) -> "DirectionalLaw":
        batch_shape = torch.Size(batch_shape)
        new.loc = self.loc.expand(batch_shape + self.event_shape)
        setattr(new, self._kappa_name, self._kappa.expand(batch_shape))
        new._sample_dtype = self._sample_dtype
        new._batch_shape = batch_shape
        new._event_shape = self._event_shape
        new._validate_args = self._validate_args
        return new

    def rsample(self, sample_shape=torch.Size(), generator: Optional[torch.Generator] = None) -> Tensor:
        """Reparameterized samples of shape ``sample_shape + batch_shape + (m,)``,
        drawn in one call of the law's sampler op (no Python loop over samples).
        ``generator`` (an extension of the torch.distributions signature) is
        the torch.Generator of loc's device to draw from.

        S samples of each of the B batch entries come from one call without
        copies of loc or kappa per sample: row s B + b is sample s of entry b,
        the order (and so the draws) of loc expanded to ``shape`` and flattened.

        dtype: loc's (float32 or float64). For float16/bfloat16 parameters the
        sampler runs in float32, and the samples are rounded to loc's dtype
        outside autocast and stay float32 inside an autocast region (like
        torch's float32 ops there)."""
        loc, kappa = self.loc, self._kappa
        if not sample_shape and loc.dim() == 2:
            # batch [B]: the op's own shapes, nothing to expand or reshape
            z = self._sample_op(loc, kappa, generator)[0]
        else:
            shape = self._extended_shape(sample_shape)
            num_samples = torch.Size(sample_shape).numel()
            z = self._sample_op(loc.reshape(-1, self.m), kappa.reshape(-1), generator, num_samples)[0].view(shape)
        if self._sample_dtype is not None and not torch.is_autocast_enabled(z.device.type):
            z = z.to(self._sample_dtype)
        return z

    def sample(self, sample_shape=torch.Size(), generator: Optional[torch.Generator] = None) -> Tensor:
        """``rsample`` without gradients, same shape and draws."""
        with torch.no_grad():
            return self.rsample(sample_shape, generator=generator)
