"""Where the time of a CUDA vMF rsample + backward goes: wall time per call
(synchronised medians), and the torch.profiler kernel table of a few calls.

  python tools/profile_vmf_cuda.py [--sizes 1024x16,65536x64] [--dtype float32]
"""

from __future__ import annotations

import argparse

import torch
from torch.profiler import ProfilerActivity, profile
from torch.utils.benchmark import Timer

from hvae_ext._ops.vmf import vmf_rsample, vmf_sample


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="1024x16,1024x64,65536x64,65536x512")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--rows", type=int, default=12)
    args = p.parse_args()
    dtype = getattr(torch, args.dtype)
    for size in args.sizes.split(","):
        b, m = (int(s) for s in size.split("x"))
        g = torch.Generator(device="cuda").manual_seed(0)
        loc = torch.randn(b, m, device="cuda", dtype=dtype)
        loc = loc / loc.norm(dim=-1, keepdim=True)
        kappa = 10 ** (4 * torch.rand(b, device="cuda", dtype=dtype))
        lg, kg = loc.clone().requires_grad_(), kappa.clone().requires_grad_()
        w = torch.linspace(-1, 1, m, device="cuda", dtype=dtype)
        z, theta = vmf_sample(loc, kappa, g)
        gz = torch.randn_like(z)
        bw = torch.ops.hvae._vmf_sample_backward.default
        env = dict(vmf_sample=vmf_sample, vr=vmf_rsample, bw=bw, loc=loc, kappa=kappa, g=g,
                   lg=lg, kg=kg, w=w, z=z, theta=theta, gz=gz)
        for name, stmt in [
            ("sample", "vmf_sample(loc, kappa, g)"),
            ("backward op (kappa)", "bw(gz, z, theta, loc, kappa, True)"),
            ("backward op (no kappa)", "bw(gz, z, theta, loc, kappa, False)"),
            ("rsample+backward", "(vr(lg, kg, g) @ w).sum().backward()"),
        ]:
            t = Timer(stmt, globals=env).blocked_autorange(min_run_time=0.3)
            print(f"B={b} m={m} {args.dtype} {name}: {t.median * 1e6:.1f} us", flush=True)
        for _ in range(3):
            (vmf_rsample(lg, kg, g) @ w).sum().backward()
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            for _ in range(10):
                (vmf_rsample(lg, kg, g) @ w).sum().backward()
            torch.cuda.synchronize()
        print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=args.rows), flush=True)


if __name__ == "__main__":
    main()
