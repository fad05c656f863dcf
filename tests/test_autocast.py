"""Autocast and low-precision inputs: every op of the hvae library computes
float16/bfloat16 in float32 (csrc/ops/autocast.cpp), densities come back in
float32, float32 is never downcast and float64 is never touched; gradients
reach low-precision leaves in their own dtype.

The rules (docs/distributions.md, "dtypes and autocast"):
* inside torch.autocast: ops given half/bfloat16 return float32 (samples,
  z_K, log-dets, special functions);
* outside: VonMisesFisher with half/bfloat16 parameters samples in loc's
  dtype and returns densities in float32; the op wrappers (special
  functions, sylvester_triangular) round back to the input dtype.
"""

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import kl_divergence

from hvae_ext import AmortizedTriangularSylvester, HypersphericalUniform, VonMisesFisher, special
from hvae_ext._ops.sylvester import sylvester_triangular

BF16, F32, F64 = torch.bfloat16, torch.float32, torch.float64
LOW = [torch.float16, torch.bfloat16]


def _autocast(dtype=BF16):
    return torch.autocast("cpu", dtype=dtype)


def _unit(b, m, seed, dtype=F32):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(b, m, generator=g, dtype=F64), dim=-1).to(dtype)


def _hvae_op_names():
    return sorted(n for n in torch._C._dispatch_get_all_op_names() if n.startswith("hvae::"))


def test_every_op_has_autocast_kernels():
    # A new op without its line in csrc/ops/autocast.cpp would fall through
    # autocast and reject (or round to) half/bfloat16 inputs.
    names = _hvae_op_names()
    assert len(names) >= 12
    for name in names:
        for key in ("AutocastCPU", "AutocastCUDA"):
            assert torch._C._dispatch_has_kernel_for_dispatch_key(name, key), (name, key)


@pytest.mark.parametrize("low", LOW)
@pytest.mark.parametrize("fn", [special.log_iv, special.log_ive, special.iv_ratio])
def test_special_functions_under_autocast(fn, low):
    x = torch.tensor([1e-3, 0.5, 3.0, 40.0, 900.0]).to(low)
    with torch.autocast("cpu", dtype=low):
        out = fn(2.5, x)
        # float32 and float64 inputs are left alone
        out32 = fn(2.5, x.float())
        out64 = fn(2.5, x.double())
    assert out.dtype == F32 and out32.dtype == F32 and out64.dtype == F64
    assert torch.equal(out, fn(2.5, x.float()))  # the rounded inputs, computed in float32
    assert torch.equal(out32, fn(2.5, x.float())) and torch.equal(out64, fn(2.5, x.double()))
    # outside autocast the op keeps rounding back to the input dtype
    assert fn(2.5, x).dtype == low


def test_special_gradient_reaches_bfloat16_leaf():
    x = torch.tensor([0.5, 3.0, 40.0], dtype=BF16, requires_grad=True)
    with _autocast():
        y = special.log_iv(1.5, x)
    y.sum().backward()
    assert x.grad.dtype == BF16
    want = special.iv_ratio(1.5, x.detach().float()) + 1.5 / x.detach().float()
    torch.testing.assert_close(x.grad, want.to(BF16))


def test_vmf_sample_op_under_autocast():
    loc, kappa = _unit(16, 5, 0, BF16), torch.linspace(0.0, 50.0, 16).to(BF16)
    loc.requires_grad_(True)
    with _autocast():
        z, theta = torch.ops.hvae._vmf_sample_seeded(loc, kappa, 7, 0)
        z64, _ = torch.ops.hvae._vmf_sample_seeded(loc.detach().double(), kappa.double(), 7, 0)
    assert z.dtype == theta.dtype == F32 and z64.dtype == F64
    z32, _ = torch.ops.hvae._vmf_sample_seeded(loc.detach().float(), kappa.float(), 7, 0)
    assert torch.equal(z, z32)
    z.sum().backward()
    assert loc.grad.dtype == BF16 and torch.isfinite(loc.grad).all()


@pytest.mark.parametrize("low", LOW)
def test_vmf_outside_autocast_computes_in_float32(low):
    loc32, kappa32 = _unit(32, 6, 1), torch.linspace(0.1, 80.0, 32)
    loc, kappa = loc32.to(low), kappa32.to(low)
    q = VonMisesFisher(loc, kappa)
    assert q.loc.dtype == q.concentration.dtype == F32  # parameters held in float32
    z = q.rsample(generator=torch.Generator().manual_seed(3))
    assert z.dtype == low  # samples in loc's dtype
    # the float32 law of the given parameters: loc's direction (a low-precision
    # unit vector is unit only to its rounding), kappa as given
    ref = VonMisesFisher(F.normalize(loc.float(), dim=-1), kappa.float())
    assert torch.equal(q.loc, ref.loc)
    z32 = ref.rsample(generator=torch.Generator().manual_seed(3))
    assert torch.equal(z, z32.to(low))  # the float32 draw, rounded once
    assert q.sample((2,)).dtype == low
    # densities in float32, equal to the float32 distribution's
    for got, want in [(q.log_prob(z32), ref.log_prob(z32)), (q.entropy(), ref.entropy()),
                      (kl_divergence(q, HypersphericalUniform(6)), kl_divergence(ref, HypersphericalUniform(6)))]:
        assert got.dtype == F32 and torch.equal(got, want)
    # a number is taken in float32, not rounded to the low dtype first
    assert VonMisesFisher(loc, 2.7).concentration[0].item() == torch.tensor(2.7).item()
    # a float32 concentration with a low-precision loc (and the reverse) is fine
    assert VonMisesFisher(loc, kappa32).rsample().dtype == low
    assert VonMisesFisher(loc32, kappa).rsample().dtype == F32


def test_vmf_under_autocast_samples_float32_and_keeps_float64():
    loc, kappa = _unit(8, 4, 2, BF16), torch.full((8,), 5.0, dtype=BF16)
    with _autocast():
        q = VonMisesFisher(loc, kappa)
        z = q.rsample()
        lp, kl = q.log_prob(z), kl_divergence(q, HypersphericalUniform(4))
        q64 = VonMisesFisher(_unit(8, 4, 2, F64), kappa.double())
        z64 = q64.rsample()
        lp64, kl64 = q64.log_prob(z64), kl_divergence(q64, HypersphericalUniform(4, dtype=F64))
    assert z.dtype == lp.dtype == kl.dtype == F32
    assert z64.dtype == lp64.dtype == kl64.dtype == q64.loc.dtype == F64


def test_uniform_log_prob_of_low_precision_samples_is_float32():
    z = _unit(4, 3, 6, BF16)
    for p in (HypersphericalUniform(3), HypersphericalUniform(3, dtype=F64)):
        lp = p.log_prob(z)
        assert lp.dtype == F32 and torch.equal(lp, p.log_prob(_unit(4, 3, 6)).float())


def test_gradients_reach_bfloat16_encoder_weights():
    torch.manual_seed(0)
    encoder = torch.nn.Linear(20, 8).to(BF16)
    kappa_head = torch.nn.Linear(20, 1).to(BF16)
    x = torch.randn(16, 20, dtype=BF16)
    for autocast in (True, False):
        encoder.zero_grad(), kappa_head.zero_grad()
        with torch.autocast("cpu", dtype=BF16, enabled=autocast):
            loc = F.normalize(encoder(x), dim=-1)
            kappa = F.softplus(kappa_head(x)).squeeze(-1) + 1
            q = VonMisesFisher(loc, kappa)
            z = q.rsample()
            loss = (kl_divergence(q, HypersphericalUniform(8)) + z.float().sum(-1)).mean()
        assert loss.dtype == F32
        loss.backward()
        for p in (*encoder.parameters(), *kappa_head.parameters()):
            assert p.grad is not None and p.grad.dtype == BF16
            assert torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0


def test_sylvester_under_autocast_float32_results():
    g = torch.Generator().manual_seed(4)
    b_, k_, d_ = 6, 3, 5
    tri = d_ * (d_ + 1) // 2
    z = torch.randn(b_, d_, generator=g)
    r1, r2 = (0.3 * torch.randn(b_, k_, tri, generator=g) for _ in range(2))
    b = torch.randn(b_, k_, d_, generator=g)
    low = [t.to(BF16) for t in (z, r1, r2, b)]
    with _autocast():
        out, logdet = sylvester_triangular(*low, diag_tanh=True)
        mixed = sylvester_triangular(z, *low[1:], diag_tanh=True)  # float32 z, bfloat16 factors
        out64, logdet64 = sylvester_triangular(*(t.double() for t in (z, r1, r2, b)), diag_tanh=True)
    want = sylvester_triangular(*(t.float() for t in low), diag_tanh=True)
    assert out.dtype == logdet.dtype == F32 and out64.dtype == logdet64.dtype == F64
    assert torch.equal(out, want[0]) and torch.equal(logdet, want[1])
    want_mixed = sylvester_triangular(z, *(t.float() for t in low[1:]), diag_tanh=True)
    assert all(torch.equal(a, w) for a, w in zip(mixed, want_mixed))
    # outside autocast: rounded back to the input dtype (test_sylvester_op.py)
    assert sylvester_triangular(*low, diag_tanh=True)[1].dtype == BF16


def test_amortized_sylvester_logdet_under_autocast():
    # Under autocast the head runs in float32 and so does the flow: the
    # log-det equals the float32 module's, where it used to come back in
    # bfloat16 (0.03-0.06 nats off at the values ~5-10 here) and from a
    # bfloat16 head (~0.3 nats off here).
    torch.manual_seed(0)
    flow = AmortizedTriangularSylvester(feature_dim=32, dim=8, num_flows=4)
    with torch.no_grad():
        for layer in (flow.head.r1, flow.head.r2, flow.head.b):
            layer.weight.normal_(0, 0.3)
            layer.bias.normal_(0, 0.3)
    z0, h = torch.randn(64, 8), torch.randn(64, 32)
    want_z, want_logdet = flow(z0, h)
    assert want_logdet.abs().max() > 2
    for h_in, z_in in [(h, z0), (h.to(BF16), z0.to(BF16))]:
        with _autocast():
            z_k, logdet = flow(z_in, h_in)
        assert z_k.dtype == logdet.dtype == F32
        want = flow(z_in.float(), h_in.float())
        torch.testing.assert_close(logdet, want[1], rtol=0, atol=0)
        torch.testing.assert_close(z_k, want[0], rtol=0, atol=0)
    # and the error of the bfloat16 inputs themselves is what it is (not a test of ours)
    with _autocast():
        z_k, logdet = flow(z0, h)
    torch.testing.assert_close(logdet, want_logdet, rtol=0, atol=0)
    # gradients reach the head's weights (float32 parameters under autocast)
    with _autocast():
        flow(z0, h.requires_grad_())[1].sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in flow.parameters())
    assert h.grad.dtype == F32 and torch.isfinite(h.grad).all()
    # float64 stays float64
    with _autocast():
        z64, logdet64 = flow.double()(z0.double(), h.detach().double())
    assert z64.dtype == logdet64.dtype == F64


def test_autocast_float64_stays_float64_everywhere():
    x = torch.tensor([0.5, 5.0], dtype=F64)
    loc, kappa = _unit(4, 3, 5, F64), torch.full((4,), 2.0, dtype=F64)
    with _autocast():
        assert special.log_iv(1.0, x).dtype == F64
        z, theta = torch.ops.hvae._vmf_sample_seeded(loc, kappa, 1, 0)
        assert z.dtype == theta.dtype == F64
    assert torch.equal(z, torch.ops.hvae._vmf_sample_seeded(loc, kappa, 1, 0)[0])


def test_autocast_compiled_fullgraph():
    # The autocast kernels are traced by torch.compile like the ops themselves.
    def f(x):
        with torch.autocast("cpu", dtype=BF16):
            return special.log_iv(2.0, x.to(BF16)) + 1

    torch._dynamo.reset()
    x = torch.tensor([0.5, 3.0, 40.0])
    got = torch.compile(f, fullgraph=True, backend="aot_eager")(x)
    assert got.dtype == F32
    torch.testing.assert_close(got, f(x), rtol=0, atol=0)
