"""mpmath oracle of the functions of kappa behind the vMF densities, shared by
tests/test_distributions.py and tests/test_vmf_density.py."""

from __future__ import annotations

import functools

import mpmath as mp


@functools.lru_cache(maxsize=None)
def vmf_kappa_reference(m: int, kappa: float):
    """(log S_v, A_m, A_m', log|S^{m-1}|) at 80 digits for the exact float kappa,
    with v = m/2 - 1, log S_v = log(Gamma(v+1) (2/kappa)^v I_v(kappa)),
    A_m = I_{v+1}/I_v and A_m' = 1 - A^2 - (m-1) A/kappa (kappa = 0: the limits
    0, 0 and 1/m)."""
    with mp.workdps(80):
        v = mp.mpf(m) / 2 - 1
        log_area = mp.log(2) + mp.mpf(m) / 2 * mp.log(mp.pi) - mp.loggamma(mp.mpf(m) / 2)
        if kappa == 0:
            return mp.mpf(0), mp.mpf(0), 1 / mp.mpf(m), log_area
        k = mp.mpf(kappa)
        iv = mp.besseli(v, k, maxterms=10**6)
        a = mp.besseli(v + 1, k, maxterms=10**6) / iv
        log_s = mp.loggamma(v + 1) + v * mp.log(2 / k) + mp.log(iv)
        a_prime = 1 - a * a - (m - 1) * a / k
        return log_s, a, a_prime, log_area
