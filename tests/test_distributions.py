"""hvae_ext.distributions: VonMisesFisher, HypersphericalUniform and their KLs.

Oracles: mpmath (80 digits) for the normalizer, A_m, entropy and KLs;
Gauss-Legendre quadrature for the normalization of log_prob; Monte Carlo with
fixed seeds for the sampler-based identities (tolerances are 5 standard errors
or more, estimated from the same draws: a false failure has probability
< 1e-6 per check).

Accuracy targets (measured on the grid below; see docs/distributions.md):
  float64: |err| <= 1e-13 * max(1, |value|) + 4e-16 * kappa + 1e-15 * scale
           (the kappa term: A_m is known to ~2e-16 absolute, and kappa A
           enters the KL and entropy; scale: the terms that cancel in
           log S_v for large kappa, lgamma(v+1) + v |log(kappa/2)| + |log I_v|),
  float32: |err| <= 4e-7 * |value| + (float64 bound): functions of kappa are
           computed in float64 and rounded once.
"""
import math

import mpmath as mp
import numpy
import pytest
import torch
from torch.distributions import kl_divergence

import hvae_ext
from hvae_ext.distributions import HypersphericalUniform, VonMisesFisher, vmf_log_normalizer
from vmf_mp_reference import vmf_kappa_reference

DTYPES = [torch.float64, torch.float32]
MS = [2, 3, 5, 64, 512, 10000]
KAPPAS = [0.0, 1e-8, 1e-4, 0.1, 1.0, 10.0, 300.0, 1e4, 1e6]


# --- mpmath references -------------------------------------------------------

def _mp(m: int, kappa: float):
    """(log S_v, A_m, log|S^{m-1}|) at 80 digits for the exact float kappa."""
    log_s, a, _, log_area = vmf_kappa_reference(m, kappa)
    return log_s, a, log_area


def mp_log_c(m, kappa):
    """log C_m(kappa) = v log kappa - log I_v(kappa) - (m/2) log 2pi, straight
    from the definition (kappa = 0: the limit -log|S^{m-1}|)."""
    with mp.workdps(80):
        if kappa == 0:
            return -_mp(m, 0.0)[2]
        v = mp.mpf(m) / 2 - 1
        k = mp.mpf(kappa)
        return v * mp.log(k) - mp.log(mp.besseli(v, k, maxterms=10**6)) - mp.mpf(m) / 2 * mp.log(2 * mp.pi)


def mp_kl_uniform(m, kappa):
    with mp.workdps(80):
        _, a, log_area = _mp(m, kappa)
        return mp_log_c(m, kappa) + kappa * a + log_area


def mp_entropy(m, kappa):
    with mp.workdps(80):
        return -mp_log_c(m, kappa) - kappa * _mp(m, kappa)[1]


def mp_kl_vmf(m, k1, k2, cos12):
    """E_1[log p1 - log p2] = log C1 - log C2 + A1 (k1 - k2 cos12)."""
    with mp.workdps(80):
        a1 = _mp(m, k1)[1]
        return mp_log_c(m, k1) - mp_log_c(m, k2) + a1 * (k1 - k2 * mp.mpf(cos12))


def cancelled_scale(m, kappa):
    """Size of the terms that cancel in log S_v = lgamma(v+1) + v log(2/kappa)
    + log I_v(kappa) (the large-kappa branch); float64 rounds each at ~1e-16."""
    if kappa == 0:
        return 0.0
    v = m / 2 - 1
    return math.lgamma(v + 1) + v * abs(math.log(kappa / 2)) + abs(float(_mp(m, kappa)[0])) + kappa


def tol(dtype, value, kappa, m=2):
    bound = 1e-13 * max(1.0, abs(value)) + 4e-16 * kappa + 1e-15 * cancelled_scale(m, kappa)
    if dtype == torch.float32:
        bound += 4e-7 * abs(value)
    return bound


def e1(n, m, dtype=torch.float64, device="cpu"):
    loc = torch.zeros(n, m, dtype=dtype, device=device)
    loc[:, 0] = 1
    return loc


def _kappas(dtype):
    """KAPPAS rounded to dtype, as Python floats (the exact inputs)."""
    return [float(k) for k in torch.tensor(KAPPAS, dtype=dtype).double()]


# --- values against mpmath ----------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m", MS)
def test_normalizer_entropy_kl_uniform_vs_mpmath(m, dtype):
    kappa = torch.tensor(KAPPAS, dtype=dtype)
    p = VonMisesFisher(e1(len(KAPPAS), m, dtype), kappa)
    got = {
        "log_c": vmf_log_normalizer(m, kappa),
        "log_c_scaled": vmf_log_normalizer(m, kappa, scaled=True),
        "entropy": p.entropy(),
        "kl_uniform": kl_divergence(p, HypersphericalUniform(m, dtype=dtype)),
        "kl_uniform_vmf": kl_divergence(HypersphericalUniform(m, dtype=dtype), p),
    }
    for name, value in got.items():
        assert value.dtype == dtype and value.shape == (len(KAPPAS),), name
    for i, k in enumerate(_kappas(dtype)):
        log_s = _mp(m, k)[0]
        want = {
            "log_c": mp_log_c(m, k),
            "log_c_scaled": mp_log_c(m, k) + k,
            "entropy": mp_entropy(m, k),
            "kl_uniform": mp_kl_uniform(m, k),
            "kl_uniform_vmf": log_s,  # E_U[log U - log p] = -log|S| - log C
        }
        for name, ref in want.items():
            ref = float(ref)
            g = got[name][i].item()
            # The log-normalizer itself is ~ -kappa: its own absolute scale.
            scale_kappa = k if name in ("log_c", "kl_uniform_vmf") else 0.0
            assert abs(g - ref) <= tol(dtype, ref, k, m) + 1e-15 * scale_kappa, (name, m, k, g, ref)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m", [2, 3, 16, 512, 10000])
def test_kl_uniform_small_kappa_relative(m, dtype):
    # KL(vMF || U) = kappa^2/(2m) (1 + O(kappa^2)) with full relative accuracy;
    # the textbook formula returns 0 or noise here in float32.
    # (float32: KL = kappa^2/(2m) stays a normal number down to kappa = 1e-15.)
    kappa = torch.tensor([1e-15, 1e-9, 1e-6, 1e-3, 3e-2], dtype=dtype)
    p = VonMisesFisher(e1(5, m, dtype), kappa)
    kl = kl_divergence(p, HypersphericalUniform(m, dtype=dtype))
    rel = 1e-12 if dtype == torch.float64 else 4e-7
    for i, k in enumerate(kappa.double().tolist()):
        want = float(mp_kl_uniform(m, k))
        assert kl[i].item() > 0
        assert abs(kl[i].item() - want) <= rel * want, (m, k, kl[i].item(), want)
        assert abs(kl[i].item() / (k * k / (2 * m)) - 1) <= max(k * k, rel)


@pytest.mark.parametrize("dtype", DTYPES)
def test_kl_vmf_vmf_vs_mpmath(dtype):
    cases = []  # (m, k1, k2, angle between mu1 and mu2)
    for m in [2, 3, 64, 512, 10000]:
        for k1, k2 in [(1.0, 1.0), (0.0, 5.0), (5.0, 0.0), (1e-5, 2e-5), (10.0, 300.0), (1e6, 1e4), (1e4, 1e6)]:
            for angle in [0.0, 1e-4, 0.7, math.pi]:
                cases.append((m, k1, k2, angle))
    for m in sorted({c[0] for c in cases}):
        sub = [c for c in cases if c[0] == m]
        n = len(sub)
        k1 = torch.tensor([c[1] for c in sub], dtype=dtype)
        k2 = torch.tensor([c[2] for c in sub], dtype=dtype)
        ang = torch.tensor([c[3] for c in sub], dtype=torch.float64)
        mu1 = e1(n, m, dtype)
        mu2 = torch.zeros(n, m, dtype=torch.float64)
        mu2[:, 0], mu2[:, 1] = torch.cos(ang), torch.sin(ang)
        mu2 = mu2.to(dtype)
        kl = kl_divergence(VonMisesFisher(mu1, k1), VonMisesFisher(mu2, k2))
        assert kl.dtype == dtype
        for i in range(n):
            kk1, kk2 = k1[i].item(), k2[i].item()
            # The exact cosine of the rounded mu2 (float32 cos(pi) is not -1).
            cos12 = mu2[i, 0].double().item() / mu2[i].double().norm().item()
            want = float(mp_kl_vmf(m, kk1, kk2, cos12))
            bound = tol(dtype, want, max(kk1, kk2), m)
            assert abs(kl[i].item() - want) <= bound, (m, kk1, kk2, ang[i].item(), kl[i].item(), want)


def test_kl_vmf_vmf_identities():
    torch.manual_seed(0)
    m = 7
    loc = torch.nn.functional.normalize(torch.randn(4, m, dtype=torch.float64), dim=-1)
    kappa = torch.tensor([0.0, 0.3, 20.0, 5e5], dtype=torch.float64)
    p = VonMisesFisher(loc, kappa)
    assert torch.equal(kl_divergence(p, p), torch.zeros(4, dtype=torch.float64))
    # A vMF with kappa = 0 is the uniform law, whatever its mean direction.
    q0 = VonMisesFisher(loc.flip(0), torch.zeros(4, dtype=torch.float64))
    torch.testing.assert_close(kl_divergence(p, q0), kl_divergence(p, HypersphericalUniform(m, dtype=torch.float64)),
                               rtol=1e-14, atol=0)
    torch.testing.assert_close(kl_divergence(q0, p), kl_divergence(HypersphericalUniform(m, dtype=torch.float64), p),
                               rtol=1e-14, atol=0)
    u = HypersphericalUniform(m, dtype=torch.float64)
    assert kl_divergence(u, u).item() == 0


def test_svae_bug_cases():
    # s-vae-pytorch returns NaN for KL(vMF || U) at m = 512, kappa = 10.
    for dtype in DTYPES:
        p = VonMisesFisher(e1(1, 512, dtype), torch.tensor([10.0], dtype=dtype))
        kl = kl_divergence(p, HypersphericalUniform(512, dtype=dtype))
        want = float(mp_kl_uniform(512, 10.0))
        assert torch.isfinite(kl).all() and abs(kl.item() - want) <= 4e-7 * want


@pytest.mark.parametrize("kind", ["kl_uniform", "entropy", "log_prob"])
def test_huge_dimension_and_concentration_float32(kind):
    # m = 1e4 and kappa up to 1e6 in float32: finite and as accurate as float64
    # rounded to float32.
    m = 10000
    kappa = [1e-3, 1.0, 100.0, 1e4, 1e6]
    out = {}
    for dtype in DTYPES:
        k = torch.tensor(kappa, dtype=dtype)
        p = VonMisesFisher(e1(len(kappa), m, dtype), k)
        if kind == "kl_uniform":
            out[dtype] = kl_divergence(p, HypersphericalUniform(m, dtype=dtype))
        elif kind == "entropy":
            out[dtype] = p.entropy()
        else:
            # A point at the typical angle: 1 - t = (m - 1) / (2 kappa) capped.
            one_minus_t = torch.clamp((m - 1) / (2 * torch.tensor(kappa, dtype=torch.float64)), max=1.0)
            z = torch.zeros(len(kappa), m, dtype=torch.float64)
            z[:, 0] = 1 - one_minus_t
            z[:, 1] = torch.sqrt(one_minus_t * (2 - one_minus_t))
            out[dtype] = p.log_prob(z.to(dtype))
    assert torch.isfinite(out[torch.float32]).all()
    torch.testing.assert_close(out[torch.float32].double(), out[torch.float64], rtol=2e-6, atol=1e-6)


# --- normalization ------------------------------------------------------------

def _log_integral_of_density(dist: VonMisesFisher, nodes: int = 32, panels: int = 32) -> torch.Tensor:
    """log of the integral of exp(log_prob) over S^{m-1}, batch shape (), via
    z = cos(theta) mu + sin(theta) e_perp: integral of
    p(z(theta)) |S^{m-2}| sin(theta)^{m-2} d theta over [0, theta_max], with
    theta_max past where the density is below e^-100 of its peak."""
    m = dist.m
    kappa = dist.concentration.item()
    theta_max = math.pi if kappa == 0 else min(math.pi, 2.0 * math.sqrt(2.0 * (m + 100.0) / kappa))
    x, w = (torch.from_numpy(a) for a in numpy.polynomial.legendre.leggauss(nodes))
    edges = torch.linspace(0, theta_max, panels + 1, dtype=torch.float64)
    half = (edges[1:] - edges[:-1]).unsqueeze(1) / 2
    theta = (edges[:-1].unsqueeze(1) + half * (x + 1)).reshape(-1)
    weights = (half * w).reshape(-1)
    mu = dist.loc.double()
    perp = torch.zeros_like(mu)
    perp[1] = 1.0 if mu[0].abs() > 0.5 else 0.0
    perp[0] = 0.0 if mu[0].abs() > 0.5 else 1.0
    perp = torch.nn.functional.normalize(perp - (perp @ mu) * mu, dim=0)
    z = torch.cos(theta).unsqueeze(1) * mu + torch.sin(theta).unsqueeze(1) * perp
    log_p = dist.log_prob(z.to(dist.loc.dtype)).double()
    log_area_sub = math.log(2) + (m - 1) / 2 * math.log(math.pi) - math.lgamma((m - 1) / 2)
    log_f = log_p + log_area_sub + (m - 2) * torch.log(torch.sin(theta)) + torch.log(weights)
    return torch.logsumexp(log_f, 0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m", [2, 3, 4, 17, 200, 5000])
@pytest.mark.parametrize("kappa", [0.0, 0.5, 30.0, 2e3, 1e6])
def test_log_prob_integrates_to_one(m, kappa, dtype):
    torch.manual_seed(m)
    loc = torch.nn.functional.normalize(torch.randn(m, dtype=torch.float64), dim=0).to(dtype)
    dist = VonMisesFisher(loc, torch.tensor(kappa, dtype=dtype))
    err = _log_integral_of_density(dist).item()
    # The bound is the rounding of log p itself: a few ulps of its size where
    # the mass is, |log C~| + m (kappa |z - mu|^2/2 ~ (m-1)/2 there), plus the
    # quadrature's 1e-13.
    scale = abs(vmf_log_normalizer(m, dist.concentration.double(), scaled=True).item()) + m
    assert abs(err) <= 1e-13 + 8 * torch.finfo(dtype).eps * scale, err


def test_log_prob_matches_definition_m3_and_uniform():
    # m = 3: p(z) = kappa / (4 pi sinh kappa) exp(kappa mu^T z).
    torch.manual_seed(1)
    mu = torch.nn.functional.normalize(torch.randn(3, dtype=torch.float64), dim=0)
    z = torch.nn.functional.normalize(torch.randn(10, 3, dtype=torch.float64), dim=-1)
    kappa = 2.5
    want = math.log(kappa / (4 * math.pi * math.sinh(kappa))) + kappa * (z @ mu)
    torch.testing.assert_close(VonMisesFisher(mu, kappa).log_prob(z), want, rtol=1e-14, atol=1e-14)
    u = HypersphericalUniform(3, dtype=torch.float64)
    torch.testing.assert_close(u.log_prob(z), torch.full((10,), -math.log(4 * math.pi), dtype=torch.float64))
    torch.testing.assert_close(VonMisesFisher(mu, 0.0).log_prob(z), u.log_prob(z), rtol=1e-15, atol=0)
    assert u.entropy().item() == pytest.approx(math.log(4 * math.pi), rel=1e-15)


# --- gradients ----------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m", [2, 3, 64, 10000])
def test_log_normalizer_gradient_is_minus_a(m, dtype):
    kappa = torch.tensor([1e-6, 1e-2, 1.0, 50.0, 3e3, 1e6], dtype=dtype, requires_grad=True)
    (g,) = torch.autograd.grad(vmf_log_normalizer(m, kappa).sum(), kappa)
    (gs,) = torch.autograd.grad(vmf_log_normalizer(m, kappa, scaled=True).sum(), kappa)
    assert g.dtype == dtype
    rel = 1e-14 if dtype == torch.float64 else 4e-7
    for i, k in enumerate(kappa.detach().double().tolist()):
        a = float(_mp(m, k)[1])
        assert abs(g[i].item() + a) <= rel * a, (m, k, g[i].item(), a)
        assert abs(gs[i].item() - (1 - a)) <= rel * a + 2e-16 * (dtype == torch.float64) + 6e-8 * (
            dtype == torch.float32), (m, k)


def test_log_normalizer_second_derivative():
    # d^2/dk^2 log C = -A', A' = 1 - A^2 - (m-1) A / k.
    kappa = torch.tensor([0.5, 7.0, 400.0], dtype=torch.float64, requires_grad=True)
    torch.autograd.gradgradcheck(lambda k: vmf_log_normalizer(5, k), (kappa,))
    (g,) = torch.autograd.grad(vmf_log_normalizer(5, kappa).sum(), kappa, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), kappa)
    for i, k in enumerate(kappa.tolist()):
        a = _mp(5, k)[1]
        with mp.workdps(80):
            want = -(1 - a * a - 4 * a / k)
        assert abs(h[i].item() - float(want)) <= 1e-13 * abs(float(want)), (k, h[i].item(), want)


def _unit(shape, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(shape, generator=g, dtype=torch.float64), dim=-1)


@pytest.mark.parametrize("m", [2, 3, 9])
def test_gradcheck(m):
    loc = _unit((3, m), 0).requires_grad_()
    loc2 = _unit((3, m), 1).requires_grad_()
    kappa = torch.tensor([0.05, 2.0, 40.0], dtype=torch.float64, requires_grad=True)
    kappa2 = torch.tensor([3.0, 0.5, 41.0], dtype=torch.float64, requires_grad=True)
    z = _unit((5, 3, m), 2).requires_grad_()

    def log_prob(loc, kappa, z):
        return VonMisesFisher(loc, kappa, validate_args=False).log_prob(z)

    def entropy(kappa):
        return VonMisesFisher(loc.detach(), kappa, validate_args=False).entropy()

    def kl_u(kappa):
        return kl_divergence(VonMisesFisher(loc.detach(), kappa, validate_args=False), HypersphericalUniform(m))

    def kl_vmf(loc, kappa, loc2, kappa2):
        return kl_divergence(VonMisesFisher(loc, kappa, validate_args=False),
                             VonMisesFisher(loc2, kappa2, validate_args=False))

    torch.autograd.gradcheck(log_prob, (loc, kappa, z))
    torch.autograd.gradcheck(entropy, (kappa,))
    torch.autograd.gradcheck(kl_u, (kappa,))
    torch.autograd.gradcheck(kl_vmf, (loc, kappa, loc2, kappa2))


def test_kl_gradient_small_kappa_float32():
    # d/dk KL(vMF || U) = k A'(k) ~ k/m: no cancellation left in the gradient.
    m = 1000
    kappa = torch.tensor([1e-6, 1e-3], dtype=torch.float32, requires_grad=True)
    p = VonMisesFisher(e1(2, m, torch.float32), kappa)
    (g,) = torch.autograd.grad(kl_divergence(p, HypersphericalUniform(m)).sum(), kappa)
    torch.testing.assert_close(g, kappa.detach() / m, rtol=1e-5, atol=0)


# --- API: shapes, moments, validation, dtype/device -------------------------

def test_shapes_and_broadcasting():
    loc = _unit((4, 1, 5), 0).float()
    kappa = torch.rand(3).float() * 10
    p = VonMisesFisher(loc, kappa)
    assert p.batch_shape == (4, 3) and p.event_shape == (5,) and p.m == 5
    assert p.mean.shape == (4, 3, 5) and p.mode.shape == (4, 3, 5)
    assert p.entropy().shape == (4, 3)
    z = _unit((2, 4, 3, 5), 3).float()
    assert p.log_prob(z).shape == (2, 4, 3)
    assert p.log_prob(z[0, 0, 0]).shape == (4, 3)  # a single point broadcasts
    q = p.expand((6, 4, 3))
    assert q.batch_shape == (6, 4, 3) and q.loc.shape == (6, 4, 3, 5)
    torch.testing.assert_close(q.entropy(), p.entropy().expand(6, 4, 3))
    torch.testing.assert_close(q.log_prob(z[0]), p.log_prob(z[0]).expand(6, 4, 3))
    # A Python number as concentration; batch shape from loc alone.
    r = VonMisesFisher(loc[:, 0], 2.0)
    assert r.batch_shape == (4,) and r.concentration.dtype == torch.float32
    u = HypersphericalUniform(5, batch_shape=(2,))
    assert u.batch_shape == (2,) and u.event_shape == (5,)
    assert u.sample((3,)).shape == (3, 2, 5) and u.expand((7, 2)).batch_shape == (7, 2)
    assert HypersphericalUniform(5).log_prob(z).shape == (2, 4, 3)
    assert kl_divergence(p, HypersphericalUniform(5)).shape == (4, 3)


def test_empty_and_noncontiguous():
    empty = VonMisesFisher(torch.zeros(0, 3), torch.zeros(0), validate_args=True)
    assert empty.batch_shape == (0,)
    for out in [empty.entropy(), empty.log_prob(torch.zeros(2, 0, 3)), empty.mean,
                kl_divergence(empty, HypersphericalUniform(3)), kl_divergence(empty, empty)]:
        assert out.numel() == 0
    # A strided (non-contiguous) loc and an expanded concentration give the
    # same values as contiguous copies.
    storage = torch.zeros(5, 12, dtype=torch.float64)
    storage[:, ::2] = _unit((5, 6), 10)
    loc_strided = storage[:, ::2]
    kappa = torch.tensor(3.0, dtype=torch.float64).expand(5)
    z = _unit((5, 6), 11)
    a = VonMisesFisher(loc_strided, kappa)
    b = VonMisesFisher(loc_strided.contiguous(), kappa.contiguous())
    assert not loc_strided.is_contiguous()
    torch.testing.assert_close(a.log_prob(z), b.log_prob(z), rtol=0, atol=0)
    torch.testing.assert_close(a.entropy(), b.entropy(), rtol=0, atol=0)
    torch.testing.assert_close(kl_divergence(a, b), torch.zeros(5, dtype=torch.float64), rtol=0, atol=0)


def test_mean_mode():
    m = 6
    loc = _unit((5, m), 4)
    kappa = torch.tensor([0.0, 1e-3, 1.0, 30.0, 1e5], dtype=torch.float64)
    p = VonMisesFisher(loc, kappa)
    for i, k in enumerate(kappa.tolist()):
        a = float(_mp(m, k)[1])
        torch.testing.assert_close(p.mean[i], a * loc[i], rtol=1e-14, atol=1e-300)
    assert torch.equal(p.mode, loc)
    # Per-coordinate variances: the diagonal of (A/k)(I - mu mu^T) + A' mu mu^T;
    # their sum is E|z|^2 - |E z|^2 = 1 - A^2; kappa = 0 gives I/m.
    var = p.variance
    assert var.shape == (5, m) and (var > 0).all()
    torch.testing.assert_close(var.sum(-1), 1 - p.mean.norm(dim=-1) ** 2, rtol=1e-9, atol=0)
    torch.testing.assert_close(var[0], torch.full((m,), 1 / m, dtype=torch.float64), rtol=1e-15, atol=0)
    for i, k in enumerate(kappa.tolist()[1:], start=1):
        with mp.workdps(80):
            a = _mp(m, k)[1]
            a_prime = 1 - a * a - (m - 1) * a / k
            want = [float(a / k * (1 - mp.mpf(u) ** 2) + a_prime * mp.mpf(u) ** 2) for u in loc[i].tolist()]
        torch.testing.assert_close(var[i], torch.tensor(want, dtype=torch.float64), rtol=1e-12, atol=0)
    u = HypersphericalUniform(m, dtype=torch.float64)
    assert torch.equal(u.mean, torch.zeros(m, dtype=torch.float64))
    assert torch.equal(u.variance, torch.full((m,), 1 / m, dtype=torch.float64))


def test_validation_messages():
    loc = torch.tensor([[1.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match="unit norm"):
        VonMisesFisher(2 * loc, torch.ones(1), validate_args=True)
    with pytest.raises(ValueError, match="unit norm"):
        VonMisesFisher(torch.full((1, 3), float("nan")), torch.ones(1), validate_args=True)
    for bad in [-1.0, float("inf"), float("nan")]:
        with pytest.raises(ValueError, match="concentration must be finite and >= 0"):
            VonMisesFisher(loc, torch.tensor([bad]), validate_args=True)
    with pytest.raises(ValueError, match="m >= 2"):
        VonMisesFisher(torch.ones(3, 1), torch.ones(3))
    with pytest.raises(ValueError, match="m >= 2"):
        VonMisesFisher(torch.tensor(1.0), torch.ones(()))
    with pytest.raises(ValueError, match="do not broadcast"):
        VonMisesFisher(loc.expand(2, 3), torch.ones(3))
    with pytest.raises(TypeError, match="float32 or float64"):
        VonMisesFisher(loc.long(), torch.ones(1))
    with pytest.raises(TypeError, match="concentration must be float32 or float64"):
        VonMisesFisher(loc, torch.ones(1, dtype=torch.int64))
    with pytest.raises(TypeError, match="dtype of loc"):
        VonMisesFisher(loc.double(), torch.ones(1).bfloat16())
    with pytest.raises(TypeError, match="dtype of loc"):
        VonMisesFisher(loc, torch.ones(1, dtype=torch.float64))
    with pytest.raises(ValueError, match="integer >= 2"):
        HypersphericalUniform(1)
    with pytest.raises(ValueError, match="integer >= 2"):
        vmf_log_normalizer(1, torch.ones(2))
    with pytest.raises(TypeError, match="float32 or float64"):
        vmf_log_normalizer(3, torch.ones(2, dtype=torch.int64))
    with pytest.raises(ValueError, match="support"):
        VonMisesFisher(loc, torch.ones(1), validate_args=True).log_prob(torch.tensor([[0.5, 0.0, 0.0]]))
    with pytest.raises(ValueError, match="support"):
        HypersphericalUniform(3, validate_args=True).log_prob(torch.tensor([0.5, 0.0, 0.0]))
    with pytest.raises(ValueError, match="different dimensions"):
        kl_divergence(VonMisesFisher(loc, torch.ones(1)), HypersphericalUniform(4))
    # Without validation nothing is checked (and nothing syncs).
    VonMisesFisher(2 * loc, -torch.ones(1), validate_args=False)
    # float32 data normalized in float32 and cast to float64 is accepted.
    x = torch.nn.functional.normalize(torch.randn(100, 300), dim=-1).double()
    VonMisesFisher(x, torch.ones(100, dtype=torch.float64), validate_args=True)
    assert hvae_ext.distributions.sphere.check(x).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_dtype_and_device_preserved(device, dtype):
    loc = _unit((3, 4), 5).to(device=device, dtype=dtype)
    kappa = torch.tensor([0.0, 1.0, 1e3], dtype=dtype, device=device)
    p = VonMisesFisher(loc, kappa)
    u = HypersphericalUniform(4, device=device, dtype=dtype)
    z = u.sample((2, 3))
    assert z.device.type == device and z.dtype == dtype
    outs = [p.log_prob(z), p.entropy(), p.mean, p.mode, p.variance, kl_divergence(p, u), kl_divergence(p, p),
            kl_divergence(u, p), u.log_prob(z), u.entropy(), vmf_log_normalizer(4, kappa)]
    for o in outs:
        assert o.device.type == device and o.dtype == dtype


def test_hyperspherical_uniform_sampling():
    m = 5
    u = HypersphericalUniform(m, dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    z = u.sample((200000,), generator=g)
    torch.testing.assert_close(z.norm(dim=-1), torch.ones(200000, dtype=torch.float64))
    # E[z] = 0 with per-coordinate sd 1/sqrt(m n); E[z z^T] = I/m with sd <= 1/sqrt(n).
    n = z.shape[0]
    assert z.mean(0).abs().max().item() <= 5 / math.sqrt(m * n)
    cov = z.T @ z / n
    assert (cov - torch.eye(m, dtype=torch.float64) / m).abs().max().item() <= 5 / math.sqrt(n)
    assert u.rsample((3,), generator=torch.Generator().manual_seed(1)).shape == (3, m)
    g1, g2 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    assert torch.equal(u.sample((4,), generator=g1), u.sample((4,), generator=g2))


def test_torch_compile_fullgraph():
    # backend="aot_eager": what is tested is that Dynamo and AOTAutograd trace
    # everything (the custom ops' fake kernels, the autograd.Function of the
    # normalizer, the KL dispatch) without a graph break. Inductor's C++
    # codegen of the same graph takes minutes on a loaded 2-core machine and
    # is covered for the ops themselves by test_special.py.
    m = 8
    loc = _unit((4, m), 6).float()
    kappa = torch.tensor([0.0, 0.1, 10.0, 1e5])
    z = _unit((4, m), 7).float()

    def values(loc, kappa, z):
        # log_prob, entropy and every KL in one graph (one compilation).
        p = VonMisesFisher(loc, kappa, validate_args=False)
        q = VonMisesFisher(loc.flip(0), kappa.flip(0), validate_args=False)
        u = HypersphericalUniform(m)
        return (p.log_prob(z), kl_divergence(p, q), kl_divergence(p, u), kl_divergence(u, p), p.entropy(),
                p.mean)

    torch._dynamo.reset()
    loc_c, kappa_c = loc.clone().requires_grad_(), kappa.clone().requires_grad_()
    loc_e, kappa_e = loc.clone().requires_grad_(), kappa.clone().requires_grad_()
    got, want = torch.compile(values, fullgraph=True, backend="aot_eager")(loc_c, kappa_c, z), values(loc_e, kappa_e, z)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w)
    grads_c = torch.autograd.grad(sum(g.sum() for g in got), (loc_c, kappa_c))
    grads_e = torch.autograd.grad(sum(w.sum() for w in want), (loc_e, kappa_e))
    for g, w in zip(grads_c, grads_e):
        torch.testing.assert_close(g, w)

    def sample_and_score(loc, kappa):
        p = VonMisesFisher(loc, kappa, validate_args=False)
        z = p.rsample((3,))
        return z, p.log_prob(z)

    torch._dynamo.reset()
    kappa_grad = kappa.clone().requires_grad_()
    z, lp = torch.compile(sample_and_score, fullgraph=True, backend="aot_eager")(loc, kappa_grad)
    assert z.shape == (3, 4, m)
    torch.testing.assert_close(z.norm(dim=-1), torch.ones(3, 4))
    torch.testing.assert_close(lp, VonMisesFisher(loc, kappa).log_prob(z.detach()))
    lp.sum().backward()
    assert torch.isfinite(kappa_grad.grad).all()


# --- sampling (through the sampler op) ----------------------------------------

# Monte Carlo checks: |estimate - exact| <= 5 standard errors (estimated from
# the same draws) + a rounding floor; a false failure has probability ~6e-7 per
# check under the normal approximation.
Z = 5.0

# (5, 50): kappa > 10 at small m, where s-vae-pytorch's Taylor envelope gave the wrong law.
MC_CASES = [(2, 0.7), (3, 4.0), (5, 2.0), (5, 50.0), (16, 0.0), (64, 30.0), (512, 10.0), (1000, 5e3)]


def _mc_dist():
    return [VonMisesFisher(_unit((m,), 10 + m), torch.tensor(k, dtype=torch.float64)) for m, k in MC_CASES]


def _assert_mc(samples: torch.Tensor, exact: torch.Tensor, what):
    """samples: [n, ...] draws whose mean estimates `exact` (shape [...])."""
    n = samples.shape[0]
    est = samples.mean(0)
    se = samples.std(0) / math.sqrt(n)
    bound = Z * se + 1e-12 * (1 + exact.abs())
    assert ((est - exact).abs() <= bound).all(), (what, est, exact, se)


def test_rsample_shapes_and_sphere(device):
    loc = _unit((4, 1, 6), 0).to(device)
    kappa = torch.tensor([0.0, 1.0, 1e6], dtype=torch.float64, device=device)
    p = VonMisesFisher(loc, kappa)
    for sample_shape in [(), (1,), (7,), (2, 3)]:
        z = p.rsample(sample_shape)
        assert z.shape == tuple(sample_shape) + (4, 3, 6) and z.dtype == loc.dtype and z.device == loc.device
        torch.testing.assert_close(z.norm(dim=-1), torch.ones(z.shape[:-1], dtype=z.dtype, device=device))
        assert torch.isfinite(p.log_prob(z)).all()
    assert p.sample((5,)).shape == (5, 4, 3, 6) and not p.sample().requires_grad
    # Empty sample and batch shapes.
    assert p.rsample((0,)).shape == (0, 4, 3, 6)
    assert VonMisesFisher(loc[:0], kappa).rsample((2,)).shape == (2, 0, 3, 6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_rsample_generator_reproducible(dtype, device):
    p = VonMisesFisher(_unit((3, 5), 1).to(device=device, dtype=dtype), torch.tensor([0.1, 3.0, 300.0],
                                                                                     dtype=dtype, device=device))
    g1 = torch.Generator(device=device).manual_seed(123)
    g2 = torch.Generator(device=device).manual_seed(123)
    a = p.rsample((4,), generator=g1)
    b = p.rsample((4,), generator=g2)
    assert torch.equal(a, b)
    assert not torch.equal(a, p.rsample((4,), generator=g1))


def test_rsample_huge_float32():
    m = 10000
    p = VonMisesFisher(e1(2, m, torch.float32), torch.tensor([1e6, 1e-3]))
    z = p.rsample((64,), generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(z).all()
    torch.testing.assert_close(z.norm(dim=-1), torch.ones(64, 2))
    lp = p.log_prob(z)
    assert torch.isfinite(lp).all()
    # log p at the draws agrees with float64 evaluation of the same points.
    p64 = VonMisesFisher(e1(2, m, torch.float64), torch.tensor([1e6, 1e-3], dtype=torch.float64))
    torch.testing.assert_close(lp.double(), p64.log_prob(z.double()), rtol=2e-6, atol=1e-3)


def test_mc_mean_entropy_kl():
    torch.manual_seed(0)
    n = 20000
    for (m, k), p in zip(MC_CASES, _mc_dist()):
        z = p.rsample((n,))
        _assert_mc(z, p.mean, ("mean", m, k))
        _assert_mc((z - p.mean) ** 2, p.variance, ("variance", m, k))
        lp = p.log_prob(z)
        _assert_mc(-lp, p.entropy(), ("entropy", m, k))
        u = HypersphericalUniform(m, dtype=torch.float64)
        _assert_mc(lp - u.log_prob(z), kl_divergence(p, u), ("kl_uniform", m, k))
        q = VonMisesFisher(torch.nn.functional.normalize(p.loc + 0.3 * _unit((m,), 99), dim=-1), 0.5 * k + 1.0)
        _assert_mc(lp - q.log_prob(z), kl_divergence(p, q), ("kl_vmf", m, k))


def test_mc_gradients_through_rsample():
    # d/dkappa E[mu^T z] = A'(kappa) and d/dkappa E[-log p(z)] = dH/dkappa
    # (the score term E[d/dkappa log p] vanishes), estimated pathwise.
    torch.manual_seed(1)
    n = 20000
    for m, k in [(3, 4.0), (5, 2.0), (64, 30.0)]:
        mu = _unit((m,), 5)
        kappa = torch.tensor(k, dtype=torch.float64, requires_grad=True)
        # Per-sample pathwise gradients (one kappa per sample), for the
        # standard error.
        kk = kappa.detach().expand(n).clone().requires_grad_()
        zz = VonMisesFisher(mu, kk).rsample(generator=torch.Generator().manual_seed(2))
        (gt,) = torch.autograd.grad(zz @ mu, kk, torch.ones(n, dtype=torch.float64), retain_graph=True)
        a = float(_mp(m, k)[1])
        a_prime = torch.tensor(1 - a * a - (m - 1) * a / k, dtype=torch.float64)
        _assert_mc(gt, a_prime, ("dA/dkappa", m, k))
        (gh,) = torch.autograd.grad(-VonMisesFisher(mu, kk).log_prob(zz), kk, torch.ones(n, dtype=torch.float64))
        (dh,) = torch.autograd.grad(VonMisesFisher(mu, kappa).entropy(), kappa)
        _assert_mc(gh, dh, ("dH/dkappa", m, k))
        # One shared kappa broadcast over the sample shape: the gradient is
        # summed through the expand (other draws, same law and spread).
        z = VonMisesFisher(mu, kappa).rsample((n,))
        (g_shared,) = torch.autograd.grad((z @ mu).mean(), kappa)
        assert abs(g_shared - a_prime) <= Z * gt.std() / math.sqrt(n), (m, k, g_shared, a_prime)
