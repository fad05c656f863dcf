"""Functions of the concentration kappa in the Power Spherical density
(De Cao & Aziz 2020) on S^{m-1}, one fused op each.

With beta = (m-1)/2, alpha = beta + kappa, and the differences
D_lg = lgamma(alpha+beta) - lgamma(alpha), D_psi = psi(alpha+beta) - psi(alpha),
D_tri = psi'(alpha) - psi'(alpha+beta):

    log C  = (alpha+beta) log 2 + beta log pi - D_lg          d/dk: log 2 - D_psi
    H      = (m-1) log 2 + beta log pi - D_lg + kappa D_psi     d/dk: -kappa D_tri
    KL(PS || U) = log|S^{m-1}| - H                              d/dk: kappa D_tri

(torch.ops.hvae.power_spherical_log_normalizer, power_spherical_entropy,
power_spherical_kl_uniform; math and numerics in
csrc/hvae/power_spherical_density.h and docs/power_spherical.md). The ops
compute in double inside the kernel whatever the input dtype and round once;
the differences are formed without cancellation (lgamma(alpha+beta) -
lgamma(alpha) taken literally loses ~1e-9 at m = 3, kappa = 1e6), and the KL
keeps full relative precision as kappa -> 0 (~ kappa^2 [psi'(beta) -
psi'(2 beta)] / 2).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .. import _ops  # noqa: F401  (registers torch.ops.hvae)
from ._normalizer import _check_kappa, _check_m

__all__ = [
    "power_spherical_log_normalizer",
    "power_spherical_entropy",
    "power_spherical_kl_uniform",
]

# The ops' overloads, resolved once.
_ps_log_normalizer_op = torch.ops.hvae.power_spherical_log_normalizer.default
_ps_entropy_op = torch.ops.hvae.power_spherical_entropy.default
_ps_kl_uniform_op = torch.ops.hvae.power_spherical_kl_uniform.default


def power_spherical_log_normalizer(m: int, kappa: Tensor, scaled: bool = False) -> Tensor:
    """log C_m(kappa) of the Power Spherical density p(z) = (1 + mu^T z)^kappa / C
    on S^{m-1}:

        log C = (m - 1 + kappa) log 2 + beta log pi + lgamma(alpha) - lgamma(alpha + beta),

    alpha = (m-1)/2 + kappa, beta = (m-1)/2 (``scaled=True``: log C - kappa log 2,
    the constant of log p(z) = kappa log((1 + mu^T z)/2) - [log C - kappa log 2],
    O(m log kappa) where log C itself grows like kappa log 2). Derivative
    log 2 - [psi(alpha+beta) - psi(alpha)] (scaled: without the log 2), itself
    differentiable once more. Exact at kappa = 0 (log|S^{m-1}|). One fused op,
    computed in double and returned in kappa's dtype; a negative or NaN kappa
    gives NaN.

    Args:
        m: the ambient dimension, >= 2.
        kappa: concentrations >= 0, any shape (float32 or float64).
    """
    kappa = _check_kappa(kappa, "power_spherical_log_normalizer")
    return _ps_log_normalizer_op(kappa, _check_m(m), bool(scaled))


def power_spherical_entropy(m: int, kappa: Tensor) -> Tensor:
    """Entropy of PowerSpherical(mu, kappa) on S^{m-1},

        H = (m-1) log 2 + beta log pi - [lgamma(alpha+beta) - lgamma(alpha)]
            + kappa [psi(alpha+beta) - psi(alpha)],

    in kappa's dtype; derivative -kappa [psi'(alpha) - psi'(alpha+beta)]. One
    fused op (torch.ops.hvae.power_spherical_entropy)."""
    kappa = _check_kappa(kappa, "power_spherical_entropy")
    return _ps_entropy_op(kappa, _check_m(m))


def power_spherical_kl_uniform(m: int, kappa: Tensor) -> Tensor:
    """KL(PowerSpherical(mu, kappa) || uniform on S^{m-1}) = log|S^{m-1}| - H,
    in kappa's dtype, ~ kappa^2 [psi'(beta) - psi'(2 beta)] / 2 with full
    relative precision as kappa -> 0; derivative
    kappa [psi'(alpha) - psi'(alpha+beta)]. One fused op
    (torch.ops.hvae.power_spherical_kl_uniform)."""
    kappa = _check_kappa(kappa, "power_spherical_kl_uniform")
    return _ps_kl_uniform_op(kappa, _check_m(m))
