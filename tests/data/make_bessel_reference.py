#!/usr/bin/env python
"""Generate tests/data/bessel_reference.npz: high-precision reference values
of log I_v(x), log I_v(x) - x, R_v(x) = I_{v+1}(x)/I_v(x) and the x-derivatives
d/dx log I_v = R + v/x, d/dx (log I_v - x) = R + v/x - 1 and
R_v'(x) = 1 - R^2 - (2v+1) R / x, at the exact floating-point values of (v, x).

Two point sets are stored:
  f64_*: float64 points (grid + region boundaries + random points),
  f32_*: points exactly representable in float32 (same construction, rounded
         to float32 before the reference is computed).
Each set has columns v, x, log_iv, log_ive, ratio, log_iv_dx, log_ive_dx,
ratio_dx (all float64: the mpmath values rounded once).

Run:  python tests/data/make_bessel_reference.py   (a few minutes; HVAE_REF_PROCS
      worker processes, default 2)
"""
import multiprocessing as mpc
import os
import sys
import time

import mpmath as mp
import numpy as np

DPS = 50
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bessel_reference.npz")

# vMF orders v = m/2 - 1
VMF_M = [2, 3, 4, 5, 8, 10, 16, 64, 100, 512, 1000, 4096, 10000, 20000]


def around(b, dtype, rel=(1e-6,)):
    """b, b +- 1 ulp and b*(1 +- rel) in the given dtype."""
    b = dtype(b)
    out = [b, np.nextafter(b, dtype(np.inf)), np.nextafter(b, dtype(-np.inf))]
    for r in rel:
        out += [dtype(b * (1 + r)), dtype(b * (1 - r))]
    return out


def orders(dtype, rng):
    vs = [0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 2.5, 3.5, 5.0, 7.25, 10.0, 11.5, 15.0, 20.0,
          25.5, 30.0, 31.0, 31.5, 40.0, 50.0, 100.0, 300.0, 1000.0, 3000.0, 1e4]
    vs += [m / 2 - 1 for m in VMF_M if m / 2 - 1 <= 1e4]
    # region boundaries of csrc/hvae/bessel.h: large-order (Debye) thresholds
    # 32 / 24 (float64; the latter for log_iv, log_ive) and 12 / 8 (float32)
    for b in (8.0, 12.0, 24.0, 32.0):
        vs += [float(t) for t in around(b, dtype)]
    vs += list(10 ** rng.uniform(-3, 4, 12))
    vs = sorted(set(float(dtype(v)) for v in vs))
    return vs


def arguments(dtype):
    xs = list(np.logspace(-10, 7, 35))
    xs += [0.3, 0.9, 1.7, 2.5, 3.3, 5.2, 7.7, 9.5, 14.0, 25.0, 45.0, 70.0]
    # series/recurrence switch: 8 (float64), 4 (float32), 2 (R', both)
    for b in (2.0, 4.0, 8.0):
        xs += [float(t) for t in around(b, dtype)]
    return sorted(set(float(dtype(x)) for x in xs))


def build_points(dtype, seed):
    rng = np.random.default_rng(seed)
    vs, xs = orders(dtype, rng), arguments(dtype)
    pts = [(v, x) for v in vs for x in xs]
    # x near the order (turning region of the Debye expansion) and x ~ v^2
    for v in vs:
        if v > 1:
            for f in (0.5, 1.0, 2.0):
                pts.append((v, float(dtype(f * v))))
            if v * v <= 1e7:
                pts.append((v, float(dtype(v * v))))
        if v < 32:  # R' recurrence switches form at x = (v+1)^2
            for x in around((v + 1) ** 2, dtype):
                pts.append((v, float(x)))
    # Hankel (large-x) switch for v < 32: x = f (A + B (v+1)^2), A, B = 25, 0.4
    # (float64) and 20, 0.65 (float32); f = 1, and for R' (v <= 4) f = 0.6 in
    # float32 (1.5: extra points)
    for v in vs:
        if v < 32:
            for a, b in ((25.0, 0.4), (20.0, 0.65)):
                for f in (1.0, 1.5, 0.6):
                    for x in around(f * (a + b * (v + 1) ** 2), dtype):
                        pts.append((v, float(x)))
    # random points
    v = 10 ** rng.uniform(-3, 4, 300)
    x = 10 ** rng.uniform(-10, 7, 300)
    pts += [(float(dtype(a)), float(dtype(b))) for a, b in zip(v, x)]
    pts = sorted(set(pts))
    return pts


# mpmath.besseli sums the 0F1 series, which needs ~x terms: for v >= 1000 and
# x >= v that takes minutes per point (e.g. v = 1e4, x = 3e5). There the
# reference uses the uniform expansion DLMF 10.41.3 in 50-digit arithmetic
# with DEBYE_TERMS exact-rational u_k(t): the omitted term is below 1e-60
# relative for v >= 1000 (checked against besseli where besseli is fast).
DEBYE_TERMS = 24
DEBYE_MIN_V = 1000.0
_U = None


def _debye_polys():
    from fractions import Fraction as Fr
    u = [[Fr(1)]]
    for _ in range(DEBYE_TERMS):
        p = u[-1]
        dp = [i * p[i] for i in range(1, len(p))] + [Fr(0)]
        a = [Fr(0)] * (len(p) + 4)
        for i, c in enumerate(dp):  # t^2 (1 - t^2) / 2 * u'
            a[i + 2] += c / 2
            a[i + 4] -= c / 2
        b = [Fr(0)] * (len(p) + 3)
        for i, c in enumerate(p):  # 1/8 int_0^t (1 - 5 s^2) u(s) ds
            b[i + 1] += c / (8 * (i + 1))
            b[i + 3] -= 5 * c / (8 * (i + 3))
        n = max(len(a), len(b))
        u.append([(a[i] if i < len(a) else 0) + (b[i] if i < len(b) else 0) for i in range(n)])
    return [[mp.mpf(c.numerator) / c.denominator for c in p] for p in u]


def log_iv_debye(vm, xm):
    global _U
    if _U is None:
        _U = _debye_polys()
    z = xm / vm
    s = mp.sqrt(1 + z * z)
    t = 1 / s
    eta = s + mp.log(z / (1 + s))
    tot = mp.mpf(0)
    for k, p in enumerate(_U):
        tot += mp.polyval(p[::-1], t) / vm ** k
    return vm * eta - mp.log(2 * mp.pi * vm) / 2 - mp.log(s) / 2 + mp.log(tot)


def ref_point(p):
    v, x = p
    mp.mp.dps = DPS
    vm, xm = mp.mpf(v), mp.mpf(x)
    if v >= DEBYE_MIN_V and x >= v:
        liv = log_iv_debye(vm, xm)
        r = mp.exp(log_iv_debye(vm + 1, xm) - liv)
    else:
        iv = mp.besseli(vm, xm, maxterms=10**7)
        iv1 = mp.besseli(vm + 1, xm, maxterms=10**7)
        liv = mp.log(iv)
        r = iv1 / iv
    d1 = r + vm / xm
    return (v, x, float(liv), float(liv - xm), float(r), float(d1), float(d1 - 1),
            float(1 - r * r - (2 * vm + 1) * r / xm))


def main():
    t0 = time.time()
    out = {}
    with mpc.Pool(int(os.environ.get("HVAE_REF_PROCS", "2"))) as pool:
        for name, dtype, seed in (("f64", np.float64, 1), ("f32", np.float32, 2)):
            pts = build_points(dtype, seed)
            # slow points (x several times v, large v) first for load balance
            pts.sort(key=lambda p: -(p[0] * min(p[1], 1e6)))
            rows = pool.map(ref_point, pts, chunksize=4)
            rows.sort()
            arr = np.array(rows, dtype=np.float64)
            for j, col in enumerate(["v", "x", "log_iv", "log_ive", "ratio", "log_iv_dx",
                                     "log_ive_dx", "ratio_dx"]):
                out[f"{name}_{col}"] = arr[:, j]
            print(f"{name}: {len(rows)} points, {time.time() - t0:.0f}s", file=sys.stderr)
    np.savez_compressed(OUT, **out)
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes) in {time.time() - t0:.0f}s",
          file=sys.stderr)


if __name__ == "__main__":
    main()
