"""torch.ops.hvae.sylvester_triangular & co against the bmm reference, the
autograd Jacobian, gradcheck, and their own invariants (layouts, sharing,
permutations, strides, inverse, float32 saturation)."""

from __future__ import annotations

import pytest
import torch

from hvae_ext._ops.sylvester import (
    flip_schedule,
    pack_triu,
    sylvester_triangular,
    sylvester_triangular_inverse,
    triangle_size,
    unpack_triu,
)
from hvae_ext.reference.sylvester import sylvester_triangular as reference

F64 = torch.float64


def make_params(batch, num_flows, dim, *, dtype=F64, device="cpu", shared=False, packed=False, seed=0, scale=1.0):
    """Ordinary-sized parameters: off-diagonal entries ~ N(0, 1/D) (so R x is
    O(1)), diagonals ~ N(0, 1) with |R1_ii R2_ii| kept below 0.9 so that every
    step stays invertible, b ~ N(0, 1)."""
    g = torch.Generator().manual_seed(seed)
    lead = (num_flows,) if shared else (batch, num_flows)
    r1 = torch.randn(*lead, dim, dim, generator=g, dtype=F64) * scale / dim**0.5
    r2 = torch.randn(*lead, dim, dim, generator=g, dtype=F64) * scale / dim**0.5
    d1 = torch.randn(*lead, dim, generator=g, dtype=F64)
    d2 = torch.randn(*lead, dim, generator=g, dtype=F64)
    d2 = torch.where((d1 * d2).abs() > 0.9, 0.9 * d2 / (d1 * d2).abs(), d2)
    r1 = r1 + torch.diag_embed(d1 - torch.diagonal(r1, dim1=-2, dim2=-1))
    r2 = r2 + torch.diag_embed(d2 - torch.diagonal(r2, dim1=-2, dim2=-1))
    b = torch.randn(*lead, dim, generator=g, dtype=F64)
    z = torch.randn(batch, dim, generator=g, dtype=F64)
    if packed:
        r1, r2 = pack_triu(r1), pack_triu(r2)
    return [t.to(dtype=dtype, device=device) for t in (z, r1, r2, b)]


# ---------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("packed", [False, True], ids=["dense", "packed"])
@pytest.mark.parametrize("shared", [False, True], ids=["batched", "shared"])
@pytest.mark.parametrize("permute", ["alternate", "none", "reverse", (True, False, False, True, True)])
@pytest.mark.parametrize("diag_tanh", [False, True], ids=["plain", "diag_tanh"])
def test_matches_reference(packed, shared, permute, diag_tanh):
    z, r1, r2, b = make_params(4, 5, 7, shared=shared, packed=packed, seed=1)
    for per_step in (False, True):
        out = sylvester_triangular(z, r1, r2, b, permute, per_step_logdet=per_step, diag_tanh=diag_tanh)
        ref = reference(z, r1, r2, b, permute, per_step_logdet=per_step, diag_tanh=diag_tanh)
        torch.testing.assert_close(out[0], ref[0], rtol=0, atol=1e-12)
        torch.testing.assert_close(out[1], ref[1], rtol=0, atol=1e-12)
        assert out[1].shape == ((4, 5) if per_step else (4,))


@pytest.mark.parametrize("dim", [1, 2, 3, 5, 17, 33, 129])
@pytest.mark.parametrize("diag_tanh", [False, True], ids=["plain", "diag_tanh"])
def test_logdet_is_log_abs_det_of_jacobian(dim, diag_tanh):
    """The whole K-step map's Jacobian, from plain autograd through the
    reference (an oracle independent of our kernels) and through our op
    (which exercises the backward kernel)."""
    batch, num_flows = (3, 4) if dim <= 33 else (1, 3)
    z, r1, r2, b = make_params(batch, num_flows, dim, seed=dim, scale=2.0)
    _, logdet = sylvester_triangular(z, r1, r2, b, diag_tanh=diag_tanh)
    for n in range(batch):
        params = (r1[n : n + 1], r2[n : n + 1], b[n : n + 1])

        def ref_map(x):
            return reference(x[None], *params, diag_tanh=diag_tanh)[0][0]

        def op_map(x):
            return sylvester_triangular(x[None], *params, diag_tanh=diag_tanh)[0][0]

        jac_ref = torch.autograd.functional.jacobian(ref_map, z[n], vectorize=True)
        expected = torch.linalg.slogdet(jac_ref).logabsdet
        torch.testing.assert_close(logdet[n], expected, rtol=1e-10, atol=1e-10)
        if dim <= 33:
            jac_op = torch.autograd.functional.jacobian(op_map, z[n])
            torch.testing.assert_close(jac_op, jac_ref, rtol=1e-11, atol=1e-11)


def test_identity_at_zero_parameters():
    z = torch.randn(3, 6, dtype=F64)
    zeros = torch.zeros(3, 2, 6, 6, dtype=F64)
    out, logdet = sylvester_triangular(z, zeros, zeros, torch.zeros(3, 2, 6, dtype=F64))
    assert torch.equal(out, z) and torch.equal(logdet, torch.zeros(3, dtype=F64))


@pytest.mark.parametrize("packed", [False, True], ids=["dense", "packed"])
def test_flip_schedules(packed):
    z, r1, r2, b = make_params(2, 4, 5, packed=packed, seed=3)
    alternate = sylvester_triangular(z, r1, r2, b, "alternate")[0]
    explicit = sylvester_triangular(z, r1, r2, b, [False, True, False, True])[0]
    assert torch.equal(alternate, explicit)
    assert not torch.allclose(alternate, sylvester_triangular(z, r1, r2, b, "none")[0])
    assert flip_schedule("reverse", 3) == [True] * 3 and flip_schedule("none", 2) == [False] * 2
    with pytest.raises(ValueError, match="permute"):
        sylvester_triangular(z, r1, r2, b, "sideways")
    with pytest.raises(ValueError, match="one per flow step"):
        sylvester_triangular(z, r1, r2, b, [True, False])


# ---------------------------------------------------------------------------
# Layout, sharing, strides
# ---------------------------------------------------------------------------


def grads(fn, inputs, seed=0):
    inputs = [t.detach().requires_grad_() for t in inputs]  # keeps the strides
    z_out, logdet = fn(*inputs)
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(z_out.shape, generator=g, dtype=z_out.dtype).to(z_out.device)
    v = torch.randn(logdet.shape, generator=g, dtype=z_out.dtype).to(z_out.device)
    loss = (z_out * w).sum() + (logdet * v).sum()
    return (z_out, logdet), torch.autograd.grad(loss, inputs)


@pytest.mark.parametrize("diag_tanh", [False, True], ids=["plain", "diag_tanh"])
def test_lower_triangle_is_ignored_and_gets_zero_gradient(diag_tanh):
    z, r1, r2, b = make_params(3, 3, 6, seed=5)
    noise1 = torch.tril(torch.randn_like(r1), diagonal=-1)
    noise2 = torch.tril(torch.randn_like(r2), diagonal=-1)
    fn = lambda *a: sylvester_triangular(*a, diag_tanh=diag_tanh)  # noqa: E731
    (out_clean, _), _ = grads(fn, [z, r1, r2, b])
    (out_noisy, logdet), g = grads(fn, [z, r1 + noise1, r2 + noise2, b])
    assert torch.equal(out_clean, out_noisy)
    lower = torch.tril(torch.ones(6, 6, dtype=torch.bool), diagonal=-1)
    assert torch.all(g[1][..., lower] == 0) and torch.all(g[2][..., lower] == 0)
    assert torch.all(g[1][..., ~lower] != 0)


@pytest.mark.parametrize("shared", [False, True], ids=["batched", "shared"])
@pytest.mark.parametrize("diag_tanh", [False, True], ids=["plain", "diag_tanh"])
def test_packed_equals_dense(shared, diag_tanh):
    z, r1, r2, b = make_params(3, 4, 6, shared=shared, seed=6)
    fn = lambda *a: sylvester_triangular(*a, diag_tanh=diag_tanh)  # noqa: E731
    (zd, ld), gd = grads(fn, [z, r1, r2, b])
    (zp, lp), gp = grads(fn, [z, pack_triu(r1), pack_triu(r2), b])
    torch.testing.assert_close(zp, zd, rtol=0, atol=1e-14)
    torch.testing.assert_close(lp, ld, rtol=0, atol=1e-14)
    torch.testing.assert_close(gp[0], gd[0], rtol=0, atol=1e-13)
    torch.testing.assert_close(gp[1], pack_triu(gd[1]), rtol=0, atol=1e-13)
    torch.testing.assert_close(gp[2], pack_triu(gd[2]), rtol=0, atol=1e-13)
    torch.testing.assert_close(unpack_triu(pack_triu(torch.triu(r1))), torch.triu(r1))
    assert triangle_size(6) == pack_triu(r1).shape[-1] == 21


@pytest.mark.parametrize("packed", [False, True], ids=["dense", "packed"])
@pytest.mark.parametrize("which", ["r1", "r2", "b", "all"])
def test_shared_equals_broadcast(packed, which):
    batch = 5
    zs, r1s, r2s, bs = make_params(batch, 3, 4, shared=True, packed=packed, seed=7)
    names = ("r1", "r2", "b")
    shared = [t if which in (name, "all") else t.expand(batch, *t.shape).clone() for name, t in zip(names, (r1s, r2s, bs))]
    expanded = [t.expand(batch, *t.shape).clone() for t in (r1s, r2s, bs)]
    (z1, l1), g1 = grads(sylvester_triangular, [zs, *shared])
    (z2, l2), g2 = grads(sylvester_triangular, [zs, *expanded])
    torch.testing.assert_close(z1, z2, rtol=0, atol=1e-14)
    torch.testing.assert_close(l1, l2, rtol=0, atol=1e-14)
    for got, full, param in zip(g1[1:], g2[1:], shared):
        expected = full.sum(0) if got.dim() < full.dim() else full
        assert got.shape == param.shape
        torch.testing.assert_close(got, expected, rtol=1e-13, atol=1e-13)


def test_strided_and_expanded_inputs():
    batch, num_flows, dim = 4, 3, 5
    z, r1, r2, b = make_params(batch, num_flows, dim, seed=8)
    (z0, l0), g0 = grads(sylvester_triangular, [z, r1, r2, b])
    z_nc = z.t().contiguous().t()  # column-major
    r1_nc = r1.transpose(-1, -2).contiguous().transpose(-1, -2)  # unit stride down a column
    r2_nc = torch.empty(num_flows, batch, dim, 2 * dim, dtype=F64)[..., ::2].permute(1, 0, 2, 3)
    r2_nc.copy_(r2)
    b_nc = b.transpose(0, 1).contiguous().transpose(0, 1)
    assert not (z_nc.is_contiguous() or r1_nc.is_contiguous() or r2_nc.is_contiguous() or b_nc.is_contiguous())
    (z1, l1), g1 = grads(sylvester_triangular, [z_nc, r1_nc, r2_nc, b_nc])
    assert torch.equal(z1, z0) and torch.equal(l1, l0)
    for x, y in zip(g1, g0):
        torch.testing.assert_close(x, y, rtol=0, atol=1e-14)
    # expanded (stride 0) parameters are read in place, not copied
    zs, r1s, r2s, bs = make_params(batch, num_flows, dim, shared=True, seed=9)
    out_e = sylvester_triangular(zs, r1s.expand(batch, -1, -1, -1), r2s.expand(batch, -1, -1, -1), bs.expand(batch, -1, -1))
    out_s = sylvester_triangular(zs, r1s, r2s, bs)
    assert torch.equal(out_e[0], out_s[0]) and torch.equal(out_e[1], out_s[1])
    zx = zs[:1].expand(batch, dim)
    out_x = sylvester_triangular(zx, r1s, r2s, bs)
    assert torch.equal(out_x[0], sylvester_triangular(zx.contiguous(), r1s, r2s, bs)[0])


def test_d1_layout_rule():
    """D = 1: [B, K, 1] is packed per-sample, [K, 1, 1] dense shared; the two
    readings coincide only for B = K = 1, where they are the same flow."""
    z, r1, r2, b = make_params(3, 2, 1, seed=10)
    dense = sylvester_triangular(z, r1, r2, b)
    packed = sylvester_triangular(z, r1[..., 0], r2[..., 0], b)  # [B, K, 1]
    assert torch.equal(dense[0], packed[0])
    zs, r1s, r2s, bs = make_params(3, 2, 1, shared=True, seed=11)
    shared = sylvester_triangular(zs, r1s, r2s, bs)  # [K, 1, 1]: dense shared
    torch.testing.assert_close(shared[0], reference(zs, r1s, r2s, bs)[0], rtol=0, atol=1e-14)
    forced = sylvester_triangular(zs, r1s[:, 0], r2s[:, 0], bs, layout="packed")  # [K, 1] packed shared
    assert torch.equal(forced[0], shared[0])


def test_empty_and_zero_steps():
    z, r1, r2, b = make_params(0, 3, 4, seed=12)
    out, logdet = sylvester_triangular(z, r1, r2, b)
    assert out.shape == (0, 4) and logdet.shape == (0,)
    z, r1, r2, b = make_params(3, 0, 4, seed=12)
    zr = z.clone().requires_grad_()
    out, logdet = sylvester_triangular(zr, r1, r2, b, per_step_logdet=True)
    assert torch.equal(out, z) and logdet.shape == (3, 0)
    (out.sum()).backward()
    assert torch.equal(zr.grad, torch.ones_like(z))
    z, r1, r2, b = (t.requires_grad_() for t in make_params(3, 2, 0, seed=12))  # D = 0
    out, logdet = sylvester_triangular(z, r1, r2, b)
    assert out.shape == (3, 0) and torch.equal(logdet, torch.zeros(3, dtype=F64))
    (logdet.sum()).backward()
    assert r1.grad.shape == r1.shape and sylvester_triangular_inverse(out, r1, r2, b).shape == (3, 0)


def test_errors_name_the_argument():
    z, r1, r2, b = make_params(2, 3, 4, seed=13)
    with pytest.raises(RuntimeError, match="float32 or float64"):
        torch.ops.hvae.sylvester_triangular(z.half(), r1.half(), r2.half(), b.half(), [False] * 3, False)
    with pytest.raises(RuntimeError, match="same dtype"):
        sylvester_triangular(z.float(), r1, r2, b)
    # shapes that do not line up: ValueError naming each tensor's shape and the expected one
    with pytest.raises(ValueError, match=r"r2 has shape \[2, 3, 3, 3\], expected .* = \[2, 3, 4, 4\]"):
        sylvester_triangular(z, r1, r2[:, :, :3, :3], b)
    with pytest.raises(ValueError, match=r"3-d r1 must be packed per sample \[B, K, T\]"):
        sylvester_triangular(z, pack_triu(r1)[..., 1:], pack_triu(r2), b)
    with pytest.raises(RuntimeError, match="flips must have one entry per flow step"):
        torch.ops.hvae.sylvester_triangular(z, r1, r2, b, [True], False)
    with pytest.raises(ValueError, match=r"b has shape \[2, 3, 2\], expected \[B, K, D\] = \[2, K, 4\]"):
        sylvester_triangular(z, r1, r2, b[:, :, :2])
    with pytest.raises(RuntimeError, match="b must have shape"):  # the op's own check
        torch.ops.hvae.sylvester_triangular(z, r1, r2, b[:, :, :2], [False] * 3, False)
    with pytest.raises(ValueError, match="same layout"):
        sylvester_triangular(z, r1, pack_triu(r2), b)
    with pytest.raises(ValueError, match=r"z must have shape \[\.\.\., B, D\]"):
        sylvester_triangular(z[0], r1, r2, b)


# ---------------------------------------------------------------------------
# Gradients
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("packed", [False, True], ids=["dense", "packed"])
@pytest.mark.parametrize("shared", [False, True], ids=["batched", "shared"])
@pytest.mark.parametrize("diag_tanh", [False, True], ids=["plain", "diag_tanh"])
@pytest.mark.parametrize("loss", ["z", "logdet", "per_step_logdet"])
def test_gradcheck(packed, shared, diag_tanh, loss):
    z, r1, r2, b = make_params(2, 3, 4, shared=shared, packed=packed, seed=14)
    inputs = [t.clone().requires_grad_() for t in (z, r1, r2, b)]

    def fn(*args):
        out, logdet = sylvester_triangular(*args, per_step_logdet=loss == "per_step_logdet", diag_tanh=diag_tanh)
        return out if loss == "z" else logdet

    assert torch.autograd.gradcheck(fn, inputs, atol=1e-8, rtol=1e-7)


@pytest.mark.parametrize("diag_tanh", [False, True], ids=["plain", "diag_tanh"])
def test_gradients_match_reference(diag_tanh):
    z, r1, r2, b = make_params(3, 4, 9, seed=15)
    fn = lambda *a: sylvester_triangular(*a, diag_tanh=diag_tanh)  # noqa: E731
    ref = lambda *a: reference(*a, diag_tanh=diag_tanh)  # noqa: E731
    _, g = grads(fn, [z, r1, r2, b])
    _, g_ref = grads(ref, [z, r1, r2, b])
    for x, y in zip(g, g_ref):
        torch.testing.assert_close(x, y, rtol=0, atol=1e-12)


def test_no_double_backward():
    z, r1, r2, b = (t.requires_grad_() for t in make_params(2, 2, 3, seed=16))
    out, logdet = sylvester_triangular(z, r1, r2, b)
    (gz,) = torch.autograd.grad(logdet.sum() + out.sum(), z, create_graph=True)
    with pytest.raises(Exception, match="double backward"):
        gz.sum().backward()


# ---------------------------------------------------------------------------
# diag_tanh in float32 where tanh saturates
# ---------------------------------------------------------------------------


def test_float32_saturation_diag_tanh():
    batch, num_flows, dim = 64, 3, 6
    z, r1, r2, b = make_params(batch, num_flows, dim, seed=17)
    g = torch.Generator().manual_seed(18)
    # raw diagonals up to +-60: tanh = +-1 in float32, 1 + t1 t2 sech^2 a ~ 0
    big = (torch.rand(2, batch, num_flows, dim, generator=g, dtype=F64) * 2 - 1) * 60
    big[1, ::2] = -big[0, ::2]  # t1 t2 -> -1: the cancelling case
    r1 = r1 + torch.diag_embed(big[0])
    r2 = r2 + torch.diag_embed(big[1])
    # a near 0 so that sech^2 a ~ 1 (the worst case), and exactly 0 for every
    # fourth sample (z = b = 0 stays a fixed point), where 1 + t1 t2 sech^2 a
    # is exactly 0 in float32 for the naive formula
    b = b * 1e-3
    z = z * 1e-3
    b[::4] = 0
    z[::4] = 0
    inputs32 = [t.float() for t in (z, r1, r2, b)]
    inputs64 = [t.double() for t in inputs32]  # the same numbers
    (z32, l32), g32 = grads(lambda *a: sylvester_triangular(*a, diag_tanh=True), inputs32)
    (z64, l64), g64 = grads(lambda *a: sylvester_triangular(*a, diag_tanh=True), inputs64)
    assert torch.isfinite(l32).all() and all(torch.isfinite(t).all() for t in g32)
    assert (l64 < -50).any(), "the case must reach deep cancellation"
    # log-det terms as small as exp(-120) (q underflows float32): the log is
    # still accurate to float32 rounding of its magnitude
    torch.testing.assert_close(l32.double(), l64, rtol=2e-6, atol=1e-5)
    torch.testing.assert_close(z32.double(), z64, rtol=1e-5, atol=1e-5)
    # the naive formula is -inf or NaN in float32 here
    naive = reference(*inputs32, diag_tanh=True)[1]
    assert not torch.isfinite(naive).all()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_and_bfloat16_compute_in_float32(dtype):
    low = [t.to(dtype) for t in make_params(4, 3, 6, seed=24)]
    inputs = [t.detach().requires_grad_() for t in low]
    out, logdet = sylvester_triangular(*inputs, diag_tanh=True)
    assert out.dtype == logdet.dtype == dtype
    out32, logdet32 = sylvester_triangular(*[t.float() for t in low], diag_tanh=True)
    assert torch.equal(out, out32.to(dtype)) and torch.equal(logdet, logdet32.to(dtype))
    (out.float().sum() + logdet.float().sum()).backward()
    assert all(t.grad.dtype == dtype for t in inputs)
    back = sylvester_triangular_inverse(out32.to(dtype), *low[1:], diag_tanh=True)
    assert back.dtype == dtype


# ---------------------------------------------------------------------------
# Inverse
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("packed", [False, True], ids=["dense", "packed"])
@pytest.mark.parametrize("shared", [False, True], ids=["batched", "shared"])
@pytest.mark.parametrize("permute", ["alternate", "none", "reverse"])
@pytest.mark.parametrize("diag_tanh", [False, True], ids=["plain", "diag_tanh"])
def test_inverse_round_trip(packed, shared, permute, diag_tanh):
    z, r1, r2, b = make_params(16, 4, 9, shared=shared, packed=packed, seed=19, scale=2.0)
    if diag_tanh:  # raw diagonals anywhere: tanh keeps R1_ii R2_ii > -1
        z = z * 3
    out, _ = sylvester_triangular(z, r1, r2, b, permute, diag_tanh=diag_tanh)
    back = sylvester_triangular_inverse(out, r1, r2, b, permute, diag_tanh=diag_tanh)
    torch.testing.assert_close(back, z, rtol=0, atol=1e-10)
    again, _ = sylvester_triangular(back, r1, r2, b, permute, diag_tanh=diag_tanh)
    torch.testing.assert_close(again, out, rtol=0, atol=1e-10)


def test_inverse_near_singular_steps():
    """R1_ii R2_ii = -0.999 (f' down to 1e-3 near a = 0, where plain Newton
    overshoots): the safeguarded solve still returns a point the forward maps
    back onto its input to rounding. The map itself is ill-conditioned there
    (errors in z_K are amplified up to ~1e3 per coordinate and step), so the
    exact check is the residual, and z is only recovered to that conditioning."""
    z, r1, r2, b = make_params(32, 2, 4, seed=20)
    diag = torch.diag_embed(torch.full((32, 2, 4), 1.0, dtype=F64))
    r1 = torch.triu(r1, 1) + diag * 3.0
    r2 = torch.triu(r2, 1) - diag * (0.999 / 3.0)
    out, _ = sylvester_triangular(z, r1, r2, b)
    back = sylvester_triangular_inverse(out, r1, r2, b)
    torch.testing.assert_close(sylvester_triangular(back, r1, r2, b)[0], out, rtol=0, atol=1e-13)
    torch.testing.assert_close(back, z, rtol=0, atol=1e-4)


def test_inverse_float32():
    z, r1, r2, b = make_params(8, 3, 5, dtype=torch.float32, seed=21)
    out, _ = sylvester_triangular(z, r1, r2, b)
    back = sylvester_triangular_inverse(out, r1, r2, b)
    torch.testing.assert_close(back, z, rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------------------
# Dispatcher: opcheck, torch.compile, CUDA parity
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("packed", [False, True], ids=["dense", "packed"])
@pytest.mark.parametrize("shared", [False, True], ids=["batched", "shared"])
def test_opcheck(packed, shared, device):
    z, r1, r2, b = make_params(3, 3, 4, shared=shared, packed=packed, seed=22, device=device)
    flips = [False, True, False]
    for per_step, diag_tanh in ((False, False), (True, True)):
        args = [t.clone().requires_grad_() for t in (z, r1, r2, b)]
        torch.library.opcheck(torch.ops.hvae.sylvester_triangular, (*args, flips, packed, per_step, diag_tanh, True))
        torch.library.opcheck(
            torch.ops.hvae.sylvester_triangular, (z, r1, r2, b, flips, packed, per_step, diag_tanh, False)
        )
        _, _, zs, as_ = torch.ops.hvae.sylvester_triangular(z, r1, r2, b, flips, packed, per_step, diag_tanh, True)
        grad_logdet = torch.randn(3, 3, dtype=F64, device=device) if per_step else torch.randn(3, dtype=F64, device=device)
        torch.library.opcheck(
            torch.ops.hvae._sylvester_triangular_backward,
            (torch.randn_like(z), grad_logdet, r1, r2, b, zs, as_, flips, packed, per_step, diag_tanh),
        )
    torch.library.opcheck(torch.ops.hvae.sylvester_triangular_inverse, (z, r1, r2, b, flips, packed, True))


def test_torch_compile_fullgraph(device):
    z, r1, r2, b = make_params(4, 3, 5, packed=True, seed=23, device=device)
    torch._dynamo.reset()

    @torch.compile(fullgraph=True)
    def loss_fn(z, r1, r2, b):
        out, logdet = sylvester_triangular(z, r1, r2, b, "alternate", diag_tanh=True)
        return (out**2).sum() - logdet.sum()

    def eager(z, r1, r2, b):
        out, logdet = sylvester_triangular(z, r1, r2, b, "alternate", diag_tanh=True)
        return (out**2).sum() - logdet.sum()

    ins_c = [t.clone().requires_grad_() for t in (z, r1, r2, b)]
    ins_e = [t.clone().requires_grad_() for t in (z, r1, r2, b)]
    lc, le = loss_fn(*ins_c), eager(*ins_e)
    torch.testing.assert_close(lc, le, rtol=0, atol=1e-12)
    for gc, ge in zip(torch.autograd.grad(lc, ins_c), torch.autograd.grad(le, ins_e)):
        torch.testing.assert_close(gc, ge, rtol=0, atol=1e-12)
    inverse = torch.compile(sylvester_triangular_inverse, fullgraph=True)
    out = sylvester_triangular(z, r1, r2, b)[0]
    torch.testing.assert_close(inverse(out, r1, r2, b), z, rtol=0, atol=1e-10)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shared", [False, True], ids=["batched", "shared"])
@pytest.mark.parametrize("packed", [False, True], ids=["dense", "packed"])
def test_cuda_matches_cpu(device, dtype, shared, packed):
    if device == "cpu":
        pytest.skip("CUDA parity only")
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == torch.float32 else dict(rtol=1e-11, atol=1e-11)
    for dim, batch in ((1, 5), (7, 33), (64, 40), (130, 3)):
        cpu = make_params(batch, 5, dim, dtype=dtype, shared=shared, packed=packed, seed=dim)
        for diag_tanh, per_step in ((False, False), (True, True)):
            fn = lambda *a: sylvester_triangular(*a, per_step_logdet=per_step, diag_tanh=diag_tanh)  # noqa: E731
            (z_c, l_c), g_c = grads(fn, cpu)
            (z_g, l_g), g_g = grads(fn, [t.to(device) for t in cpu])
            torch.testing.assert_close(z_g.cpu(), z_c, **tol)
            torch.testing.assert_close(l_g.cpu(), l_c, **tol)
            for x, y in zip(g_g, g_c):
                torch.testing.assert_close(x.cpu(), y, **tol)
        out = sylvester_triangular(*[t.to(device) for t in cpu], diag_tanh=True)[0]
        back = sylvester_triangular_inverse(out, *[t.to(device) for t in cpu[1:]], diag_tanh=True)
        torch.testing.assert_close(back.cpu(), cpu[0], **tol)
