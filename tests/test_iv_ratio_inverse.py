"""hvae_ext.special.iv_ratio_inverse: the x >= 0 with I_{v+1}(x)/I_v(x) = r.

Round trip through iv_ratio over v in [0, 1e4], r in [1e-10, 1 - 1e-12];
x against mpmath (findroot on the besseli ratio) within the conditioning;
edge conventions, broadcasting, dtypes, errors, gradcheck, opcheck,
torch.compile, CUDA against the CPU.
"""

import math

import mpmath
import pytest
import torch
from torch.testing import assert_close

import hvae_ext
from hvae_ext import special
from hvae_ext.special import iv_ratio, iv_ratio_inverse


def orders(dtype=torch.float64, n=30):
    return torch.cat([torch.zeros(1, dtype=dtype), torch.logspace(-3, 4, n, dtype=dtype)])


def ratios(dtype=torch.float64):
    # r log-spaced in [1e-10, 0.999] and 1 - r log-spaced in [1e-12, 0.5]
    small = torch.logspace(-10, 0, 41, dtype=torch.float64) * 0.999
    near_one = 1 - torch.logspace(-12, math.log10(0.5), 41, dtype=torch.float64)
    return torch.cat([small, near_one]).to(dtype)


# ---------------------------------------------------------------- accuracy


def test_round_trip_float64(device):
    v = orders().to(device)[:, None]
    r = ratios().to(device)[None, :]
    x = iv_ratio_inverse(v, r)
    assert torch.isfinite(x).all() and (x > 0).all()
    err = ((iv_ratio(v, x) - r).abs() / r).max().item()
    assert err <= 1e-13, err  # measured 9e-16


def test_float32_is_the_float64_solution_rounded_once(device):
    v = orders(torch.float32).to(device)[:, None]
    r = ratios(torch.float32).to(device)[None, :]
    r = r[r < 1]  # 1 - 1e-12 rounds to 1 in float32
    x = iv_ratio_inverse(v, r)
    assert x.dtype == torch.float32
    assert torch.equal(x, iv_ratio_inverse(v.double(), r.double()).float())
    # round trip through the float32 iv_ratio: its own error (<= 5e-7) plus the
    # rounding of x, which moves R by R' x / R * 6e-8 <= 6e-8 relative
    err = ((iv_ratio(v, x) - r).abs() / r).max().item()
    assert err <= 1e-6, err


def _mp_inverse(v, r):
    v, r = mpmath.mpf(v), mpmath.mpf(r)
    a = v + mpmath.mpf(0.5)

    def bound(b2):  # x with x / (a + sqrt(x^2 + b2)) = r
        return r * (a + mpmath.sqrt(r * r * a * a + (1 - r * r) * b2)) / (1 - r * r)

    lo, hi = bound(a * (v + 1.5)), bound((v + 1.5) ** 2)
    ratio = lambda x: mpmath.besseli(v + 1, x) / mpmath.besseli(v, x) - r
    return mpmath.findroot(ratio, (lo, hi), solver="anderson")


@pytest.mark.parametrize("v", [0.0, 0.5, 2.5, 31.0, 383.0])
def test_matches_mpmath(v):
    # x is only as accurate as r and iv_ratio allow: relative error of r
    # (iv_ratio is within 2e-15) times the condition number r / (x R'(x)).
    with mpmath.workdps(40):
        for r in [1e-6, 0.3, 0.9, 0.999]:
            want = float(_mp_inverse(v, r))
            x = iv_ratio_inverse(v, torch.tensor([r], dtype=torch.float64))
            rp = torch.ops.hvae._iv_ratio_backward(torch.ones_like(x), torch.tensor(v, dtype=torch.float64), x)
            cond = r / (want * rp.item())
            assert abs(x.item() - want) <= 4e-15 * cond * want, (v, r, x.item(), want, cond)


def test_bracket_bounds_hold_at_mpmath_points():
    # the Amos-Segura bounds the solver starts from, checked with mpmath:
    # x/(a + sqrt(x^2 + (v+3/2)^2)) < R_v(x) < x/(a + sqrt(x^2 + a (v+3/2))), a = v + 1/2
    with mpmath.workdps(30):
        for v in [0, 0.25, 1, 7, 100, 1000]:
            for x in [1e-4, 0.5, 3, 40, 1e3, 1e4]:
                v_, x_ = mpmath.mpf(v), mpmath.mpf(x)
                ratio = mpmath.besseli(v_ + 1, x_, maxterms=10**6) / mpmath.besseli(v_, x_, maxterms=10**6)
                a = v_ + 0.5
                assert x_ / (a + mpmath.sqrt(x_**2 + (v_ + 1.5) ** 2)) < ratio
                assert ratio < x_ / (a + mpmath.sqrt(x_**2 + a * (v_ + 1.5)))


def test_large_r_grows_like_v_plus_half_over_one_minus_r():
    v = torch.tensor([[0.0], [2.5], [383.0]], dtype=torch.float64)
    r = 1 - torch.tensor([1e-6, 1e-9, 1e-12], dtype=torch.float64)
    x = iv_ratio_inverse(v, r)
    # R_v(x) = 1 - (v + 1/2)/x + O(1/x^2): x (1 - r)/(v + 1/2) = 1 + O(1 - r)
    # (1 - r of the rounded r is exact; measured coefficients 0.5, -0.33, -0.5),
    # plus the conditioning: R is known to ~eps absolute, x to ~eps/(1 - r) relative
    dev = (x * (1 - r) / (v + 0.5) - 1).abs()
    assert (dev <= 0.6 * (1 - r) + 1e-15 / (1 - r)).all(), dev


# ---------------------------------------------------------------- conventions and layouts


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_edge_conventions(device, dtype):
    t = lambda *vals: torch.tensor(vals, dtype=dtype, device=device)
    assert iv_ratio_inverse(t(0.0, 0.5, 3.0), torch.zeros(3, dtype=dtype, device=device)).tolist() == [0.0] * 3
    bad_r = t(-1e-30, -0.5, 1.0, 1.5, math.inf, math.nan)
    assert torch.isnan(iv_ratio_inverse(2.0, bad_r)).all()
    assert torch.isnan(iv_ratio_inverse(t(-0.5, math.nan), t(0.3, 0.3))).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_finite_and_positive_over_the_domain(device, dtype):
    info = torch.finfo(dtype)
    v = torch.cat([torch.zeros(1), torch.logspace(-6, 6, 25)]).to(device, dtype)[:, None]
    r = torch.tensor([info.tiny, info.eps, 1e-3, 0.5, 1 - 4 * info.eps, 1 - info.eps / 2], dtype=dtype, device=device)
    x = iv_ratio_inverse(v, r)
    assert torch.isfinite(x).all() and (x > 0).all()
    assert (x[:, 1:] > x[:, :-1]).all()  # increasing in r


def test_broadcasting_and_scalar_order(device):
    v = torch.tensor([[0.0], [1.5], [40.0]], dtype=torch.float64, device=device)
    r = torch.tensor([0.1, 0.5, 0.95], dtype=torch.float64, device=device)
    x = iv_ratio_inverse(v, r)
    assert x.shape == (3, 3)
    for i in range(3):
        for j in range(3):
            assert x[i, j].item() == iv_ratio_inverse(v[i, 0].item(), r[j : j + 1]).item()
    assert_close(iv_ratio_inverse(1.5, r), x[1], rtol=0, atol=0)
    r_strided = torch.rand(4, 6, dtype=torch.float64, device=device)[:, ::2]
    assert_close(iv_ratio_inverse(2.0, r_strided), iv_ratio_inverse(2.0, r_strided.contiguous()), rtol=0, atol=0)
    assert iv_ratio_inverse(2.0, torch.empty(0, 3, device=device)).shape == (0, 3)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_is_computed_in_float32(dtype):
    r = torch.tensor([0.1, 0.5, 0.9], dtype=dtype)
    x = iv_ratio_inverse(1.5, r)
    assert x.dtype == dtype
    assert torch.equal(x, iv_ratio_inverse(1.5, r.float()).to(dtype))


def test_top_level_name():
    assert hvae_ext.iv_ratio_inverse is special.iv_ratio_inverse


def test_errors():
    r = torch.tensor([0.2, 0.5], dtype=torch.float64)
    with pytest.raises(TypeError, match="r must be a Tensor"):
        iv_ratio_inverse(1.0, 0.5)
    with pytest.raises(TypeError, match="v must be a Tensor or a real number"):
        iv_ratio_inverse("1", r)
    with pytest.raises(RuntimeError, match="iv_ratio_inverse: r must be a real number tensor"):
        iv_ratio_inverse(1.0, r.to(torch.complex128))
    with pytest.raises(RuntimeError, match=r"iv_ratio_inverse\(v, r\) is not differentiable with respect to the order v"):
        iv_ratio_inverse(torch.ones(2, dtype=torch.float64, requires_grad=True), r)
    with pytest.raises(RuntimeError):
        iv_ratio_inverse(torch.ones(3, dtype=torch.float64), r)  # shapes do not broadcast


# ---------------------------------------------------------------- autograd


def test_gradcheck(device):
    v = torch.tensor([[0.0], [0.5], [2.0], [383.0]], dtype=torch.float64, device=device)
    r = torch.tensor([1e-4, 0.2, 0.7, 0.99, 0.9999], dtype=torch.float64, device=device, requires_grad=True)
    assert torch.autograd.gradcheck(lambda r: iv_ratio_inverse(v, r), (r,))  # r broadcast over v
    assert torch.autograd.gradcheck(lambda r: iv_ratio_inverse(2.5, r), (r,))


def test_gradient_is_the_reciprocal_of_the_ratio_derivative(device):
    v = orders(n=8).to(device)[:, None]
    r = ratios().to(device)[None, ::4].clone().requires_grad_(True)
    x = iv_ratio_inverse(v, r)
    (g,) = torch.autograd.grad(x.sum(), r)
    rp = torch.ops.hvae._iv_ratio_backward(torch.ones_like(x), v, x.detach())
    assert_close(g[0], (1 / rp).sum(0), rtol=1e-14, atol=0)


def test_double_backward_is_an_explicit_error():
    r = torch.tensor([0.3, 0.8], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(iv_ratio_inverse(1.5, r).sum(), r, create_graph=True)
    with pytest.raises(NotImplementedError, match="double backward"):
        g.sum().backward()


def test_opcheck(device):
    v = torch.tensor([[0.0], [2.5]], dtype=torch.float64, device=device)
    r = torch.tensor([[0.2, 0.6, 0.99]], dtype=torch.float64, device=device, requires_grad=True)
    torch.library.opcheck(torch.ops.hvae.iv_ratio_inverse, (v, r))
    torch.library.opcheck(torch.ops.hvae.iv_ratio_inverse, (torch.tensor(1.5, dtype=torch.float64), r.detach().float()))
    x = iv_ratio_inverse(v, r.detach())
    grad = torch.ones(2, 3, dtype=torch.float64, device=device)
    torch.library.opcheck(torch.ops.hvae._iv_ratio_inverse_backward, (grad, v, x))


def test_torch_compile_fullgraph(device):
    def f(v, r):
        return iv_ratio_inverse(v, r) + iv_ratio_inverse(1.5, r)

    v = torch.tensor([[0.5], [30.0]], dtype=torch.float64, device=device)
    r = torch.tensor([0.1, 0.5, 0.99], dtype=torch.float64, device=device, requires_grad=True)
    compiled = torch.compile(f, fullgraph=True)
    assert_close(compiled(v, r), f(v, r), rtol=0, atol=0)
    (g_compiled,) = torch.autograd.grad(compiled(v, r).sum(), r)
    (g_eager,) = torch.autograd.grad(f(v, r).sum(), r)
    assert_close(g_compiled, g_eager, rtol=1e-15, atol=0)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_cuda_matches_cpu(dtype):
    v = orders(dtype)[:, None]
    r = ratios(dtype)
    r = r[r < 1][None, :]  # 1 - 1e-12 rounds to 1 in float32
    # same double-precision header math; libm ulps and FMA contraction differ,
    # and x inherits them amplified by the condition number ~ 1 / (1 - r);
    # float32 adds one rounding of the result
    got = iv_ratio_inverse(v.cuda(), r.cuda()).cpu().double()
    want = iv_ratio_inverse(v, r).double()
    assert torch.isfinite(got).all() and torch.isfinite(want).all()
    tol = 64 * torch.finfo(torch.float64).eps / (1 - r.double())
    if dtype == torch.float32:
        tol = tol + torch.finfo(torch.float32).eps
    assert ((got - want).abs() <= tol * want).all()
