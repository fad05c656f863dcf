"""Many samples per batch entry from the vMF sampler (num_samples, and
VonMisesFisher.rsample/sample(sample_shape)): the same draws as the
flattened call with loc and kappa repeated once per sample, gradients
summed over the samples inside the backward op, and log_prob of
[S, B, m] values, all without per-sample copies of the parameters."""

from __future__ import annotations

import pytest
import torch

from hvae_ext import VonMisesFisher
from hvae_ext._ops.vmf import vmf_rsample, vmf_sample

F64 = torch.float64


def unit(shape, seed, dtype=F64):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=g, dtype=F64)
    return (x / x.norm(dim=-1, keepdim=True)).to(dtype)


def params(batch, m, seed, dtype=F64):
    kappa = torch.logspace(-1, 3, batch, dtype=F64).to(dtype)
    return unit((batch, m), seed, dtype), kappa


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("m", [2, 3, 5, 64])
def test_seeded_draws_equal_flattened_copy(dtype, m):
    loc, kappa = params(6, m, m, dtype)
    for samples in (1, 4):
        z, theta = torch.ops.hvae._vmf_sample_seeded(loc, kappa, 17, 3, samples)
        z_f, theta_f = torch.ops.hvae._vmf_sample_seeded(loc.repeat(samples, 1), kappa.repeat(samples), 17, 3)
        assert torch.equal(z, z_f) and torch.equal(theta, theta_f)


@pytest.mark.parametrize("sample_shape", [(5,), (2, 3), (1,)])
@pytest.mark.parametrize("batch_shape", [(4,), (2, 3)])
def test_rsample_equals_the_former_flattened_call(sample_shape, batch_shape):
    """Same generator state -> the same samples as before this change, when
    rsample expanded loc and kappa to sample_shape + batch_shape and flattened
    them (row s B + b)."""
    m = 7
    loc = unit((*batch_shape, m), 1)
    kappa = torch.linspace(0.5, 40.0, torch.Size(batch_shape).numel(), dtype=F64).view(batch_shape)
    dist = VonMisesFisher(loc, kappa)
    shape = torch.Size(sample_shape) + torch.Size(batch_shape) + (m,)
    n = shape[:-1].numel()
    g1, g2 = torch.Generator().manual_seed(11), torch.Generator().manual_seed(11)
    got = dist.rsample(sample_shape, generator=g1)
    former = vmf_rsample(loc.expand(shape).reshape(n, m), kappa.expand(shape[:-1]).reshape(n), generator=g2)
    assert got.shape == shape
    assert torch.equal(got, former.view(shape))
    g3 = torch.Generator().manual_seed(11)
    assert torch.equal(dist.sample(sample_shape, generator=g3), got)


@pytest.mark.parametrize("m", [3, 5, 40])
@pytest.mark.parametrize("batch,samples", [(5, 4), (1, 9), (9, 3)])
def test_gradients_equal_flattened_copy(m, batch, samples):
    """loc and kappa gradients summed over the samples inside the backward op
    equal autograd's sum over the repeated copies (float64, 1e-12)."""
    loc0, kappa0 = params(batch, m, m + batch)
    loc, kappa = loc0.clone().requires_grad_(), kappa0.clone().requires_grad_()
    loc_f, kappa_f = loc0.clone().requires_grad_(), kappa0.clone().requires_grad_()
    z, _ = torch.ops.hvae._vmf_sample_seeded(loc, kappa, 5, 0, samples)
    z_f, _ = torch.ops.hvae._vmf_sample_seeded(loc_f.repeat(samples, 1), kappa_f.repeat(samples), 5, 0)
    assert torch.equal(z, z_f)
    cot = torch.randn(z.shape, generator=torch.Generator().manual_seed(2), dtype=F64)
    g = torch.autograd.grad(z, (loc, kappa), cot)
    g_f = torch.autograd.grad(z_f, (loc_f, kappa_f), cot)
    assert g[0].shape == (batch, m) and g[1].shape == (batch,)
    torch.testing.assert_close(g[0], g_f[0], rtol=0, atol=1e-12)
    torch.testing.assert_close(g[1], g_f[1], rtol=1e-12, atol=1e-12)
    # only the loc gradient asked for
    g_loc = torch.autograd.grad(
        torch.ops.hvae._vmf_sample_seeded(loc, kappa0, 5, 0, samples)[0], loc, cot)[0]
    torch.testing.assert_close(g_loc, g_f[0], rtol=0, atol=1e-12)


def test_distribution_gradients_with_sample_shape():
    m = 6
    loc0 = unit((2, 3, m), 4)
    kappa0 = torch.tensor([[0.1, 2.0, 30.0], [5.0, 0.0, 1e3]], dtype=F64)
    ins = [loc0.clone().requires_grad_(), kappa0.clone().requires_grad_()]
    ins_f = [loc0.clone().requires_grad_(), kappa0.clone().requires_grad_()]
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    z = VonMisesFisher(*ins).rsample((4, 2), generator=g1)
    shape = z.shape
    n = shape[:-1].numel()
    z_f = vmf_rsample(ins_f[0].expand(shape).reshape(n, m), ins_f[1].expand(shape[:-1]).reshape(n),
                      generator=g2).view(shape)
    cot = torch.randn(shape, generator=torch.Generator().manual_seed(8), dtype=F64)
    for x, y in zip(torch.autograd.grad(z, ins, cot), torch.autograd.grad(z_f, ins_f, cot)):
        torch.testing.assert_close(x, y, rtol=1e-12, atol=1e-12)


def test_scalar_concentration():
    loc = unit((3, 4), 9)
    kappa = torch.tensor(2.5, dtype=F64, requires_grad=True)
    z = VonMisesFisher(loc, kappa).rsample((5,), generator=torch.Generator().manual_seed(1))
    assert z.shape == (5, 3, 4)
    (g,) = torch.autograd.grad(z.sum(), kappa)
    kappa_f = kappa.detach().clone().requires_grad_()
    z_f = vmf_rsample(loc.repeat(5, 1), kappa_f.expand(15), generator=torch.Generator().manual_seed(1))
    assert torch.equal(z.view(15, 4), z_f)
    (g_f,) = torch.autograd.grad(z_f.sum(), kappa_f)
    torch.testing.assert_close(g, g_f, rtol=1e-12, atol=1e-12)


def test_log_prob_of_sample_dimensions():
    loc, kappa = params(4, 9, 12)
    dist = VonMisesFisher(loc, kappa)
    z = dist.sample((6,), generator=torch.Generator().manual_seed(0))
    lp = dist.log_prob(z)
    assert lp.shape == (6, 4)
    flat = VonMisesFisher(loc.repeat(6, 1), kappa.repeat(6)).log_prob(z.reshape(24, 9))
    torch.testing.assert_close(lp, flat.view(6, 4), rtol=0, atol=1e-12)


def test_empty_sample_shape_and_batch():
    loc, kappa = params(3, 5, 1)
    loc, kappa = loc.requires_grad_(), kappa.requires_grad_()
    z = VonMisesFisher(loc, kappa).rsample((0,))
    assert z.shape == (0, 3, 5)
    gl, gk = torch.autograd.grad(z.sum(), (loc, kappa), allow_unused=True)
    for g, p in ((gl, loc), (gk, kappa)):
        assert g is None or (g.shape == p.shape and torch.count_nonzero(g) == 0)
    z, theta = vmf_sample(loc.detach()[:0], kappa.detach()[:0], num_samples=4)
    assert z.shape == (0, 5) and theta.shape == (0,)


def test_bad_num_samples_and_shapes():
    loc, kappa = params(3, 5, 1)
    with pytest.raises(RuntimeError, match="num_samples must be >= 0"):
        vmf_sample(loc, kappa, num_samples=-1)
    z, theta = torch.ops.hvae._vmf_sample_seeded(loc, kappa, 1, 0, 2)
    with pytest.raises(RuntimeError, match=r"\[S B, m\]"):
        torch.ops.hvae._vmf_sample_backward(z[:5], z[:5], theta[:5], loc, kappa, True)


def test_opcheck_with_samples():
    loc, kappa = params(5, 4, 2)
    torch.library.opcheck(torch.ops.hvae._vmf_sample_seeded.default, (loc, kappa, 3, 0, 4))
    ins = (loc.clone().requires_grad_(), kappa.clone().requires_grad_())
    torch.library.opcheck(torch.ops.hvae._vmf_sample_seeded.default, (*ins, 3, 0, 4))
    z, theta = torch.ops.hvae._vmf_sample_seeded(loc, kappa, 3, 0, 4)
    g = torch.randn(20, 4, dtype=F64)
    torch.library.opcheck(torch.ops.hvae._vmf_sample_backward.default, (g, z, theta, loc, kappa, True))
    torch.library.opcheck(
        torch.ops.hvae.vmf_sample.default, (loc, kappa, None, 4),
        test_utils=("test_schema", "test_faketensor", "test_autograd_registration"),
    )


def test_torch_compile_sample_shape():
    loc, kappa = params(4, 6, 3)

    def iwae_terms(loc, kappa):
        q = VonMisesFisher(loc, kappa, validate_args=False)
        z = q.rsample((5,))
        return z, q.log_prob(z)

    torch._dynamo.reset()
    kappa_c = kappa.clone().requires_grad_()
    z, lp = torch.compile(iwae_terms, fullgraph=True, backend="aot_eager")(loc, kappa_c)
    assert z.shape == (5, 4, 6) and lp.shape == (5, 4)
    torch.testing.assert_close(lp, VonMisesFisher(loc, kappa).log_prob(z.detach()))
    torch.logsumexp(lp, 0).sum().backward()
    assert kappa_c.grad.shape == (4,) and torch.isfinite(kappa_c.grad).all()


def test_cuda_sample_shape_matches_cpu(device):
    if device == "cpu":
        pytest.skip("CUDA parity only")
    loc, kappa = params(5, 40, 6)
    z_c, _ = torch.ops.hvae._vmf_sample_seeded(loc, kappa, 9, 0, 3)
    z_g, _ = torch.ops.hvae._vmf_sample_seeded(loc.to(device), kappa.to(device), 9, 0, 3)
    torch.testing.assert_close(z_g.cpu(), z_c, rtol=1e-10, atol=1e-10)
    ins = [t.to(device).requires_grad_() for t in (loc, kappa)]
    ins_f = [t.to(device).requires_grad_() for t in (loc, kappa)]
    z = torch.ops.hvae._vmf_sample_seeded(*ins, 9, 0, 3)[0]
    z_f = torch.ops.hvae._vmf_sample_seeded(ins_f[0].repeat(3, 1), ins_f[1].repeat(3), 9, 0)[0]
    cot = torch.randn_like(z)
    for x, y in zip(torch.autograd.grad(z, ins, cot), torch.autograd.grad(z_f, ins_f, cot)):
        torch.testing.assert_close(x, y, rtol=1e-10, atol=1e-10)
