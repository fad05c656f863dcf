"""The fused Power Spherical density ops (torch.ops.hvae.power_spherical_log_normalizer,
power_spherical_entropy, power_spherical_kl_uniform and their backward ops) and
their wrappers in hvae_ext.distributions.

Oracle: mpmath at 50 digits (tests/ps_mp_reference.py), at the exact
(dtype-rounded) inputs. Targets (issue 15):
  float64: |err| <= 1e-12 * max(1, |value|) for log C and H (measured: ~6e-15),
           KL to 1e-13 relative (it is O(kappa^2) near 0), derivatives 1e-13
           relative (+ 1e-16 absolute for log 2 - D_psi);
  float32: computed in double and rounded once: the float64 bound + 6e-8 |value|.
"""

from __future__ import annotations

import math

import pytest
import torch

import hvae_ext  # noqa: F401
from hvae_ext.distributions import (
    power_spherical_entropy,
    power_spherical_kl_uniform,
    power_spherical_log_normalizer,
)
from ps_mp_reference import ps_kappa_reference as ref

DTYPES = [torch.float64, torch.float32]
MS = [2, 3, 10, 100, 1000, 10000]
KAPPAS = [0.0, 1e-10, 1e-3, 1.0, 10.0, 1e3, 1e6]
# Off-grid points near the KL's switch (kappa = 10 beta) and the Stirling shift (alpha = 10).
EXTRA_KAPPAS = [0.37, 4.5, 9.4, 9.6, 45.0, 49.5, 50.5, 2e4]
OPS = ["power_spherical_log_normalizer", "power_spherical_entropy", "power_spherical_kl_uniform"]
NAMES = ["log_c", "log_c_scaled", "entropy", "kl_uniform"]


def compute(name, m, kappa):
    if name == "log_c":
        return power_spherical_log_normalizer(m, kappa)
    if name == "log_c_scaled":
        return power_spherical_log_normalizer(m, kappa, scaled=True)
    if name == "entropy":
        return power_spherical_entropy(m, kappa)
    return power_spherical_kl_uniform(m, kappa)


def bound(name, dtype, want):
    if name == "kl_uniform":
        b = 1e-13 * abs(want)
    else:
        b = 1e-12 * max(1.0, abs(want))
    if dtype == torch.float32:
        b += 6e-8 * abs(want)
    return b


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m", MS)
def test_values_vs_mpmath(m, dtype):
    kappa = torch.tensor(KAPPAS + EXTRA_KAPPAS, dtype=dtype)
    for name in NAMES:
        got = compute(name, m, kappa)
        assert got.dtype == dtype and got.shape == kappa.shape
        for i, k in enumerate(kappa.double().tolist()):
            want = float(ref(m, k)[name])
            err = abs(got[i].item() - want)
            assert err <= bound(name, dtype, want), (name, m, k, got[i].item(), want, err)


def test_float64_accuracy_well_inside_the_target():
    # The 1e-12 is met with two orders of magnitude to spare; this
    # pins what docs/power_spherical.md reports (max over the grid).
    worst = {name: 0.0 for name in NAMES}
    for m in MS:
        kappa = torch.tensor(KAPPAS + EXTRA_KAPPAS, dtype=torch.float64)
        for name in NAMES:
            got = compute(name, m, kappa).tolist()
            for g, k in zip(got, kappa.tolist()):
                want = float(ref(m, k)[name])
                scale = abs(want) if name == "kl_uniform" else max(1.0, abs(want))
                if scale:
                    worst[name] = max(worst[name], abs(g - want) / scale)
    assert max(worst.values()) <= 2e-14, worst


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m", MS)
def test_gradients_vs_mpmath(m, dtype):
    kappa = torch.tensor(KAPPAS + EXTRA_KAPPAS, dtype=dtype)
    rel = 1e-13 if dtype == torch.float64 else 6e-8
    for name in NAMES:
        k = kappa.clone().requires_grad_()
        (g,) = torch.autograd.grad(compute(name, m, k).sum(), k)
        assert g.dtype == dtype
        for i, kk in enumerate(kappa.double().tolist()):
            want = float(ref(m, kk)["d_" + name])
            # log 2 - D_psi cancels for large kappa (D_psi -> 0 slowly, log 2 fixed):
            # an absolute floor of a few ulps of log 2.
            floor = 4e-16 if name == "log_c" else 1e-300
            assert abs(g[i].item() - want) <= rel * abs(want) + floor, (name, m, kk, g[i].item(), want)


@pytest.mark.parametrize("m", [2, 3, 10000])
def test_second_derivative_of_log_normalizer(m):
    kappa = torch.tensor([0.0, 1e-3, 1.0, 50.0, 1e6], dtype=torch.float64, requires_grad=True)
    for scaled in (False, True):
        (g,) = torch.autograd.grad(power_spherical_log_normalizer(m, kappa, scaled).sum(), kappa, create_graph=True)
        (h,) = torch.autograd.grad(g.sum(), kappa)
        for i, k in enumerate(kappa.tolist()):
            want = float(ref(m, k)["d2_log_c"])
            assert abs(h[i].item() - want) <= 1e-13 * want, (m, k, h[i].item(), want)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m", [2, 3, 100, 10000])
def test_small_kappa_kl_full_relative_precision(m, dtype):
    # KL ~ kappa^2 [psi'(beta) - psi'(2 beta)] / 2: to full relative precision
    # however small kappa is (log|S| - H would give noise of size eps |H|).
    kappa = torch.tensor([1e-15, 1e-10, 1e-7, 1e-4, 1e-2, 0.3], dtype=dtype)
    rel = 1e-13 if dtype == torch.float64 else 6e-8
    got = power_spherical_kl_uniform(m, kappa)
    for i, k in enumerate(kappa.double().tolist()):
        want = float(ref(m, k)["kl_uniform"])
        assert got[i].item() > 0
        assert abs(got[i].item() - want) <= rel * want, (m, k, got[i].item(), want)


def test_naive_formula_loses_what_the_op_keeps():
    # The reason for the difference formulas: lgamma(a+b) - lgamma(a) taken
    # literally (what the reference and the power_spherical package do) at
    # m = 3, kappa = 1e6.
    from hvae_ext.reference.power_spherical import ps_entropy_reference

    kappa = torch.tensor([1e6], dtype=torch.float64)
    want = float(ref(3, 1e6)["entropy"])
    ours = power_spherical_entropy(3, kappa).item()
    naive = ps_entropy_reference(3, kappa).item()
    assert abs(ours - want) <= 1e-14 * abs(want)
    assert abs(naive - want) > 1e-11


# --- autograd -------------------------------------------------------------------------


@pytest.mark.parametrize("m", [2, 3, 7, 100])
def test_gradcheck(m):
    kappa = torch.tensor([2e-3, 0.3, 5.0, 80.0, 3e3], dtype=torch.float64, requires_grad=True)
    for fn in (power_spherical_entropy, power_spherical_kl_uniform):
        torch.autograd.gradcheck(lambda k: fn(m, k), (kappa,))
    for scaled in (False, True):
        torch.autograd.gradcheck(lambda k: power_spherical_log_normalizer(m, k, scaled), (kappa,))
        torch.autograd.gradgradcheck(lambda k: power_spherical_log_normalizer(m, k, scaled), (kappa,))


@pytest.mark.parametrize("name", ["power_spherical_entropy", "power_spherical_kl_uniform"])
def test_double_backward_raises(name):
    kappa = torch.tensor([0.5, 3.0], dtype=torch.float64, requires_grad=True)
    out = getattr(torch.ops.hvae, name)(kappa, 4)
    (g,) = torch.autograd.grad(out.sum(), kappa, create_graph=True)
    with pytest.raises(NotImplementedError, match="double backward"):
        g.sum().backward()


def test_log_normalizer_third_derivative_raises():
    kappa = torch.tensor([0.5, 3.0], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(power_spherical_log_normalizer(4, kappa).sum(), kappa, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), kappa, create_graph=True)
    with pytest.raises(NotImplementedError, match="third derivative"):
        h.sum().backward()


# --- edges, layouts, errors --------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_nan_negative_and_infinite_kappa(dtype, device):
    kappa = torch.tensor([float("nan"), -1.0, -1e-30, float("inf"), 2.0], dtype=dtype, device=device)
    m = 5
    outs = [compute(name, m, kappa) for name in NAMES]
    for out in outs:
        assert out[:3].isnan().all() and torch.isfinite(out[4])
    log_c, log_c_s, h, kl = (o[3].item() for o in outs)
    assert log_c == math.inf and log_c_s == -math.inf and h == -math.inf and kl == math.inf
    k = kappa.clone().requires_grad_()
    (g,) = torch.autograd.grad(power_spherical_kl_uniform(m, k).sum(), k)
    assert g[:3].isnan().all() and g[3].item() == 0 and torch.isfinite(g[4])
    (g,) = torch.autograd.grad(power_spherical_log_normalizer(m, k).sum(), k)
    assert g[3].item() == pytest.approx(math.log(2), rel=1e-7)


@pytest.mark.parametrize("dtype", DTYPES)
def test_empty(dtype, device):
    for shape in [(0,), (3, 0)]:
        kappa = torch.zeros(shape, dtype=dtype, device=device, requires_grad=True)
        outs = [compute(name, 3, kappa) for name in NAMES]
        for out in outs:
            assert out.shape == shape and out.dtype == dtype
        (g,) = torch.autograd.grad(sum(o.sum() for o in outs), kappa)
        assert g.shape == shape


@pytest.mark.parametrize("dtype", DTYPES)
def test_noncontiguous_and_broadcast(dtype, device):
    g = torch.Generator().manual_seed(1)
    base = (torch.rand(6, 8, generator=g, dtype=torch.float64) * 50).to(dtype=dtype, device=device)
    strided = base[:, ::2]
    expanded = base[:1, 0].expand(6, 4)
    for name in NAMES:
        for x in (strided, expanded, strided.t()):
            assert torch.equal(compute(name, 9, x), compute(name, 9, x.contiguous()))
    # The gradient of an expanded kappa is summed back to its shape.
    k = base[:1, :4].clone().requires_grad_()
    (gk,) = torch.autograd.grad(power_spherical_entropy(9, k.expand(6, 4)).sum(), k)
    (ge,) = torch.autograd.grad(power_spherical_entropy(9, k).sum(), k)
    torch.testing.assert_close(gk, 6 * ge, rtol=1e-6 if dtype == torch.float32 else 1e-14, atol=0)


def test_half_and_bfloat16_computed_in_float32():
    kappa = torch.tensor([0.0, 0.01, 1.0, 100.0, 1e4])
    for dtype in (torch.float16, torch.bfloat16):
        k = kappa.to(dtype)
        for name in OPS:
            op = getattr(torch.ops.hvae, name)
            out = op(k, 16)
            assert out.dtype == dtype
            torch.testing.assert_close(out, op(k.float(), 16).to(dtype), rtol=0, atol=0)


def test_errors():
    kappa = torch.ones(3)
    with pytest.raises(RuntimeError, match="m \\(the ambient dimension\\) must be >= 2, got 1"):
        torch.ops.hvae.power_spherical_kl_uniform(kappa, 1)
    with pytest.raises(RuntimeError, match="kappa must be a floating-point tensor"):
        torch.ops.hvae.power_spherical_entropy(torch.ones(3, dtype=torch.int64), 3)
    with pytest.raises(ValueError, match="integer >= 2"):
        power_spherical_kl_uniform(1, kappa)
    with pytest.raises(TypeError, match="kappa must be a float32 or float64"):
        power_spherical_entropy(3, torch.ones(3, dtype=torch.int64))


# --- torch.library contracts and torch.compile ---------------------------------------------


def _kappa(device, requires_grad=False):
    return torch.tensor([[0.0, 1e-3, 2.0], [30.0, 1e3, 1e6]], dtype=torch.float64, device=device,
                        requires_grad=requires_grad)


@pytest.mark.parametrize("name", OPS)
def test_opcheck(name, device):
    op = getattr(torch.ops.hvae, name).default
    backward = getattr(torch.ops.hvae, f"_{name}_backward").default
    extra = (True,) if name == "power_spherical_log_normalizer" else ()
    torch.library.opcheck(op, (_kappa(device), 7) + extra)
    torch.library.opcheck(op, (_kappa(device, True), 7) + extra)
    torch.library.opcheck(op, (_kappa(device).float(), 5))
    grad = torch.randn(2, 3, dtype=torch.float64, device=device)
    if name == "power_spherical_log_normalizer":
        for scaled in (False, True):
            for second in (False, True):
                torch.library.opcheck(backward, (grad, _kappa(device), 7, scaled, second))
    else:
        torch.library.opcheck(backward, (grad, _kappa(device), 7))


def test_torch_compile_fullgraph(device):
    # backend="aot_eager", as tests/test_vmf_density.py: Dynamo and AOTAutograd
    # trace the ops (fake kernels, C++ autograd) without a graph break.
    def f(k):
        return (power_spherical_log_normalizer(6, k) + power_spherical_log_normalizer(6, k, scaled=True)
                + power_spherical_entropy(6, k) + power_spherical_kl_uniform(6, k))

    k = torch.tensor([0.0, 0.1, 10.0, 1e5], device=device)
    torch._dynamo.reset()
    compiled = torch.compile(f, fullgraph=True, backend="aot_eager")
    kc, ke = k.clone().requires_grad_(), k.clone().requires_grad_()
    out_c, out_e = compiled(kc), f(ke)
    torch.testing.assert_close(out_c, out_e, rtol=0, atol=0)
    (gc,) = torch.autograd.grad(out_c.sum(), kc)
    (ge,) = torch.autograd.grad(out_e.sum(), ke)
    torch.testing.assert_close(gc, ge, rtol=0, atol=0)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("dtype", DTYPES)
def test_cuda_matches_cpu(dtype):
    kappa = torch.tensor(KAPPAS + EXTRA_KAPPAS, dtype=dtype)
    for m in (2, 3, 64, 10000):
        for name in NAMES:
            k = kappa.clone().requires_grad_()
            kc = kappa.cuda().requires_grad_()
            out, out_c = compute(name, m, k), compute(name, m, kc)
            torch.testing.assert_close(out_c.cpu(), out, rtol=4 * torch.finfo(dtype).eps, atol=0)
            (g,) = torch.autograd.grad(out.sum(), k)
            (gc,) = torch.autograd.grad(out_c.sum(), kc)
            torch.testing.assert_close(gc.cpu(), g, rtol=4 * torch.finfo(dtype).eps, atol=1e-300)
