"""IWAE suite: many importance samples per data point (test log-likelihood
with S = 500-5000 samples per image, as both papers report it).

* T-SNF forward, z [S, B, D] with per-data-point packed parameters
  [B, K, T], against the flattened-copy approach users needed before sample
  dimensions: r1, r2 and b repeated S times (the copies are part of the timed
  call) and z flattened to [S B, D].
* vMF ``VonMisesFisher(loc [B, m], kappa [B]).sample((S,))`` against the
  former path, which expanded loc and kappa to [S, B, ...] and flattened
  them into copies before calling the sampler.

Peak memory: the "peak/param" column's unit in this suite is the bytes of
the samples themselves (z for T-SNF, the output for vMF), so it reads "peak
as a multiple of the samples": what an evaluation must hold anyway. The
paper-scale T-SNF case (S = 2000, B = 100, D = 64, K = 16: 53 GB of copies
in float32) runs without its baseline; its peak column is the promise that
it fits in < 2 GiB.

Targets (CPU, same run): T-SNF at S = 256, B = 64, D = 32, K = 8 >= 3x the
copy approach; vMF sample((2000,)) at B = 100, m = 512 peaks at <= 1.3x its
output. --quick runs the target cases (float32) and a small S sweep.
"""

from __future__ import annotations

import sys
from typing import Iterator, List

import torch

import hvae_ext
from hvae_ext._ops.vmf import vmf_sample

from ..registry import Case, suite
from .sylvester import _inputs

SNF_FULL = [(1, 100, 64, 16), (64, 100, 64, 16), (2000, 100, 64, 16), (256, 64, 32, 8)]
SNF_QUICK = [(1, 16, 16, 4), (64, 16, 16, 4), (256, 64, 32, 8)]
SNF_TARGET = (256, 64, 32, 8)
VMF_FULL = [(2000, 100, 16), (2000, 100, 512)]
VMF_QUICK = [(200, 100, 16), (2000, 100, 512)]
VMF_TARGET = (2000, 100, 512)
# Largest copies the flattened baseline may make (bytes), per device.
COPY_CAP = {"cpu": 2 << 30, "cuda": 16 << 30}


def _snf_cases(device: str, dtype: torch.dtype, samples: int, batch: int, dim: int, num_flows: int) -> Iterator[Case]:
    size = torch.finfo(dtype).bits // 8
    tri = dim * (dim + 1) // 2
    z1, r1, r2, b = _inputs(batch, dim, num_flows, device, dtype)
    z = torch.randn(samples, batch, dim, generator=torch.Generator().manual_seed(1)).to(device, dtype)
    param_bytes = (2 * tri + dim) * batch * num_flows * size
    z_bytes = samples * batch * dim * size

    def ours():
        with torch.no_grad():
            return hvae_ext.sylvester_triangular(z, r1, r2, b)

    def flattened_copy():
        with torch.no_grad():
            reps = [t.repeat(samples, 1, 1) for t in (r1, r2, b)]
            return hvae_ext.sylvester_triangular(z.view(-1, dim), *reps)

    copy_bytes = samples * param_bytes
    baselines = {"flattened copy": flattened_copy} if copy_bytes <= COPY_CAP[device] else {}
    if not baselines:
        print(f"  iwae: S={samples} B={batch} D={dim} K={num_flows} runs without its baseline "
              f"({copy_bytes / 1e9:.3g} GB of copies)", file=sys.stderr)
    target = 3.0 if (device == "cpu" and (samples, batch, dim, num_flows) == SNF_TARGET) else None
    yield Case(suite="iwae", name=f"T-SNF fwd S={samples} B={batch} D={dim} K={num_flows}", device=device,
               dtype=dtype, ours=ours, baselines=baselines, elements=samples * batch,
               bytes_moved=param_bytes + 2 * z_bytes + samples * batch * size, target=target,
               param_bytes=z_bytes, peak_target=1.1)


def _vmf_cases(device: str, dtype: torch.dtype, samples: int, batch: int, m: int) -> Iterator[Case]:
    g = torch.Generator().manual_seed(0)
    loc = torch.randn(batch, m, generator=g, dtype=torch.float64)
    loc = (loc / loc.norm(dim=-1, keepdim=True)).to(device, dtype)
    kappa = (10.0 ** (4 * torch.rand(batch, generator=g, dtype=torch.float64))).to(device, dtype)
    dist = hvae_ext.VonMisesFisher(loc, kappa, validate_args=False)
    gen = torch.Generator(device=device).manual_seed(1)
    out_bytes = samples * batch * m * (torch.finfo(dtype).bits // 8)

    def ours():
        return dist.sample((samples,), generator=gen)

    def flattened_copy():
        with torch.no_grad():
            n = samples * batch
            flat_loc = loc.expand(samples, batch, m).reshape(n, m)
            flat_kappa = kappa.expand(samples, batch).reshape(n)
            return vmf_sample(flat_loc, flat_kappa, gen)[0].view(samples, batch, m)

    target = 1.3 if (samples, batch, m) == VMF_TARGET else None
    yield Case(suite="iwae", name=f"vMF sample(({samples},)) B={batch} m={m}", device=device, dtype=dtype,
               ours=ours, baselines={"flattened copy": flattened_copy}, elements=samples * batch,
               bytes_moved=out_bytes, param_bytes=out_bytes, peak_target=target)


@suite("iwae")
def iwae_cases(devices: List[str], dtypes: List[torch.dtype], quick: bool) -> Iterator[Case]:
    # quick: float32 only (the targets' dtype), small sizes apart from the targets
    for device in devices:
        for dtype in ([torch.float32] if quick else dtypes):
            for shape in SNF_QUICK if quick else SNF_FULL:
                yield from _snf_cases(device, dtype, *shape)
            for shape in VMF_QUICK if quick else VMF_FULL:
                yield from _vmf_cases(device, dtype, *shape)
