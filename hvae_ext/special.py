"""Modified Bessel functions of the first kind for any real order v >= 0.

Like `torch.special`, but for every order (torch has I_0 and I_1 only) and in
log form, stable for all v in [0, 1e4] and x in [0, 1e7] and beyond:

* ``log_iv(v, x)  = log I_v(x)``
* ``log_ive(v, x) = log I_v(x) - x``  (the exponentially scaled form)
* ``iv_ratio(v, x) = I_{v+1}(x) / I_v(x)``
* ``iv_ratio_inverse(v, r)``: the x >= 0 with ``iv_ratio(v, x) = r`` (for
  the vMF, kappa from the mean resultant length)

``v`` and ``x`` broadcast; ``v`` may be a Python number (no broadcast copy is
made). float32 and float64 are computed natively, half and bfloat16 in
float32; integer inputs give the default float dtype. Conventions at the
edges: ``x = 0`` gives ``log I = 0`` for ``v = 0`` and ``-inf`` for ``v > 0``
and a ratio of 0; ``v < 0`` or ``x < 0`` give NaN, as torch.special does for
arguments outside the domain.

Gradients flow to ``x`` only; asking for a gradient with respect to the order
raises an error. The derivatives are computed from the ratio directly,
never as a difference of two Bessel values:

* ``d/dx log I_v(x) = R_v(x) + v/x``, with ``R_v = iv_ratio(v, x)``,
* ``d/dx R_v(x) = 1 - R_v^2 - (2v + 1) R_v / x`` in a cancellation-free form.

Accuracy against mpmath over v in [0, 1e4], x in [1e-10, 1e7]: log_iv and
log_ive within 2e-14 * max(1, |log I|) in float64 and 1e-5 * max(1, |log I|)
in float32; iv_ratio within 2e-15 (float64) and 5e-7 (float32) relative.
The regions and expansions are described in docs/numerics.md.

Definition (DLMF 10.25.2): I_v(x) = sum_{k>=0} (x/2)^(2k+v) / (k! Gamma(k+v+1)).
Methods (docs/numerics.md): Debye's uniform large-order expansion
(DLMF 10.41.3) in log form, the power series, Hankel's large-argument
expansion (DLMF 10.40.1), and the Debye value at a shifted order followed by
the backward recurrence.
"""

from __future__ import annotations

from typing import Union

import torch
from torch import Tensor

from . import _ops  # noqa: F401  (registers torch.ops.hvae)

__all__ = ["log_iv", "log_ive", "iv_ratio", "iv_ratio_inverse"]

Order = Union[Tensor, float, int]


def _order(v: Order, x: Tensor, fn: str) -> Tensor:
    if isinstance(v, Tensor):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        # A 0-dim CPU tensor: the kernels read it as a plain scalar on any
        # device. float64 keeps the order exact and, being 0-dim, does not
        # promote a floating x; an integer x computes in the default dtype, as
        # it would with a Python number in torch.
        dtype = torch.float64 if x.is_floating_point() else torch.get_default_dtype()
        return torch.tensor(float(v), dtype=dtype)
    raise TypeError(f"hvae_ext.special.{fn}: v must be a Tensor or a real number, got {type(v).__name__}")


def _argument(x: Tensor, fn: str, name: str = "x") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"hvae_ext.special.{fn}: {name} must be a Tensor, got {type(x).__name__}")
    return x


def log_iv(v: Order, x: Tensor) -> Tensor:
    """``log I_v(x)``, the log of the modified Bessel function of the first kind,
    I_v(x) = sum_k (x/2)^(2k+v) / (k! Gamma(k+v+1)); gradient w.r.t. x:
    I_{v+1}(x)/I_v(x) + v/x.

    Args:
        v: order(s) ``>= 0``; a tensor broadcastable with ``x`` or a number.
        x: argument(s) ``>= 0``.

    Returns:
        A tensor of the broadcast shape of ``v`` and ``x``.
    """
    return torch.ops.hvae.log_iv(_order(v, _argument(x, "log_iv"), "log_iv"), x)


def log_ive(v: Order, x: Tensor) -> Tensor:
    """``log I_v(x) - x``, the log of the exponentially scaled Bessel function
    (``log(scipy.special.ive(v, x))`` without its underflow to ``-inf``).

    Args and shapes as :func:`log_iv`.
    """
    return torch.ops.hvae.log_ive(_order(v, _argument(x, "log_ive"), "log_ive"), x)


def iv_ratio(v: Order, x: Tensor) -> Tensor:
    """``I_{v+1}(x) / I_v(x)``, in ``[0, 1)``.

    For the von Mises-Fisher distribution on S^{m-1}, ``iv_ratio(m/2 - 1, kappa)``
    is the mean resultant length A_m(kappa) = E[mu^T z].

    Args and shapes as :func:`log_iv`.
    """
    return torch.ops.hvae.iv_ratio(_order(v, _argument(x, "iv_ratio"), "iv_ratio"), x)


def iv_ratio_inverse(v: Order, r: Tensor) -> Tensor:
    """The ``x >= 0`` with ``I_{v+1}(x) / I_v(x) = r``: the inverse of
    :func:`iv_ratio` in its argument. For the von Mises-Fisher distribution on
    S^{m-1}, ``iv_ratio_inverse(m/2 - 1, rbar)`` is the maximum-likelihood
    kappa for a mean resultant length ``rbar``.

    Solved per element from a bracket of Amos-Segura bounds on the ratio by
    at most 12 safeguarded Newton steps in float64 (docs/numerics.md); the
    round trip ``iv_ratio(v, iv_ratio_inverse(v, r))`` is within 1e-15 of r
    in float64 over v in [0, 1e4], r in [1e-10, 1 - 1e-12].

    As r -> 1, x ~ (v + 1/2) / (1 - r) grows without bound, and x is only as
    accurate as r allows: its relative condition number ``(r / x) dx/dr`` is
    about ``1 / (1 - r)``, so near r = 1 - 1e-12 a rounding of r alone moves x
    by ~1e-4 relative (the round trip stays exact to rounding).

    Gradient with respect to r: ``dx/dr = 1 / R_v'(x)``; asking for a gradient
    with respect to the order raises an error.

    Args:
        v: order(s) ``>= 0``; a tensor broadcastable with ``r`` or a number.
        r: ratio(s) in ``[0, 1)``. ``r = 0`` gives 0; ``r < 0``, ``r >= 1``,
            NaN, or ``v < 0`` give NaN.

    Returns:
        A tensor of the broadcast shape of ``v`` and ``r``, in their promoted
        dtype (half and bfloat16 computed in float32, float32 in float64 and
        rounded once).
    """
    return torch.ops.hvae.iv_ratio_inverse(
        _order(v, _argument(r, "iv_ratio_inverse", "r"), "iv_ratio_inverse"), r
    )
