"""Functions of the concentration kappa shared by the vMF density, entropy and KLs.

Everything is written through one function of kappa,

    log S_v(kappa) = log( Gamma(v+1) (2/kappa)^v I_v(kappa) ),   v = m/2 - 1,

the Bessel function divided by the leading term of its power series:
S_v(kappa) = sum_k (kappa^2/4)^k / (k! (v+1)_k), so S_v(0) = 1, and

    d/dkappa log S_v(kappa) = I_v'/I_v - v/kappa = A_m(kappa) = I_{v+1}/I_v

exactly (the v/kappa terms cancel on paper, not in floating point). With
|S^{m-1}| = 2 pi^{m/2} / Gamma(m/2) the area of the unit sphere:

    log C_m(kappa)    = v log kappa - log I_v(kappa) - (m/2) log 2 pi
                      = -log|S^{m-1}| - log S_v(kappa)
    KL(vMF || U)      = log C + kappa A + log|S^{m-1}| = kappa A - log S_v(kappa)
    H(vMF)            = log|S^{m-1}| - KL(vMF || U)
    KL(U || vMF)      = log S_v(kappa)

For kappa -> 0, kappa A ~ kappa^2/m and log S ~ kappa^2/(2m): KL ~ kappa^2/(2m)
is a difference of two terms within a factor of two of each other, so it keeps
full relative accuracy once log S is evaluated as log1p of its series (the
direct formula cancels O(m log m) terms down to kappa^2 and returns 0 or
noise in float32). Large kappa uses log I_v from hvae_ext.log_iv.

These functions of kappa are evaluated in float64 whatever the input dtype
(they cost O(batch), nothing next to a network) and rounded once: kappa (1 - A)
is O(m) while kappa is up to 1e6, and float32 cannot hold 1 - A to better than
~1e-7 absolute, i.e. 0.1 in kappa (1 - A).
"""

from __future__ import annotations

import math
import operator

import torch
from torch import Tensor

from ..special import iv_ratio, log_iv, log_ive

__all__ = [
    "log_sphere_area",
    "log_normalized_iv",
    "vmf_log_normalizer",
    "mean_resultant_length",
    "coordinate_variance_terms",
]

# The power series is used for y = kappa^2 / (4 (v+1)) <= 1: term k is at most
# y^k / k!, so after _SERIES_TERMS terms the remainder is below
# y^(K+1)/(K+1)! < 1e-19 * y (K = 20), beyond float64 rounding of the sum.
_SERIES_TERMS = 20
_SERIES_MAX_Y = 1.0


def log_sphere_area(m: int) -> float:
    """log|S^{m-1}| = log 2 + (m/2) log pi - lgamma(m/2), the log surface area
    of the unit sphere in R^m (as a Python float, exact to float64 rounding)."""
    return math.log(2.0) + 0.5 * m * math.log(math.pi) - math.lgamma(0.5 * m)


def _log_normalized_iv_value(v: float, kappa: Tensor, scaled: bool) -> Tensor:
    """log S_v(kappa) (``scaled``: log S_v(kappa) - kappa) in kappa's dtype (no
    autograd; see _LogNormalizedIv)."""
    y = kappa * kappa / (4.0 * (v + 1.0))
    use_series = y <= _SERIES_MAX_Y

    # Series branch: log1p(t_1 (1 + sum_{k>=2} t_k / t_1)), t_1 = q / (v+1),
    # q = kappa^2/4, t_k / t_1 = q^(k-1) / exp(d_k), d_k = sum_{j=2..k} log(j (v+j)),
    # all terms at once (a fixed-size last dimension rather than a loop, so a
    # compiled graph stays small). Each ratio is at most y^(k-1)/k! <= 1/2 and
    # exp rounds it to ~|log ratio| eps: below 40 eps wherever it is above eps.
    # d_k is a sum of logs, not a difference of lgammas (which would lose
    # lgamma(v+k) ~ 4e4 eps at m = 1e4). Inputs of the other branch are
    # replaced by 0 so that nothing overflows.
    kappa_s = torch.where(use_series, kappa, torch.zeros_like(kappa))
    t1 = kappa_s * kappa_s * (0.25 / (v + 1.0))
    j = torch.arange(2, _SERIES_TERMS + 1, dtype=kappa.dtype, device=kappa.device)
    d = torch.cumsum(torch.log(j) + torch.log(j + v), 0)
    log_q = (2.0 * torch.log(kappa_s) - math.log(4.0)).unsqueeze(-1)
    ratios = torch.exp((j - 1.0) * log_q - d).sum(-1)
    series = torch.log1p(t1 + t1 * ratios)
    if scaled:
        series = series - kappa

    # Large-kappa branch: lgamma(v+1) + v log(2/kappa) + log I_v(kappa). Its
    # terms cancel down to log S >= log1p(y) > 0.69 here, an absolute rounding
    # of ~1e-16 * (v log v + kappa) relative to a value that is at least ~y.
    safe = torch.where(use_series, torch.ones_like(kappa), kappa)
    log_bessel = log_ive(v, safe) if scaled else log_iv(v, safe)
    direct = math.lgamma(v + 1.0) + v * (math.log(2.0) - torch.log(safe)) + log_bessel
    return torch.where(use_series, series, direct)


class _LogNormalizedIv(torch.autograd.Function):
    """log S_v(kappa) (``scaled``: minus kappa, from log_ive, so that nothing
    of size kappa is added and subtracted) with the derivative
    A_m(kappa) = iv_ratio(v, kappa) (``scaled``: A_m - 1) computed directly:
    differentiating the formula would subtract v/kappa from R_v + v/kappa,
    which cancels for kappa << v. The backward is itself differentiable
    (through iv_ratio), so second derivatives are right."""

    @staticmethod
    def forward(kappa: Tensor, v: float, scaled: bool) -> Tensor:
        return _log_normalized_iv_value(v, kappa, scaled)

    @staticmethod
    def setup_context(ctx, inputs, output):
        kappa, v, scaled = inputs
        ctx.save_for_backward(kappa)
        ctx.v = v
        ctx.scaled = scaled

    @staticmethod
    def backward(ctx, grad: Tensor):
        (kappa,) = ctx.saved_tensors
        a = iv_ratio(ctx.v, kappa)
        return grad * (a - 1.0 if ctx.scaled else a), None, None


def _as_float64(kappa: Tensor) -> Tensor:
    return kappa if kappa.dtype == torch.float64 else kappa.to(torch.float64)


def _check_m(m: int) -> int:
    try:
        m_int = operator.index(m)
    except TypeError:
        m_int = None
    if isinstance(m, bool) or m_int is None or m_int < 2:
        raise ValueError(f"m (the ambient dimension) must be an integer >= 2, got {m!r}")
    return m_int


def _check_kappa(kappa: Tensor, fn: str) -> Tensor:
    if not isinstance(kappa, Tensor) or kappa.dtype not in (torch.float32, torch.float64):
        what = kappa.dtype if isinstance(kappa, Tensor) else type(kappa).__name__
        raise TypeError(f"hvae_ext.distributions.{fn}: kappa must be a float32 or float64 Tensor, got {what}")
    return kappa


def log_normalized_iv(m: int, kappa: Tensor, scaled: bool = False) -> Tensor:
    """log S_v(kappa) = log(Gamma(v+1) (2/kappa)^v I_v(kappa)), v = m/2 - 1
    (``scaled``: log S_v(kappa) - kappa), in float64 whatever kappa's dtype,
    differentiable with derivative A_m(kappa) (``scaled``: A_m(kappa) - 1)."""
    m = _check_m(m)
    kappa = _check_kappa(kappa, "log_normalized_iv")
    return _LogNormalizedIv.apply(_as_float64(kappa), 0.5 * m - 1.0, scaled)


def mean_resultant_length(m: int, kappa: Tensor) -> Tensor:
    """A_m(kappa) = I_{m/2}(kappa) / I_{m/2-1}(kappa) = E[mu^T z], in kappa's dtype."""
    m = _check_m(m)
    kappa = _check_kappa(kappa, "mean_resultant_length")
    return iv_ratio(0.5 * m - 1.0, _as_float64(kappa)).to(kappa.dtype)


def vmf_log_normalizer(m: int, kappa: Tensor, scaled: bool = False) -> Tensor:
    """The log-normalizer of the von Mises-Fisher density on S^{m-1},

        log C_m(kappa) = v log kappa - log I_v(kappa) - (m/2) log(2 pi),  v = m/2 - 1,

    (``scaled=True``: log C_m(kappa) + kappa, the constant of the scaled form
    log p(z) = [log C + kappa] - kappa (1 - mu^T z), finite and O(m log kappa)
    where log C itself is ~ -kappa), with its own derivative -A_m(kappa)
    (``scaled``: 1 - A_m(kappa)). Exact at kappa = 0 (-log|S^{m-1}|). Computed
    in float64 and returned in kappa's dtype.

    Args:
        m: the ambient dimension, >= 2.
        kappa: concentrations >= 0, any shape.
    """
    kappa = _check_kappa(kappa, "vmf_log_normalizer")
    out = -log_sphere_area(_check_m(m)) - log_normalized_iv(m, kappa, scaled=scaled)
    return out.to(kappa.dtype)


def coordinate_variance_terms(m: int, kappa: Tensor):
    """(A_m(kappa)/kappa, A_m'(kappa)) in float64, the two coefficients of the
    vMF covariance  Cov z = (A/kappa) (I - mu mu^T) + A' mu mu^T.

    E[z z^T] = (A/kappa) I + (1 - m A/kappa) mu mu^T, and
    1 - m A/kappa - A^2 = A' - A/kappa with A' = 1 - A^2 - (m-1) A/kappa, which
    the Bessel backward evaluates without cancellation (the textbook form
    cancels to O(1/kappa) for large kappa). At kappa = 0, A/kappa = 1/m and
    A' = 1/m (uniform law: Cov = I/m). No gradient flows through A'."""
    m = _check_m(m)
    kappa64 = _as_float64(_check_kappa(kappa, "coordinate_variance_terms"))
    v = 0.5 * m - 1.0
    a = iv_ratio(v, kappa64)
    zero = kappa64 == 0
    a_over_kappa = torch.where(zero, torch.full_like(kappa64, 1.0 / m), a / torch.where(zero, 1.0, kappa64))
    a_prime = torch.ops.hvae._iv_ratio_backward(
        torch.ones_like(kappa64), torch.tensor(v, dtype=torch.float64), kappa64.detach()
    )
    a_prime = torch.where(zero, torch.full_like(kappa64, 1.0 / m), a_prime)
    return a_over_kappa, a_prime
