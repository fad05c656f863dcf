"""Where the time of a CUDA vMF rsample + backward goes: synchronised medians
of the sampler op, its backward op, rsample + backward of the benchmark's
loss ((z @ w).sum().backward(), as benchmarks/suites/vmf.py times it), the
same loss on a leaf tensor (the floor that PyTorch's own ops and autograd
set for any sampler), and with --reference the pure-PyTorch reference
sampler; optionally the torch.profiler kernel table.

  python tools/profile_vmf_cuda.py [--sizes 1024x16,65536x64] [--dtypes float32] [--reference] [--table]
"""

from __future__ import annotations

import argparse

import torch
from torch.profiler import ProfilerActivity, profile
from torch.utils.benchmark import Timer

from hvae_ext import reference
from hvae_ext._ops.vmf import vmf_rsample, vmf_sample


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="1024x16,1024x64,1024x512,65536x64,65536x512")
    p.add_argument("--dtypes", default="float32")
    p.add_argument("--reference", action="store_true", help="also time the reference sampler")
    p.add_argument("--table", action="store_true", help="print the torch.profiler kernel table")
    p.add_argument("--min-run-time", type=float, default=0.2)
    args = p.parse_args()
    for dtype_name in args.dtypes.split(","):
        dtype = getattr(torch, dtype_name)
        for size in args.sizes.split(","):
            b, m = (int(s) for s in size.split("x"))
            g = torch.Generator(device="cuda").manual_seed(0)
            loc = torch.randn(b, m, device="cuda", dtype=dtype)
            loc = loc / loc.norm(dim=-1, keepdim=True)
            kappa = 10 ** (4 * torch.rand(b, device="cuda", dtype=dtype))
            lg, kg = loc.clone().requires_grad_(), kappa.clone().requires_grad_()
            w = torch.linspace(-1, 1, m, device="cuda", dtype=dtype)
            z, theta = vmf_sample(loc, kappa, g)
            leaf = z.clone().requires_grad_()
            gz = torch.randn_like(z)
            bw = torch.ops.hvae._vmf_sample_backward.default
            env = dict(vmf_sample=vmf_sample, vr=vmf_rsample, ref=reference.vmf_rsample, bw=bw, loc=loc,
                       kappa=kappa, g=g, lg=lg, kg=kg, w=w, z=z, theta=theta, gz=gz, leaf=leaf)
            stmts = [
                ("sample op", "vmf_sample(loc, kappa, g)"),
                ("backward op", "bw(gz, z, theta, loc, kappa, True)"),
                ("rsample+backward", "(vr(lg, kg, g) @ w).sum().backward()"),
                ("loss floor (leaf)", "(leaf @ w).sum().backward()"),
            ]
            if args.reference:
                stmts.append(("reference rsample+backward", "(ref(lg, kg, g) @ w).sum().backward()"))
            times = {}
            for name, stmt in stmts:
                times[name] = Timer(stmt, globals=env).blocked_autorange(min_run_time=args.min_run_time).median
                print(f"B={b} m={m} {dtype_name} {name}: {times[name] * 1e6:.1f} us", flush=True)
            if args.reference:
                ratio = times["reference rsample+backward"] / times["rsample+backward"]
                print(f"B={b} m={m} {dtype_name} speedup rsample+backward vs reference: {ratio:.1f}x", flush=True)
            if args.table:
                for _ in range(3):
                    (vmf_rsample(lg, kg, g) @ w).sum().backward()
                torch.cuda.synchronize()
                with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
                    for _ in range(10):
                        (vmf_rsample(lg, kg, g) @ w).sum().backward()
                    torch.cuda.synchronize()
                print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=12), flush=True)


if __name__ == "__main__":
    main()
