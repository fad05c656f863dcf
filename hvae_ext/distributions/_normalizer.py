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
    KL(vMF1 || vMF2)  = log S(k2) - log S(k1) - (k2 - k1) A(k1) + k2 A(k1) d,
                        d = |mu1 - mu2|^2 / 2

Each is one fused op of the hvae library (torch.ops.hvae.vmf_log_normalizer,
vmf_kl_uniform, vmf_entropy, vmf_kl_vmf; math in csrc/hvae/vmf_density.h),
CPU and CUDA, with its own backward op (derivatives -A, 1 - A, kappa A',
-kappa A', and those of the last line) registered in C++. The ops compute in
double whatever the input dtype and round once, inside the kernel: kappa (1 - A)
is O(m) while kappa is up to 1e6, and float32 cannot hold 1 - A to better than
~1e-7 absolute, i.e. 0.1 in kappa (1 - A). log S_v is log1p of its power
series for kappa^2 / (4 (v+1)) <= 1, so that KL ~ kappa^2/(2m) keeps full
relative accuracy as kappa -> 0 (the direct formula cancels O(m log m) terms
down to kappa^2 and returns 0 or noise in float32), and
lgamma(v+1) + v log(2/kappa) + log I_v(kappa) (log_ive for the scaled
normalizer) above. KL(U || vMF) is vmf_kl_vmf at k1 = 0, d = 0 (exactly
log S_v: A(0) = 0, log S(0) = 0).
"""

from __future__ import annotations

import math
import operator

import torch
from torch import Tensor

from .. import _ops  # noqa: F401  (registers torch.ops.hvae)
from ..special import iv_ratio

__all__ = [
    "log_sphere_area",
    "log_normalized_iv",
    "vmf_log_normalizer",
    "vmf_kl_uniform",
    "vmf_entropy",
    "vmf_kl_vmf",
    "mean_resultant_length",
    "coordinate_variance_terms",
]

# The ops' overloads, resolved once (an OpOverloadPacket resolves per call).
_log_normalizer_op = torch.ops.hvae.vmf_log_normalizer.default
_kl_uniform_op = torch.ops.hvae.vmf_kl_uniform.default
_entropy_op = torch.ops.hvae.vmf_entropy.default
_kl_vmf_op = torch.ops.hvae.vmf_kl_vmf.default


def log_sphere_area(m: int) -> float:
    """log|S^{m-1}| = log 2 + (m/2) log pi - lgamma(m/2), the log surface area
    of the unit sphere in R^m (as a Python float, exact to float64 rounding)."""
    return math.log(2.0) + 0.5 * m * math.log(math.pi) - math.lgamma(0.5 * m)


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


def _check_kappa(kappa: Tensor, fn: str, name: str = "kappa") -> Tensor:
    if not isinstance(kappa, Tensor) or kappa.dtype not in (torch.float32, torch.float64):
        what = kappa.dtype if isinstance(kappa, Tensor) else type(kappa).__name__
        raise TypeError(f"hvae_ext.distributions.{fn}: {name} must be a float32 or float64 Tensor, got {what}")
    return kappa


def log_normalized_iv(m: int, kappa: Tensor) -> Tensor:
    """log S_v(kappa) = log(Gamma(v+1) (2/kappa)^v I_v(kappa)), v = m/2 - 1, which
    is KL(U || vMF(mu, kappa)), in kappa's dtype, differentiable with
    derivative A_m(kappa) (the vmf_kl_vmf op at kappa1 = 0, d = 0)."""
    m = _check_m(m)
    kappa = _check_kappa(kappa, "log_normalized_iv")
    zero = kappa.new_zeros(())
    return _kl_vmf_op(zero, kappa, zero, m)


def mean_resultant_length(m: int, kappa: Tensor) -> Tensor:
    """A_m(kappa) = I_{m/2}(kappa) / I_{m/2-1}(kappa) = E[mu^T z], in kappa's
    dtype (iv_ratio is within 5e-7 relative in float32, 2e-15 in float64)."""
    m = _check_m(m)
    kappa = _check_kappa(kappa, "mean_resultant_length")
    return iv_ratio(0.5 * m - 1.0, kappa)


def vmf_log_normalizer(m: int, kappa: Tensor, scaled: bool = False) -> Tensor:
    """The log-normalizer of the von Mises-Fisher density on S^{m-1},

        log C_m(kappa) = v log kappa - log I_v(kappa) - (m/2) log(2 pi),  v = m/2 - 1,

    (``scaled=True``: log C_m(kappa) + kappa, the constant of the scaled form
    log p(z) = [log C + kappa] - kappa (1 - mu^T z), finite and O(m log kappa)
    where log C itself is ~ -kappa), with its own derivative -A_m(kappa)
    (``scaled``: 1 - A_m(kappa)), itself differentiable once more (-A_m').
    Exact at kappa = 0 (-log|S^{m-1}|). One fused op
    (torch.ops.hvae.vmf_log_normalizer), computed in double inside the kernel
    and returned in kappa's dtype; a negative or NaN kappa gives NaN.

    Args:
        m: the ambient dimension, >= 2.
        kappa: concentrations >= 0, any shape.
    """
    kappa = _check_kappa(kappa, "vmf_log_normalizer")
    return _log_normalizer_op(kappa, _check_m(m), bool(scaled))


def vmf_kl_uniform(m: int, kappa: Tensor) -> Tensor:
    """KL(vMF(mu, kappa) || uniform on S^{m-1}) = kappa A_m(kappa) - log S_v(kappa),
    in kappa's dtype (~ kappa^2/(2m) with full relative precision as
    kappa -> 0); derivative kappa A_m'(kappa). One fused op
    (torch.ops.hvae.vmf_kl_uniform)."""
    kappa = _check_kappa(kappa, "vmf_kl_uniform")
    return _kl_uniform_op(kappa, _check_m(m))


def vmf_entropy(m: int, kappa: Tensor) -> Tensor:
    """Entropy of vMF(mu, kappa) on S^{m-1}, log|S^{m-1}| - KL(vMF || U) =
    -log C_m(kappa) - kappa A_m(kappa), in kappa's dtype; derivative
    -kappa A_m'(kappa). One fused op (torch.ops.hvae.vmf_entropy)."""
    kappa = _check_kappa(kappa, "vmf_entropy")
    return _entropy_op(kappa, _check_m(m))


def vmf_kl_vmf(m: int, kappa1: Tensor, kappa2: Tensor, d: Tensor) -> Tensor:
    """KL(vMF(mu1, kappa1) || vMF(mu2, kappa2)) on S^{m-1} given
    d = |mu1 - mu2|^2 / 2 (= 1 - mu1^T mu2 for unit vectors):

        log S_v(k2) - log S_v(k1) - (k2 - k1) A_m(k1) + k2 A_m(k1) d,

    with derivatives A'(k1) (k1 - k2 (1 - d)), A(k2) - A(k1) (1 - d) and
    k2 A(k1). The three operands broadcast; the result has their promoted
    dtype. One fused op (torch.ops.hvae.vmf_kl_vmf)."""
    kappa1 = _check_kappa(kappa1, "vmf_kl_vmf")
    kappa2 = _check_kappa(kappa2, "vmf_kl_vmf")
    d = _check_kappa(d, "vmf_kl_vmf", "d")
    return _kl_vmf_op(kappa1, kappa2, d, _check_m(m))


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
