"""Sample dimensions of the T-SNF op: z [..., B, D] with parameters per data
point or shared, against the flattened-copy call (parameters repeated once
per sample, z flattened to [S B, D]), which is what users had to do before.
Float64 to 1e-12 (relative, with an absolute floor of 1e-12): the CPU
forward runs eight samples of a data point at once with its own summation
order, so the two agree to rounding, not bitwise."""

from __future__ import annotations

import pytest
import torch

from hvae_ext._ops.sylvester import sylvester_triangular, sylvester_triangular_inverse
from hvae_ext.flows import AmortizedTriangularSylvester, TriangularSylvester

from test_sylvester_op import make_params

F64 = torch.float64
PERMUTES = ["alternate", "none", "reverse", (True, False, False, True)]


def repeat_rows(t: torch.Tensor, samples: int, per_point: bool) -> torch.Tensor:
    """A per-data-point parameter [B, ...] as the flattened call needs it:
    [S B, ...] with row s B + b = t[b]; shared parameters stay as they are."""
    if not per_point:
        return t
    return t.repeat(samples, *([1] * (t.dim() - 1)))


def sample_params(lead, batch, num_flows, dim, *, packed, shared_mask=(False, False, False), seed=0, device="cpu"):
    """z [*lead, B, D] and (r1, r2, b), each per data point or shared (shared_mask)."""
    z1, r1, r2, b = make_params(batch, num_flows, dim, packed=packed, seed=seed, device=device)
    _, r1s, r2s, bs = make_params(batch, num_flows, dim, packed=packed, shared=True, seed=seed + 1, device=device)
    params = [s if sh else p for p, s, sh in zip((r1, r2, b), (r1s, r2s, bs), shared_mask)]
    g = torch.Generator().manual_seed(seed + 2)
    z = torch.randn(*lead, batch, dim, generator=g, dtype=F64).to(device)
    return z, params


def flattened(fn, z, params, shared_mask, **kw):
    lead = z.shape[:-2]
    samples = lead.numel()
    flat = [repeat_rows(p, samples, not sh) for p, sh in zip(params, shared_mask)]
    out = fn(z.reshape(-1, *z.shape[-1:]), *flat, **kw)
    if isinstance(out, tuple):
        return tuple(o.reshape(*lead, -1, *o.shape[1:]) for o in out)
    return out.reshape(*lead, -1, *out.shape[1:])


MASKS = [(False, False, False), (True, True, True), (True, False, False), (False, True, True)]


@pytest.mark.parametrize("packed", [False, True], ids=["dense", "packed"])
@pytest.mark.parametrize("mask", MASKS, ids=["batched", "shared", "r1shared", "r2bshared"])
@pytest.mark.parametrize("permute", PERMUTES)
@pytest.mark.parametrize("lead", [(3,), (2, 3)], ids=["S3", "S2x3"])
def test_forward_and_gradients_equal_flattened_copy(packed, mask, permute, lead):
    batch, num_flows, dim = 4, 4, 6
    z, params = sample_params(lead, batch, num_flows, dim, packed=packed, shared_mask=mask, seed=3)
    for diag_tanh, per_step in ((False, False), (True, True)):
        kw = dict(permute=permute, per_step_logdet=per_step, diag_tanh=diag_tanh)
        ins = [t.clone().requires_grad_() for t in (z, *params)]
        ins_f = [t.clone().requires_grad_() for t in (z, *params)]
        out = sylvester_triangular(*ins, **kw)
        ref = flattened(sylvester_triangular, ins_f[0], ins_f[1:], mask, **kw)
        assert out[0].shape == z.shape
        assert out[1].shape == (*lead, batch, num_flows) if per_step else (*lead, batch)
        for o, r in zip(out, ref):
            torch.testing.assert_close(o, r, rtol=1e-12, atol=1e-12)
        g = torch.Generator().manual_seed(5)
        cot = [torch.randn(o.shape, generator=g, dtype=F64) for o in out]
        grads = torch.autograd.grad(out, ins, cot)
        grads_f = torch.autograd.grad(ref, ins_f, cot)
        for name, x, y in zip(("z", "r1", "r2", "b"), grads, grads_f):
            assert x.shape == y.shape, name
            torch.testing.assert_close(x, y, rtol=1e-12, atol=1e-12, msg=name)


@pytest.mark.parametrize("packed", [False, True], ids=["dense", "packed"])
@pytest.mark.parametrize("mask", MASKS[:2], ids=["batched", "shared"])
@pytest.mark.parametrize("permute", PERMUTES)
def test_inverse_equals_flattened_copy(packed, mask, permute):
    z, params = sample_params((5,), 3, 4, 5, packed=packed, shared_mask=mask, seed=7)
    out = sylvester_triangular_inverse(z, *params, permute=permute, diag_tanh=True)
    ref = flattened(sylvester_triangular_inverse, z, params, mask, permute=permute, diag_tanh=True)
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
    forward = sylvester_triangular(out, *params, permute=permute, diag_tanh=True)[0]
    torch.testing.assert_close(forward, z, rtol=0, atol=1e-10)


@pytest.mark.parametrize("batch,samples", [(1, 9), (2, 5), (3, 1), (17, 3)])
def test_small_and_large_batches(batch, samples):
    """B = 1 with many samples (the backward cuts b's samples into chunks for
    the threads) and B beyond the thread count (one item per data point)."""
    mask = (False, True, False)
    z, params = sample_params((samples,), batch, 3, 5, packed=True, shared_mask=mask, seed=batch)
    ins = [t.clone().requires_grad_() for t in (z, *params)]
    ins_f = [t.clone().requires_grad_() for t in (z, *params)]
    out = sylvester_triangular(*ins, diag_tanh=True)
    ref = flattened(sylvester_triangular, ins_f[0], ins_f[1:], mask, diag_tanh=True)
    for o, r in zip(out, ref):
        torch.testing.assert_close(o, r, rtol=1e-12, atol=1e-12)
    loss = (out[0] ** 2).sum() + out[1].sum()
    loss_f = (ref[0] ** 2).sum() + ref[1].sum()
    for x, y in zip(torch.autograd.grad(loss, ins), torch.autograd.grad(loss_f, ins_f)):
        torch.testing.assert_close(x, y, rtol=1e-12, atol=1e-12)


def test_same_results_with_one_and_two_threads():
    z, params = sample_params((6,), 2, 3, 7, packed=False, seed=11)
    results = []
    before = torch.get_num_threads()
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            ins = [t.clone().requires_grad_() for t in (z, *params)]
            out = sylvester_triangular(*ins)
            results.append((*out, *torch.autograd.grad(out[0].sum() + out[1].sum(), ins)))
    finally:
        torch.set_num_threads(before)
    for x, y in zip(*results):
        torch.testing.assert_close(x, y, rtol=1e-12, atol=1e-12)


def test_expanded_and_strided_z():
    """z expanded over the samples (stride 0) and a non-contiguous z give the
    contiguous results; nothing is copied per sample for the expanded one."""
    _, params = sample_params((1,), 4, 3, 5, packed=True, seed=13)
    z0 = torch.randn(4, 5, dtype=F64)
    expanded = z0.expand(6, 4, 5)
    out = sylvester_triangular(expanded, *params)
    ref = sylvester_triangular(expanded.contiguous(), *params)
    for o, r in zip(out, ref):
        torch.testing.assert_close(o, r, rtol=0, atol=0)
    strided = torch.randn(4, 6, 5, dtype=F64).transpose(0, 1)  # [6, 4, 5], non-contiguous
    out = sylvester_triangular(strided, *params)
    ref = sylvester_triangular(strided.contiguous(), *params)
    for o, r in zip(out, ref):
        torch.testing.assert_close(o, r, rtol=0, atol=0)


def test_gradcheck_with_samples():
    z, params = sample_params((2,), 2, 2, 3, packed=True, shared_mask=(False, True, False), seed=17)
    ins = [t.clone().requires_grad_() for t in (z, *params)]
    assert torch.autograd.gradcheck(
        lambda *a: sylvester_triangular(*a, diag_tanh=True, per_step_logdet=True), ins, eps=1e-6, atol=1e-7
    )


def test_empty_sample_dimension():
    _, params = sample_params((1,), 3, 2, 4, packed=True, seed=19)
    z = torch.zeros(0, 3, 4, dtype=F64, requires_grad=True)
    ins = [p.clone().requires_grad_() for p in params]
    out, logdet = sylvester_triangular(z, *ins, per_step_logdet=True)
    assert out.shape == (0, 3, 4) and logdet.shape == (0, 3, 2)
    grads = torch.autograd.grad(out.sum() + logdet.sum(), [z, *ins])
    assert grads[0].shape == (0, 3, 4)
    for g, p in zip(grads[1:], ins):
        assert g.shape == p.shape and torch.count_nonzero(g) == 0
    assert sylvester_triangular_inverse(z.detach(), *params).shape == (0, 3, 4)


def test_mismatched_shapes_name_each_tensor():
    z, (r1, r2, b) = sample_params((2,), 4, 3, 5, packed=True, seed=23)
    expected_b = r"b has shape \[3, 3, 5\].*\[4, K, 5\].*z \[\.\.\., B, D\] of shape \[2, 4, 5\]"
    with pytest.raises(ValueError, match=expected_b):
        sylvester_triangular(z, r1, r2, b[:3])
    with pytest.raises(ValueError, match=r"r2 has shape \[3, 3, 15\], expected .*\[4, 3, 15\].*\[2, 4, 5\]"):
        sylvester_triangular(z, r1, r2[:3], b, layout="packed")
    with pytest.raises(ValueError, match=r"b has shape .*D = 4 from z"):
        sylvester_triangular(z[..., :4], r1, r2, b)
    with pytest.raises(ValueError, match=r"z must have shape \[\.\.\., B, D\]"):
        sylvester_triangular(z[0, 0], r1, r2, b)
    flow = TriangularSylvester(5, 3)
    with pytest.raises(ValueError, match=r"z must have shape \[\.\.\., B, 5\]"):
        flow(z[..., :4], r1, r2, b)


def test_modules_with_samples():
    torch.manual_seed(0)
    model = AmortizedTriangularSylvester(6, 4, 3).double()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    h = torch.randn(5, 6, dtype=F64)
    z0 = torch.randn(7, 5, 4, dtype=F64)
    calls = []
    handle = model.head.register_forward_hook(lambda mod, inp, out: calls.append(inp[0].shape))
    z_k, logdet = model(z0, h)
    handle.remove()
    assert calls == [torch.Size([5, 6])]  # the head ran once, on h itself
    assert z_k.shape == (7, 5, 4) and logdet.shape == (7, 5)
    ref_z, ref_l = model(z0.reshape(-1, 4), h.repeat(7, 1))
    torch.testing.assert_close(z_k, ref_z.view(7, 5, 4), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(logdet, ref_l.view(7, 5), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(model.inverse(z_k, h), z0, rtol=0, atol=1e-10)
    # gradients reach the head's weights once, summed over the samples
    grads = torch.autograd.grad(z_k.sum() + logdet.sum(), list(model.parameters()))
    grads_f = torch.autograd.grad(ref_z.sum() + ref_l.sum(), list(model.parameters()))
    for x, y in zip(grads, grads_f):
        torch.testing.assert_close(x, y, rtol=1e-12, atol=1e-12)


def test_opcheck_with_samples(device):
    z, (r1, r2, b) = sample_params((2, 2), 3, 3, 4, packed=True, shared_mask=(False, True, False), seed=29,
                                   device=device)
    flips = [False, True, False]
    args = [t.clone().requires_grad_() for t in (z, r1, r2, b)]
    torch.library.opcheck(torch.ops.hvae.sylvester_triangular, (*args, flips, True, True, True, True))
    torch.library.opcheck(torch.ops.hvae.sylvester_triangular, (z, r1, r2, b, flips, True, False, False, False))
    _, _, zs, as_ = torch.ops.hvae.sylvester_triangular(z, r1, r2, b, flips, True, False, True, True)
    assert zs.shape == (2, 2, 3, 3, 4)
    grad_logdet = torch.randn(2, 2, 3, dtype=F64, device=device)
    torch.library.opcheck(
        torch.ops.hvae._sylvester_triangular_backward,
        (torch.randn_like(z), grad_logdet, r1, r2, b, zs, as_, flips, True, False, True),
    )
    torch.library.opcheck(torch.ops.hvae.sylvester_triangular_inverse, (z, r1, r2, b, flips, True, True))


def test_torch_compile_with_samples(device):
    z, params = sample_params((3,), 4, 3, 5, packed=True, seed=31, device=device)
    torch._dynamo.reset()

    def loss(z, r1, r2, b):
        out, logdet = sylvester_triangular(z, r1, r2, b, diag_tanh=True)
        return torch.logsumexp(-(out**2).sum(-1) + logdet, dim=0).sum()

    compiled = torch.compile(loss, fullgraph=True)
    ins_c = [t.clone().requires_grad_() for t in (z, *params)]
    ins_e = [t.clone().requires_grad_() for t in (z, *params)]
    lc, le = compiled(*ins_c), loss(*ins_e)
    torch.testing.assert_close(lc, le, rtol=1e-12, atol=1e-12)
    for gc, ge in zip(torch.autograd.grad(lc, ins_c), torch.autograd.grad(le, ins_e)):
        torch.testing.assert_close(gc, ge, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_cuda_with_samples_matches_cpu(device, dtype):
    if device == "cpu":
        pytest.skip("CUDA parity only")
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == torch.float32 else dict(rtol=1e-11, atol=1e-11)
    for lead, batch, dim in (((5,), 3, 7), ((4, 2), 1, 64), ((6,), 40, 33)):
        for mask in MASKS:
            z, params = sample_params(lead, batch, 3, dim, packed=True, shared_mask=mask, seed=dim)
            z, params = z.to(dtype), [p.to(dtype) for p in params]
            outs = []
            for dev in ("cpu", device):
                ins = [t.to(dev).requires_grad_() for t in (z, *params)]
                out = sylvester_triangular(*ins, diag_tanh=True)
                outs.append([*out, *torch.autograd.grad(out[0].sum() + out[1].sum(), ins)])
            for x, y in zip(*outs):
                torch.testing.assert_close(y.cpu(), x, **tol)
