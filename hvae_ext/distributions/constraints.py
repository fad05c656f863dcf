"""Constraints of the hyperspherical distributions (torch.distributions style)."""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.distributions import constraints

__all__ = ["sphere", "nonnegative_finite", "unit_norm_tolerance"]


def unit_norm_tolerance(dtype: torch.dtype, m: int) -> float:
    """How far |x| may be from 1 for x to count as a point of the unit sphere:
    16 eps sqrt(m) (the rounding of a normalized vector of m entries, with
    room), but at least 1e-6, the absolute tolerance of torch's simplex, so
    that float32 data cast to float64 is accepted."""
    return max(1e-6, 16.0 * torch.finfo(dtype).eps * math.sqrt(m))


class _Sphere(constraints.Constraint):
    """The unit sphere S^{m-1} = {x in R^m : |x| = 1}, along the last dimension."""

    event_dim = 1

    def check(self, value: Tensor) -> Tensor:
        tol = unit_norm_tolerance(value.dtype, value.shape[-1])
        return (torch.linalg.vector_norm(value, dim=-1) - 1).abs() <= tol

    def __repr__(self) -> str:
        return "Sphere()"


class _NonnegativeFinite(constraints.Constraint):
    """0 <= x < inf (torch's `nonnegative` lets inf through)."""

    def check(self, value: Tensor) -> Tensor:
        return (value >= 0) & torch.isfinite(value)

    def __repr__(self) -> str:
        return "NonnegativeFinite()"


sphere = _Sphere()
nonnegative_finite = _NonnegativeFinite()
