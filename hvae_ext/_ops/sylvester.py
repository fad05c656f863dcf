"""Triangular Sylvester flow ops (torch.ops.hvae.sylvester_triangular & co):
fake kernels and the typed wrappers (autograd: csrc/ops/sylvester_autograd.cpp).

One step, per sample (van den Berg et al. 2018, T-SNF; P the identity or the
reversal of the coordinates, R1 and R2 upper triangular):

    a = R2 P z + b,   z' = z + P^T R1 tanh(a),
    log|det dz'/dz| = sum_i log|1 + R1_ii R2_ii (1 - tanh(a_i)^2)|.

See docs/sylvester.md for the layouts, the backward and the inverse.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence, Union

import torch
from torch import Tensor


Permute = Union[str, Sequence[bool]]

__all__ = [
    "sylvester_triangular",
    "sylvester_triangular_inverse",
    "pack_triu",
    "unpack_triu",
    "triangle_size",
    "flip_schedule",
]


# ---------------------------------------------------------------------------
# Layout helpers
# ---------------------------------------------------------------------------


def triangle_size(dim: int) -> int:
    """T = D (D + 1) / 2, the number of entries of a D x D upper triangle."""
    return dim * (dim + 1) // 2


def _dim_of_triangle(size: int) -> int:
    dim = (math.isqrt(8 * size + 1) - 1) // 2
    if triangle_size(dim) != size:
        raise ValueError(f"{size} is not a triangle size D(D+1)/2")
    return dim


def pack_triu(dense: Tensor) -> Tensor:
    """[..., D, D] -> [..., T]: the upper triangle (diagonal included) in
    torch.triu_indices(D, D) order, i.e. row by row."""
    if dense.dim() < 2 or dense.shape[-1] != dense.shape[-2]:
        raise ValueError(f"pack_triu: expected [..., D, D], got {tuple(dense.shape)}")
    dim = dense.shape[-1]
    rows, cols = torch.triu_indices(dim, dim, device=dense.device)
    return dense[..., rows, cols]


def unpack_triu(packed: Tensor, dim: Optional[int] = None) -> Tensor:
    """[..., T] -> [..., D, D] with zeros below the diagonal (inverse of pack_triu)."""
    size = packed.shape[-1]
    if dim is None:
        dim = _dim_of_triangle(size)
    elif triangle_size(dim) != size:
        raise ValueError(f"unpack_triu: last dim {size} is not D(D+1)/2 for D = {dim}")
    dense = packed.new_zeros(*packed.shape[:-1], dim, dim)
    rows, cols = torch.triu_indices(dim, dim, device=packed.device)
    dense[..., rows, cols] = packed
    return dense


def flip_schedule(permute: Permute, num_flows: int) -> list[bool]:
    """Which steps apply the reversal P: "alternate" (odd steps, as the authors'
    code), "none", "reverse" (every step) or an explicit sequence of K bools."""
    if isinstance(permute, str):
        if permute == "alternate":
            return [k % 2 == 1 for k in range(num_flows)]
        if permute == "none":
            return [False] * num_flows
        if permute == "reverse":
            return [True] * num_flows
        raise ValueError(f"permute must be 'alternate', 'none', 'reverse' or a sequence of bools, got {permute!r}")
    flips = [bool(f) for f in permute]
    if len(flips) != num_flows:
        raise ValueError(f"permute has {len(flips)} entries, expected one per flow step (K = {num_flows})")
    return flips


def _is_packed(name: str, r: Tensor, batch: int, num_flows: int, dim: int, layout: Optional[str]) -> bool:
    """Dense or packed, from the dimension count; a 3-d tensor is packed
    per-sample [B, K, T] when its shape is exactly that, else dense shared
    [K, D, D]. Both readings fit only when B = K = D = 1, where they give the
    same flow (one scalar), so the rule is unambiguous in effect; `layout`
    overrides it."""
    if layout is not None:
        if layout not in ("dense", "packed"):
            raise ValueError(f"layout must be None, 'dense' or 'packed', got {layout!r}")
        return layout == "packed"
    if r.dim() == 4:
        return False
    if r.dim() == 2:
        return True
    if r.dim() == 3:
        if tuple(r.shape) == (batch, num_flows, triangle_size(dim)):
            return True
        if tuple(r.shape) == (num_flows, dim, dim):
            return False
        raise ValueError(
            f"a 3-d {name} must be packed per sample [B, K, T] = {[batch, num_flows, triangle_size(dim)]} "
            f"or dense shared [K, D, D] = {[num_flows, dim, dim]}, got {list(r.shape)} "
            "(K is b.shape[-2], D is z.shape[-1])"
        )
    raise ValueError(
        f"{name} must be [B, K, D, D] or [K, D, D] (dense) or [B, K, T] or [K, T] (packed), got {tuple(r.shape)}"
    )


def _check_factor_shape(name: str, r: Tensor, packed: bool, z: Tensor, batch: int, num_flows: int, dim: int) -> None:
    inner = [num_flows, triangle_size(dim)] if packed else [num_flows, dim, dim]
    if list(r.shape) not in (inner, [batch] + inner):
        kind = "[B, K, T] or [K, T]" if packed else "[B, K, D, D] or [K, D, D]"
        raise ValueError(
            f"{name} has shape {list(r.shape)}, expected {kind} = {[batch] + inner} or {inner} "
            f"({'packed' if packed else 'dense'}; B = {batch}, D = {dim} from z [..., B, D] of shape "
            f"{list(z.shape)}, K = {num_flows} from b)"
        )


def _prepare(z: Tensor, r1: Tensor, r2: Tensor, b: Tensor, permute: Permute, layout: Optional[str]):
    """Checks the shapes (z [..., B, D]: any leading sample dimensions, with
    the parameters of data point b used by every z[..., b, :]) and returns
    (flips, packed)."""
    if z.dim() < 2:
        raise ValueError(f"z must have shape [..., B, D], got {list(z.shape)}")
    batch, dim = z.shape[-2:]
    if b.dim() not in (2, 3) or b.shape[-1] != dim or (b.dim() == 3 and b.shape[0] != batch):
        raise ValueError(
            f"b has shape {list(b.shape)}, expected [B, K, D] = [{batch}, K, {dim}] or [K, D] = [K, {dim}] "
            f"(B = {batch}, D = {dim} from z [..., B, D] of shape {list(z.shape)})"
        )
    num_flows = b.shape[-2]
    packed1 = _is_packed("r1", r1, batch, num_flows, dim, layout)
    packed2 = _is_packed("r2", r2, batch, num_flows, dim, layout)
    if packed1 != packed2:
        raise ValueError(
            f"r1 and r2 must use the same layout, got r1 {tuple(r1.shape)} "
            f"({'packed' if packed1 else 'dense'}) and r2 {tuple(r2.shape)} ({'packed' if packed2 else 'dense'})"
        )
    _check_factor_shape("r1", r1, packed1, z, batch, num_flows, dim)
    _check_factor_shape("r2", r2, packed2, z, batch, num_flows, dim)
    return flip_schedule(permute, num_flows), packed1


def _to_compute_dtype(z: Tensor, r1: Tensor, r2: Tensor, b: Tensor):
    """Half and bfloat16 operands (all four of the same dtype) are computed in
    float32; the ops themselves take only float32 and float64 (under autocast
    their autocast kernels, csrc/ops/autocast.cpp, cast any mix)."""
    dtype = z.dtype
    if dtype in (torch.float16, torch.bfloat16) and all(t.dtype == dtype for t in (r1, r2, b)):
        return z.float(), r1.float(), r2.float(), b.float(), dtype
    return z, r1, r2, b, dtype


def _result_dtype(out: Tensor, dtype: torch.dtype) -> bool:
    """Whether results computed in float32 for `dtype` inputs are rounded back:
    outside autocast yes (the dtype in is the dtype out), inside an autocast
    region no (z_K and the log-det stay float32, as for torch's float32 ops)."""
    return out.dtype != dtype and not torch.is_autocast_enabled(out.device.type)


# ---------------------------------------------------------------------------
# Public wrappers
# ---------------------------------------------------------------------------


def sylvester_triangular(
    z: Tensor,
    r1: Tensor,
    r2: Tensor,
    b: Tensor,
    permute: Permute = "alternate",
    per_step_logdet: bool = False,
    diag_tanh: bool = False,
    layout: Optional[str] = None,
) -> tuple[Tensor, Tensor]:
    """K triangular Sylvester flow steps in one kernel (T-SNF, van den Berg et
    al. 2018, "Sylvester Normalizing Flows for Variational Inference"):

        a_k = R2_k P_k z_k + b_k,   z_{k+1} = z_k + P_k^T R1_k tanh(a_k),
        logdet = sum_k sum_i log|1 + R1_k,ii R2_k,ii (1 - tanh(a_k,i)^2)|,

    with P_k the identity or the reversal of the coordinates (``permute``).

    Args:
        z: [..., B, D]: B data points, with any leading sample dimensions
            (importance samples, say): z[..., b, :] all use data point b's
            parameters, which are read once per data point and never copied
            per sample (docs/sylvester.md, "Sample dimensions").
        r1, r2: upper-triangular factors, dense [B, K, D, D] (the strict lower
            triangle is ignored, and gets a zero gradient) or packed
            [B, K, T], T = D(D+1)/2, in torch.triu_indices(D, D) order; without
            the leading B ([K, D, D] / [K, T]) they are shared by the batch.
            A 3-d tensor is read as packed iff its shape is [B, K, T];
            `layout="dense"|"packed"` forces the reading.
        b: [B, K, D] or [K, D] (shared).
        permute: "alternate" (identity on even steps, reversal on odd ones, as
            van den Berg et al.'s code), "none", "reverse", or K bools.
        per_step_logdet: logdet of shape [B, K] instead of its sum [B].
        diag_tanh: the diagonals of r1, r2 are raw pre-activations d and the
            factors use tanh(d); the log-det is then computed stably from d
            (finite in float32 where the tanh's saturate).

    float32 and float64; half and bfloat16 are computed in float32 and the
    results rounded to the input dtype, except inside a ``torch.autocast``
    region, where z_K and logdet come back in float32 (float64 stays float64).

    Returns:
        (z_K [..., B, D], log|det dz_K/dz| [..., B] or [..., B, K]).
    """
    flips, packed = _prepare(z, r1, r2, b, permute, layout)
    z, r1, r2, b, dtype = _to_compute_dtype(z, r1, r2, b)
    save = torch.is_grad_enabled() and any(t.requires_grad for t in (z, r1, r2, b))
    z_out, logdet, _, _ = torch.ops.hvae.sylvester_triangular(
        z, r1, r2, b, flips, packed, per_step_logdet, diag_tanh, save
    )
    if _result_dtype(z_out, dtype):
        return z_out.to(dtype), logdet.to(dtype)
    return z_out, logdet


def sylvester_triangular_inverse(
    z: Tensor,
    r1: Tensor,
    r2: Tensor,
    b: Tensor,
    permute: Permute = "alternate",
    diag_tanh: bool = False,
    layout: Optional[str] = None,
) -> Tensor:
    """The exact inverse of sylvester_triangular: z_K [..., B, D] -> z
    [..., B, D], for the same r1, r2, b, permute, diag_tanh and layout
    (shapes as there, sample dimensions included).

    Each step is undone coordinate by coordinate, last first, by solving the
    monotone scalar equation x + r1_ii tanh(r2_ii x + c) = rhs with a
    safeguarded Newton iteration (bounded loop). Requires R1_ii R2_ii > -1
    (always true with diag_tanh=True), the condition under which a step is
    invertible. Not differentiable.
    """
    flips, packed = _prepare(z, r1, r2, b, permute, layout)
    z, r1, r2, b, dtype = _to_compute_dtype(z, r1, r2, b)
    z0 = torch.ops.hvae.sylvester_triangular_inverse(z, r1, r2, b, flips, packed, diag_tanh)
    return z0.to(dtype) if _result_dtype(z0, dtype) else z0


# ---------------------------------------------------------------------------
# Fake kernels
# ---------------------------------------------------------------------------


@torch.library.register_fake("hvae::sylvester_triangular")
def _fake_forward(z, r1, r2, b, flips, packed, per_step_logdet=False, diag_tanh=False, save_steps=False):
    rows = tuple(z.shape[:-1])  # sample dimensions and B
    dim = z.shape[-1]
    num_flows = b.shape[-2]
    logdet = z.new_empty(rows + ((num_flows,) if per_step_logdet else ()))
    steps = rows + (num_flows, dim) if save_steps else (0,)
    return z.new_empty(rows + (dim,)), logdet, z.new_empty(steps), z.new_empty(steps)


@torch.library.register_fake("hvae::_sylvester_triangular_backward")
def _fake_backward(grad_z, grad_logdet, r1, r2, b, z_steps, a_steps, flips, packed, per_step_logdet, diag_tanh):
    return grad_z.new_empty(grad_z.shape), r1.new_empty(r1.shape), r2.new_empty(r2.shape), b.new_empty(b.shape)


@torch.library.register_fake("hvae::sylvester_triangular_inverse")
def _fake_inverse(z, r1, r2, b, flips, packed, diag_tanh=False):
    return z.new_empty(z.shape)


# Autograd of sylvester_triangular (and the double-backward error of its
# backward op) is registered in C++: csrc/ops/sylvester_autograd.cpp.
