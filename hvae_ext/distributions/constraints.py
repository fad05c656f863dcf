"""Constraints of the hyperspherical distributions (torch.distributions style)."""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.distributions import constraints

__all__ = ["sphere", "nonnegative_finite", "unit_norm_tolerance"]


def unit_norm_tolerance(dtype: torch.dtype, m: int) -> float:
    """How far |x| may be from 1 for x to count as a point of the unit sphere:
    16 eps sqrt(m) with float32's eps whatever the dtype (the rounding of a
    vector of m entries normalized in float32, with room), so that float32
    data and samples cast to float64 are accepted. Validation catches vectors
    that were never normalized; it is not a precision guarantee."""
    eps = max(torch.finfo(dtype).eps, torch.finfo(torch.float32).eps)
    return 16.0 * eps * math.sqrt(m)


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
