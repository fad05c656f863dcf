"""Where the time of Power Spherical rsample + backward goes, B = 1024, CPU:
the sample op, the backward op with and without the kappa gradient, and the
whole step (rsample, the vMF suite's loss, backward) against the
power_spherical package, as percentiles of 2000 single calls. The step's
5th percentile and median differ when OpenMP's worker falls asleep between
our two parallel regions (its wake-up is paid again in each); running with
OMP_WAIT_POLICY=active GOMP_SPINCOUNT=infinite removes that mode.

    python tools/ps_sampler_bench.py [threads] [m ...]
"""
import os
import sys
import time

sys.path.insert(0, os.getcwd())
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import power_spherical as pkg  # noqa: E402
import hvae_ext  # noqa: E402,F401
from hvae_ext._ops.power_spherical import power_spherical_rsample, power_spherical_sample  # noqa: E402

THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 2
DIMS = [int(a) for a in sys.argv[2:]] or [16, 64]
B = 1024
torch.set_num_threads(THREADS)


def percentiles(fn, calls=2000):
    for _ in range(50):
        fn()
    ts = []
    for _ in range(calls):
        t = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t) * 1e6)
    ts.sort()
    return " ".join(f"p{p}={ts[int(p / 100 * calls)]:.0f}" for p in (5, 50, 95))


for dtype in (torch.float32, torch.float64):
    for m in DIMS:
        g = torch.Generator().manual_seed(0)
        loc = F.normalize(torch.randn(B, m, generator=g, dtype=dtype), dim=-1)
        kappa = torch.exp(torch.rand(B, generator=g, dtype=dtype) * torch.log(torch.tensor(1e4, dtype=dtype)))
        gen = torch.Generator().manual_seed(1)
        z, theta = power_spherical_sample(loc, kappa, gen)
        grad_z = torch.randn_like(z)
        backward = torch.ops.hvae._power_spherical_sample_backward
        loc_g, kappa_g = loc.clone().requires_grad_(), kappa.clone().requires_grad_()
        w = torch.linspace(-1, 1, m, dtype=dtype)
        cases = {
            "sample op": lambda: power_spherical_sample(loc, kappa, gen),
            "backward op": lambda: backward(grad_z, z, theta, loc, kappa, True),
            "backward op, no kappa": lambda: backward(grad_z, z, theta, loc, kappa, False),
            "step, ours": lambda: (power_spherical_rsample(loc_g, kappa_g, gen) @ w).sum().backward(),
            "step, package": lambda: (pkg.PowerSpherical(loc_g, kappa_g).rsample() @ w).sum().backward(),
        }
        for name, fn in cases.items():
            print(f"{str(dtype)[6:]:8s} m={m:<4d} {name:22s} {percentiles(fn)} us", flush=True)
