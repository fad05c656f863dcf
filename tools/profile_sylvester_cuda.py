"""Kernel-level figures of the CUDA T-SNF op against the HBM roofline: for
each (B, D, K) and dtype, the median time of the forward (no grad) and of
forward + backward, the bytes the op must move at least (packed parameters
read once forward and once backward, their gradients written once, plus z,
logdet and the saved z_k, a_k), and the share of --peak-gbs.

  python tools/profile_sylvester_cuda.py [--sizes 256x64x8,4096x128x8] [--peak-gbs 3350]
"""

from __future__ import annotations

import argparse

import torch
from torch.utils.benchmark import Timer

import hvae_ext


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="256x64x8,4096x16x8,4096x64x8,4096x128x8,4096x128x16")
    p.add_argument("--dtypes", default="float32,float64")
    p.add_argument("--peak-gbs", type=float, default=3350.0, help="HBM bandwidth (H100 SXM: 3350)")
    args = p.parse_args()
    print(f"{'case':28s} {'fwd':>10s} {'GB/s':>7s} {'roof':>6s} {'fwd+bwd':>10s} {'GB/s':>7s} {'roof':>6s}")
    for dtype_name in args.dtypes.split(","):
        dtype = getattr(torch, dtype_name)
        size = torch.finfo(dtype).bits // 8
        for spec in args.sizes.split(","):
            b, d, k = (int(s) for s in spec.split("x"))
            t = d * (d + 1) // 2
            g = torch.Generator(device="cuda").manual_seed(0)
            z = torch.randn(b, d, device="cuda", dtype=dtype, generator=g)
            r1 = torch.randn(b, k, t, device="cuda", dtype=dtype, generator=g) / d ** 0.5
            r2 = torch.randn(b, k, t, device="cuda", dtype=dtype, generator=g) / d ** 0.5
            bias = torch.randn(b, k, d, device="cuda", dtype=dtype, generator=g)
            params = (2 * t + d) * b * k * size
            vec = b * d * size
            steps = 2 * b * k * d * size  # z_k and a_k, written forward, read backward
            fwd_bytes = params + 2 * vec + b * size
            bwd_bytes = fwd_bytes + steps + params + steps + params + 3 * vec + b * size
            leaves = [x.clone().requires_grad_(True) for x in (z, r1, r2, bias)]
            gz, gl = torch.randn_like(z), torch.randn(b, device="cuda", dtype=dtype)

            def fwd():
                with torch.no_grad():
                    return hvae_ext.sylvester_triangular(z, r1, r2, bias)

            def fwd_bwd():
                out = hvae_ext.sylvester_triangular(*leaves)
                return torch.autograd.grad(out, leaves, (gz, gl))

            tf = Timer("f()", globals={"f": fwd}).blocked_autorange(min_run_time=0.3).median
            tb = Timer("f()", globals={"f": fwd_bwd}).blocked_autorange(min_run_time=0.3).median
            gf, gb = fwd_bytes / tf / 1e9, bwd_bytes / tb / 1e9
            print(f"B={b} D={d} K={k} {dtype_name:8s} {tf * 1e6:8.1f}us {gf:7.0f} {gf / args.peak_gbs:6.1%} "
                  f"{tb * 1e6:8.1f}us {gb:7.0f} {gb / args.peak_gbs:6.1%}", flush=True)
            del r1, r2, leaves


if __name__ == "__main__":
    main()
