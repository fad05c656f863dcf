"""Validation of the vMF arguments and samples, with and without host syncs,
and what happens to bad input when validation is off.

Eager CPU keeps the detailed messages (test_distributions.py checks them
too); under torch.compile and on CUDA the checks are asynchronous asserts
that name the argument (hvae_ext/distributions/_validation.py).
"""

import subprocess
import sys
import textwrap

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import kl_divergence

from hvae_ext import HypersphericalUniform, VonMisesFisher
from hvae_ext.compat import svae

NAN = float("nan")


def _loc(b=4, m=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(b, m, generator=g), dim=-1)


def test_eager_cpu_messages_name_the_argument():
    loc = _loc()
    with pytest.raises(ValueError, match=r"loc must have unit norm .*found a norm of 2\.0"):
        VonMisesFisher(torch.cat([loc[:3], 2 * loc[3:]]), torch.ones(4), validate_args=True)
    with pytest.raises(ValueError, match=r"loc must have unit norm .*found a norm of nan"):
        VonMisesFisher(torch.cat([loc[:3], torch.full((1, 3), NAN)]), torch.ones(4), validate_args=True)
    with pytest.raises(ValueError, match=r"concentration must be finite and >= 0; found -2\.0"):
        VonMisesFisher(loc, torch.tensor([1.0, 1.0, -2.0, 1.0]), validate_args=True)
    with pytest.raises(ValueError, match=r"concentration must be finite and >= 0; found inf"):
        VonMisesFisher(loc, torch.tensor(float("inf")), validate_args=True)
    # bad values never pass through an expand or a broadcast
    with pytest.raises(ValueError, match="concentration"):
        VonMisesFisher(loc[:1], torch.tensor([1.0, NAN]).view(2, 1), validate_args=True)
    # empty batches validate (nothing to check)
    VonMisesFisher(torch.zeros(0, 3), torch.zeros(0), validate_args=True)
    VonMisesFisher(torch.zeros(0, 3), 1.0, validate_args=True)


def test_low_precision_loc_tolerance():
    # A bfloat16 unit vector is unit to ~2^-9 only; an unnormalized one is not.
    loc = _loc(64, 10).bfloat16()
    VonMisesFisher(loc, torch.ones(64), validate_args=True)
    with pytest.raises(ValueError, match="unit norm"):
        VonMisesFisher(1.05 * loc, torch.ones(64), validate_args=True)


def test_log_prob_value_checks():
    q = VonMisesFisher(_loc(), torch.ones(4), validate_args=True)
    with pytest.raises(ValueError, match="support"):
        q.log_prob(torch.full((4, 3), 0.5))
    with pytest.raises(ValueError, match="event_shape"):
        q.log_prob(_loc(4, 4))
    with pytest.raises(ValueError, match="broadcastable"):
        q.log_prob(_loc(5, 3))
    with pytest.raises(ValueError, match="must be a Tensor"):
        q.log_prob([1.0, 0.0, 0.0])
    assert q.log_prob(_loc(4, 3, seed=1)).shape == (4,)
    assert q.log_prob(_loc(1, 3, seed=1)[0]).shape == (4,)


def test_compiled_validation_is_an_async_assert():
    # Under torch.compile the checks are torch._assert_async in the graph
    # (no graph break: fullgraph=True compiles); a bad argument still raises,
    # naming it.
    def build(loc, kappa):
        return VonMisesFisher(loc, kappa, validate_args=True).mean

    torch._dynamo.reset()
    compiled = torch.compile(build, fullgraph=True, backend="aot_eager")
    loc, kappa = _loc(), torch.ones(4)
    torch.testing.assert_close(compiled(loc, kappa), build(loc, kappa))
    with pytest.raises(RuntimeError, match="loc must have unit norm"):
        compiled(2 * loc, kappa)
    with pytest.raises(RuntimeError, match="concentration must be finite and >= 0"):
        compiled(loc, -kappa)

    def score(loc, kappa, z):
        return VonMisesFisher(loc, kappa, validate_args=True).log_prob(z)

    torch._dynamo.reset()
    compiled = torch.compile(score, fullgraph=True, backend="aot_eager")
    assert compiled(loc, kappa, _loc(seed=3)).shape == (4,)
    with pytest.raises(RuntimeError, match="support"):
        compiled(loc, kappa, 2 * _loc(seed=3))
    torch._dynamo.reset()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_without_validation_nan_in_nan_out(dtype):
    # No check, no hang, no crash: NaN parameters give NaN samples and
    # densities; the sampler's loops are bounded.
    loc = _loc(6, 5).to(dtype)
    loc[1] = NAN
    kappa = torch.tensor([1.0, 1.0, NAN, 1.0, -1.0, float("inf")], dtype=dtype)
    q = VonMisesFisher(loc, kappa, validate_args=False)
    z = q.rsample((3,))
    assert z.shape == (3, 6, 5)
    assert torch.isnan(z[:, 1]).all() and torch.isnan(z[:, 2]).all()
    assert torch.isfinite(z[:, 0]).all() and torch.isfinite(z[:, 3]).all()
    lp = q.log_prob(z[0].nan_to_num(0.0))
    assert torch.isnan(lp[1]) and torch.isnan(lp[2]) and torch.isfinite(lp[0])
    kl = kl_divergence(q, HypersphericalUniform(5, dtype=dtype))
    assert torch.isnan(kl[2]) and torch.isfinite(kl[0])
    assert torch.isnan(q.entropy()[2])


def test_compat_nan_without_validation():
    loc = _loc(2, 4)
    q = svae.VonMisesFisher(loc, torch.tensor([[NAN], [2.0]]), validate_args=False)
    z = q.rsample(2)
    assert torch.isnan(z[:, 0]).all() and torch.isfinite(z[:, 1]).all()


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_validation_does_not_sync_and_names_the_argument():
    # Valid arguments: construction queues its checks without waiting for the
    # device (a capture would fail on a sync).
    loc, kappa = _loc(8, 5).cuda(), torch.ones(8, device="cuda")
    graph = torch.cuda.CUDAGraph()
    VonMisesFisher(loc, kappa, validate_args=True)  # warm up outside the capture
    with torch.cuda.graph(graph):
        VonMisesFisher(loc, kappa, validate_args=True)
    graph.replay()
    torch.cuda.synchronize()
    # A bad argument fails at the next sync with a device-side assert whose
    # message names it. That poisons the CUDA context, so it runs in a child.
    code = textwrap.dedent("""
        import torch, hvae_ext
        loc = torch.nn.functional.normalize(torch.randn(8, 5, device="cuda"), dim=-1)
        hvae_ext.VonMisesFisher(2 * loc, torch.ones(8, device="cuda"), validate_args=True)
        torch.cuda.synchronize()
    """)
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert child.returncode != 0
    assert "loc must have unit norm" in child.stderr + child.stdout
