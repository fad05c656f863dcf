"""Pure-PyTorch log I_v(x), log I_v(x) - x and I_{v+1}(x)/I_v(x) (about 1e-10
relative in float64: the baseline of the Bessel benchmarks)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

# Debye polynomials u_1..u_4 of DLMF 10.41.10, coefficients of t^k ascending.
_DEBYE_U = (
    ((0, 3, 0, -5), 24),
    ((0, 0, 81, 0, -462, 0, 385), 1152),
    ((0, 0, 0, 30375, 0, -369603, 0, 765765, 0, -425425), 414720),
    ((0, 0, 0, 0, 4465125, 0, -94121676, 0, 349922430, 0, -446185740, 0, 185910725), 39813120),
)
# Four Debye terms are accurate to ~1e-10 from this order on.
_DEBYE_MIN_ORDER = 40.0


def _debye_log_ive(nu: Tensor, x: Tensor) -> Tensor:
    """log(I_nu(x) e^{-x}) by the uniform expansion DLMF 10.41.3 (nu large)."""
    z = x / nu
    s = torch.sqrt(1 + z * z)
    t = 1 / s
    series = torch.ones_like(x)
    for k, (coefficients, denominator) in enumerate(_DEBYE_U, start=1):
        u = sum(c * t**p for p, c in enumerate(coefficients) if c) / denominator
        series = series + u / nu**k
    # nu*(eta - z) with eta = s + log(z / (1 + s)), written without cancellation.
    exponent = nu / (s + z) - nu * torch.asinh(1 / z)
    return exponent - 0.5 * math.log(2 * math.pi) - 0.5 * torch.log(nu) - 0.5 * torch.log(s) + torch.log(series)


def _log_ive_and_ratio(v: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
    """log I_v(x) - x and I_{v+1}(x)/I_v(x).

    Both from the Debye expansion at a shifted order mu = v + n >= 40 and the
    backward recurrence R_{k-1} = x / (2k + x R_k) (DLMF 10.29.1), with
    log I_v = log I_mu - sum_k log R_{v+k}.
    """
    v, x = torch.broadcast_tensors(v, x)
    n = torch.clamp(torch.ceil(_DEBYE_MIN_ORDER - v), min=0)
    mu = v + n
    log_ive_mu = _debye_log_ive(mu, x)
    ratio = torch.exp(_debye_log_ive(mu + 1, x) - log_ive_mu)
    log_ive = log_ive_mu
    for step in range(int(n.max().item()) if n.numel() else 0):
        active = step < n
        k = mu - step
        previous = x / (2 * k + x * ratio)
        ratio = torch.where(active, previous, ratio)
        log_ive = torch.where(active, log_ive - torch.log(previous), log_ive)
    return log_ive, ratio


def _edges(v: Tensor, x: Tensor, value: Tensor, at_zero: Tensor) -> Tensor:
    value = torch.where(x == 0, at_zero, value)
    return torch.where((v < 0) | (x < 0), torch.full_like(value, math.nan), value)


def log_ive(v: Tensor, x: Tensor) -> Tensor:
    """log I_v(x) - x."""
    v = torch.as_tensor(v, dtype=x.dtype, device=x.device)
    value, _ = _log_ive_and_ratio(v, x)
    at_zero = torch.where(v == 0, 0.0, -math.inf).to(value.dtype)
    return _edges(v, x, value, at_zero)


def log_iv(v: Tensor, x: Tensor) -> Tensor:
    """log I_v(x)."""
    return log_ive(v, x) + x


def iv_ratio(v: Tensor, x: Tensor) -> Tensor:
    """I_{v+1}(x) / I_v(x)."""
    v = torch.as_tensor(v, dtype=x.dtype, device=x.device)
    _, ratio = _log_ive_and_ratio(v, x)
    return _edges(v, x, ratio, torch.zeros_like(ratio))
