"""Cost of the Power Spherical entropy and KL (fwd, fwd+bwd, construction
included) against the power_spherical package, B = 1024, CPU; Timer medians.
Threads from NT (default 2; docs/power_spherical.md reports NT=1, because 2-thread
medians on a shared 2-core machine are dominated by OpenMP barrier stalls):

    NT=1 python tools/ps_density_bench.py
"""
import sys, os
sys.path.insert(0, os.getcwd())
import torch, torch.nn.functional as F
from torch.utils.benchmark import Timer
from torch.distributions import kl_divergence
import power_spherical as pkg
import hvae_ext
from hvae_ext import PowerSpherical, HypersphericalUniform
NT = int(os.environ.get("NT", "2"))
torch.set_num_threads(NT)
B = 1024
rows = []
for dtype in (torch.float32, torch.float64):
    for m in (16, 64, 512):
        g = torch.Generator().manual_seed(0)
        loc = F.normalize(torch.randn(B, m, generator=g, dtype=dtype), dim=-1)
        kappa = (torch.rand(B, generator=g, dtype=dtype) * 100).requires_grad_()
        u_pkg = pkg.HypersphericalUniform(m, dtype=dtype)
        u_ours = HypersphericalUniform(m, dtype=dtype)
        stmts = {
            "entropy fwd": ("PowerSpherical(loc, kappa, validate_args=False).entropy()",
                            "pkg.PowerSpherical(loc, kappa, validate_args=False).entropy()"),
            "entropy fwd+bwd": ("PowerSpherical(loc, kappa, validate_args=False).entropy().sum().backward()",
                                "pkg.PowerSpherical(loc, kappa, validate_args=False).entropy().sum().backward()"),
            "KL fwd+bwd": ("kl_divergence(PowerSpherical(loc, kappa, validate_args=False), u_ours).sum().backward()",
                           "kl_divergence(pkg.PowerSpherical(loc, kappa, validate_args=False), u_pkg).sum().backward()"),
        }
        env = dict(globals(), loc=loc, kappa=kappa, u_pkg=u_pkg, u_ours=u_ours)
        for name, (ours, theirs) in stmts.items():
            t_o = Timer(ours, globals=env, num_threads=NT).blocked_autorange(min_run_time=0.5).median
            t_t = Timer(theirs, globals=env, num_threads=NT).blocked_autorange(min_run_time=0.5).median
            print(f"{str(dtype)[6:]:8s} m={m:4d} {name:16s} ours {t_o*1e6:8.1f} us  package {t_t*1e6:8.1f} us  ratio {t_t/t_o:5.2f}x", flush=True)
