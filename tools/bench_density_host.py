"""Host cost of the vMF density paths at VAE sizes (CPU, B = 64, m = 10,
float32), medians of torch.utils.benchmark.Timer.

    python tools/bench_density_host.py --repo /work/main           # before
    python tools/bench_density_host.py --repo /work/wt-i11-density  # after

--repo puts that checkout first on sys.path (the script is run by path, so
its own directory would otherwise decide nothing about which hvae_ext loads).
"""

from __future__ import annotations

import argparse
import sys


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-run-time", type=float, default=2.0)
    args = ap.parse_args()
    sys.path.insert(0, args.repo)

    import torch
    import torch.nn.functional as F
    from torch.distributions import Normal, kl_divergence
    from torch.utils.benchmark import Timer

    import hvae_ext
    from hvae_ext import HypersphericalUniform, VonMisesFisher

    torch.set_num_threads(args.threads)
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

    def kl_fwd():
        with torch.no_grad():
            return kl_divergence(p, u)

    def kl_fwd_bwd():
        kl_divergence(p_g, u).sum().backward()

    def entropy_fwd():
        with torch.no_grad():
            return p.entropy()

    def log_prob_fwd():
        with torch.no_grad():
            return p.log_prob(z)

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

    print(f"hvae_ext from {hvae_ext.__file__}; torch {torch.__version__}, {args.threads} threads")
    results = {}
    for name, fn in [("kl(vMF||U) fwd, no grad", kl_fwd), ("kl(vMF||U) fwd+bwd", kl_fwd_bwd),
                     ("entropy fwd, no grad", entropy_fwd), ("log_prob fwd, no grad", log_prob_fwd),
                     ("latent path vMF", latent_vmf), ("latent path Normal", latent_gauss)]:
        t = Timer("fn()", globals={"fn": fn}, num_threads=args.threads).blocked_autorange(
            min_run_time=args.min_run_time)
        results[name] = t.median * 1e6
        print(f"  {name:28s} {t.median * 1e6:8.1f} us (median of {len(t.times)})")
    print(f"  latent path vMF / Normal     {results['latent path vMF'] / results['latent path Normal']:8.2f}x")


if __name__ == "__main__":
    main()
