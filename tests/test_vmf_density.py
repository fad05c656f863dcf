"""The fused vMF density ops (torch.ops.hvae.vmf_log_normalizer, vmf_kl_uniform,
vmf_entropy, vmf_kl_vmf and their backward ops) and their public wrappers in
hvae_ext.distributions.

Oracle: mpmath at 80 digits, at the exact (dtype-rounded) inputs. Targets:
  float64: |err| <= 1e-13 * max(1, |value|) + 4e-16 * kappa + 1e-15 * scale
           (as tests/test_distributions.py: A_m is known to ~2e-16 absolute
           and kappa A enters the KL and entropy; scale is the size of the
           terms that cancel in log S_v for large kappa);
  float32: the float64 bound + 6e-8 |value|: computed in double inside the
           kernel and rounded once (0.5 ulp = 2^-24 relative).
"""

from __future__ import annotations

import math

import mpmath as mp
import pytest
import torch
from torch.distributions import kl_divergence
from torch.utils._python_dispatch import TorchDispatchMode

import hvae_ext  # noqa: F401
from hvae_ext.distributions import HypersphericalUniform, VonMisesFisher
from hvae_ext.distributions import _normalizer as nz
from vmf_mp_reference import vmf_kappa_reference

DTYPES = [torch.float64, torch.float32]
MS = [2, 3, 5, 10, 64, 512, 10000]
KAPPAS = [0.0, 1e-8, 1e-6, 1e-4, 1e-2, 0.1, 0.5, 1.0, 3.0, 10.0, 50.0, 300.0, 3e3, 1e4, 1e5, 1e6]
OPS = ["vmf_log_normalizer", "vmf_kl_uniform", "vmf_entropy", "vmf_kl_vmf"]


# --- mpmath references ---------------------------------------------------------


ref = vmf_kappa_reference  # (log S_v, A, A', log|S^{m-1}|)


def ref_values(m, k):
    log_s, a, _, log_area = ref(m, k)
    with mp.workdps(80):
        kl = k * a - log_s
        return {
            "log_c": -log_area - log_s,
            "log_c_scaled": -log_area - log_s + k,
            "kl_uniform": kl,
            "entropy": log_area - kl,
            "kl_uniform_vmf": log_s,
        }


def ref_grads(m, k):
    _, a, a_prime, _ = ref(m, k)
    with mp.workdps(80):
        return {
            "log_c": -a,
            "log_c_scaled": 1 - a,
            "kl_uniform": k * a_prime,
            "entropy": -k * a_prime,
            "kl_uniform_vmf": a,
        }


def scale(m, k):
    if k == 0:
        return 0.0
    v = m / 2 - 1
    return math.lgamma(v + 1) + v * abs(math.log(k / 2)) + abs(float(ref(m, k)[0])) + k


def tol(dtype, value, k, m):
    bound = 1e-13 * max(1.0, abs(value)) + 4e-16 * k + 1e-15 * scale(m, k)
    if dtype == torch.float32:
        bound += 6e-8 * abs(value)
    return bound


def compute(name, m, kappa):
    if name == "log_c":
        return nz.vmf_log_normalizer(m, kappa)
    if name == "log_c_scaled":
        return nz.vmf_log_normalizer(m, kappa, scaled=True)
    if name == "kl_uniform":
        return nz.vmf_kl_uniform(m, kappa)
    if name == "entropy":
        return nz.vmf_entropy(m, kappa)
    return nz.log_normalized_iv(m, kappa)


NAMES = ["log_c", "log_c_scaled", "kl_uniform", "entropy", "kl_uniform_vmf"]


# --- values and gradients against mpmath -------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m", MS)
def test_values_vs_mpmath(m, dtype):
    kappa = torch.tensor(KAPPAS, dtype=dtype)
    exact = [float(k) for k in kappa.double()]
    for name in NAMES:
        got = compute(name, m, kappa)
        assert got.dtype == dtype and got.shape == kappa.shape, name
        for i, k in enumerate(exact):
            want = float(ref_values(m, k)[name])
            # The unscaled log-normalizer is ~ -kappa: its own absolute scale.
            extra = 1e-15 * k if name in ("log_c", "kl_uniform_vmf") else 0.0
            assert abs(got[i].item() - want) <= tol(dtype, want, k, m) + extra, (name, m, k, got[i].item(), want)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m", MS)
def test_small_kappa_full_relative_precision(m, dtype):
    # KL(vMF || U) ~ kappa^2/(2m) and KL(U || vMF) ~ kappa^2/(2m): to full
    # relative precision however small kappa is (here down to 1e-15).
    kappa = torch.tensor([1e-15, 1e-10, 1e-7, 1e-4, 1e-2, 0.3], dtype=dtype)
    rel = 1e-13 if dtype == torch.float64 else 6e-8
    for name in ("kl_uniform", "kl_uniform_vmf"):
        got = compute(name, m, kappa)
        for i, k in enumerate(kappa.double().tolist()):
            want = float(ref_values(m, k)[name])
            assert got[i].item() > 0
            assert abs(got[i].item() - want) <= rel * want + 1e-300, (name, m, k, got[i].item(), want)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m", MS)
def test_gradients_vs_mpmath(m, dtype):
    kappa = torch.tensor(KAPPAS, dtype=dtype)
    exact = [float(k) for k in kappa.double()]
    rel = 1e-13 if dtype == torch.float64 else 6e-8
    for name in NAMES:
        k = kappa.clone().requires_grad_()
        (g,) = torch.autograd.grad(compute(name, m, k).sum(), k)
        assert g.dtype == dtype
        for i, kk in enumerate(exact):
            want = float(ref_grads(m, kk)[name])
            # 1 - A is known to ~2e-16 absolute (A is).
            floor = 3e-16 if name == "log_c_scaled" else 1e-300
            assert abs(g[i].item() - want) <= rel * abs(want) + floor, (name, m, kk, g[i].item(), want)


def _kl_vmf_cases(dtype):
    pairs = [(1.0, 1.0), (0.0, 5.0), (5.0, 0.0), (1e-5, 2e-5), (10.0, 300.0), (1e6, 1e4), (1e4, 1e6), (3.0, 2.5)]
    ds = [0.0, 5e-9, 0.3, 1.0, 2.0]
    k1 = torch.tensor([p[0] for p in pairs for _ in ds], dtype=dtype)
    k2 = torch.tensor([p[1] for p in pairs for _ in ds], dtype=dtype)
    d = torch.tensor([x for _ in pairs for x in ds], dtype=dtype)
    return k1, k2, d


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m", [2, 3, 10, 512, 10000])
def test_kl_vmf_value_and_gradients_vs_mpmath(m, dtype):
    k1, k2, d = _kl_vmf_cases(dtype)
    k1g, k2g, dg = (t.clone().requires_grad_() for t in (k1, k2, d))
    kl = nz.vmf_kl_vmf(m, k1g, k2g, dg)
    assert kl.dtype == dtype
    grads = torch.autograd.grad(kl.sum(), (k1g, k2g, dg))
    rel = 1e-13 if dtype == torch.float64 else 6e-8
    for i in range(len(k1)):
        a, b, dd = k1[i].item(), k2[i].item(), d[i].item()
        s1, a1, a1p, _ = ref(m, a)
        s2, a2, _, _ = ref(m, b)
        with mp.workdps(80):
            want = s2 - s1 - (b - a) * a1 + b * a1 * mp.mpf(dd)
            want_g = [a1p * (a - b * (1 - mp.mpf(dd))), a2 - a1 * (1 - mp.mpf(dd)), b * a1]
        want = float(want)
        bound = tol(dtype, want, max(a, b), m) + 1e-15 * scale(m, b)
        assert abs(kl[i].item() - want) <= bound, (m, a, b, dd, kl[i].item(), want)
        for j, wg in enumerate(want_g):
            wg = float(wg)
            # A is known to ~2e-16 absolute; the k1 gradient multiplies A' by
            # k1 - k2 (1 - d), which is rounded in the input dtype.
            floor = 4e-16 * (1 + max(a, b) * (j == 0) * float(ref(m, a)[2]))
            if dtype == torch.float32:
                floor += 6e-8 * max(a, b) * float(ref(m, a)[2]) * (j == 0)
            assert abs(grads[j][i].item() - wg) <= rel * abs(wg) + floor, (j, m, a, b, dd, grads[j][i].item(), wg)


def test_series_and_bessel_branches_agree():
    # log S_v switches from its power series to lgamma + v log(2/kappa) +
    # log I_v at kappa^2 = 4 (v + 1): both sides of the switch agree.
    for m in MS:
        k0 = 2.0 * math.sqrt(m / 2)
        kappa = torch.tensor([k0 * (1 - 1e-12), k0, k0 * (1 + 1e-12)], dtype=torch.float64)
        for name in NAMES:
            got = compute(name, m, kappa)
            for i, k in enumerate(kappa.tolist()):
                want = float(ref_values(m, k)[name])
                assert abs(got[i].item() - want) <= tol(torch.float64, want, k, m), (name, m, k)


# --- autograd -------------------------------------------------------------------------


@pytest.mark.parametrize("m", [2, 3, 7, 100])
def test_gradcheck(m):
    kappa = torch.tensor([2e-3, 0.3, 5.0, 80.0, 3e3], dtype=torch.float64, requires_grad=True)
    for fn in (nz.vmf_kl_uniform, nz.vmf_entropy, nz.log_normalized_iv):
        torch.autograd.gradcheck(lambda k: fn(m, k), (kappa,))
    for scaled in (False, True):
        torch.autograd.gradcheck(lambda k: nz.vmf_log_normalizer(m, k, scaled=scaled), (kappa,))
        torch.autograd.gradgradcheck(lambda k: nz.vmf_log_normalizer(m, k, scaled=scaled), (kappa,))
    # KL(vMF || vMF) with broadcasting: k1 [5, 1], k2 [3], d [5, 3].
    k1 = kappa.detach().reshape(5, 1).clone().requires_grad_()
    k2 = torch.tensor([1e-2, 2.0, 70.0], dtype=torch.float64, requires_grad=True)
    d = torch.rand(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0)).mul(2).requires_grad_()
    torch.autograd.gradcheck(lambda a, b, c: nz.vmf_kl_vmf(m, a, b, c), (k1, k2, d))


def test_kl_vmf_gradients_through_loc():
    # d = |mu1 - mu2|^2 / 2 is computed in Python: the KL's loc gradients
    # (through autograd) and kappa gradients (the op's backward) together.
    g = torch.Generator().manual_seed(3)
    loc1 = torch.nn.functional.normalize(torch.randn(4, 6, generator=g, dtype=torch.float64), dim=-1)
    loc2 = torch.nn.functional.normalize(torch.randn(4, 6, generator=g, dtype=torch.float64), dim=-1)
    k1 = torch.tensor([0.1, 1.0, 10.0, 400.0], dtype=torch.float64)
    k2 = torch.tensor([2.0, 0.01, 30.0, 390.0], dtype=torch.float64)
    args = tuple(t.clone().requires_grad_() for t in (loc1, k1, loc2, k2))

    def kl(l1, a, l2, b):
        return kl_divergence(VonMisesFisher(l1, a, validate_args=False), VonMisesFisher(l2, b, validate_args=False))

    torch.autograd.gradcheck(kl, args)


@pytest.mark.parametrize("name", ["vmf_kl_uniform", "vmf_entropy", "vmf_kl_vmf"])
def test_double_backward_raises(name):
    kappa = torch.tensor([0.5, 3.0], dtype=torch.float64, requires_grad=True)
    if name == "vmf_kl_vmf":
        out = getattr(torch.ops.hvae, name)(kappa, kappa.flip(0), torch.full((2,), 0.3, dtype=torch.float64), 4)
    else:
        out = getattr(torch.ops.hvae, name)(kappa, 4)
    (g,) = torch.autograd.grad(out.sum(), kappa, create_graph=True)
    with pytest.raises(NotImplementedError, match="double backward"):
        g.sum().backward()


def test_log_normalizer_third_derivative_raises():
    kappa = torch.tensor([0.5, 3.0], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(nz.vmf_log_normalizer(4, kappa).sum(), kappa, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), kappa, create_graph=True)
    with pytest.raises(NotImplementedError, match="double backward"):
        h.sum().backward()


# --- edges, layouts, errors --------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_nan_negative_and_infinite_kappa(dtype, device):
    kappa = torch.tensor([float("nan"), -1.0, -1e-30, float("inf"), 2.0], dtype=dtype, device=device)
    m = 5
    log_c = nz.vmf_log_normalizer(m, kappa)
    log_c_s = nz.vmf_log_normalizer(m, kappa, scaled=True)
    kl = nz.vmf_kl_uniform(m, kappa)
    h = nz.vmf_entropy(m, kappa)
    kl_v = nz.vmf_kl_vmf(m, kappa, kappa.flip(0), torch.full_like(kappa, 0.5))
    for out in (log_c, log_c_s, kl, h):
        assert out[:3].isnan().all() and torch.isfinite(out[4])
    assert kl_v.isnan().all()  # every pair holds a NaN or negative kappa
    # kappa = inf: the limits (log C -> -inf, log C + kappa -> +inf, KL -> +inf, H -> -inf).
    assert log_c[3].item() == -math.inf and log_c_s[3].item() == math.inf
    assert kl[3].item() == math.inf and h[3].item() == -math.inf
    # NaN d gives NaN; the gradients of NaN inputs are NaN.
    assert nz.vmf_kl_vmf(m, kappa[4:], kappa[4:], torch.full_like(kappa[4:], math.nan)).isnan().all()
    k = kappa.clone().requires_grad_()
    (g,) = torch.autograd.grad(nz.vmf_kl_uniform(m, k).sum(), k)
    assert g[:3].isnan().all() and g[3].item() == 0 and torch.isfinite(g[4])


@pytest.mark.parametrize("dtype", DTYPES)
def test_empty(dtype, device):
    for shape in [(0,), (3, 0), (0, 4)]:
        kappa = torch.zeros(shape, dtype=dtype, device=device, requires_grad=True)
        outs = [nz.vmf_log_normalizer(3, kappa), nz.vmf_log_normalizer(3, kappa, scaled=True),
                nz.vmf_kl_uniform(3, kappa), nz.vmf_entropy(3, kappa), nz.log_normalized_iv(3, kappa),
                nz.vmf_kl_vmf(3, kappa, kappa, kappa.detach())]
        for out in outs:
            assert out.shape == shape and out.dtype == dtype and out.device.type == device
        (g,) = torch.autograd.grad(sum(o.sum() for o in outs), kappa)
        assert g.shape == shape


@pytest.mark.parametrize("dtype", DTYPES)
def test_noncontiguous_and_broadcast(dtype, device):
    g = torch.Generator().manual_seed(1)
    base = (torch.rand(6, 8, generator=g, dtype=torch.float64) * 50).to(dtype=dtype, device=device)
    strided = base[:, ::2]  # [6, 4], non-contiguous
    expanded = base[:1, 0].expand(6, 4)  # stride 0
    assert not strided.is_contiguous()
    for fn in (nz.vmf_kl_uniform, nz.vmf_entropy, nz.log_normalized_iv):
        for x in (strided, expanded, strided.t()):
            assert torch.equal(fn(9, x), fn(9, x.contiguous()))
    for scaled in (False, True):
        assert torch.equal(nz.vmf_log_normalizer(9, strided, scaled), nz.vmf_log_normalizer(9, strided.contiguous(), scaled))
    # KL(vMF || vMF) broadcasts [6, 1], [4], [] into [6, 4].
    k1 = strided[:, :1]
    k2 = base[0, 1::2]
    d = torch.tensor(0.25, dtype=dtype, device=device)
    got = nz.vmf_kl_vmf(9, k1, k2, d)
    want = nz.vmf_kl_vmf(9, k1.expand(6, 4).contiguous(), k2.expand(6, 4).contiguous(), d.expand(6, 4).contiguous())
    assert got.shape == (6, 4) and torch.equal(got, want)
    # The gradients are summed back to each operand's shape.
    k1g, k2g, dg = (t.clone().requires_grad_() for t in (k1, k2, d))
    grads = torch.autograd.grad(nz.vmf_kl_vmf(9, k1g, k2g, dg).sum(), (k1g, k2g, dg))
    k1e, k2e, de = (t.expand(6, 4).clone().requires_grad_() for t in (k1, k2, d))
    grads_e = torch.autograd.grad(nz.vmf_kl_vmf(9, k1e, k2e, de).sum(), (k1e, k2e, de))
    for ge, gb, like in zip(grads_e, grads, (k1, k2, d)):
        assert gb.shape == like.shape
        torch.testing.assert_close(gb, ge.sum_to_size(like.shape), rtol=1e-6 if dtype == torch.float32 else 1e-14,
                                   atol=0)


def test_half_and_bfloat16_computed_in_float32():
    kappa = torch.tensor([0.0, 0.01, 1.0, 100.0, 1e4])
    for dtype in (torch.float16, torch.bfloat16):
        k = kappa.to(dtype)
        for op in (torch.ops.hvae.vmf_kl_uniform, torch.ops.hvae.vmf_entropy):
            out = op(k, 16)
            assert out.dtype == dtype
            torch.testing.assert_close(out, op(k.float(), 16).to(dtype), rtol=0, atol=0)


def test_errors():
    kappa = torch.ones(3)
    with pytest.raises(RuntimeError, match="m \\(the ambient dimension\\) must be >= 2, got 1"):
        torch.ops.hvae.vmf_kl_uniform(kappa, 1)
    with pytest.raises(RuntimeError, match="kappa must be a floating-point tensor"):
        torch.ops.hvae.vmf_entropy(torch.ones(3, dtype=torch.int64), 3)
    with pytest.raises(RuntimeError, match="d must be a floating-point tensor"):
        torch.ops.hvae.vmf_kl_vmf(kappa, kappa, torch.ones(3, dtype=torch.int64), 3)
    with pytest.raises(RuntimeError):
        torch.ops.hvae.vmf_kl_vmf(kappa, torch.ones(2), kappa, 3)  # shapes do not broadcast
    with pytest.raises(ValueError, match="integer >= 2"):
        nz.vmf_kl_uniform(1, kappa)
    with pytest.raises(TypeError, match="d must be a float32 or float64"):
        nz.vmf_kl_vmf(3, kappa, kappa, torch.ones(3, dtype=torch.int64))


# --- torch.library contracts and torch.compile ---------------------------------------------


def _op_args(name, device, requires_grad=False):
    kappa = torch.tensor([[0.0, 1e-3, 2.0], [30.0, 1e3, 1e6]], dtype=torch.float64, device=device,
                         requires_grad=requires_grad)
    if name == "vmf_kl_vmf":
        k2 = torch.tensor([0.5, 5.0, 500.0], dtype=torch.float64, device=device, requires_grad=requires_grad)
        d = torch.tensor([[0.1], [1.5]], dtype=torch.float64, device=device, requires_grad=requires_grad)
        return (kappa, k2, d, 7)
    if name == "vmf_log_normalizer":
        return (kappa, 7, True)
    return (kappa, 7)


@pytest.mark.parametrize("name", OPS)
def test_opcheck(name, device):
    op = getattr(torch.ops.hvae, name).default
    backward = getattr(torch.ops.hvae, f"_{name}_backward").default
    torch.library.opcheck(op, _op_args(name, device))
    torch.library.opcheck(op, _op_args(name, device, requires_grad=True))
    args = _op_args(name, device)
    grad = torch.randn(2, 3, dtype=torch.float64, device=device)
    if name == "vmf_log_normalizer":
        torch.library.opcheck(op, (args[0].float(), 5))
        torch.library.opcheck(backward, (grad, args[0], 7, False))
        torch.library.opcheck(backward, (grad, args[0], 7, True))
    else:
        torch.library.opcheck(backward, (grad,) + args)


def test_torch_compile_fullgraph(device):
    # backend="aot_eager", as tests/test_distributions.py: what is tested is
    # that Dynamo and AOTAutograd trace the ops (fake kernels, C++ autograd)
    # without a graph break; Inductor adds nothing to the custom ops.
    def f(k1, k2, d):
        return (nz.vmf_log_normalizer(6, k1) + nz.vmf_log_normalizer(6, k1, scaled=True) + nz.vmf_kl_uniform(6, k1)
                + nz.vmf_entropy(6, k1) + nz.log_normalized_iv(6, k2) + nz.vmf_kl_vmf(6, k1, k2, d))

    k1 = torch.tensor([0.0, 0.1, 10.0, 1e5], device=device)
    k2 = torch.tensor([3.0, 0.0, 11.0, 2e5], device=device)
    d = torch.tensor([0.0, 0.5, 1.0, 2.0], device=device)
    torch._dynamo.reset()
    compiled = torch.compile(f, fullgraph=True, backend="aot_eager")
    args_c = [t.clone().requires_grad_() for t in (k1, k2, d)]
    args_e = [t.clone().requires_grad_() for t in (k1, k2, d)]
    out_c, out_e = compiled(*args_c), f(*args_e)
    torch.testing.assert_close(out_c, out_e, rtol=0, atol=0)
    for gc, ge in zip(torch.autograd.grad(out_c.sum(), args_c), torch.autograd.grad(out_e.sum(), args_e)):
        torch.testing.assert_close(gc, ge, rtol=0, atol=0)


# --- the distributions go through the ops, with no float64 round trip ------------------------


class _OpLog(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.calls = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        outs = out if isinstance(out, (tuple, list)) else (out,)
        self.calls.append((str(func), [o.dtype for o in outs if isinstance(o, torch.Tensor)]))
        return out


def test_distributions_use_the_ops_in_float32():
    m = 10
    loc = torch.nn.functional.normalize(torch.randn(64, m), dim=-1).requires_grad_()
    kappa = torch.rand(64).mul(20).requires_grad_()
    z = torch.nn.functional.normalize(torch.randn(64, m), dim=-1)
    with _OpLog() as log:
        p = VonMisesFisher(loc, kappa, validate_args=False)
        q = VonMisesFisher(loc.flip(0), kappa.flip(0), validate_args=False)
        u = HypersphericalUniform(m)
        total = (kl_divergence(p, u) + kl_divergence(u, p) + kl_divergence(p, q) + p.entropy()
                 + p.log_prob(z)).sum()
        total.backward()
    names = [c[0] for c in log.calls]
    for op in ("hvae.vmf_kl_uniform", "hvae.vmf_kl_vmf", "hvae.vmf_entropy", "hvae.vmf_log_normalizer",
               "hvae._vmf_kl_uniform_backward", "hvae._vmf_kl_vmf_backward", "hvae._vmf_entropy_backward",
               "hvae._vmf_log_normalizer_backward"):
        assert any(n.startswith(op + ".") for n in names), (op, names)
    float64 = [c for c in log.calls if torch.float64 in c[1]]
    assert not float64, float64


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("dtype", DTYPES)
def test_cuda_matches_cpu(dtype):
    kappa = torch.tensor(KAPPAS, dtype=dtype)
    d = torch.linspace(0, 2, len(KAPPAS), dtype=dtype)
    for m in (2, 3, 64, 10000):
        for name in NAMES:
            k = kappa.clone().requires_grad_()
            kc = kappa.cuda().requires_grad_()
            out, out_c = compute(name, m, k), compute(name, m, kc)
            torch.testing.assert_close(out_c.cpu(), out, rtol=4 * torch.finfo(dtype).eps, atol=0)
            (g,) = torch.autograd.grad(out.sum(), k)
            (gc,) = torch.autograd.grad(out_c.sum(), kc)
            torch.testing.assert_close(gc.cpu(), g, rtol=4 * torch.finfo(dtype).eps, atol=1e-300)
        out = nz.vmf_kl_vmf(m, kappa, kappa.flip(0), d)
        out_c = nz.vmf_kl_vmf(m, kappa.cuda(), kappa.flip(0).cuda(), d.cuda())
        torch.testing.assert_close(out_c.cpu(), out, rtol=4 * torch.finfo(dtype).eps, atol=1e-300)
