"""Triangular Sylvester normalizing flows (T-SNF, van den Berg et al. 2018) as
modules, on top of the fused op ``sylvester_triangular``.

One step k, per sample, column form (P_k the identity or the reversal):

    a    = R2 P_k z + b
    z'   = z + P_k^T R1 tanh(a)
    log|det dz'/dz| = sum_i log|1 + R1_ii R2_ii (1 - tanh(a_i)^2)|

* :class:`TriangularSylvester` applies K steps with parameters it is given
  (amortized: computed per sample by an encoder), returns ``(z_K, logdet)``
  and has an exact ``inverse``. It has no parameters of its own.
* :class:`TriangularSylvesterHead` is the amortization head: encoder features
  ``h`` -> ``(r1, r2, b)`` with r1, r2 emitted directly as packed upper
  triangles whose diagonals are raw pre-activations d (the flow uses
  R_ii = tanh(d_ii), so R1_ii R2_ii lies in (-1, 1) and every step is
  invertible); it starts as the identity map.
* :class:`AmortizedTriangularSylvester` is the two together: ``(z, h) ->
  (z_K, logdet)``.

The parametrisation, the identity initialisation and the numerics are
described in docs/flows.md.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from ._ops.sylvester import (
    flip_schedule,
    pack_triu,
    sylvester_triangular,
    sylvester_triangular_inverse,
    triangle_size,
    unpack_triu,
)

__all__ = [
    "TriangularSylvester",
    "TriangularSylvesterHead",
    "AmortizedTriangularSylvester",
    "sylvester_triangular",
    "sylvester_triangular_inverse",
    "pack_triu",
    "unpack_triu",
    "triangle_size",
]

Permute = Union[str, Sequence[bool]]


def _check_permute(permute: Permute, num_flows: int) -> Union[str, Tuple[bool, ...]]:
    # flip_schedule (the op wrapper's) raises for an unknown name or a wrong length
    flips = flip_schedule(permute, num_flows)
    return permute if isinstance(permute, str) else tuple(flips)


def _check_positive(name: str, value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


class TriangularSylvester(nn.Module):
    """K triangular Sylvester steps with given (amortized) parameters
    (van den Berg, Hasenclever, Tomczak & Welling 2018, "Sylvester
    Normalizing Flows for Variational Inference", T-SNF): per step
    z' = z + P^T R1 tanh(R2 P z + b), log|det| = sum_i log|1 + R1_ii R2_ii tanh'(a_i)|.

    Args:
        dim: D, the dimension of z.
        num_flows: K, the number of steps.
        permute: which steps apply the reversal P: "alternate" (odd steps, as
            the authors' code), "none", "reverse" (every step) or K bools.
        diag_tanh: if True, the diagonals of r1 and r2 are raw pre-activations
            d and the steps use tanh(d) there, with the log-det computed from
            d directly (finite where tanh saturates); this is what
            :class:`TriangularSylvesterHead` emits.

    ``forward(z, r1, r2, b, per_step_logdet=False) -> (z_K, logdet)``:
    z [B, D], or [..., B, D] with leading sample dimensions (every
    z[..., b, :] uses data point b's parameters, never copied per sample);
    r1, r2 [B, K, D(D+1)/2] packed upper triangles (the order of
    ``torch.triu_indices(D, D)``) or [B, K, D, D] dense (lower triangle
    ignored), without the B dimension when shared by the batch; b [B, K, D]
    or [K, D]. z_K is shaped like z; logdet is [..., B], or [..., B, K]
    with per_step_logdet. ``layout``
    ("dense" or "packed") overrides the op's reading of a 3-d factor
    (packed iff its shape is [B, K, T]).
    ``inverse(z_K, r1, r2, b) -> z`` undoes ``forward`` exactly (up to
    rounding) when every 1 + R1_ii R2_ii tanh'(a_i) > 0.
    """

    def __init__(self, dim: int, num_flows: int, permute: Permute = "alternate", diag_tanh: bool = False):
        super().__init__()
        self.dim = _check_positive("dim", dim)
        self.num_flows = _check_positive("num_flows", num_flows)
        self.permute = _check_permute(permute, num_flows)
        self.diag_tanh = bool(diag_tanh)

    def _check(self, name: str, z: Tensor, b: Tensor) -> None:
        if z.dim() < 2 or z.shape[-1] != self.dim:
            raise ValueError(f"{name} must have shape [..., B, {self.dim}] (dim={self.dim}), got {tuple(z.shape)}")
        if b.dim() not in (2, 3) or tuple(b.shape[-2:]) != (self.num_flows, self.dim):
            raise ValueError(
                f"b must have shape [B, {self.num_flows}, {self.dim}] or [{self.num_flows}, {self.dim}] "
                f"(num_flows={self.num_flows}, dim={self.dim}), got {tuple(b.shape)}"
            )

    def forward(self, z: Tensor, r1: Tensor, r2: Tensor, b: Tensor, per_step_logdet: bool = False,
                layout: Optional[str] = None) -> Tuple[Tensor, Tensor]:
        """(z_K [..., B, D], logdet [..., B] or [..., B, K]); shapes in the class docstring."""
        self._check("z", z, b)
        return sylvester_triangular(z, r1, r2, b, permute=self._permute_arg(), per_step_logdet=per_step_logdet,
                                    diag_tanh=self.diag_tanh, layout=layout)

    def inverse(self, z_k: Tensor, r1: Tensor, r2: Tensor, b: Tensor, layout: Optional[str] = None) -> Tensor:
        """z [..., B, D] with forward(z, r1, r2, b)[0] = z_k (not differentiable)."""
        self._check("z_k", z_k, b)
        return sylvester_triangular_inverse(z_k, r1, r2, b, permute=self._permute_arg(), diag_tanh=self.diag_tanh,
                                            layout=layout)

    def _permute_arg(self) -> Permute:
        return self.permute if isinstance(self.permute, str) else list(self.permute)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, num_flows={self.num_flows}, permute={self.permute!r}, diag_tanh={self.diag_tanh}"


class TriangularSylvesterHead(nn.Module):
    """Amortization head: encoder features h -> T-SNF parameters (r1, r2, b).

    Three linear maps of h, emitting per sample and step
      r1, r2: [..., K, T] packed upper triangles, T = D(D+1)/2, in the order
              of ``torch.triu_indices(D, D)``; their diagonal entries are raw
              pre-activations d, the flow uses R_ii = tanh(d_ii)
              (``diag_tanh=True``), so R1_ii R2_ii is in (-1, 1) and
              1 + R1_ii R2_ii tanh'(a_i) > 0: every step is invertible;
      b:      [..., K, D],
    where ``...`` are the leading dimensions of h ([B] for h of shape [B, H]).
    That is K(D^2 + 2D) outputs, fed to the op as they are: no dense
    [B, K, D, D] factor is ever built.

    Initialisation: the identity flow with nonzero gradients. The R1 map and
    the b map are zero, and so is the R2 map except for the bias of its
    diagonal entries, ``r2_diag_init``. Then R1 = 0, so z_K = z and
    logdet = 0 exactly, while a = tanh(r2_diag_init) P z is nonzero, so the
    gradient of z_K with respect to R1 (tanh(a)) and that of the log-det with
    respect to the R1 diagonal (R2_ii tanh'(a_i)) are nonzero. (All maps zero
    would also be the identity, but a stationary point: every gradient there
    vanishes.)
    """

    def __init__(self, feature_dim: int, dim: int, num_flows: int, r2_diag_init: float = 1.0):
        super().__init__()
        self.feature_dim = _check_positive("feature_dim", feature_dim)
        self.dim = _check_positive("dim", dim)
        self.num_flows = _check_positive("num_flows", num_flows)
        self.r2_diag_init = float(r2_diag_init)
        tri = triangle_size(dim)
        self.r1 = nn.Linear(feature_dim, num_flows * tri)
        self.r2 = nn.Linear(feature_dim, num_flows * tri)
        self.b = nn.Linear(feature_dim, num_flows * dim)
        # Position of R_ii in the packed row-major upper triangle: row i starts
        # after sum_{j<i} (D - j) = i D - i (i - 1) / 2 entries.
        rows = torch.arange(dim)
        self.register_buffer("diag_index", rows * dim - rows * (rows - 1) // 2, persistent=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The identity initialisation described in the class docstring."""
        with torch.no_grad():
            for layer in (self.r1, self.r2, self.b):
                layer.weight.zero_()
                layer.bias.zero_()
            bias = self.r2.bias.view(self.num_flows, -1)
            bias[:, self.diag_index] = self.r2_diag_init

    def forward(self, h: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """h [..., H] -> (r1 [..., K, T], r2 [..., K, T], b [..., K, D])."""
        if h.dim() < 1 or h.shape[-1] != self.feature_dim:
            raise ValueError(f"h must have shape [..., {self.feature_dim}] (feature_dim), got {tuple(h.shape)}")
        lead = h.shape[:-1]
        tri = triangle_size(self.dim)
        r1 = self.r1(h).view(*lead, self.num_flows, tri)
        r2 = self.r2(h).view(*lead, self.num_flows, tri)
        b = self.b(h).view(*lead, self.num_flows, self.dim)
        return r1, r2, b

    def dense(self, r: Tensor) -> Tensor:
        """A packed factor as the flow uses it: dense [..., D, D], upper
        triangular, with tanh applied to the diagonal."""
        full = unpack_triu(r, self.dim)
        diag = torch.diagonal(full, dim1=-2, dim2=-1)
        return full - torch.diag_embed(diag) + torch.diag_embed(torch.tanh(diag))

    def extra_repr(self) -> str:
        return (f"feature_dim={self.feature_dim}, dim={self.dim}, num_flows={self.num_flows}, "
                f"r2_diag_init={self.r2_diag_init}")


class AmortizedTriangularSylvester(nn.Module):
    """Head and flow together: ``forward(z, h) -> (z_K, logdet)``, the
    amortized T-SNF posterior of van den Berg et al. (2018): with z_0 drawn
    from a base posterior q_0(z|x) and h the encoder's features of x,
    log q_K(z_K|x) = log q_0(z_0|x) - logdet.

    z [B, D], h [B, feature_dim] (or [feature_dim]: parameters shared by the
    batch); logdet [B] (or [B, K] with per_step_logdet). ``inverse(z_K, h)`` recovers z. Starts as the identity
    (see :class:`TriangularSylvesterHead`).

    Many samples per data point (importance sampling): z [..., B, D] with any
    leading sample dimensions and h [B, feature_dim]; the head runs once on h
    and the op applies data point b's flow to every z[..., b, :], so neither
    h nor the flow parameters are repeated per sample. z_K is shaped like z,
    logdet is [..., B].

    Under ``torch.autocast`` the head runs in float32 (its outputs are the
    flow's parameters, which a bfloat16 matmul would round) and z_K and
    logdet come back in float32 (float64 inputs stay float64).
    """

    def __init__(self, feature_dim: int, dim: int, num_flows: int, permute: Permute = "alternate",
                 r2_diag_init: float = 1.0):
        super().__init__()
        self.head = TriangularSylvesterHead(feature_dim, dim, num_flows, r2_diag_init=r2_diag_init)
        self.flow = TriangularSylvester(dim, num_flows, permute=permute, diag_tanh=True)

    def forward(self, z: Tensor, h: Tensor, per_step_logdet: bool = False) -> Tuple[Tensor, Tensor]:
        """(z_K [..., B, D], logdet [..., B] or [..., B, K]) for z [..., B, D], h [B, feature_dim]."""
        r1, r2, b = self._parameters_of(h)
        return self.flow(z, r1, r2, b, per_step_logdet=per_step_logdet, layout="packed")

    def inverse(self, z_k: Tensor, h: Tensor) -> Tensor:
        """z_0 [..., B, D] with forward(z_0, h)[0] = z_k (not differentiable)."""
        r1, r2, b = self._parameters_of(h)
        return self.flow.inverse(z_k, r1, r2, b, layout="packed")

    def _parameters_of(self, h: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        if h.dim() not in (1, 2):
            raise ValueError(f"h must have shape [B, {self.head.feature_dim}] or [{self.head.feature_dim}] "
                             f"(feature_dim), got {tuple(h.shape)}")
        device_type = h.device.type
        if torch.is_autocast_enabled(device_type):
            # The head's outputs are the flow's parameters: rounded to bfloat16
            # by an autocast matmul they move the log-det by ~0.1-0.3 nats
            # (4 steps, D = 8), more than the density's own float32 error. So
            # the head, like autocast's float32 ops, runs in float32 there.
            with torch.autocast(device_type, enabled=False):
                return self.head(h.float() if h.dtype in (torch.float16, torch.bfloat16) else h)
        return self.head(h)
