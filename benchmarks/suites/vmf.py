"""vMF suite: reparameterized sampling (rsample) and rsample + backward
against the pure-PyTorch reference sampler (same algorithm, same unbiased
kappa gradient); and the Power Spherical sampler's rsample + backward against
the `power-spherical` package (De Cao and Aziz's pure-PyTorch one)."""

from __future__ import annotations

from typing import List

import torch

from hvae_ext import reference
from hvae_ext._ops.power_spherical import power_spherical_rsample
from hvae_ext._ops.vmf import vmf_rsample

from ..registry import Case, suite

BATCHES = (1024, 65536)
DIMS = (3, 16, 64, 512)
# The promised speedup: CPU rsample + backward, B = 1024, these m.
TARGET_DIMS = (16, 64, 512)
# Power Spherical rows: rsample + backward at B = 1024 (CPU target: 5x the
# package, issue 15).
PS_BATCH = 1024
PS_TARGET = 5.0


def _inputs(b: int, m: int, device: str, dtype: torch.dtype, seed: int = 0):
    """Random unit loc [b, m] and kappa log-uniform on [1, 1e4]."""
    g = torch.Generator().manual_seed(seed)
    loc = torch.randn(b, m, generator=g, dtype=torch.float64)
    loc = loc / loc.norm(dim=-1, keepdim=True)
    kappa = 10.0 ** (4 * torch.rand(b, generator=g, dtype=torch.float64))
    return loc.to(device, dtype), kappa.to(device, dtype)


@suite("vmf")
def vmf_cases(devices: List[str], dtypes: List[torch.dtype], quick: bool) -> List[Case]:
    cases = []
    for device in devices:
        for dtype in dtypes:
            for b in BATCHES[:1] if quick else BATCHES:
                for m in (16, 64) if quick else DIMS:
                    loc, kappa = _inputs(b, m, device, dtype)
                    gen = torch.Generator(device=device).manual_seed(1)

                    def ours(loc=loc, kappa=kappa, gen=gen):
                        return vmf_rsample(loc, kappa, gen)

                    def ref(loc=loc, kappa=kappa, gen=gen):
                        return reference.vmf_rsample(loc, kappa, gen)

                    cases.append(Case(
                        suite="vmf", name=f"rsample B={b} m={m}", device=device, dtype=dtype,
                        ours=ours, baselines={"reference": ref}, elements=b,
                    ))
                    loc_g = loc.clone().requires_grad_(True)
                    kappa_g = kappa.clone().requires_grad_(True)
                    weights = torch.linspace(-1, 1, m, device=device, dtype=dtype)

                    def ours_bwd(loc=loc_g, kappa=kappa_g, gen=gen, weights=weights):
                        (vmf_rsample(loc, kappa, gen) @ weights).sum().backward()

                    def ref_bwd(loc=loc_g, kappa=kappa_g, gen=gen, weights=weights):
                        (reference.vmf_rsample(loc, kappa, gen) @ weights).sum().backward()

                    target = 10.0 if (device == "cpu" and b == 1024 and m in TARGET_DIMS) else None
                    cases.append(Case(
                        suite="vmf", name=f"rsample+backward B={b} m={m}", device=device,
                        dtype=dtype, ours=ours_bwd, baselines={"reference": ref_bwd},
                        elements=b, target=target,
                    ))
            cases += _power_spherical_cases(device, dtype, quick)
    return cases


def _power_spherical_cases(device: str, dtype: torch.dtype, quick: bool) -> List[Case]:
    """PS rsample + backward, ours against `power_spherical.PowerSpherical`
    (absent package: no rows). Same loc, kappa and loss as the vMF rows."""
    try:
        import power_spherical
    except ImportError:
        return []
    cases = []
    for m in (16, 64) if quick else TARGET_DIMS:
        loc, kappa = _inputs(PS_BATCH, m, device, dtype)
        gen = torch.Generator(device=device).manual_seed(1)
        loc_g = loc.clone().requires_grad_(True)
        kappa_g = kappa.clone().requires_grad_(True)
        weights = torch.linspace(-1, 1, m, device=device, dtype=dtype)

        def ours(loc=loc_g, kappa=kappa_g, gen=gen, weights=weights):
            (power_spherical_rsample(loc, kappa, gen) @ weights).sum().backward()

        def package(loc=loc_g, kappa=kappa_g, weights=weights):
            (power_spherical.PowerSpherical(loc, kappa).rsample() @ weights).sum().backward()

        cases.append(Case(
            suite="vmf", name=f"power_spherical rsample+backward B={PS_BATCH} m={m}",
            device=device, dtype=dtype, ours=ours, baselines={"power_spherical": package},
            elements=PS_BATCH, target=PS_TARGET if device == "cpu" else None,
        ))
    return cases
