"""The vMF sampler op (torch.ops.hvae.vmf_sample & co): its law, its
gradients, randomness, errors, and the torch.library contracts.

Statistical tests use fixed seeds, so each passes or fails deterministically;
the thresholds (KS p > 1e-4, |z-score| < 4.5) give a false-failure
probability of about 1e-4 and 7e-6 per check for a correct sampler.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats as st
import torch

import hvae_ext  # noqa: F401
from hvae_ext import reference
from hvae_ext._ops.vmf import vmf_rsample, vmf_sample
from hvae_ext.reference.vmf import dtheta_dkappa as reference_dtheta_dkappa

from sampler_ops import dtheta_dkappa_from_backward

DTYPES = [torch.float32, torch.float64]
P_MIN = 1e-4
Z_MAX = 4.5


def seeded(loc, kappa, seed, offset=0):
    return torch.ops.hvae._vmf_sample_seeded(loc, kappa, seed, offset)


def random_loc(n, m, dtype, device="cpu", seed=0):
    g = torch.Generator().manual_seed(seed)
    loc = torch.randn(m, generator=g, dtype=torch.float64)
    loc = (loc / loc.norm()).to(dtype)
    return loc.expand(n, m).contiguous().to(device)


def mean_cos(m, kappa):
    """A_m(kappa) = I_{m/2}/I_{m/2-1} in float64 (the extension's iv_ratio)."""
    if kappa == 0:
        return 0.0
    v = torch.tensor(m / 2 - 1, dtype=torch.float64)
    return hvae_ext.iv_ratio(v, torch.tensor(kappa, dtype=torch.float64)).item()


def angle_cdf(m, kappa):
    """Exact CDF of theta (numerically: trapezoid on a fine grid in theta over
    the window holding the mass), as a function of theta."""
    if kappa == 0:
        mode, curv = (0.0, 1.0) if m == 2 else (math.pi / 2, m - 2.0)
    elif m == 2:
        mode, curv = 0.0, kappa
    else:
        c = 2 * kappa / ((m - 2) + math.hypot(m - 2, 2 * kappa))
        s2 = (m - 2) * c / kappa
        mode, curv = math.atan2(math.sqrt(s2), c), (m - 2) / s2 + kappa * c
    width = 12 / math.sqrt(curv) + (0 if curv > 1 else math.pi)
    lo, hi = max(0.0, mode - width), min(math.pi, mode + width)
    grid = np.linspace(lo, hi, 200001)
    s = np.sin(grid)
    with np.errstate(divide="ignore"):
        logf = (m - 2) * np.log(s) if m > 2 else np.zeros_like(grid)
    logf = logf - 2 * kappa * np.sin(grid / 2) ** 2
    f = np.exp(logf - logf.max())
    cdf = np.concatenate([[0.0], np.cumsum((f[1:] + f[:-1]) / 2 * np.diff(grid))])
    cdf /= cdf[-1]
    return lambda theta: np.interp(theta, grid, cdf)


def project_tangent(mu, x):
    return x - (x @ mu).unsqueeze(-1) * mu


# ---------------------------------------------------------------------------
# Basic properties


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m", [2, 3, 4, 17, 300])
def test_unit_norm_and_angle(device, dtype, m):
    n = 257
    loc = random_loc(n, m, dtype, device)
    kappa = torch.logspace(-3, 8, n, dtype=dtype, device=device)
    kappa[0] = 0
    z, theta = vmf_sample(loc, kappa)
    assert z.shape == (n, m) and theta.shape == (n,)
    assert z.dtype == dtype and z.device.type == device
    eps = 1e-5 if dtype == torch.float32 else 1e-13
    assert torch.all(torch.isfinite(z)) and torch.all(torch.isfinite(theta))
    torch.testing.assert_close(z.norm(dim=-1), torch.ones(n, dtype=dtype, device=device), atol=eps, rtol=0)
    torch.testing.assert_close((z * loc).sum(-1), torch.cos(theta), atol=4 * eps, rtol=0)
    assert torch.all(theta >= 0) and torch.all(theta <= math.pi)


@pytest.mark.parametrize("dtype", DTYPES)
def test_unit_norm_far_tail_m3(device, dtype):
    # m = 3, kappa ~ 4-10: the rare samples past the equator (w < 0) once came
    # out off the sphere by up to 3.5e-4 (float32) / 3e-13 (float64), since
    # 1 - w lost its precision there and sin(theta) = sqrt((1 - w)(1 + w)).
    n = 100000
    eps = 1e-6 if dtype == torch.float32 else 1e-15
    for kappa in (4.0, 7.3, 10.0):
        loc = torch.zeros(n, 3, dtype=dtype, device=device)
        loc[:, 0] = 1
        z, theta = seeded(loc, torch.full((n,), kappa, dtype=dtype, device=device), 11)
        assert (theta > math.pi / 2).sum().item() > 5, "the far tail must be sampled for this test to mean anything"
        err = (z.double().norm(dim=-1) - 1).abs().max().item()
        assert err <= eps, (kappa, err)
        torch.testing.assert_close(z[:, 0], torch.cos(theta), atol=4 * eps, rtol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_extremes_finite(device, dtype):
    # kappa = 1e8 and m = 1e4: finite, unit norm; concentrated where it should be.
    for m, kappa in [(10000, 1e8), (10000, 0.0), (10000, 1.0), (2, 1e8), (3, 1e8), (4, 1e8)]:
        n = 64
        loc = random_loc(n, m, dtype, device)
        z, theta = vmf_sample(loc, torch.full((n,), kappa, dtype=dtype, device=device))
        assert torch.all(torch.isfinite(z)), (m, kappa)
        tol = 1e-5 if dtype == torch.float32 else 1e-12
        assert torch.allclose(z.norm(dim=-1).double(), torch.ones(n, dtype=torch.float64, device=device), atol=tol)
        if kappa == 1e8:
            # 1 - w ~ (m-1)/(2 kappa): theta ~ sqrt((m-1)/kappa)
            assert theta.max().item() < 20 * math.sqrt(max(m - 1, 1) / kappa)


def test_kappa_inf_nan_negative(device):
    loc = random_loc(3, 5, torch.float64, device)
    kappa = torch.tensor([math.inf, math.nan, -1.0], dtype=torch.float64, device=device)
    z, theta = vmf_sample(loc, kappa)
    torch.testing.assert_close(z[0], loc[0])
    assert theta[0].item() == 0.0
    assert torch.all(torch.isnan(z[1:])) and torch.all(torch.isnan(theta[1:]))


@pytest.mark.parametrize("dtype", DTYPES)
def test_empty(device, dtype):
    loc = torch.empty(0, 4, dtype=dtype, device=device, requires_grad=True)
    kappa = torch.empty(0, dtype=dtype, device=device, requires_grad=True)
    z = vmf_rsample(loc, kappa)
    assert z.shape == (0, 4)
    z.sum().backward()
    assert loc.grad.shape == (0, 4) and kappa.grad.shape == (0,)


def test_noncontiguous_and_expanded_inputs(device):
    m, n = 6, 50
    base = torch.randn(m, n, dtype=torch.float64, device=device)
    loc_t = (base / base.norm(dim=0, keepdim=True)).t()  # non-contiguous [n, m]
    kappa_wide = torch.rand(n, 2, dtype=torch.float64, device=device) * 10
    kappa_nc = kappa_wide[:, 0]
    z1, t1 = seeded(loc_t, kappa_nc, 5)
    z2, t2 = seeded(loc_t.contiguous(), kappa_nc.contiguous(), 5)
    assert torch.equal(z1, z2) and torch.equal(t1, t2)
    # expanded loc and 0-dim kappa
    one = loc_t[:1].expand(n, m)
    z3, _ = seeded(one, torch.tensor(3.0, dtype=torch.float64, device=device), 9)
    z4, _ = seeded(one.contiguous(), torch.full((n,), 3.0, dtype=torch.float64, device=device), 9)
    assert torch.equal(z3, z4)


def test_bad_inputs():
    loc = random_loc(4, 3, torch.float64)
    kappa = torch.ones(4, dtype=torch.float64)
    with pytest.raises(RuntimeError, match="loc must have shape"):
        vmf_sample(loc[0], kappa)
    with pytest.raises(RuntimeError, match="m >= 2"):
        vmf_sample(loc[:, :1], kappa)
    with pytest.raises(RuntimeError, match="kappa must have shape"):
        vmf_sample(loc, kappa[:3])
    with pytest.raises(RuntimeError, match="kappa must have the dtype"):
        vmf_sample(loc, kappa.float())
    with pytest.raises(RuntimeError, match="loc must be float32 or float64"):
        vmf_sample(loc.half(), kappa.half())
    with pytest.raises(RuntimeError, match="float32 or float64"):
        vmf_sample(loc.long(), kappa)


# ---------------------------------------------------------------------------
# The law of w = mu^T z and of the tangent direction


LAW_GRID = [
    (2, 0.0), (2, 1.0), (2, 50.0), (2, 1e8),
    (3, 0.0), (3, 0.3), (3, 20.0), (3, 1e8),
    (4, 0.0), (4, 2.0), (4, 1e8),
    (16, 0.5), (16, 10.0), (16, 1e4),
    (512, 1.0), (512, 300.0), (512, 1e8),
    (4096, 0.0), (4096, 1e3), (4096, 1e8),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,kappa", LAW_GRID)
def test_angle_law_ks(dtype, m, kappa):
    n = 1500 if m >= 512 else 6000
    loc = random_loc(n, m, dtype, seed=m)
    z, theta = seeded(loc, torch.full((n,), kappa, dtype=dtype), seed=1234 + m, offset=7)
    cdf = angle_cdf(m, kappa)
    # theta as the op reports it, and recomputed from z (checks the rotation);
    # from z only where float rounding of mu^T z leaves the angle resolved.
    assert st.kstest(theta.double().numpy(), cdf).pvalue > P_MIN
    if dtype == torch.float64 or kappa < 1e3:
        w = (z.double() * loc.double()).sum(-1).clamp(-1, 1)
        assert st.kstest(torch.acos(w).numpy(), cdf).pvalue > P_MIN


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,kappa", [(2, 3.0), (3, 1.0), (4, 10.0), (16, 5.0), (512, 100.0)])
def test_tangent_direction_uniform(dtype, m, kappa):
    n = 1500 if m >= 512 else 6000
    loc = random_loc(n, m, torch.float64, seed=3)
    z, _ = seeded(loc.to(dtype), torch.full((n,), kappa, dtype=dtype), seed=77)
    mu = loc[0]
    tangent = project_tangent(mu, z.double())
    tangent = tangent / tangent.norm(dim=-1, keepdim=True)
    e = project_tangent(mu, torch.eye(m, dtype=torch.float64)[m - 1])
    e = e / e.norm()
    t = (tangent @ e).numpy()
    if m == 2:
        # the tangent is +-e with probability 1/2 each
        k = int((t > 0).sum())
        assert st.binomtest(k, n).pvalue > P_MIN
        assert np.allclose(np.abs(t), 1, atol=1e-4)
    else:
        # e^T v for v uniform on S^{m-2}: (1 + t)/2 ~ Beta((m-2)/2, (m-2)/2)
        a = (m - 2) / 2
        assert st.kstest((1 + t) / 2, st.beta(a, a).cdf).pvalue > P_MIN


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,kappa", [(2, 1.0), (3, 2.0), (5, 0.7), (16, 10.0), (64, 1.0), (512, 300.0), (4096, 1e4)])
def test_mean_cosine(dtype, m, kappa):
    n = 2000 if m >= 512 else 40000
    loc = random_loc(n, m, dtype, seed=1)
    z, _ = seeded(loc, torch.full((n,), kappa, dtype=dtype), seed=99)
    w = (z.double() * loc.double()).sum(-1)
    zscore = (w.mean().item() - mean_cos(m, kappa)) / (w.std().item() / math.sqrt(n))
    assert abs(zscore) < Z_MAX


# ---------------------------------------------------------------------------
# Gradients


@pytest.mark.parametrize("m,kappa", [(2, 0.5), (2, 5.0), (3, 2.0), (5, 2.0), (16, 10.0), (100, 1.0), (100, 1e3)])
def test_kappa_gradient_unbiased(m, kappa):
    # d/dkappa E[mu^T z] = A'(kappa) = 1 - A^2 - (m-1) A / kappa.
    n = 40000
    loc = random_loc(n, m, torch.float64, seed=2)
    k = torch.full((n,), kappa, dtype=torch.float64, requires_grad=True)
    z, _ = seeded(loc, k, seed=2024)
    (z * loc).sum().backward()
    g = k.grad
    a = mean_cos(m, kappa)
    target = 1 - a * a - (m - 1) * a / kappa
    zscore = (g.mean().item() - target) / (g.std().item() / math.sqrt(n))
    assert abs(zscore) < Z_MAX, (g.mean().item(), target)


@pytest.mark.parametrize("which", ["random", "e1", "-e1"])
def test_loc_gradient_unbiased(which):
    # grad_mu E[c^T z] projected on the tangent space = A (I - mu mu^T) c.
    m, kappa, n = 6, 3.0, 40000
    if which == "random":
        mu = random_loc(1, m, torch.float64, seed=4)[0]
    else:
        mu = torch.zeros(m, dtype=torch.float64)
        mu[0] = 1.0 if which == "e1" else -1.0
    c = torch.linspace(-1, 2, m, dtype=torch.float64)
    loc = mu.expand(n, m).clone().requires_grad_(True)
    z, _ = seeded(loc, torch.full((n,), kappa, dtype=torch.float64), seed=31)
    (z @ c).sum().backward()
    grads = loc.grad
    proj = torch.eye(m, dtype=torch.float64) - torch.outer(mu, mu)
    g = grads @ proj
    target = mean_cos(m, kappa) * (proj @ c)
    se = g.std(0) / math.sqrt(n)
    ok = (g.mean(0) - target).abs() <= Z_MAX * se + 1e-12
    assert torch.all(ok), (g.mean(0), target)
    assert torch.all(torch.isfinite(grads))


def test_loc_gradcheck():
    # For a fixed seed z is a smooth function of loc (the angle and the tangent
    # normals do not depend on it), away from the branch mu_1 = 0.
    m = 5
    loc = random_loc(3, m, torch.float64, seed=5)
    loc[:, 0] = loc[:, 0].abs() + 0.1
    loc = (loc / loc.norm(dim=-1, keepdim=True)).requires_grad_(True)
    kappa = torch.tensor([0.5, 4.0, 1e3], dtype=torch.float64)
    torch.autograd.gradcheck(lambda l: seeded(l, kappa, 3)[0], (loc,))
    loc2 = (-loc.detach()).requires_grad_(True)  # sigma = -1 branch
    torch.autograd.gradcheck(lambda l: seeded(l, kappa, 3)[0], (loc2,))


def test_backward_matches_reference_formula():
    # The extension's d theta/d kappa (through its backward op) equals the
    # reference quadrature, which is the same scheme written in PyTorch.
    g = torch.Generator().manual_seed(0)
    for m in (2, 3, 7, 64, 1000):
        kappa = torch.logspace(-2, 6, 40, dtype=torch.float64)
        loc = torch.zeros(40, m, dtype=torch.float64)
        loc[:, 0] = 1
        _, theta = seeded(loc, kappa, 11)
        theta = theta * (0.5 + torch.rand(40, generator=g, dtype=torch.float64))
        theta = theta.clamp(max=3.1)
        ours = op_dtheta_dkappa(m, kappa, theta)
        ref = reference_dtheta_dkappa(m, kappa, theta, 16)
        # 1e-7: at kappa = 1e6, 1 - A ~ 5e-7 carries the rounding of A (~1e-16)
        # of the two Bessel implementations as a ~1e-9 relative difference.
        torch.testing.assert_close(ours, ref, rtol=1e-7, atol=0)


def op_dtheta_dkappa(m, kappa, theta, dtype=torch.float64):
    return dtheta_dkappa_from_backward(torch.ops.hvae._vmf_sample_backward, m, kappa, theta, dtype)


def mp_dtheta_dkappa(m, kappa, theta):
    """d theta/d kappa = int_theta^pi (cos phi - A) e^psi dphi at 30 digits."""
    import mpmath as mp

    mp.mp.dps = 30
    m, k, th = mp.mpf(m), mp.mpf(kappa), mp.mpf(theta)
    v = m / 2 - 1
    if k < 1e4 or 4 * v * v > k:
        A = mp.besseli(v + 1, k) / mp.besseli(v, k)
    else:  # Hankel's expansion, convergent to 30 digits here (4 v^2 << 8 k)
        def hank(nu):
            s, t = mp.mpf(1), mp.mpf(1)
            for j in range(1, 60):
                t = -t * (4 * nu * nu - (2 * j - 1) ** 2) / (j * 8 * k)
                s += t
            return s

        A = hank(v + 1) / hank(v)
    st_, ct = mp.sin(th), mp.cos(th)

    def f(p):
        return (mp.cos(p) - A) * mp.exp((m - 2) * mp.log(mp.sin(p) / st_) + k * (mp.cos(p) - ct))

    sigma = 1 / mp.sqrt(k + m)
    pts = sorted({th, mp.pi} | {th + j * sigma for j in (0.3, 1, 3, 10, 30) if th + j * sigma < mp.pi})
    return float(mp.quad(f, pts))


# (m, kappa, theta): both tails, the mode inside and outside the tail, m = 2, 3,
# kappa from 0 to 1e8, m up to 1e4.
MP_GRID = [
    (2, 0.0, 1.0), (2, 1.0, 0.3), (2, 10.0, 0.79), (2, 1e8, 1e-4),
    (3, 0.3, 2.5), (3, 10.0, 0.537), (3, 2.0, 3.1372841481132676),
    (4, 1e-3, 1.2), (5, 2.0, 1.0), (16, 10.0, 1.0636556522056697),
    (16, 1e5, 0.0028877496209486833), (16, 1e8, 9.132302169645413e-05), (100, 300.0, 0.3927),
    (100, 300.0, 0.656), (1000, 1e5, 0.0909), (10000, 1.0, 1.5708), (10000, 1e8, 0.00972),
]


@pytest.mark.parametrize("dtype,rtol", [(torch.float64, 1e-6), (torch.float32, 3e-5)])
def test_dtheta_dkappa_against_mpmath(dtype, rtol):
    worst = 0.0
    for m, kappa, theta in MP_GRID:
        # the reference value at the theta the dtype can hold
        theta_d = torch.tensor([theta], dtype=torch.float64).to(dtype)
        expected = mp_dtheta_dkappa(m, kappa, theta_d.double().item())
        got = op_dtheta_dkappa(m, torch.tensor([kappa], dtype=torch.float64), theta_d, dtype).double().item()
        err = abs(got - expected) / abs(expected)
        worst = max(worst, err)
        assert err <= rtol, (m, kappa, theta, got, expected)


# ---------------------------------------------------------------------------
# Randomness


def test_generator_reproducible(device):
    loc = random_loc(300, 8, torch.float64, device)
    kappa = torch.logspace(-1, 4, 300, dtype=torch.float64, device=device)
    g1 = torch.Generator(device=device).manual_seed(42)
    g2 = torch.Generator(device=device).manual_seed(42)
    a1, b1 = vmf_sample(loc, kappa, g1)
    a2, b2 = vmf_sample(loc, kappa, g2)
    assert torch.equal(a1, a2) and torch.equal(b1, b2)
    a3, _ = vmf_sample(loc, kappa, g1)  # the generator advanced
    assert not torch.equal(a1, a3)
    torch.manual_seed(5)
    d1, _ = vmf_sample(loc, kappa)
    torch.manual_seed(5)
    d2, _ = vmf_sample(loc, kappa)
    assert torch.equal(d1, d2)


def test_seeded_reproducible_and_offset():
    loc = random_loc(100, 5, torch.float64)
    kappa = torch.full((100,), 3.0, dtype=torch.float64)
    a, _ = seeded(loc, kappa, 1, 0)
    b, _ = seeded(loc, kappa, 1, 0)
    c, _ = seeded(loc, kappa, 1, 100000)
    d, _ = seeded(loc, kappa, 2, 0)
    assert torch.equal(a, b) and not torch.equal(a, c) and not torch.equal(a, d)
    # sample i depends on nothing but its own inputs and index
    e, _ = seeded(loc[:10], kappa[:10], 1, 0)
    assert torch.equal(e, a[:10])


@pytest.mark.parametrize("dtype", DTYPES)
def test_thread_count_invariance(dtype):
    loc = random_loc(4096, 16, dtype)
    kappa = torch.logspace(-2, 5, 4096, dtype=dtype)
    old = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        a = seeded(loc, kappa, 8)
        torch.set_num_threads(2)
        b = seeded(loc, kappa, 8)
    finally:
        torch.set_num_threads(old)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m", [2, 3, 16, 100, 2000])
def test_cuda_matches_cpu_same_seed(device, dtype, m):
    if device != "cuda":
        pytest.skip("CUDA only")
    n = 300
    loc = random_loc(n, m, dtype)
    kappa = torch.logspace(-2, 8, n, dtype=dtype)
    zc, tc = seeded(loc, kappa, 123, 456)
    zg, tg = seeded(loc.cuda(), kappa.cuda(), 123, 456)
    tol = dict(rtol=0, atol=1e-4) if dtype == torch.float32 else dict(rtol=0, atol=1e-10)
    torch.testing.assert_close(zg.cpu(), zc, **tol)
    torch.testing.assert_close(tg.cpu(), tc, **tol)
    # and the backward
    g = torch.randn(n, m, dtype=dtype)
    bc = torch.ops.hvae._vmf_sample_backward(g, zc, tc, loc, kappa, True)
    bg = torch.ops.hvae._vmf_sample_backward(g.cuda(), zc.cuda(), tc.cuda(), loc.cuda(), kappa.cuda(), True)
    rt = 1e-3 if dtype == torch.float32 else 1e-8
    torch.testing.assert_close(bg[0].cpu(), bc[0], rtol=rt, atol=rt)
    torch.testing.assert_close(bg[1].cpu(), bc[1], rtol=rt, atol=rt)


@pytest.mark.cuda
def test_cuda_graph_capture(device):
    if device != "cuda":
        pytest.skip("CUDA only")
    loc = random_loc(512, 32, torch.float32, "cuda")
    kappa = torch.full((512,), 10.0, device="cuda")
    vmf_rsample(loc, kappa)  # warm up outside the capture
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = vmf_rsample(loc, kappa)
    graph.replay()
    first = out.clone()
    graph.replay()
    second = out.clone()
    torch.cuda.synchronize()
    # fresh samples per replay, each on the sphere with the right law
    assert not torch.equal(first, second)
    assert torch.allclose(first.norm(dim=-1), torch.ones(512, device="cuda"), atol=1e-5)
    w = (second * loc).sum(-1).double()
    zscore = (w.mean().item() - mean_cos(32, 10.0)) / (w.std().item() / math.sqrt(512))
    assert abs(zscore) < Z_MAX


# ---------------------------------------------------------------------------
# torch.library contracts


def test_opcheck():
    loc = random_loc(7, 5, torch.float64)
    kappa = torch.logspace(-1, 3, 7, dtype=torch.float64)
    torch.library.opcheck(torch.ops.hvae._vmf_sample_seeded.default, (loc, kappa, 3, 0))
    loc_g = loc.clone().requires_grad_(True)
    kappa_g = kappa.clone().requires_grad_(True)
    torch.library.opcheck(torch.ops.hvae._vmf_sample_seeded.default, (loc_g, kappa_g, 3, 0))
    z, theta = seeded(loc, kappa, 3)
    g = torch.randn(7, 5, dtype=torch.float64)
    torch.library.opcheck(torch.ops.hvae._vmf_sample_backward.default, (g, z, theta, loc, kappa, True))
    # the generator op draws fresh samples each call: schema and fake kernel only
    torch.library.opcheck(
        torch.ops.hvae.vmf_sample.default, (loc, kappa, None),
        test_utils=("test_schema", "test_faketensor", "test_autograd_registration"),
    )


def test_double_backward_raises():
    loc = random_loc(4, 3, torch.float64).requires_grad_(True)
    kappa = torch.full((4,), 2.0, dtype=torch.float64, requires_grad=True)
    z = vmf_rsample(loc, kappa)
    (gk,) = torch.autograd.grad(z.sum(), kappa, create_graph=True)
    with pytest.raises(NotImplementedError, match="double backward"):
        gk.sum().backward()


def test_torch_compile_fullgraph():
    loc = random_loc(16, 4, torch.float32)
    kappa = torch.full((16,), 5.0, requires_grad=True)

    def f(loc, kappa):
        return (vmf_rsample(loc, kappa) * loc).sum()

    def g(loc, kappa):
        return seeded(loc, kappa, 4, 0)[0]

    out = torch.compile(f, fullgraph=True, backend="aot_eager")(loc, kappa)
    out.backward()
    assert torch.isfinite(kappa.grad).all()
    torch.testing.assert_close(torch.compile(g, fullgraph=True)(loc, kappa.detach()), g(loc, kappa.detach()))


# ---------------------------------------------------------------------------
# The reference sampler (the benchmarks' baseline) samples the same law.


@pytest.mark.parametrize("m,kappa", [(2, 2.0), (3, 5.0), (16, 20.0)])
def test_reference_law_and_gradient(m, kappa):
    n = 20000
    loc = random_loc(n, m, torch.float64, seed=6)
    k = torch.full((n,), kappa, dtype=torch.float64, requires_grad=True)
    gen = torch.Generator().manual_seed(3)
    z = reference.vmf_rsample(loc, k, gen)
    w = (z * loc).sum(-1)
    assert st.kstest(torch.acos(w.detach().clamp(-1, 1)).numpy(), angle_cdf(m, kappa)).pvalue > P_MIN
    w.sum().backward()
    a = mean_cos(m, kappa)
    target = 1 - a * a - (m - 1) * a / kappa
    zscore = (k.grad.mean().item() - target) / (k.grad.std().item() / math.sqrt(n))
    assert abs(zscore) < Z_MAX


def test_avx2_and_baseline_loops_agree(tmp_path):
    # The CPU loops run in an AVX2 build where the CPU has it; with
    # HVAE_EXT_NO_AVX2=1 the baseline build runs. Same values, bit for bit.
    import os
    import subprocess
    import sys

    script = (
        "import sys, torch, hvae_ext._ops\n"
        "out = []\n"
        "for dt in (torch.float32, torch.float64):\n"
        "    for m in (2, 3, 16, 300):\n"
        "        g = torch.Generator().manual_seed(m)\n"
        "        loc = torch.nn.functional.normalize(torch.randn(64, m, generator=g, dtype=torch.float64), dim=-1).to(dt)\n"
        "        k = (10 ** (torch.rand(64, generator=g, dtype=torch.float64) * 10 - 2)).to(dt)\n"
        "        z, th = torch.ops.hvae._vmf_sample_seeded(loc, k, 5, 3)\n"
        "        gz = torch.randn(64, m, generator=g, dtype=torch.float64).to(dt)\n"
        "        out += [z, th, *torch.ops.hvae._vmf_sample_backward(gz, z, th, loc, k, True)]\n"
        "torch.save(out, sys.argv[1])\n"
    )
    results = []
    for flag in (None, "1"):
        env = dict(os.environ)
        env.pop("HVAE_EXT_NO_AVX2", None)
        if flag:
            env["HVAE_EXT_NO_AVX2"] = flag
        path = tmp_path / f"out{flag}.pt"
        subprocess.run([sys.executable, "-c", script, str(path)], env=env, check=True)
        results.append(torch.load(path))
    for a, b in zip(*results):
        assert torch.equal(a, b)
