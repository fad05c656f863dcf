"""T-SNF suite: the fused `sylvester_triangular` against the bmm reference.

Each case is K triangular Sylvester steps on B samples of dimension D, forward
only ("fwd", inputs not requiring grad) or forward plus the gradients of z_K
and logdet with respect to z, r1, r2 and b ("fwd+bwd"). Ours reads r1 and r2
as packed upper triangles (what `TriangularSylvesterHead` emits); the
reference gets them dense [B, K, D, D], as the authors' code builds them. On CUDA the case
B = 256, D = 64, K = 8 is also timed against torch.compile(reference).

Throughput: elem/s counts sample-steps (B K per call). GB/s is the minimal
traffic of our op: the packed parameters P = (2 T + D) B K elements
(T = D (D + 1) / 2) read once forward, once more backward and their
gradients written once, plus z in, z_K and logdet out (and, for fwd+bwd,
the incoming gradients of z_K and logdet and the gradient of z). The peak
memory bound is against P in bytes.

Sizes: B in {256, 4096}, D in {16, 64, 128}, K in {4, 8, 16}; --quick runs
B = 256 with (D, K) in {(16, 4), (64, 8)}. Parameters above the device's
memory cap are skipped (ours), or run without the reference when only its
dense factors are over the cap.
"""

from __future__ import annotations

import itertools
import sys
from typing import Iterator, List

import torch

import hvae_ext
from hvae_ext import reference

from ..registry import Case, suite

FULL = list(itertools.product((256, 4096), (16, 64, 128), (4, 8, 16)))
QUICK = [(256, 16, 4), (256, 64, 8)]
TARGET_CASE = (256, 64, 8)  # CPU fwd+bwd: >= 20x the reference
# Largest parameters (bytes of r1, r2 and b together; dense for the reference)
# per device. Reference fwd+bwd peaks at ~2.4x its dense parameters beyond
# its inputs (measured at B=256, D=64, K=8); ours at ~1.1x the packed ones.
CAP = {"cpu": 1 << 30, "cuda": 12 << 30}


def _inputs(batch: int, dim: int, num_flows: int, device: str, dtype: torch.dtype, seed: int = 0):
    """z ~ N(0, 1); off-diagonal entries ~ N(0, 1/D), so that a = R2 P z + b
    stays O(1); diagonals in (-0.9, 0.9) (an invertible flow); b ~ N(0, 1)."""
    g = torch.Generator().manual_seed(seed)
    tri = dim * (dim + 1) // 2
    diag = torch.arange(dim) * dim - torch.arange(dim) * (torch.arange(dim) - 1) // 2
    z = torch.randn(batch, dim, generator=g)
    factors = []
    for _ in range(2):
        r = torch.randn(batch, num_flows, tri, generator=g) / dim ** 0.5
        r[..., diag] = 1.8 * torch.rand(batch, num_flows, dim, generator=g) - 0.9
        factors.append(r)
    b = torch.randn(batch, num_flows, dim, generator=g)
    return [t.to(device, dtype) for t in (z, *factors, b)]


def _forward(op, args):
    def run():
        with torch.no_grad():
            return op(*args)

    return run


def _forward_backward(op, args, grad_z, grad_logdet):
    args = [a.detach().requires_grad_(True) for a in args]

    def run():
        z_k, logdet = op(*args)
        return torch.autograd.grad((z_k, logdet), args, (grad_z, grad_logdet))

    return run


def _cases(device: str, dtype: torch.dtype, batch: int, dim: int, num_flows: int) -> Iterator[Case]:
    size = torch.finfo(dtype).bits // 8
    tri = dim * (dim + 1) // 2
    param_bytes = (2 * tri + dim) * batch * num_flows * size
    dense_bytes = (2 * dim * dim + dim) * batch * num_flows * size
    label = f"B={batch} D={dim} K={num_flows}"
    if param_bytes > CAP[device]:
        print(f"  skipping sylvester {label} on {device}: {param_bytes / 1e9:.2g} GB of parameters", file=sys.stderr)
        return
    z, r1, r2, b = _inputs(batch, dim, num_flows, device, dtype)
    with_reference = dense_bytes <= CAP[device]
    if with_reference:
        dense1, dense2 = (hvae_ext.flows.unpack_triu(r, dim) for r in (r1, r2))
    z_bytes, logdet_bytes = batch * dim * size, batch * size
    grad_z = torch.randn_like(z)
    grad_logdet = torch.randn(batch, device=device, dtype=dtype)
    common = dict(suite="sylvester", device=device, dtype=dtype, elements=batch * num_flows,
                  param_bytes=param_bytes, peak_target=3.0)

    # On CUDA the target case is also timed against torch.compile(reference)
    # (compiling every size would dominate the run).
    compiled = device == "cuda" and with_reference and (batch, dim, num_flows) == TARGET_CASE
    ref_compiled = torch.compile(reference.sylvester_triangular, fullgraph=True) if compiled else None

    baselines = {}
    if with_reference:
        baselines["reference (dense bmm)"] = _forward(reference.sylvester_triangular, (z, dense1, dense2, b))
    if compiled:
        baselines["compiled reference"] = _forward(ref_compiled, (z, dense1, dense2, b))
    yield Case(name=f"fwd {label}", ours=_forward(hvae_ext.sylvester_triangular, (z, r1, r2, b)),
               baselines=baselines, bytes_moved=param_bytes + 2 * z_bytes + logdet_bytes, **common)

    baselines = {}
    if with_reference:
        baselines["reference (dense bmm)"] = _forward_backward(
            reference.sylvester_triangular, (z, dense1, dense2, b), grad_z, grad_logdet)
    if compiled:
        baselines["compiled reference"] = _forward_backward(ref_compiled, (z, dense1, dense2, b), grad_z, grad_logdet)
    target = 20.0 if (device == "cpu" and (batch, dim, num_flows) == TARGET_CASE and with_reference) else None
    yield Case(name=f"fwd+bwd {label}",
               ours=_forward_backward(hvae_ext.sylvester_triangular, (z, r1, r2, b), grad_z, grad_logdet),
               baselines=baselines, bytes_moved=3 * param_bytes + 4 * z_bytes + 2 * logdet_bytes,
               target=target, **common)


@suite("sylvester")
def sylvester_cases(devices: List[str], dtypes: List[torch.dtype], quick: bool) -> Iterator[Case]:
    # A generator: each case's tensors are created when it runs and freed
    # after, so the full grid never holds more than one case's parameters.
    for device in devices:
        for dtype in dtypes:
            for batch, dim, num_flows in (QUICK if quick else FULL):
                yield from _cases(device, dtype, batch, dim, num_flows)
