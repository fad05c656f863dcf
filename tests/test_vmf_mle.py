"""hvae_ext.distributions.vmf_mle: the maximum-likelihood vMF of unit vectors.

Recovery of (loc, kappa) from large samples of our VonMisesFisher against the
sampling distribution of the estimator (delta method), weights, batching,
gradients, the edge cases and errors, and m = 768 where scipy's I_v overflows.
"""

import math

import numpy as np
import pytest
import scipy.special
import torch
from torch.testing import assert_close

from hvae_ext.distributions import VonMisesFisher, vmf_mle
from hvae_ext.special import iv_ratio, iv_ratio_inverse


def _sample(m, kappa, n, seed, dtype=torch.float64, device="cpu"):
    g = torch.Generator(device=device).manual_seed(seed)
    loc = torch.nn.functional.normalize(torch.randn(m, dtype=dtype, device=device, generator=g), dim=-1)
    vmf = VonMisesFisher(loc, torch.tensor(kappa, dtype=dtype, device=device))
    return loc, vmf.sample((n,), generator=g)


def _expected_and_sd(m, kappa, n):
    """Mean and standard deviation of the MLE kappa from n points, to first
    order: E|xbar|^2 = A^2 + (1 - A^2)/n (tr Cov z = 1 - A^2), so kappa-hat
    centres on A^{-1}(sqrt(A^2 + (1 - A^2)/n)), the small-sample bias that
    grows with m; |xbar| - A has variance Var(mu^T z)/n = A'/n, so
    sd(kappa-hat) = sqrt(A'/n)/A' = 1/sqrt(n A'(kappa))."""
    v = 0.5 * m - 1
    k = torch.tensor([kappa], dtype=torch.float64)
    a = iv_ratio(v, k)
    a_prime = torch.ops.hvae._iv_ratio_backward(torch.ones_like(k), torch.tensor(v, dtype=torch.float64), k)
    centre = iv_ratio_inverse(v, torch.sqrt(a * a + (1 - a * a) / n))
    return centre.item(), 1.0 / math.sqrt(n * a_prime.item())


@pytest.mark.parametrize(
    "m,kappa",
    [(3, 0.5), (3, 20.0), (3, 2000.0), (64, 10.0), (64, 300.0), (64, 2000.0), (768, 50.0), (768, 400.0), (768, 2000.0)],
)
def test_recovers_kappa_and_loc(m, kappa):
    n = 20000
    loc, z = _sample(m, kappa, n, seed=1234 + m)
    fit = vmf_mle(z)
    centre, sd = _expected_and_sd(m, kappa, n)
    # 5 sd: a false failure has probability ~6e-7 per case (second-order terms
    # of the delta method are O(1/n) relative: far below one sd here)
    assert abs(fit.concentration.item() - centre) <= 5 * sd, (fit.concentration.item(), centre, sd)
    # and the bias-uncorrected error stays within what the sample size allows
    assert abs(fit.concentration.item() - kappa) <= 5 * sd + abs(centre - kappa)
    # loc: 1 - mu^T mu-hat ~ (m - 1) Var(tangent coordinate) / (2 n A^2)
    cos = (fit.loc * loc).sum().item()
    a = iv_ratio(0.5 * m - 1, torch.tensor(kappa, dtype=torch.float64)).item()
    # (a chi-square with m - 1 degrees of freedom: 15x its mean has probability
    # <= e^-15 at m = 3 and far less for larger m)
    assert 1 - cos <= 15 * (1 - a * a) / (2 * n * a * a) + 1e-12, (cos, a)


def test_m768_where_scipy_overflows():
    # the textbook route A_m(kappa) = iv(m/2, kappa) / iv(m/2 - 1, kappa)
    # breaks at m = 768 in float64 (scipy 1.17): 0/0 for kappa <= 40.5, and
    # iv(383, kappa) = inf from kappa ~ 799.8 (A = 0.629 at kappa = 800)
    v = 768 / 2 - 1
    with np.errstate(all="ignore"):
        assert np.isnan(scipy.special.iv(v + 1, 10.0) / scipy.special.iv(v, 10.0))
        assert scipy.special.iv(v, 800.0) == math.inf
        assert scipy.special.iv(v + 1, 800.0) / scipy.special.iv(v, 800.0) == 0.0
        assert np.isnan(scipy.special.iv(v + 1, 1000.0) / scipy.special.iv(v, 1000.0))
    assert abs(iv_ratio(v, torch.tensor(800.0, dtype=torch.float64)).item() - 0.6294351590561867) < 1e-12
    assert iv_ratio_inverse(v, torch.tensor(0.6294351590561867, dtype=torch.float64)).item() == pytest.approx(800, rel=1e-12)
    kappa = 800.0
    loc, z = _sample(768, kappa, 20000, seed=7)
    fit = vmf_mle(z)
    centre, sd = _expected_and_sd(768, kappa, 20000)
    assert math.isfinite(fit.concentration.item())
    assert abs(fit.concentration.item() - centre) <= 5 * sd


def test_float32(device):
    loc, z = _sample(64, 300.0, 20000, seed=3, dtype=torch.float32, device=device)
    fit = vmf_mle(z)
    assert fit.concentration.dtype == torch.float32 and fit.loc.dtype == torch.float32
    ref = vmf_mle(z.double())
    # the float32 mean of 20000 points is good to ~1e-6 relative; kappa's
    # condition number at A ~ 0.9 is ~ 10
    assert_close(fit.concentration.double(), ref.concentration, rtol=1e-4, atol=0)


def test_weights_equal_repeated_points():
    g = torch.Generator().manual_seed(0)
    _, z = _sample(5, 4.0, 30, seed=11)
    counts = torch.randint(0, 4, (30,), generator=g)
    counts[0] = 1
    repeated = torch.repeat_interleave(z, counts, dim=0)
    by_weight = vmf_mle(z, counts.double())
    by_repeat = vmf_mle(repeated)
    assert_close(by_weight.loc, by_repeat.loc, rtol=1e-14, atol=1e-15)
    assert_close(by_weight.concentration, by_repeat.concentration, rtol=1e-12, atol=0)
    # only ratios matter
    assert_close(vmf_mle(z, 3.5 * counts.double()).concentration, by_weight.concentration, rtol=1e-13, atol=0)


def test_batched_components_match_one_at_a_time(device):
    # x [1, N, m] against weights [K, N]: K fits at once, as EM's M-step does
    _, z = _sample(16, 8.0, 200, seed=5, device=device)
    w = torch.rand(3, 200, dtype=torch.float64, device=device, generator=torch.Generator(device=device).manual_seed(1))
    fit = vmf_mle(z[None], w)
    assert fit.batch_shape == (3,) and fit.event_shape == (16,)
    for k in range(3):
        one = vmf_mle(z, w[k])
        assert_close(fit.loc[k], one.loc, rtol=1e-13, atol=1e-15)
        assert_close(fit.concentration[k], one.concentration, rtol=1e-12, atol=0)
    # a batch of data sets without weights
    zb = torch.stack([z[:100], z[100:]])
    fitb = vmf_mle(zb)
    assert_close(fitb.concentration[1], vmf_mle(z[100:]).concentration, rtol=1e-13, atol=0)


def test_formula():
    _, z = _sample(10, 3.0, 50, seed=2)
    fit = vmf_mle(z)
    mean = z.mean(0)
    assert_close(fit.loc, mean / mean.norm(), rtol=1e-14, atol=1e-15)
    assert_close(iv_ratio(4.0, fit.concentration), mean.norm(), rtol=1e-14, atol=0)


def test_gradcheck():
    _, z = _sample(4, 5.0, 12, seed=9)
    z = z.clone().requires_grad_(True)
    w = torch.rand(2, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(4)) + 0.1
    w.requires_grad_(True)

    def f(z, w):
        # z need not stay on the sphere under gradcheck's perturbations
        fit = vmf_mle(z[None], w, validate_args=False)
        return fit.loc, fit.concentration

    assert torch.autograd.gradcheck(f, (z, w))


def test_zero_resultant_gives_uniform_with_e1():
    e = torch.eye(3, dtype=torch.float64)
    fit = vmf_mle(torch.stack([e[1], -e[1]]))
    assert fit.concentration.item() == 0.0
    assert fit.loc.tolist() == [1.0, 0.0, 0.0]


def test_identical_points_give_a_finite_kappa():
    x = torch.nn.functional.normalize(torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64), dim=-1)
    for pts in (x, x.expand(5, 3)):
        k = vmf_mle(pts).concentration.item()
        assert math.isfinite(k) and k > 1e15  # ~ (m - 1)/2 / eps


def test_errors():
    z = torch.nn.functional.normalize(torch.randn(6, 3, dtype=torch.float64), dim=-1)
    with pytest.raises(ValueError, match="at least one point"):
        vmf_mle(z[:0])
    with pytest.raises(ValueError, match=r"shape \[\.\.\., N, m\]"):
        vmf_mle(z[0])
    with pytest.raises(ValueError, match="weights must be >= 0"):
        vmf_mle(z, torch.tensor([1.0, -1.0, 1, 1, 1, 1], dtype=torch.float64))
    with pytest.raises(ValueError, match="weights must be >= 0"):
        vmf_mle(z, torch.tensor([1.0, math.nan, 1, 1, 1, 1], dtype=torch.float64))
    with pytest.raises(ValueError, match="positive total"):
        vmf_mle(z, torch.zeros(6, dtype=torch.float64))
    with pytest.raises(ValueError, match="weights must have shape"):
        vmf_mle(z, torch.ones(5, dtype=torch.float64))
    with pytest.raises(ValueError, match="support"):
        vmf_mle(2 * z, validate_args=True)
    vmf_mle(2 * z, validate_args=False)  # not checked when not validating
    with pytest.raises(TypeError, match="x must be a Tensor"):
        vmf_mle(z.tolist())


def test_torch_compile_fullgraph():
    _, z = _sample(8, 5.0, 50, seed=6)
    w = torch.rand(3, 50, dtype=torch.float64, generator=torch.Generator().manual_seed(2))

    def f(z, w):
        fit = vmf_mle(z[None], w, validate_args=False)  # weight checks become async asserts
        return fit.loc, fit.concentration

    compiled = torch.compile(f, fullgraph=True)
    for got, want in zip(compiled(z, w), f(z, w)):
        assert_close(got, want, rtol=1e-14, atol=1e-15)
