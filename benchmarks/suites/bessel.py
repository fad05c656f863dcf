"""Bessel suite: log_iv / iv_ratio against scipy and the pure-PyTorch reference,
and iv_ratio_inverse against a vectorised scipy Newton iteration."""

from __future__ import annotations

import warnings
from typing import List

import numpy as np
import torch

import hvae_ext
from hvae_ext import reference

from ..registry import Case, suite

# von Mises-Fisher orders v = m/2 - 1 for these ambient dimensions m.
VMF_DIMS = (3, 10, 64, 1000)


def _inputs(n: int, device: str, dtype: torch.dtype, seed: int = 0):
    """Orders cycling through the vMF orders, x log-uniform in [1e-3, 1e4]."""
    orders = torch.tensor([m / 2 - 1 for m in VMF_DIMS], dtype=torch.float64)
    v = orders[torch.arange(n) % len(VMF_DIMS)]
    return v.to(device, dtype), _log_uniform_x(n, device, dtype, seed)


def _log_uniform_x(n: int, device: str, dtype: torch.dtype, seed: int = 0):
    """x log-uniform in [1e-3, 1e4], the same draw for the same seed."""
    g = torch.Generator().manual_seed(seed)
    return (10.0 ** (torch.rand(n, generator=g, dtype=torch.float64) * 7 - 3)).to(device, dtype)


# Where I_v(x) e^-x is below the smallest double, scipy's ive returns 0: log
# gives -inf and the ratio 0/0 gives NaN. That is the baseline's known
# behaviour, counted in the table's non-finite column, so numpy is told not
# to warn about it (np.errstate is inside the timed call; it costs about a
# microsecond per call of ~10^4 or more elements).


def _scipy_log_iv(v, x: np.ndarray):
    from scipy import special

    def run():
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(special.ive(v, x)) + x

    return run


def _scipy_iv_ratio(v, x: np.ndarray):
    from scipy import special

    def run():
        with np.errstate(divide="ignore", invalid="ignore"):
            return special.ive(v + 1, x) / special.ive(v, x)

    return run


def _scipy_iv_ratio_inverse(v, r: np.ndarray):
    """The usual root-finder: vectorised Newton (scipy.optimize.newton on
    arrays) on ive(v+1, x)/ive(v, x) = r, R' = 1 - R^2 - (2v+1) R/x, from
    Sra's (2012) guess r (2v+2 - r^2)/(1 - r^2)."""
    from scipy import optimize, special

    def ratio(x):
        return special.ive(v + 1, x) / special.ive(v, x) - r

    def ratio_dx(x):
        R = special.ive(v + 1, x) / special.ive(v, x)
        return 1 - R * R - (2 * v + 1) * R / x

    def run():
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "some failed to converge": counted as non-finite below
            x0 = r * (2 * v + 2 - r * r) / (1 - r * r)
            x, converged, _ = optimize.newton(ratio, x0, fprime=ratio_dx, maxiter=50, full_output=True)
            return np.where(converged, x, np.nan)

    return run


@suite("bessel")
def bessel_cases(devices: List[str], dtypes: List[torch.dtype], quick: bool) -> List[Case]:
    cases = []
    for device in devices:
        n = 1 << (14 if quick else 20) if device == "cpu" else 1 << (20 if quick else 26)
        for dtype in dtypes:
            v, x = _inputs(n, device, dtype)
            bytes_moved = 2 * n * x.element_size()  # x in, result out (v is cached)
            for op, scipy_fn in (("log_iv", _scipy_log_iv), ("iv_ratio", _scipy_iv_ratio)):
                ours = getattr(hvae_ext, op)
                ref = getattr(reference, op)
                baselines = {}
                if device == "cpu":
                    baselines["scipy"] = scipy_fn(v.double().numpy(), x.double().numpy())
                baselines["reference"] = lambda ref=ref, v=v, x=x: ref(v, x)
                target = 10.0 if (device == "cpu" and dtype == torch.float64) else None
                # v and x are bound as defaults: the cases run after this loop
                # has moved on to the next dtype.
                cases.append(Case(
                    suite="bessel", name=f"{op} vMF orders n=2^{n.bit_length() - 1}", device=device,
                    dtype=dtype, ours=lambda ours=ours, v=v, x=x: ours(v, x), baselines=baselines,
                    elements=n, bytes_moved=bytes_moved, target=target, count_nonfinite=True,
                ))
            # One vMF order per case, v a Python number (as a user calls it):
            # the regions differ per order, so a mixed-order mean can hide a
            # slow one (issue 13 section 6).
            xo = _log_uniform_x(n, device, dtype, seed=1)
            for m in VMF_DIMS:
                order = m / 2 - 1
                baselines = {}
                if device == "cpu":
                    baselines["scipy"] = _scipy_log_iv(order, xo.double().numpy())
                target = 10.0 if (device == "cpu" and dtype == torch.float64) else None
                cases.append(Case(
                    suite="bessel", name=f"log_iv m={m} (v={order:g}) n=2^{n.bit_length() - 1}",
                    device=device, dtype=dtype,
                    ours=lambda order=order, xo=xo: hvae_ext.log_iv(order, xo), baselines=baselines,
                    elements=n, bytes_moved=2 * n * xo.element_size(), target=target, count_nonfinite=True,
                ))
            # kappa from a mean resultant length: r = A_m(x) at the same
            # vMF orders (fewer elements: a solve costs several ratio evaluations).
            ni = n >> 4
            vi, xi = _inputs(ni, device, torch.float64)
            ri = hvae_ext.iv_ratio(vi, xi).to(dtype)
            vi = vi.to(dtype)
            baselines = {}
            if device == "cpu":
                baselines["scipy newton"] = _scipy_iv_ratio_inverse(vi.double().numpy(), ri.double().numpy())
            cases.append(Case(
                suite="bessel", name=f"iv_ratio_inverse vMF orders n=2^{ni.bit_length() - 1}", device=device,
                dtype=dtype, ours=lambda vi=vi, ri=ri: hvae_ext.iv_ratio_inverse(vi, ri), baselines=baselines,
                elements=ni, bytes_moved=2 * ni * ri.element_size(), count_nonfinite=True,
            ))
            # Gradient through the backward op (x requires grad).
            xg = x.clone().requires_grad_(True)

            def forward_backward(xg=xg, v=v):
                hvae_ext.log_iv(v, xg).sum().backward()

            def reference_forward_backward(xg=xg, v=v):
                reference.log_iv(v, xg).sum().backward()

            cases.append(Case(
                suite="bessel", name=f"log_iv fwd+bwd n=2^{n.bit_length() - 1}", device=device,
                dtype=dtype, ours=forward_backward, baselines={"reference": reference_forward_backward},
                elements=n,
            ))
    return cases
