"""hvae_ext.compat.svae: s-vae-pytorch's argument conventions and output
shapes on top of the native distributions; and the native VonMisesFisher's
warning for s-vae-pytorch's [B, 1] concentration."""

import math
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import kl_divergence

import hvae_ext
from hvae_ext.compat import svae
from hvae_ext.distributions import von_mises_fisher

B, M = 5, 4


def _params(dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    loc = F.normalize(torch.randn(B, M, generator=g, dtype=torch.float64), dim=-1).to(dtype)
    scale = (1 + 20 * torch.rand(B, 1, generator=g, dtype=torch.float64)).to(dtype)
    return loc, scale


def test_shapes_as_svae_pytorch():
    loc, scale = _params()
    q = svae.VonMisesFisher(loc, scale)
    p = svae.HypersphericalUniform(M - 1)
    assert q.batch_shape == (B,) and q.event_shape == (M,)
    assert q.scale.shape == q.stddev.shape == (B, 1) and q.mean.shape == (B, M)
    assert q.dtype == torch.float32 and q.device == torch.device("cpu") and q.k == 1
    assert q.rsample().shape == (B, M)
    assert q.rsample(3).shape == (3, B, M)  # an int, as s-vae-pytorch's examples pass it
    assert q.rsample(torch.Size([2, 3])).shape == (2, 3, B, M)
    assert q.sample(2).shape == (2, B, M)
    z = q.rsample(6)
    assert q.log_prob(z).shape == (6, B) and q.log_prob(z[0]).shape == (B,)
    assert q.entropy().shape == (B,)
    kl = kl_divergence(q, p)
    assert kl.shape == (B,) and torch.isfinite(kl).all() and (kl > 0).all()
    # the prior: manifold dimension M - 1, samples in R^M
    assert p.dim == M - 1 and p.event_shape == (M,) and p.batch_shape == ()
    assert p.sample(7).shape == (7, M) and p.sample().shape == (M,)
    assert p.log_prob(z).shape == (6, B)
    log_area = math.log(2) + M / 2 * math.log(math.pi) - math.lgamma(M / 2)
    torch.testing.assert_close(p.entropy(), torch.tensor(log_area))
    assert p.device == torch.device("cpu")
    p.device = "cpu"  # a settable attribute there
    assert isinstance(p.device, torch.device)


def test_backed_by_the_native_distributions():
    loc, scale = _params(torch.float64, seed=1)
    q = svae.VonMisesFisher(loc, scale, k=3)
    native = hvae_ext.VonMisesFisher(loc, scale.squeeze(-1))
    assert isinstance(q, hvae_ext.VonMisesFisher) and isinstance(svae.HypersphericalUniform(2),
                                                                  hvae_ext.HypersphericalUniform)
    z = q.rsample(4, generator=torch.Generator().manual_seed(5))
    assert torch.equal(z, native.rsample((4,), generator=torch.Generator().manual_seed(5)))
    assert torch.equal(q.log_prob(z), native.log_prob(z)) and torch.equal(q.entropy(), native.entropy())
    assert torch.equal(kl_divergence(q, svae.HypersphericalUniform(M - 1)),
                       kl_divergence(native, hvae_ext.HypersphericalUniform(M, dtype=torch.float64)))
    # the KL to the uniform is log|S^{M-1}| - H
    log_area = math.log(2) + M / 2 * math.log(math.pi) - math.lgamma(M / 2)
    torch.testing.assert_close(kl_divergence(q, svae.HypersphericalUniform(M - 1)), log_area - q.entropy())
    # expand keeps the class and k
    e = q.expand((2, B))
    assert type(e) is svae.VonMisesFisher and e.k == 3 and e.scale.shape == (2, B, 1)


def test_unbiased_gradients_reach_scale():
    loc, scale = _params(seed=2)
    loc.requires_grad_(True)
    scale.requires_grad_(True)
    q = svae.VonMisesFisher(loc, scale)
    (q.rsample(8).sum() + kl_divergence(q, svae.HypersphericalUniform(M - 1)).sum()).backward()
    assert scale.grad.shape == (B, 1) and torch.isfinite(scale.grad).all()
    assert loc.grad.shape == (B, M) and torch.isfinite(loc.grad).all()


def test_argument_errors():
    loc, scale = _params()
    with pytest.raises(ValueError, match=r"scale must have a trailing dimension of size 1"):
        svae.VonMisesFisher(loc, scale.squeeze(-1))
    with pytest.raises(ValueError, match="k"):
        svae.VonMisesFisher(loc, scale, k=0)
    with pytest.raises(ValueError, match="manifold dimension"):
        svae.HypersphericalUniform(0)
    with pytest.raises(ValueError, match="unit norm"):
        svae.VonMisesFisher(2 * loc, scale, validate_args=True)
    with pytest.raises(ValueError, match="different dimensions"):
        kl_divergence(svae.VonMisesFisher(loc, scale), svae.HypersphericalUniform(M))


def test_native_warns_once_for_a_trailing_size_one_concentration(monkeypatch):
    monkeypatch.setattr(von_mises_fisher, "_warned_trailing_one", False)
    loc, scale = _params()
    with pytest.warns(UserWarning, match=r"concentration\.squeeze\(-1\)") as record:
        q = hvae_ext.VonMisesFisher(loc, scale)
    assert q.batch_shape == (B, B)  # what the warning is about
    assert "batch shape (5, 5)" in str(record[0].message)
    assert record[0].filename == __file__  # points at the caller's line
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hvae_ext.VonMisesFisher(loc, scale)  # once only
    # no warning for the shapes that mean what they say
    monkeypatch.setattr(von_mises_fisher, "_warned_trailing_one", False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hvae_ext.VonMisesFisher(loc, scale.squeeze(-1))
        hvae_ext.VonMisesFisher(loc, torch.ones(1))
        hvae_ext.VonMisesFisher(loc, 2.0)
        hvae_ext.VonMisesFisher(loc[:1], torch.ones(1, 1))
        svae.VonMisesFisher(loc, scale)
