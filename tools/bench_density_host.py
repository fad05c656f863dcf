"""Host cost of the vMF density paths at VAE sizes (CPU, B = 64, m = 10,
float32): medians of torch.utils.benchmark.Timer, and with --callgrind the
instruction counts per call (Timer.collect_callgrind: deterministic, so a
before/after comparison holds on a loaded machine where wall times do not).

    python tools/bench_density_host.py --repo /work/main           # before
    python tools/bench_density_host.py --repo /work/wt-i11-density  # after

--repo puts that checkout first on sys.path (the script is run by path, so
its own directory decides nothing about which hvae_ext loads).
"""

from __future__ import annotations

import argparse
import sys

SETUP = """
import sys
sys.path.insert(0, {repo!r})
import torch
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence
import hvae_ext
from hvae_ext import HypersphericalUniform, VonMisesFisher
torch.manual_seed(0)
B, m, H = 64, 10, 128
loc = F.normalize(torch.randn(B, m), dim=-1)
kappa = torch.rand(B) * 50
kappa_g = kappa.clone().requires_grad_()
z = F.normalize(torch.randn(B, m), dim=-1)
u = HypersphericalUniform(m)
p = VonMisesFisher(loc, kappa)
p_g = VonMisesFisher(loc, kappa_g, validate_args=False)
h = torch.randn(B, H)
head_vmf = torch.nn.Linear(H, m + 1)
head_gauss = torch.nn.Linear(H, 2 * m)
std_normal = Normal(torch.zeros(()), torch.ones(()), validate_args=False)

def latent_vmf():
    out = head_vmf(h)
    q = VonMisesFisher(F.normalize(out[:, :m], dim=-1), F.softplus(out[:, m]) + 1, validate_args=False)
    zz = q.rsample()
    (zz.sum() + kl_divergence(q, u).sum()).backward()

def latent_gauss():
    out = head_gauss(h)
    q = Normal(out[:, :m], F.softplus(out[:, m:]) + 1e-3, validate_args=False)
    zz = q.rsample()
    (zz.sum() + kl_divergence(q, std_normal).sum()).backward()
"""

CASES = {
    "kl(vMF||U) fwd, no grad": "with torch.no_grad(): kl_divergence(p, u)",
    "kl(vMF||U) fwd+bwd": "kl_divergence(p_g, u).sum().backward()",
    "entropy fwd, no grad": "with torch.no_grad(): p.entropy()",
    "log_prob fwd, no grad": "with torch.no_grad(): p.log_prob(z)",
    "latent path vMF": "latent_vmf()",
    "latent path Normal": "latent_gauss()",
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-run-time", type=float, default=2.0)
    ap.add_argument("--callgrind", action="store_true", help="instruction counts instead of wall times")
    args = ap.parse_args()
    sys.path.insert(0, args.repo)

    import torch
    from torch.utils.benchmark import Timer

    import hvae_ext

    setup = SETUP.format(repo=args.repo)
    print(f"hvae_ext from {hvae_ext.__file__}; torch {torch.__version__}, {args.threads} threads")
    results = {}
    for name, stmt in CASES.items():
        timer = Timer(stmt, setup=setup, num_threads=args.threads)
        if args.callgrind:
            stats = timer.collect_callgrind(number=200, collect_baseline=False)
            results[name] = stats.counts(denoise=True) / 200
            print(f"  {name:28s} {results[name] / 1e3:9.1f} k instructions per call")
        else:
            t = timer.blocked_autorange(min_run_time=args.min_run_time)
            results[name] = t.median * 1e6
            print(f"  {name:28s} {t.median * 1e6:8.1f} us (median of {len(t.times)})")
    print(f"  latent path vMF / Normal     {results['latent path vMF'] / results['latent path Normal']:8.2f}x")


if __name__ == "__main__":
    main()
