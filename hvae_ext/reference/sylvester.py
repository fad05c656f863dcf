"""Pure-PyTorch triangular Sylvester flow (T-SNF, van den Berg et al. 2018):
the baseline of the Sylvester benchmarks and the oracle of its tests.

It restates the authors' code (riannevdberg/sylvester-flows,
`TriangularSylvester._forward`): dense [B, D, D] factors with the strict lower
triangle masked off, one `torch.bmm` per step on row vectors, and the
permutation P as an index flip. One step, per sample, column form:

    a  = R2 P z + b
    z' = z + P^T R1 tanh(a)
    log|det dz'/dz| = sum_i log|1 + R1_ii R2_ii (1 - tanh(a_i)^2)|

P is the identity or the reversal of the coordinates (P^T = P for both).

Layouts accepted (D = z.shape[-1], T = D (D + 1) / 2, K = b.shape[-2]):
  r1, r2: [B, K, D, D] dense, [K, D, D] dense shared by the batch,
          [B, K, T] packed, [K, T] packed shared; packed = the upper triangle
          in torch.triu_indices(D, D) (row-major) order. For a 3-d tensor,
          shape [B, K, T] means packed per sample and [K, D, D] dense shared;
          the two coincide only at B = K = D = 1, where they mean the same.
  b:      [B, K, D] or [K, D] (shared).
The lower triangle of a dense factor is ignored.

diag_tanh=True: the diagonals of r1, r2 hold raw pre-activations d and the
factors use tanh(d) there (the amortization head's constraint, which keeps
R1_ii R2_ii > -1). The log-det here is the plain formula, fine in float64.
"""

from __future__ import annotations

from typing import Sequence, Union

import torch
from torch import Tensor

Permute = Union[str, Sequence[bool]]


# Restated here rather than imported from hvae_ext._ops.sylvester: the tests
# compare the op against this module, so it must not share the op's code.
def flip_schedule(permute: Permute, num_flows: int) -> list[bool]:
    """Which steps use the reversal P: "alternate" (odd steps, as the authors'
    code), "none", "reverse" (every step), or an explicit list of K bools."""
    if isinstance(permute, str):
        if permute == "alternate":
            return [k % 2 == 1 for k in range(num_flows)]
        if permute == "none":
            return [False] * num_flows
        if permute == "reverse":
            return [True] * num_flows
        raise ValueError(f"permute must be 'alternate', 'none', 'reverse' or a list of bools, got {permute!r}")
    flips = [bool(f) for f in permute]
    if len(flips) != num_flows:
        raise ValueError(f"permute has {len(flips)} entries, expected one per flow step ({num_flows})")
    return flips


def _to_dense_batched(r: Tensor, batch: int, num_flows: int, dim: int) -> Tensor:
    """Any accepted layout of a factor -> dense [B, K, D, D], upper triangle."""
    tri = dim * (dim + 1) // 2
    if r.dim() == 4:
        dense = r
    elif r.dim() == 3 and tuple(r.shape) == (batch, num_flows, tri):
        dense = r.new_zeros(batch, num_flows, dim, dim)
        rows, cols = torch.triu_indices(dim, dim, device=r.device)
        dense[:, :, rows, cols] = r
    elif r.dim() == 3:
        dense = r.unsqueeze(0)
    elif r.dim() == 2:
        dense = r.new_zeros(num_flows, dim, dim)
        rows, cols = torch.triu_indices(dim, dim, device=r.device)
        dense[:, rows, cols] = r
        dense = dense.unsqueeze(0)
    else:
        raise ValueError(f"r1/r2 must be 2-d, 3-d or 4-d, got shape {tuple(r.shape)}")
    return dense.expand(batch, num_flows, dim, dim)


def sylvester_triangular(
    z: Tensor,
    r1: Tensor,
    r2: Tensor,
    b: Tensor,
    permute: Permute = "alternate",
    per_step_logdet: bool = False,
    diag_tanh: bool = False,
) -> tuple[Tensor, Tensor]:
    """K triangular Sylvester steps; returns (z_K [B, D], logdet [B] or [B, K])."""
    batch, dim = z.shape
    num_flows = b.shape[-2]
    flips = flip_schedule(permute, num_flows)
    r1 = _to_dense_batched(r1, batch, num_flows, dim)
    r2 = _to_dense_batched(r2, batch, num_flows, dim)
    b = b.expand(batch, num_flows, dim)

    triu_mask = torch.triu(torch.ones(dim, dim, dtype=z.dtype, device=z.device))
    diag_idx = torch.arange(dim, device=z.device)
    flip_idx = torch.arange(dim - 1, -1, -1, device=z.device)

    z = z.unsqueeze(1)  # row vectors [B, 1, D], as the authors' code
    log_dets = []
    for k in range(num_flows):
        full1, full2 = r1[:, k], r2[:, k]
        if diag_tanh:
            eye = torch.eye(dim, dtype=z.dtype, device=z.device)
            full1 = full1 * (1 - eye) + torch.diag_embed(torch.tanh(torch.diagonal(full1, dim1=-2, dim2=-1)))
            full2 = full2 * (1 - eye) + torch.diag_embed(torch.tanh(torch.diagonal(full2, dim1=-2, dim2=-1)))
        q1 = full1 * triu_mask
        q2 = full2 * triu_mask
        diag_r1 = q1[:, diag_idx, diag_idx]
        diag_r2 = q2[:, diag_idx, diag_idx]

        z_per = z[:, :, flip_idx] if flips[k] else z
        a = torch.bmm(z_per, q2.transpose(2, 1)) + b[:, k].unsqueeze(1)
        step = torch.bmm(torch.tanh(a), q1.transpose(2, 1))
        if flips[k]:
            step = step[:, :, flip_idx]
        z = z + step

        diag_j = 1 + diag_r1 * diag_r2 * (1 - torch.tanh(a.squeeze(1)) ** 2)
        log_dets.append(diag_j.abs().log().sum(-1))

    logdet = torch.stack(log_dets, dim=1) if log_dets else z.new_zeros(batch, 0)
    if not per_step_logdet:
        logdet = logdet.sum(-1)
    return z.squeeze(1), logdet
