"""Maximum-likelihood fit of a von Mises-Fisher distribution to unit vectors."""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor
from torch.distributions import Distribution

from ..special import iv_ratio_inverse
from ._validation import _assert_async, check_on_sphere, host_checks
from .von_mises_fisher import VonMisesFisher

__all__ = ["vmf_mle"]


def _weighted_mean(x: Tensor, w: Tensor) -> Tensor:
    """sum_n w_n x_n over the points, [..., N] x [..., N, m] -> [..., m], one
    batched matmul (no [..., N, m] product is materialised; batch dimensions
    broadcast, e.g. x [1, N, m] against w [K, N]). Outside autocast: a
    float16 matmul would round the mean to ~1e-3."""
    with torch.autocast(x.device.type, enabled=False):
        return torch.matmul(w.unsqueeze(-2), x).squeeze(-2)


def _check_weights(weights: Tensor, total: Tensor) -> None:
    if host_checks(weights):
        if weights.numel() and not bool((weights >= 0).all()):
            bad = weights.reshape(-1)[~(weights.reshape(-1) >= 0)][0].item()
            raise ValueError(f"vmf_mle: weights must be >= 0 (and not NaN), found {bad!r}")
        if total.numel() and not bool((total > 0).all()):
            raise ValueError("vmf_mle: weights must have a positive total along the points (dim -1), found 0")
        return
    if weights.device.type == "meta":
        return
    _assert_async((weights >= 0).all(), "vmf_mle: weights must be >= 0")
    _assert_async((total > 0).all(), "vmf_mle: weights must have a positive total along the points (dim -1)")


def vmf_mle(x: Tensor, weights: Optional[Tensor] = None, validate_args: Optional[bool] = None) -> VonMisesFisher:
    r"""The maximum-likelihood von Mises-Fisher distribution of unit vectors.

    With weights normalised to sum to one, w_n = weights_n / sum(weights),

    .. math::
        \bar x = \sum_n w_n x_n, \quad \mu = \bar x / |\bar x|, \quad
        \kappa = A_m^{-1}(|\bar x|) = \mathrm{iv\_ratio\_inverse}(m/2 - 1, |\bar x|)

    (A_m(kappa) = I_{m/2}(kappa) / I_{m/2-1}(kappa) is the mean resultant
    length; the likelihood equations are mu = xbar/|xbar| and A_m(kappa) =
    |xbar|). kappa comes from hvae_ext's fused inverse of the Bessel ratio,
    accurate at every m: in float64 at m = 768 the usual route through
    ``scipy.special.iv(383, kappa)`` gives 0 for kappa below ~41 and inf from
    kappa ~ 800 (the ratio is then NaN or 0).

    Args:
        x: points on the unit sphere S^{m-1}, shape ``[..., N, m]`` (m >= 2,
            N >= 1); float32 or float64 (float16/bfloat16 computed in float32).
        weights: optional weights >= 0 of shape ``[..., N]`` (broadcast with
            ``x.shape[:-1]``), e.g. EM responsibilities: x ``[1, N, m]``
            against weights ``[K, N]`` fits K distributions at once. Only
            ratios matter (integer weights = repeated points).
        validate_args: check that ``x`` lies on the sphere (ValueError on CPU,
            an asynchronous assert on CUDA / under torch.compile, as for
            ``VonMisesFisher``); default ``Distribution._validate_args``. The
            returned distribution gets the same setting.

    Returns:
        ``VonMisesFisher(loc, concentration)`` with batch shape the broadcast
        of ``x.shape[:-2]`` and ``weights.shape[:-1]``. Differentiable in
        ``x`` and ``weights`` (through ``dx/dr = 1/A_m'``).

    Edge cases: ``|xbar| = 0`` (e.g. two antipodal points) gives kappa = 0, the
    uniform law, with loc the first basis vector e_1 (any unit vector is a
    maximiser). ``|xbar|`` is clamped below 1 to the largest value of the dtype
    under 1, so identical points (or N = 1), whose MLE is kappa = inf, give a
    finite kappa of ~(m-1)/2 / eps (1.1e-16 float64, 6e-8 float32) instead.

    Raises:
        ValueError: x not of shape [..., N, m] with N >= 1 and m >= 2; weights
            negative, NaN or of zero total (on CUDA / under torch.compile an
            asynchronous assert); x off the sphere when validating.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"vmf_mle: x must be a Tensor, got {type(x).__name__}")
    if x.dim() < 2 or x.shape[-1] < 2:
        raise ValueError(f"vmf_mle: x must have shape [..., N, m] with m >= 2, got shape {tuple(x.shape)}")
    if x.shape[-2] < 1:
        raise ValueError(f"vmf_mle: x must hold at least one point (N = x.shape[-2] >= 1), got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"vmf_mle: x must be a floating-point Tensor, got {x.dtype}")
    if x.dtype in (torch.float16, torch.bfloat16):
        x = x.float()
    validate = Distribution._validate_args if validate_args is None else validate_args
    if validate:
        check_on_sphere(x, "vmf_mle (x)")
    m = x.shape[-1]
    n = x.shape[-2]
    if weights is None:
        mean = x.mean(-2)
    else:
        if not isinstance(weights, Tensor):
            raise TypeError(f"vmf_mle: weights must be a Tensor or None, got {type(weights).__name__}")
        if weights.dim() < 1 or weights.shape[-1] not in (1, n):
            raise ValueError(
                f"vmf_mle: weights must have shape [..., N] with N = {n} (x.shape[-2]), got {tuple(weights.shape)}"
            )
        weights = weights.to(x.dtype)
        total = weights.sum(-1, keepdim=True)
        _check_weights(weights, total)
        w = weights / total
        if w.shape[-1] != n:
            w = w.expand(*w.shape[:-1], n)
        mean = _weighted_mean(x, w)
    rbar = torch.linalg.vector_norm(mean, dim=-1)
    positive = rbar > 0
    e1 = torch.zeros(m, dtype=x.dtype, device=x.device)
    e1[0] = 1
    loc = torch.where(positive[..., None], mean / torch.where(positive, rbar, 1)[..., None], e1)
    # 1 - eps/2: the largest value below 1 (a mean of identical points rounds to 1 or above)
    below_one = 1.0 - torch.finfo(x.dtype).eps / 2
    # .to: a 0-dim float32 rbar (x [N, m]) would be promoted by the float64 order
    kappa = iv_ratio_inverse(0.5 * m - 1.0, rbar.clamp(max=below_one)).to(x.dtype)
    return VonMisesFisher(loc, kappa, validate_args=validate)
