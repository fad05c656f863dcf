"""mpmath oracle (50 digits) of the functions of kappa behind the Power
Spherical density, for tests/test_power_spherical_density.py and
tests/test_power_spherical.py."""

from __future__ import annotations

import functools

import mpmath as mp


@functools.lru_cache(maxsize=None)
def ps_kappa_reference(m: int, kappa: float):
    """dict of log C, log C - kappa log 2, H, KL(PS || U), d/dk log C, d/dk H,
    d/dk KL, d2/dk2 log C at 50 digits for the exact float kappa.

    The KL is computed in its Bregman form B(beta) - B(2 beta),
    B(c) = lgamma(c) - lgamma(c+k) + k psi(c+k), at 100 digits: B cancels
    lgamma(c) ~ c log c down to ~k^2/c (~40 digits at m = 1e4, k = 1e-15)."""
    with mp.workdps(50):
        k = mp.mpf(kappa)
        b = mp.mpf(m - 1) / 2
        a = b + k
        log2 = mp.log(2)
        d_lg = mp.loggamma(a + b) - mp.loggamma(a)
        d_psi = mp.digamma(a + b) - mp.digamma(a)
        d_tri = mp.psi(1, a) - mp.psi(1, a + b)
        log_c = (a + b) * log2 + b * mp.log(mp.pi) - d_lg
        h = (m - 1) * log2 + b * mp.log(mp.pi) - d_lg + k * d_psi

        # B(c) cancels lgamma(c) ~ c log c down to ~k^2/c: 50 more digits for it.
        with mp.workdps(100):
            kk, bb = mp.mpf(kappa), mp.mpf(m - 1) / 2

            def bregman(c):
                return mp.loggamma(c) - mp.loggamma(c + kk) + kk * mp.digamma(c + kk)

            kl = +(bregman(bb) - bregman(2 * bb)) if kappa > 0 else mp.mpf(0)
        return {
            "log_c": log_c,
            "log_c_scaled": log_c - k * log2,
            "entropy": h,
            "kl_uniform": kl,
            "d_log_c": log2 - d_psi,
            "d_log_c_scaled": -d_psi,
            "d_entropy": -k * d_tri,
            "d_kl_uniform": k * d_tri,
            "d2_log_c": d_tri,
        }


def ps_dtheta_dkappa_mp(m: int, kappa: float, theta: float) -> float:
    """d theta / d kappa of the Power Spherical sampler at 30 digits, by
    quadrature of the Beta CDF's alpha-derivative:
    dB/dalpha = -(1/f(x)) int_0^x f(t) (log t + D) dt = (1/f(x)) int_x^1 ...,
    x = B = cos^2(theta/2), D = psi(alpha + beta) - psi(alpha), over the side
    on which log t + D has one sign, in u = 1 - t (y = 1 - x keeps its
    digits near theta = 0). d theta/d kappa = -2 dB/dalpha / sin theta."""
    with mp.workdps(30):
        b = mp.mpf(m - 1) / 2
        a = b + mp.mpf(kappa)
        th = mp.mpf(theta)
        x, y = mp.cos(th / 2) ** 2, mp.sin(th / 2) ** 2
        d = mp.digamma(a + b) - mp.digamma(a)
        log_fx = (a - 1) * mp.log(x) + (b - 1) * mp.log(y)
        mean_y = b / (a + b)
        sd = mp.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
        marks = [mean_y + j * sd for j in (-30, -10, -3, -1, 0, 1, 3, 10, 30)]

        def g(u):  # f(1 - u) (log(1 - u) + D) / f(x); 0 at the (integrable) ends
            if u <= 0 or u >= 1:
                return mp.mpf(0)
            return (mp.log1p(-u) + d) * mp.exp((a - 1) * mp.log1p(-u) + (b - 1) * mp.log(u) - log_fx)

        if mp.log(x) + d >= 0:  # upper side: t in [x, 1], u in [0, y]
            db = mp.quad(g, sorted({mp.mpf(0), y} | {p for p in marks if 0 < p < y}))
        else:  # lower side: t in [0, x], u in [y, 1]
            db = -mp.quad(g, sorted({y, mp.mpf(1)} | {p for p in marks if y < p < 1}))
        return float(-2 * db / mp.sin(th))
