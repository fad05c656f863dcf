"""The uniform distribution on the unit sphere S^{m-1} of R^m."""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor
from torch.distributions import Distribution

from . import constraints as sphere_constraints
from ._normalizer import log_sphere_area
from ._validation import check_on_sphere, check_value_shape

__all__ = ["HypersphericalUniform"]


class HypersphericalUniform(Distribution):
    r"""Uniform distribution on the unit sphere S^{m-1} = {z in R^m : |z| = 1},
    density 1/|S^{m-1}| = Gamma(m/2) / (2 pi^{m/2}) with respect to the
    surface measure.

    Args:
        dim: m, the AMBIENT dimension (samples have m coordinates), >= 2, the
            same m as ``VonMisesFisher``'s ``loc.shape[-1]``.
            Note: s-vae-pytorch's ``HypersphericalUniform(dim)`` takes the
            manifold dimension m - 1 instead (its ``dim=2`` samples in R^3);
            here ``HypersphericalUniform(3)`` samples in R^3.
        batch_shape: optional batch shape (default ``()``).
        device, dtype: of samples and densities (default: CPU, the default
            float dtype).
        validate_args: check values passed to ``log_prob`` (on the sphere).

    ``sample`` normalizes standard normal vectors; ``rsample`` is the same
    draw (the law has no parameters to differentiate).
    """

    arg_constraints = {}
    support = sphere_constraints.sphere
    has_rsample = True

    def __init__(
        self,
        dim: int,
        batch_shape=torch.Size(),
        device: Optional[torch.device] = None,
        dtype: Optional[torch.dtype] = None,
        validate_args: Optional[bool] = None,
    ):
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 2:
            raise ValueError(
                f"HypersphericalUniform: dim (the ambient dimension m, samples in R^m) must be an integer >= 2, "
                f"got {dim!r}"
            )
        dtype = torch.get_default_dtype() if dtype is None else dtype
        if dtype not in (torch.float32, torch.float64):
            raise TypeError(f"HypersphericalUniform: dtype must be float32 or float64, got {dtype}")
        self._dim = dim
        self._device = torch.device("cpu") if device is None else torch.device(device)
        self._dtype = dtype
        super().__init__(torch.Size(batch_shape), torch.Size([dim]), validate_args=validate_args)

    @property
    def dim(self) -> int:
        """m, the ambient dimension."""
        return self._dim

    @property
    def device(self) -> torch.device:
        """The device of samples and densities."""
        return self._device

    @property
    def dtype(self) -> torch.dtype:
        """The dtype of samples and densities (float32 or float64)."""
        return self._dtype

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(HypersphericalUniform, _instance)
        new._dim, new._device, new._dtype = self._dim, self._device, self._dtype
        super(HypersphericalUniform, new).__init__(torch.Size(batch_shape), self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def rsample(self, sample_shape=torch.Size(), generator: Optional[torch.Generator] = None) -> Tensor:
        """Samples of shape ``sample_shape + batch_shape + (m,)``; ``generator``
        (an extension of the torch.distributions signature) is a torch.Generator
        of this distribution's device."""
        shape = self._extended_shape(sample_shape)
        x = torch.randn(shape, generator=generator, device=self._device, dtype=self._dtype)
        # A zero vector has probability 0 (and float underflow of all m normals
        # is impossible); normalize rescales to the sphere.
        return torch.nn.functional.normalize(x, dim=-1)

    def sample(self, sample_shape=torch.Size(), generator: Optional[torch.Generator] = None) -> Tensor:
        """``rsample`` without gradients, same shape and draws."""
        with torch.no_grad():
            return self.rsample(sample_shape, generator=generator)

    def _log_area(self) -> float:
        return log_sphere_area(self._dim)

    def log_prob(self, value: Tensor) -> Tensor:
        """-log|S^{m-1}| = log Gamma(m/2) - log 2 - (m/2) log pi for every
        ``value`` [..., m]; returns the broadcast of [...] and batch_shape, in
        value's dtype (float32 for float16/bfloat16 values: densities of
        low-precision samples are float32, as for VonMisesFisher)."""
        if self._validate_args:
            self._validate_sample(value)
        shape = torch.broadcast_shapes(value.shape[:-1], self.batch_shape)
        dtype = torch.float32 if value.dtype in (torch.float16, torch.bfloat16) else value.dtype
        return torch.full(shape, -self._log_area(), dtype=dtype, device=value.device)

    def _validate_sample(self, value: Tensor) -> None:
        # torch's version reads the support check back to the host (a sync on
        # CUDA, a graph break when compiled); this one queues an async assert there.
        check_value_shape(value, self._batch_shape, self._event_shape)
        check_on_sphere(value, "HypersphericalUniform")

    def entropy(self) -> Tensor:
        """log|S^{m-1}|, shape batch_shape."""
        return torch.full(self.batch_shape, self._log_area(), dtype=self._dtype, device=self._device)

    @property
    def mean(self) -> Tensor:
        """Zero, shape batch_shape + (m,)."""
        return torch.zeros(self._extended_shape(), dtype=self._dtype, device=self._device)

    @property
    def variance(self) -> Tensor:
        """Per-coordinate variance 1/m (the covariance is I/m)."""
        return torch.full(self._extended_shape(), 1.0 / self._dim, dtype=self._dtype, device=self._device)
