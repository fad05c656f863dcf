"""Argument and sample validation of the hyperspherical distributions, without
host syncs where a sync costs something.

Two paths:

* eager CPU: one fused check (a few reductions read back together, one
  ``.tolist()``), and on failure the detailed message naming the argument
  and the offending value. Reading a CPU scalar is not a device sync.
* CUDA (or any non-CPU device) and code being compiled by torch.compile:
  ``torch._assert_async`` with a message naming the argument. Nothing waits
  for the device; a failure surfaces at the next synchronisation (on CUDA as
  a device-side assert), and a compiled graph keeps the check without a
  graph break.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor

from .constraints import unit_norm_tolerance

__all__ = ["host_checks", "loc_tolerance", "check_vmf_args", "check_on_sphere", "check_value_shape"]


# CUDA's _assert_async copies its message into the kernel's arguments, at most
# 255 characters.
_MAX_ASYNC_MESSAGE = 250


def _assert_async(condition: Tensor, message: str) -> None:
    torch._assert_async(condition, message[:_MAX_ASYNC_MESSAGE])


def _squared_norm(x: Tensor) -> Tensor:
    """|x|^2 along the last dimension in x's dtype, one fused dot product.
    Inside an autocast region vecdot would run in float16/bfloat16 (a
    matmul-like op), whose rounding (~2^-8) is far above the tolerances."""
    if torch.is_autocast_enabled(x.device.type):
        with torch.autocast(x.device.type, enabled=False):
            return torch.linalg.vecdot(x, x)
    return torch.linalg.vecdot(x, x)


def host_checks(t: Tensor) -> bool:
    """Whether validating `t` may read values back to the host: eager CPU
    only (a meta or fake tensor has no values; CUDA would sync; a compiled
    graph would break)."""
    return t.device.type == "cpu" and not torch.compiler.is_compiling()


def loc_tolerance(dtype: torch.dtype, m: int, given_dtype: Optional[torch.dtype] = None) -> float:
    """The unit-norm tolerance of a loc computed in `dtype` that was given in
    `given_dtype`: float16/bfloat16 unit vectors are unit only to their
    rounding, |x| - 1 up to ~eps/2 (2^-9 in bfloat16), so they get 2 eps of
    their own dtype (still far below what an unnormalized vector is off by)."""
    tol = unit_norm_tolerance(dtype, m)
    if given_dtype is not None and given_dtype != dtype:
        tol = max(tol, 2.0 * torch.finfo(given_dtype).eps)
    return tol


def _loc_message(tol: float, owner: str = "VonMisesFisher") -> str:
    return f"{owner}: loc must have unit norm along its last dimension (within {tol:.1e})"


def _norm_error(x: Tensor, tol: float, owner: str = "VonMisesFisher") -> ValueError:
    """The detailed message: the norm farthest from 1 (NaN first)."""
    norm = torch.linalg.vector_norm(x, dim=-1).reshape(-1)
    dev = (norm - 1).abs()
    worst = int(torch.where(torch.isnan(dev), torch.inf, dev).argmax())
    return ValueError(
        f"{_loc_message(tol, owner)}; found a norm of {norm[worst].item()!r} "
        "(normalize it, e.g. torch.nn.functional.normalize(loc, dim=-1))"
    )


def _concentration_error(k: Tensor, owner: str = "VonMisesFisher", name: str = "concentration") -> ValueError:
    flat = k.reshape(-1)
    bad = ~((flat >= 0) & torch.isfinite(flat))
    return ValueError(f"{owner}: {name} must be finite and >= 0; found {flat[bad][0].item()!r}")


def check_vmf_args(
    loc: Tensor, concentration: Tensor, tol: float, owner: str = "VonMisesFisher", name: str = "concentration"
) -> None:
    """Unit-norm loc [..., m] (within `tol`) and finite concentration >= 0;
    raises ValueError naming the argument (eager CPU) or queues asynchronous
    asserts. `owner` and `name` are the distribution and its concentration
    parameter in the messages (PowerSpherical calls it scale)."""
    # |x| within tol of 1 <=> |x|^2 in [(1 - tol)^2, (1 + tol)^2]: one fused
    # dot product, no square root. NaN fails every comparison.
    sq = _squared_norm(loc)
    lo2, hi2 = (1.0 - tol) ** 2, (1.0 + tol) ** 2
    k = concentration
    if host_checks(loc):
        # the extremes decide; four scalars read back (on the CPU no sync)
        if sq.numel():
            lo, hi = torch.aminmax(sq)
            if not (lo.item() >= lo2 and hi.item() <= hi2):
                raise _norm_error(loc, tol, owner)
        if k.numel():
            lo, hi = torch.aminmax(k)
            if not (lo.item() >= 0 and hi.item() < math.inf):
                raise _concentration_error(k, owner, name)
        return
    if loc.device.type == "meta":
        return
    _assert_async(
        ((sq >= lo2) & (sq <= hi2)).all(),
        f"{_loc_message(tol, owner)} (validate_args; normalize it, e.g. F.normalize(loc, dim=-1))",
    )
    _assert_async(
        ((k >= 0) & (k < math.inf)).all(),
        f"{owner}: {name} must be finite and >= 0 (validate_args)",
    )


def check_value_shape(value: Tensor, batch_shape: torch.Size, event_shape: torch.Size) -> None:
    """The shape rules of torch.distributions' _validate_sample: the value's
    right-most dimensions are the event shape, and the rest broadcasts with
    the batch shape."""
    if not isinstance(value, Tensor):
        raise ValueError("The value argument to log_prob must be a Tensor")
    start = value.dim() - len(event_shape)
    if value.shape[start:] != event_shape:
        raise ValueError(
            f"The right-most size of value must match event_shape: {value.size()} vs {event_shape}."
        )
    expected = batch_shape + event_shape
    for i, j in zip(reversed(value.shape), reversed(expected)):
        if i != 1 and j != 1 and i != j:
            raise ValueError(
                f"Value is not broadcastable with batch_shape+event_shape: {value.size()} vs {expected}."
            )


def check_on_sphere(value: Tensor, owner: str) -> None:
    """Samples passed to log_prob lie on the unit sphere: ValueError naming
    the support (eager CPU) or an asynchronous assert."""
    if value.numel() == 0 or value.device.type == "meta":
        return
    tol = unit_norm_tolerance(value.dtype, value.shape[-1])
    sq = _squared_norm(value)
    lo2, hi2 = (1.0 - tol) ** 2, (1.0 + tol) ** 2
    message = (
        f"Expected value argument ({type(value).__name__} of shape {tuple(value.shape)}) to be within the "
        f"support (Sphere()) of the distribution {owner} (unit norm within {tol:.1e})"
    )
    if host_checks(value):
        lo, hi = torch.aminmax(sq)
        if not (lo.item() >= lo2 and hi.item() <= hi2):
            raise ValueError(message)
        return
    _assert_async(((sq >= lo2) & (sq <= hi2)).all(), message)
