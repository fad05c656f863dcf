"""Pure-PyTorch reparameterized von Mises-Fisher sampler: the baseline of the
vMF benchmarks and an oracle for the tests.

Wood's (1994) rejection sampler with the exact envelope parameter
b = (m-1)/(2 kappa + sqrt(4 kappa^2 + (m-1)^2)), vectorised over the rows
that are not yet accepted (a bounded loop), the exact inverse CDF for m = 3,
a Householder rotation e1 -> loc, and the same unbiased kappa gradient as
the extension: implicit reparameterization (Figurnov et al. 2018) by
Gauss-Legendre quadrature over one tail of the angle's density, vectorised
over samples (docs/vmf.md gives the formulas).
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch
from torch import Tensor

from .bessel import iv_ratio

_MAX_TRIES = 64
_WINDOW_DROP = 25.0


def _one_minus_b(m: float, kappa: Tensor, b: Tensor) -> Tensor:
    k2 = 2 * kappa
    h = torch.hypot(k2, torch.full_like(kappa, m - 1))
    return torch.where(b < 0.5, 1 - b, (k2 + k2 * k2 / (h + m - 1)) / (k2 + h))


def _angle_from_halves(y: Tensor, yp: Tensor) -> Tensor:
    """theta from y = 1 - w and y' = 1 + w."""
    return 2 * torch.atan2(torch.sqrt(y), torch.sqrt(yp))


def _angle_m3(kappa: Tensor, generator) -> Tensor:
    """Exact inverse CDF of w for m = 3 (density ~ e^{kappa w})."""
    v = torch.rand(kappa.shape, dtype=kappa.dtype, device=kappa.device, generator=generator)
    safe = torch.where(kappa > 0, kappa, torch.ones_like(kappa))
    y = torch.where(kappa > 0, -torch.log1p(v * torch.expm1(-2 * safe)) / safe, 2 * v)
    yp_exact = torch.log1p((1 - v) * torch.expm1(2 * torch.clamp(safe, max=40.0))) / safe
    yp = torch.where((y > 1) & (safe < 40), yp_exact, torch.clamp(2 - y, min=0))
    yp = torch.where(kappa > 0, yp, 2 * (1 - v))
    return _angle_from_halves(y, yp)


def _angle_wood(m: int, kappa: Tensor, generator) -> Tensor:
    """Wood's rejection sampler, tries vectorised over the rows still pending."""
    b = (m - 1) / (2 * kappa + torch.hypot(2 * kappa, torch.full_like(kappa, m - 1)))
    one_minus_b = _one_minus_b(m, kappa, b)
    alpha = torch.full_like(kappa, (m - 1) / 2)
    y = torch.zeros_like(kappa)
    yp = torch.full_like(kappa, 2.0)
    pending = torch.arange(kappa.numel(), device=kappa.device)
    for _ in range(_MAX_TRIES):
        if pending.numel() == 0:
            break
        bb, omb = b[pending], one_minus_b[pending]
        g1 = torch._standard_gamma(alpha[pending], generator=generator)
        g2 = torch._standard_gamma(alpha[pending], generator=generator)
        eps, ome = g1 / (g1 + g2), g2 / (g1 + g2)
        d = ome + bb * eps
        u = torch.rand(pending.shape, dtype=kappa.dtype, device=kappa.device, generator=generator)
        s_minus_1 = omb * (eps - ome) / (2 * d)
        accept = torch.log(u) <= (m - 1) * (torch.log1p(s_minus_1) - s_minus_1)
        y[pending] = 2 * bb * eps / d
        yp[pending] = 2 * ome / d
        pending = pending[~accept]
    return _angle_from_halves(y, yp)


def _gauss_legendre(n: int, dtype, device):
    x, w = np.polynomial.legendre.leggauss(n)
    return torch.tensor(x, dtype=dtype, device=device), torch.tensor(w, dtype=dtype, device=device)


def dtheta_dkappa(m: int, kappa: Tensor, theta: Tensor, nodes: int = 16) -> Tensor:
    """d theta / d kappa = -int_tail |cos phi - A| e^psi dphi, vectorised
    (float64 inside); psi(phi) = (m-2) log(sin phi/sin theta) + kappa (cos phi - cos theta)."""
    kappa = kappa.double()
    theta = theta.double()
    T = _WINDOW_DROP
    mm2 = float(m - 2)
    pos = kappa > 0
    safe_k = torch.where(pos, kappa, torch.ones_like(kappa))
    A = torch.where(pos, iv_ratio(torch.tensor(m / 2 - 1, dtype=kappa.dtype), safe_k), torch.zeros_like(kappa))
    one_minus_A = 1 - A
    sh, ch = torch.sin(theta / 2), torch.cos(theta / 2)
    st, ct = 2 * sh * ch, torch.cos(theta)
    y_theta = 2 * sh * sh
    log_st = torch.log(st)
    upper = one_minus_A >= y_theta
    tail_end = torch.where(upper, torch.zeros_like(theta), torch.full_like(theta, math.pi))
    direction = torch.where(upper, -1.0, 1.0).to(theta)

    if mm2 == 0:
        mode = torch.zeros_like(theta)
        curv_mode = kappa.clone()
    else:
        c = 2 * safe_k / (mm2 + torch.hypot(torch.full_like(kappa, mm2), 2 * safe_k))
        s2 = mm2 * c / safe_k
        mode = torch.where(pos, torch.atan2(torch.sqrt(s2), c), torch.full_like(theta, math.pi / 2))
        curv_mode = torch.where(pos, mm2 / s2 + kappa * c, torch.full_like(kappa, mm2))
    in_tail = torch.where(upper, mode < theta, mode > theta)

    def psi(phi: Tensor) -> Tensor:
        s = torch.sin(phi / 2)
        p = kappa * (y_theta - 2 * s * s)
        if mm2 != 0:
            p = p + mm2 * (torch.log(2 * s * torch.cos(phi / 2)) - log_st)
        return p

    def widen(a: Tensor, length: Tensor, limit: Tensor) -> Tensor:
        peak = psi(a)
        sign = torch.where(length < 0, -1.0, 1.0).to(a)
        mag = torch.minimum(length.abs(), limit)
        for _ in range(3):
            drop = peak - psi(a + sign * mag)
            short = (drop < 0.8 * T) & (mag < limit)
            mag = torch.where(short, torch.minimum(limit, mag * T / torch.clamp(drop, min=T / 8)), mag)
        return sign * mag

    gx, gw = _gauss_legendre(nodes, theta.dtype, theta.device)

    def panel(a: Tensor, length: Tensor) -> Tensor:
        phi = a[:, None] + length[:, None] * (1 + gx) / 2
        s = torch.sin(phi / 2)
        y_phi = 2 * s * s
        p = kappa[:, None] * (y_theta[:, None] - y_phi)
        if mm2 != 0:
            p = p + mm2 * (torch.log(2 * s * torch.cos(phi / 2)) - log_st[:, None])
        f = (one_minus_A[:, None] - y_phi).abs() * torch.exp(p)
        return torch.where(length != 0, (f * gw).sum(-1) * length.abs() / 2, 0.0)

    # Window around the mode (when the mode lies in the tail) ...
    L_mode = torch.sqrt(2 * T / curv_mode)
    lim1 = (theta - mode).abs()
    len1 = widen(mode, torch.sign(theta - mode) * torch.minimum(L_mode, lim1), lim1)
    lim2 = (tail_end - mode).abs()
    len2 = widen(mode, direction * torch.minimum(L_mode, lim2), lim2)
    J_mode = panel(mode, len1) + panel(mode, len2)
    # ... or from theta outwards, sized by psi's slope and curvature there.
    slope = (mm2 * ct / st - kappa * st).abs()
    curv = torch.clamp(mm2 / (st * st) + kappa * ct, min=0)
    L = 2 * T / (slope + torch.sqrt(slope * slope + 2 * curv * T))
    lim = (tail_end - theta).abs()
    J_theta = panel(theta, widen(theta, direction * torch.minimum(L, lim), lim))
    J = torch.where(in_tail, J_mode, J_theta)
    valid = (theta > 0) & (theta < math.pi) & torch.isfinite(kappa)
    return torch.where(valid, -J, torch.zeros_like(J))


class _Angle(torch.autograd.Function):
    """theta ~ the vMF angle law for (m, kappa); backward by implicit
    reparameterization."""

    @staticmethod
    def forward(ctx, kappa: Tensor, m: int, generator):
        with torch.no_grad():
            theta = _angle_m3(kappa, generator) if m == 3 else _angle_wood(m, kappa, generator)
            theta = torch.where(torch.isinf(kappa), torch.zeros_like(theta), theta)
        ctx.m = m
        ctx.save_for_backward(kappa, theta)
        return theta

    @staticmethod
    def backward(ctx, grad_theta):
        kappa, theta = ctx.saved_tensors
        nodes = 16 if kappa.dtype == torch.float64 else 12
        d = dtheta_dkappa(ctx.m, kappa, theta, nodes).to(kappa.dtype)
        return grad_theta * d, None, None


def vmf_rsample(loc: Tensor, kappa: Tensor, generator: Optional[torch.Generator] = None) -> Tensor:
    """z ~ vMF(loc, kappa): loc [N, m] unit rows, kappa [N]; returns [N, m],
    differentiable w.r.t. loc and kappa."""
    n, m = loc.shape
    kappa = kappa.expand(n)
    theta = _Angle.apply(kappa, m, generator)
    v = torch.randn((n, m - 1), dtype=loc.dtype, device=loc.device, generator=generator)
    v = v / v.norm(dim=-1, keepdim=True)
    z_e1 = torch.cat([torch.cos(theta)[:, None], torch.sin(theta)[:, None] * v], dim=-1)
    # R = -sigma (I - 2 u u^T / u^T u), u = e1 + sigma loc, sigma = sign(loc_1): R e1 = loc.
    sigma = torch.where(loc[:, :1] >= 0, 1.0, -1.0).to(loc)
    u = sigma * loc
    u = torch.cat([u[:, :1] + 1, u[:, 1:]], dim=-1)
    coef = 2 * (u * z_e1).sum(-1, keepdim=True) / (u * u).sum(-1, keepdim=True)
    return -sigma * (z_e1 - coef * u)
