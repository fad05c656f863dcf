"""hvae_ext.PowerSpherical: the distribution's API, densities and moments,
against the float64 reference (hvae_ext.reference.power_spherical), mpmath,
quadrature, and the `power_spherical` package (De Cao's reference
implementation) where that one is accurate.

Sampling tests need the fused sampler op (hvae_ext._ops.power_spherical);
they are marked `sampler` and skip with that reason where it is absent.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import kl_divergence

import hvae_ext
from hvae_ext import HypersphericalUniform, PowerSpherical
from hvae_ext.distributions import power_spherical_entropy
from hvae_ext.distributions._normalizer import log_sphere_area
from hvae_ext.reference.power_spherical import (
    ps_entropy_reference,
    ps_log_normalizer_reference,
    ps_log_prob_reference,
    ps_sample_reference,
)
from ps_mp_reference import ps_kappa_reference as ref

F32, F64, BF16 = torch.float32, torch.float64, torch.bfloat16

try:
    from hvae_ext._ops.power_spherical import power_spherical_rsample  # noqa: F401

    HAVE_SAMPLER = True
except ImportError:
    HAVE_SAMPLER = False
needs_sampler = pytest.mark.skipif(not HAVE_SAMPLER, reason="the fused PS sampler op (ps-sampler branch) is not built")


def _unit(shape, seed, dtype=F64):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(shape, generator=g, dtype=F64), dim=-1).to(dtype)


# --- construction, shapes, validation ----------------------------------------------


def test_shapes_expand_and_broadcast():
    loc = _unit((4, 5), 0)
    p = PowerSpherical(loc, torch.full((4,), 3.0, dtype=F64))
    assert p.batch_shape == (4,) and p.event_shape == (5,) and p.m == 5
    assert p.support is hvae_ext.distributions.sphere and p.has_rsample
    assert set(p.arg_constraints) == {"loc", "scale"}
    # a number, and a scale that broadcasts against loc's batch
    assert PowerSpherical(loc, 2.0).scale.shape == (4,)
    q = PowerSpherical(loc[:1], torch.tensor([1.0, 2.0, 3.0], dtype=F64))
    assert q.batch_shape == (3,) and q.loc.shape == (3, 5)
    e = p.expand((2, 4))
    assert e.batch_shape == (2, 4) and e.loc.shape == (2, 4, 5) and e.scale.shape == (2, 4)
    z = _unit((2, 4, 5), 1)
    torch.testing.assert_close(e.log_prob(z), p.log_prob(z), rtol=0, atol=0)
    assert e.entropy().shape == (2, 4) and e.mean.shape == (2, 4, 5) and e.variance.shape == (2, 4, 5)
    assert p.mode is p.loc
    with pytest.raises(ValueError, match="do not broadcast"):
        PowerSpherical(loc, torch.ones(3, dtype=F64))


def test_validation_errors():
    loc = _unit((3, 4), 2)
    with pytest.raises(ValueError, match="PowerSpherical: loc must have unit norm"):
        PowerSpherical(loc * 1.1, torch.ones(3, dtype=F64), validate_args=True)
    for bad in (-1.0, math.inf, math.nan):
        scale = torch.tensor([1.0, bad, 2.0], dtype=F64)
        with pytest.raises(ValueError, match="PowerSpherical: scale must be finite and >= 0"):
            PowerSpherical(loc, scale, validate_args=True)
    PowerSpherical(loc * 1.1, torch.ones(3, dtype=F64), validate_args=False)  # no check asked
    p = PowerSpherical(loc, torch.ones(3, dtype=F64), validate_args=True)
    with pytest.raises(ValueError, match="support"):
        p.log_prob(loc * 2)
    with pytest.raises(TypeError, match="PowerSpherical: loc must be a Tensor"):
        PowerSpherical([1.0, 0.0], 1.0)
    with pytest.raises(ValueError, match="m >= 2"):
        PowerSpherical(torch.ones(3, 1, dtype=F64), 1.0)
    with pytest.raises(TypeError, match="PowerSpherical: scale must have the dtype of loc"):
        PowerSpherical(loc, torch.ones(3, dtype=F32))
    with pytest.raises(TypeError, match="PowerSpherical: scale must be a Tensor or a real number"):
        PowerSpherical(loc, "1")


# --- densities ------------------------------------------------------------------------


@pytest.mark.parametrize("m", [2, 3, 10, 64])
def test_log_prob_matches_reference(m):
    loc = _unit((6, m), 3)
    kappa = torch.tensor([0.0, 0.5, 1.0, 7.0, 40.0, 300.0], dtype=F64)
    z = _unit((5, 6, m), 4)
    # points near the mode and near the antipode too
    z[0] = F.normalize(loc + 1e-4 * z[1], dim=-1)
    z[1] = F.normalize(-loc + 1e-3 * z[2], dim=-1)
    p = PowerSpherical(loc, kappa)
    want = ps_log_prob_reference(loc, kappa, z)
    got = p.log_prob(z)
    keep = [0, 2, 3, 4]
    torch.testing.assert_close(got[keep], want[keep], rtol=1e-12, atol=1e-11)
    # Near the antipode the reference's log1p(mu^T z) has lost ~eps/(1 + mu^T z)
    # relative (1 + mu^T z ~ 5e-7 here); ours is exact there
    # (test_log_prob_accurate_near_the_antipode_and_the_mode).
    torch.testing.assert_close(got[1], want[1], rtol=1e-7, atol=1e-11)


def test_log_prob_accurate_near_the_antipode_and_the_mode():
    # 1 + mu^T z ~ 1e-12 at z near -mu: the dot product keeps ~4 digits of it,
    # |z + mu|^2 / 2 all of them. Exact: z = (cos t, sin t, 0) on S^2.
    m, kappa = 3, 5.0
    loc = torch.tensor([[1.0, 0.0, 0.0]], dtype=F64)
    p = PowerSpherical(loc, torch.tensor([kappa], dtype=F64))
    for theta in (math.pi - 1e-6, 1e-7, 0.3):
        z = torch.tensor([[math.cos(theta), math.sin(theta), 0.0]], dtype=F64)
        one_plus_t = 2 * math.cos(theta / 2) ** 2
        want = kappa * math.log(one_plus_t) - float(ref(m, kappa)["log_c"])
        assert abs(p.log_prob(z).item() - want) <= 1e-13 * abs(want), theta
    # float32 at kappa = 1e6 near the mode: kappa log((1+t)/2) from |z - mu|^2.
    loc32 = loc.float()
    p32 = PowerSpherical(loc32, torch.tensor([1e6]))
    z = torch.tensor([[math.cos(1e-3), math.sin(1e-3), 0.0]], dtype=F64)
    want = 1e6 * math.log(math.cos(5e-4) ** 2) - float(ref(m, 1e6)["log_c_scaled"])
    assert abs(p32.log_prob(z.float()).item() - want) <= 1e-6 * abs(want)
    # the antipode itself: -inf for kappa > 0, the uniform density for kappa = 0
    pm = PowerSpherical(loc.expand(2, 3), torch.tensor([0.0, 2.0], dtype=F64))
    lp = pm.log_prob(-loc)
    assert lp[0].item() == pytest.approx(-log_sphere_area(3), rel=1e-15) and lp[1].item() == -math.inf


def _tanh_sinh(a: float, b: float, h: float = 1 / 32, n: int = 160):
    """Nodes and weights of the tanh-sinh rule on [a, b] (double exponential:
    ~1e-15 also for integrands like (1 + t)^0.3 whose derivatives blow up at
    an end, where Gauss-Legendre converges only algebraically)."""
    x = torch.arange(-n, n + 1, dtype=F64) * h
    u = 0.5 * math.pi * torch.sinh(x)
    nodes = torch.tanh(u)
    weights = h * 0.5 * math.pi * torch.cosh(x) / torch.cosh(u) ** 2
    return 0.5 * (b - a) * nodes + 0.5 * (a + b), 0.5 * (b - a) * weights


@pytest.mark.parametrize("kappa", [0.0, 0.3, 2.0, 17.5, 150.0])
def test_density_integrates_to_one(kappa):
    # m = 2: the circle, theta the angle to mu in [0, pi], twice. m = 3: p
    # depends on t = mu^T z only, dA = 2 pi dt. Both by tanh-sinh.
    k = torch.tensor([kappa], dtype=F64)
    theta, w = _tanh_sinh(0.0, math.pi)
    loc2 = torch.tensor([[0.6, 0.8]], dtype=F64)
    ang = math.atan2(0.8, 0.6) + theta
    z2 = torch.stack((torch.cos(ang), torch.sin(ang)), -1)
    total2 = 2 * (PowerSpherical(loc2, k).log_prob(z2).exp() * w).sum()
    assert abs(total2.item() - 1) < 1e-13
    t, w = _tanh_sinh(-1.0, 1.0)
    loc3 = torch.tensor([[0.0, 0.0, 1.0]], dtype=F64)
    z3 = torch.stack((torch.sqrt((1 - t) * (1 + t)), torch.zeros_like(t), t), -1)
    total3 = (PowerSpherical(loc3, k).log_prob(z3).exp() * w).sum() * 2 * math.pi
    assert abs(total3.item() - 1) < 1e-13


@pytest.mark.parametrize("kappa", [0.0, 0.8, 6.0, 90.0])
def test_entropy_is_minus_expected_log_prob_by_quadrature(kappa):
    t, w = _tanh_sinh(-1.0, 1.0)
    loc = torch.tensor([[0.0, 0.0, 1.0]], dtype=F64)
    p = PowerSpherical(loc, torch.tensor([kappa], dtype=F64))
    z = torch.stack((torch.sqrt((1 - t) * (1 + t)), torch.zeros_like(t), t), -1)
    lp = p.log_prob(z)
    # p log p -> 0 at the antipode (lp = -inf there only if a node hits it)
    integrand = torch.where(lp.isfinite(), lp.exp() * lp, 0.0)
    h = -(integrand * w).sum() * 2 * math.pi
    assert abs(h.item() - p.entropy().item()) < 1e-12


@pytest.mark.parametrize("m", [4, 10, 50])
def test_entropy_monte_carlo_with_reference_samples(m):
    # -E[log p] over 20000 samples of the float64 reference sampler; the
    # tolerance is 5 standard errors (false failure ~6e-7).
    torch.manual_seed(0)
    loc = _unit((3, m), 5)
    kappa = torch.tensor([0.5, 5.0, 60.0], dtype=F64)
    p = PowerSpherical(loc, kappa)
    z = ps_sample_reference(loc, kappa, 20000, generator=torch.Generator().manual_seed(1))
    lp = p.log_prob(z)
    est, se = -lp.mean(0), lp.std(0) / math.sqrt(lp.shape[0])
    assert ((est - p.entropy()).abs() <= 5 * se + 1e-12).all(), (est, p.entropy(), se)


def test_kl_registered_and_equal_to_log_area_minus_entropy():
    m = 7
    p = PowerSpherical(_unit((5, m), 6), torch.tensor([0.0, 1e-6, 0.4, 30.0, 2e4], dtype=F64))
    kl = kl_divergence(p, HypersphericalUniform(m, dtype=F64))
    assert kl.shape == (5,) and kl[0].item() == 0
    want = log_sphere_area(m) - p.entropy()
    torch.testing.assert_close(kl[2:], want[2:], rtol=1e-13, atol=1e-13)
    # near kappa = 0 the KL keeps its relative precision (the difference does not)
    assert abs(kl[1].item() - float(ref(m, 1e-6)["kl_uniform"])) <= 1e-13 * kl[1].item()
    # batched uniform, and a mismatched dimension
    kl_b = kl_divergence(p, HypersphericalUniform(m, batch_shape=(2, 5), dtype=F64))
    assert kl_b.shape == (2, 5)
    with pytest.raises(ValueError, match="different dimensions"):
        kl_divergence(p, HypersphericalUniform(m + 1, dtype=F64))
    # gradient through the registered KL (the op's backward)
    k = torch.tensor([0.3, 4.0], dtype=F64, requires_grad=True)
    torch.autograd.gradcheck(
        lambda k: kl_divergence(PowerSpherical(_unit((2, m), 7), k), HypersphericalUniform(m, dtype=F64)), (k,)
    )


def test_log_prob_gradcheck():
    m = 5
    loc = _unit((3, m), 8).requires_grad_()
    kappa = torch.tensor([0.2, 3.0, 50.0], dtype=F64, requires_grad=True)
    z = _unit((2, 3, m), 9)

    def f(loc, kappa):
        return PowerSpherical(loc, kappa, validate_args=False).log_prob(z)

    torch.autograd.gradcheck(f, (loc, kappa))
    torch.autograd.gradgradcheck(lambda k: PowerSpherical(loc.detach(), k).log_prob(z), (kappa,))
    torch.autograd.gradcheck(lambda k: PowerSpherical(loc.detach(), k).entropy(), (kappa,))


# --- moments ------------------------------------------------------------------------------


@pytest.mark.parametrize("m", [2, 3, 16])
def test_mean_and_variance_closed_forms_and_monte_carlo(m):
    loc = _unit((3, m), 10)
    kappa = torch.tensor([0.0, 2.0, 40.0], dtype=F64)
    p = PowerSpherical(loc, kappa)
    torch.testing.assert_close(p.mean_resultant_length, kappa / (kappa + m - 1), rtol=1e-15, atol=0)
    # kappa = 0 is the uniform law: mean 0, variance 1/m per coordinate
    assert p.mean[0].abs().max().item() == 0
    torch.testing.assert_close(p.variance[0], torch.full((m,), 1.0 / m, dtype=F64), rtol=1e-15, atol=0)
    # the trace of Cov z is 1 - |E z|^2
    torch.testing.assert_close(p.variance.sum(-1), 1 - (p.mean * p.mean).sum(-1), rtol=1e-14, atol=1e-15)
    z = ps_sample_reference(loc, kappa, 40000, generator=torch.Generator().manual_seed(2))
    # 6 standard errors per coordinate (false failure ~2e-9 each)
    se_mean = (z.var(0) / z.shape[0]).sqrt()
    assert ((z.mean(0) - p.mean).abs() <= 6 * se_mean + 1e-12).all()
    dev2 = (z - p.mean) ** 2
    se_var = (dev2.var(0) / z.shape[0]).sqrt()
    assert ((dev2.mean(0) - p.variance).abs() <= 6 * se_var + 1e-12).all()


# --- the power_spherical package ------------------------------------------------------------


@pytest.mark.parametrize("m", [3, 10, 100])
def test_agrees_with_the_package_at_moderate_kappa(m):
    power_spherical = pytest.importorskip("power_spherical")
    loc = _unit((4, m), 11)
    kappa = torch.tensor([0.5, 3.0, 25.0, 200.0], dtype=F64)
    ours = PowerSpherical(loc, kappa)
    theirs = power_spherical.PowerSpherical(loc, kappa)
    z = _unit((3, 4, m), 12)
    torch.testing.assert_close(ours.log_prob(z), theirs.log_prob(z), rtol=1e-12, atol=1e-11)
    torch.testing.assert_close(ours.entropy(), theirs.entropy(), rtol=1e-12, atol=1e-11)
    # The package's `mean` and `variance` fail to broadcast for a batch of
    # locs (loc [B, m] times a [B] marginal; power_spherical 0.x), so their
    # formulas are applied here to the package's own t-marginal: E z = E[t] mu,
    # Cov z = Var(t) [(1 - r) mu mu^T + r I], r = (alpha + beta)/(2 beta), whose
    # diagonal is our variance.
    marginal = theirs.base_dist.marginal_t
    torch.testing.assert_close(ours.mean, loc * marginal.mean.unsqueeze(-1), rtol=1e-12, atol=1e-14)
    alpha, beta = marginal.base_dist.concentration1, marginal.base_dist.concentration0
    r = ((alpha + beta) / (2 * beta)).unsqueeze(-1)
    diag = marginal.variance.unsqueeze(-1) * ((1 - r) * loc * loc + r)
    torch.testing.assert_close(ours.variance, diag, rtol=1e-12, atol=1e-15)
    # The package's KL is its uniform's entropy minus its PS entropy, and its
    # uniform's entropy is computed in float32 whatever the dtype (see
    # test_where_the_package_is_not_accurate): compare with the exact log|S|.
    kl_ours = kl_divergence(ours, HypersphericalUniform(m, dtype=F64))
    torch.testing.assert_close(kl_ours, log_sphere_area(m) - theirs.entropy(), rtol=1e-11, atol=1e-11)


def test_where_the_package_is_not_accurate():
    power_spherical = pytest.importorskip("power_spherical")
    # Documented in docs/power_spherical.md: the package takes
    # lgamma(alpha+beta) - lgamma(alpha) and psi(alpha+beta) - psi(alpha)
    # literally. At m = 3, kappa = 1e6 its entropy is off by ~1e-9 (ours ~1e-15);
    # its KL near kappa = 0 is log|S| - H, all noise at kappa = 1e-6, m = 1000;
    # and its HypersphericalUniform's entropy is float32 arithmetic even for
    # dtype=float64 (dim is an integer tensor, dim / 2 a float32 one): off by
    # 3e-8 at m = 3 and 6e-6 at m = 100, which its KL inherits at every kappa.
    loc3 = torch.tensor([[0.0, 0.0, 1.0]], dtype=F64)
    k = torch.tensor([1e6], dtype=F64)
    want = float(ref(3, 1e6)["entropy"])
    err_theirs = abs(power_spherical.PowerSpherical(loc3, k).entropy().item() - want)
    err_ours = abs(PowerSpherical(loc3, k).entropy().item() - want)
    assert err_ours <= 1e-14 * abs(want) and err_theirs > 1e-11
    m = 1000
    loc = _unit((1, m), 13)
    k = torch.tensor([1e-6], dtype=F64)
    want = float(ref(m, 1e-6)["kl_uniform"])
    kl_theirs = kl_divergence(power_spherical.PowerSpherical(loc, k),
                              power_spherical.HypersphericalUniform(m, dtype=F64)).item()
    kl_ours = kl_divergence(PowerSpherical(loc, k), HypersphericalUniform(m, dtype=F64)).item()
    assert abs(kl_ours - want) <= 1e-13 * want
    assert abs(kl_theirs - want) > 10 * want
    for m in (3, 100):
        area = power_spherical.HypersphericalUniform(m, dtype=F64).entropy().item()
        assert abs(area - log_sphere_area(m)) > 1e-8


# --- dtypes and autocast ------------------------------------------------------------------


@pytest.mark.parametrize("low", [torch.float16, BF16])
def test_low_precision_parameters_computed_in_float32(low):
    loc32, kappa32 = _unit((16, 6), 14, F32), torch.linspace(0.1, 80.0, 16)
    q = PowerSpherical(loc32.to(low), kappa32.to(low))
    assert q.loc.dtype == q.scale.dtype == F32
    ref32 = PowerSpherical(F.normalize(loc32.to(low).float(), dim=-1), kappa32.to(low).float())
    z = _unit((16, 6), 15, F32)
    for got, want in [(q.log_prob(z), ref32.log_prob(z)), (q.entropy(), ref32.entropy()),
                      (kl_divergence(q, HypersphericalUniform(6)), kl_divergence(ref32, HypersphericalUniform(6)))]:
        assert got.dtype == F32 and torch.equal(got, want)
    assert PowerSpherical(loc32.to(low), 2.7).scale[0].item() == torch.tensor(2.7).item()


def test_under_autocast_densities_float32_and_float64_kept():
    loc, kappa = _unit((8, 4), 16, BF16), torch.full((8,), 5.0, dtype=BF16)
    z = _unit((8, 4), 17, F32)
    with torch.autocast("cpu", dtype=BF16):
        q = PowerSpherical(loc, kappa)
        lp, kl, h = q.log_prob(z), kl_divergence(q, HypersphericalUniform(4)), q.entropy()
        q64 = PowerSpherical(_unit((8, 4), 16), kappa.double())
        lp64 = q64.log_prob(_unit((8, 4), 17))
        kl64 = kl_divergence(q64, HypersphericalUniform(4, dtype=F64))
    assert lp.dtype == kl.dtype == h.dtype == F32
    assert lp64.dtype == kl64.dtype == F64


def test_torch_compile_fullgraph_densities():
    m = 6
    loc = _unit((5, m), 18, F32)
    kappa = torch.tensor([0.0, 0.5, 3.0, 40.0, 1e4])
    z = _unit((5, m), 19, F32)

    def f(loc, kappa):
        p = PowerSpherical(loc, kappa, validate_args=False)
        return p.log_prob(z) + p.entropy() + kl_divergence(p, HypersphericalUniform(m))

    torch._dynamo.reset()
    compiled = torch.compile(f, fullgraph=True, backend="aot_eager")
    torch.testing.assert_close(compiled(loc, kappa), f(loc, kappa), rtol=0, atol=0)


# --- sampling (the fused op of the ps-sampler branch) ---------------------------------------


@needs_sampler
def test_rsample_shapes_dtype_and_generator():
    loc = _unit((4, 5), 20, F32)
    p = PowerSpherical(loc, torch.tensor([0.0, 1.0, 10.0, 1e3]))
    z = p.rsample((3, 2), generator=torch.Generator().manual_seed(0))
    assert z.shape == (3, 2, 4, 5) and z.dtype == F32
    torch.testing.assert_close(z.norm(dim=-1), torch.ones(3, 2, 4), rtol=0, atol=1e-5)
    z2 = p.rsample((3, 2), generator=torch.Generator().manual_seed(0))
    assert torch.equal(z, z2)
    assert p.sample().shape == (4, 5) and not p.sample().requires_grad
    assert PowerSpherical(loc.to(BF16), torch.ones(4)).rsample().dtype == BF16


@needs_sampler
@pytest.mark.parametrize("m", [3, 10])
def test_entropy_monte_carlo_with_our_samples(m):
    loc = _unit((3, m), 21)
    kappa = torch.tensor([0.5, 5.0, 60.0], dtype=F64)
    p = PowerSpherical(loc, kappa)
    lp = p.log_prob(p.sample((20000,), generator=torch.Generator().manual_seed(4)))
    est, se = -lp.mean(0), lp.std(0) / math.sqrt(lp.shape[0])
    assert ((est - p.entropy()).abs() <= 5 * se + 1e-12).all()


@needs_sampler
@pytest.mark.parametrize("m", [3, 16])
def test_mean_variance_and_kappa_gradient_with_our_samples(m):
    # E[z] and the diagonal of Cov z against the closed forms, and the pathwise
    # kappa gradient of E[mu^T z] = kappa/(kappa + m - 1) against
    # (m - 1)/(kappa + m - 1)^2; 6 standard errors (false failure ~2e-9 each).
    loc = _unit((3, m), 22)
    kappa = torch.tensor([0.5, 4.0, 80.0], dtype=F64, requires_grad=True)
    p = PowerSpherical(loc, kappa)
    n = 40000
    z = p.rsample((n,), generator=torch.Generator().manual_seed(5))
    zd = z.detach()
    se_mean = (zd.var(0) / n).sqrt()
    assert ((zd.mean(0) - p.mean.detach()).abs() <= 6 * se_mean + 1e-12).all()
    dev2 = (zd - p.mean.detach()) ** 2
    assert ((dev2.mean(0) - p.variance.detach()).abs() <= 6 * (dev2.var(0) / n).sqrt() + 1e-12).all()
    # Per-sample gradients in one backward: every sample gets its own copy of
    # kappa (a batch of n * 3 entries), so d t_i / d kappa_i is sample i's.
    kappa_rep = kappa.detach().repeat(n).requires_grad_()
    loc_rep = loc.repeat(n, 1)
    z_rep = PowerSpherical(loc_rep, kappa_rep).rsample(generator=torch.Generator().manual_seed(6))
    (per_sample,) = torch.autograd.grad((z_rep * loc_rep).sum(), kappa_rep)
    per_sample = per_sample.view(n, 3)
    want = (m - 1) / (kappa.detach() + m - 1) ** 2
    est, se = per_sample.mean(0), per_sample.std(0) / math.sqrt(n)
    assert ((est - want).abs() <= 6 * se + 1e-12).all(), (est, want, se)
    # the sampled batch of 3 gives the same kind of estimate through sample_shape
    t = (z * loc).sum(-1)  # [n, 3]
    (g,) = torch.autograd.grad(t.mean(0).sum(), kappa)
    assert ((g - want).abs() <= 6 * se + 1e-12).all(), (g, want, se)


@needs_sampler
def test_rsample_under_autocast_is_float32():
    loc, kappa = _unit((8, 4), 23, BF16), torch.full((8,), 5.0, dtype=BF16)
    with torch.autocast("cpu", dtype=BF16):
        z = PowerSpherical(loc, kappa).rsample()
        z64 = PowerSpherical(_unit((8, 4), 23), kappa.double()).rsample()
    assert z.dtype == F32 and z64.dtype == F64
