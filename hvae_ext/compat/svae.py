"""s-vae-pytorch's distributions, backed by hvae_ext: change one import line.

    from hyperspherical_vae.distributions import VonMisesFisher, HypersphericalUniform
    # becomes
    from hvae_ext.compat.svae import VonMisesFisher, HypersphericalUniform

and nothing else in the model changes. The argument conventions are
s-vae-pytorch's (Davidson et al. 2018):

* ``VonMisesFisher(loc, scale, validate_args=None, k=1)``: ``loc`` [..., m]
  unit vectors, ``scale`` the concentration kappa with a trailing size-1
  dimension, [..., 1] (s-vae-pytorch's encoder emits ``z_var`` [B, 1]);
  ``k`` (the number of proposals per round of s-vae-pytorch's rejection
  loop) is accepted and ignored: hvae_ext's sampler is exact in one kernel.
* ``HypersphericalUniform(dim, validate_args=None, device="cpu")``: ``dim``
  is the MANIFOLD dimension m - 1 (``dim=2`` samples in R^3).

Shapes, as s-vae-pytorch returns them, for loc [B, m] and scale [B, 1]:
``rsample(shape)`` / ``sample(shape)`` -> ``shape + [B, m]`` (an int or a
torch.Size), ``log_prob(x [..., B, m])`` -> ``[..., B]``, ``entropy()`` ->
``[B]``, ``kl_divergence(q, p)`` -> ``[B]``; ``scale`` and ``stddev`` are
[B, 1], ``mean`` [B, m].

What differs from s-vae-pytorch is only the quality of the numbers: the law
of the samples is exact, the kappa gradient is unbiased (implicit
reparameterization instead of the gradient at a fixed accepted proposal),
nothing syncs with the host, and the densities stay finite and accurate for
large m and kappa (docs/dropin.md has the table). Both classes are
subclasses of the native ones, so everything registered for those (the KLs)
applies, and ``isinstance(q, hvae_ext.VonMisesFisher)`` holds.
"""

from __future__ import annotations

import numbers
from typing import Optional, Union

import torch
from torch import Tensor

from ..distributions import HypersphericalUniform as _NativeUniform
from ..distributions import VonMisesFisher as _NativeVonMisesFisher

__all__ = ["VonMisesFisher", "HypersphericalUniform"]

Shape = Union[int, torch.Size, tuple, list]


def _sample_shape(shape: Shape) -> torch.Size:
    """s-vae-pytorch's rsample/sample take an int or a torch.Size."""
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        return torch.Size([int(shape)])
    return torch.Size(shape)


class VonMisesFisher(_NativeVonMisesFisher):
    """s-vae-pytorch's ``VonMisesFisher(loc, scale)``: kappa = ``scale`` of
    shape ``[..., 1]``; batch shape ``loc.shape[:-1]`` (the native class's
    ``concentration`` is ``scale[..., 0]``). See the module docstring."""

    def __init__(self, loc: Tensor, scale: Union[Tensor, float], validate_args: Optional[bool] = None, k: int = 1):
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise ValueError(f"VonMisesFisher: k (proposals per rejection round) must be an integer >= 1, got {k!r}")
        if isinstance(scale, Tensor):
            if scale.dim() == 0 or scale.shape[-1] != 1:
                raise ValueError(
                    "VonMisesFisher (s-vae-pytorch API): scale must have a trailing dimension of size 1, "
                    f"[..., 1], got shape {tuple(scale.shape)} (for a concentration of the batch shape, use "
                    "hvae_ext.VonMisesFisher(loc, concentration))"
                )
            scale = scale.squeeze(-1)
        self.k = int(k)
        super().__init__(loc, scale, validate_args=validate_args)

    @property
    def scale(self) -> Tensor:
        """kappa, shape ``batch_shape + (1,)``."""
        return self.concentration.unsqueeze(-1)

    @property
    def stddev(self) -> Tensor:
        """``scale``, as s-vae-pytorch defines it (not a standard deviation)."""
        return self.scale

    @property
    def dtype(self) -> torch.dtype:
        return self.loc.dtype

    @property
    def device(self) -> torch.device:
        return self.loc.device

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(VonMisesFisher, _instance)
        new.k = self.k
        return super().expand(batch_shape, _instance=new)

    def rsample(self, shape: Shape = torch.Size(), generator: Optional[torch.Generator] = None) -> Tensor:
        """Reparameterized samples, ``shape + batch_shape + (m,)``."""
        return super().rsample(_sample_shape(shape), generator=generator)

    def sample(self, shape: Shape = torch.Size(), generator: Optional[torch.Generator] = None) -> Tensor:
        """``rsample`` without gradients."""
        return super().sample(_sample_shape(shape), generator=generator)


class HypersphericalUniform(_NativeUniform):
    """s-vae-pytorch's ``HypersphericalUniform(dim)``: uniform on S^dim, the
    sphere of R^(dim + 1) (``dim`` is the manifold dimension m - 1; the native
    class takes m). ``dim`` returns m - 1 as there; batch shape ``()``,
    event shape ``(m,)``; samples and densities in the default dtype on
    ``device``. See the module docstring."""

    def __init__(self, dim: int, validate_args: Optional[bool] = None, device: Union[str, torch.device] = "cpu"):
        if isinstance(dim, bool) or not isinstance(dim, numbers.Integral) or dim < 1:
            raise ValueError(
                "HypersphericalUniform (s-vae-pytorch API): dim (the manifold dimension m - 1; samples in "
                f"R^(dim + 1)) must be an integer >= 1, got {dim!r}"
            )
        super().__init__(int(dim) + 1, device=device, validate_args=validate_args)

    @property
    def dim(self) -> int:
        """m - 1, the manifold dimension (samples have dim + 1 coordinates)."""
        return self._dim - 1

    @property
    def device(self) -> torch.device:
        return self._device

    @device.setter
    def device(self, value: Union[str, torch.device]) -> None:
        self._device = torch.device(value)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(HypersphericalUniform, _instance)
        return super().expand(batch_shape, _instance=new)

    def rsample(self, shape: Shape = torch.Size(), generator: Optional[torch.Generator] = None) -> Tensor:
        """Uniform samples, ``shape + (dim + 1,)``."""
        return super().rsample(_sample_shape(shape), generator=generator)

    def sample(self, shape: Shape = torch.Size(), generator: Optional[torch.Generator] = None) -> Tensor:
        """``rsample`` without gradients."""
        return super().sample(_sample_shape(shape), generator=generator)
