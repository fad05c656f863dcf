"""The training objective and the test metrics.

* ``elbo(model, x)``: ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || p(z)), [B].
  The expectation is a Monte Carlo average over ``n`` reparameterized
  samples; the KL is analytic where the model has one (Gaussian, vMF: from
  ``torch.distributions.kl_divergence``), else estimated with the same
  samples as E_q[log q(z|x) - log p(z)] (the flow posterior).
* ``log_likelihood(model, x, k)``: the importance-sampled estimate
  log p(x) ~= log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x), z_i ~ q(z|x)
  (Burda et al. 2016), evaluated as a log-mean-exp over k samples drawn in
  chunks, [B]. It is a stochastic lower bound of log p(x) that tightens as
  k grows, and its expectation is >= the ELBO for every k.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor, nn

from .models import VAE

__all__ = ["elbo", "NegativeELBO", "log_weights", "log_likelihood"]


def elbo(model: VAE, x: Tensor, n: int = 1, generator: Optional[torch.Generator] = None) -> Tensor:
    """ELBO per example, [B], with ``n`` posterior samples per example."""
    h = model.encode(x)
    z, log_q = model.sample(h, n, generator=generator)
    reconstruction = model.log_likelihood(x, z).mean(0)
    kl = model.kl(h)
    if kl is None:
        kl = (log_q - model.log_prior(z)).mean(0)
    return reconstruction - kl


class NegativeELBO(nn.Module):
    """The training loss as a module, ``forward(x) -> -mean ELBO`` (a scalar):
    the unit that DistributedDataParallel wraps (its gradient hooks run on
    the module's forward) and that ``torch.compile`` compiles."""

    def __init__(self, model: VAE):
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> Tensor:
        return -elbo(self.model, x).mean()


def log_weights(model: VAE, x: Tensor, n: int, generator: Optional[torch.Generator] = None) -> Tensor:
    """log w_i = log p(x|z_i) + log p(z_i) - log q(z_i|x) for n samples, [n, B]."""
    h = model.encode(x)
    z, log_q = model.sample(h, n, generator=generator)
    return model.log_likelihood(x, z) + model.log_prior(z) - log_q


@torch.no_grad()
def log_likelihood(model: VAE, x: Tensor, k: int = 500, chunk: int = 100,
                   generator: Optional[torch.Generator] = None) -> Tensor:
    """Importance-sampled log p(x) with k samples, [B].

    Memory: the encoder runs once; the samples are drawn ``chunk`` at a time
    as [chunk, B, d] sample dimensions of the posterior (vMF
    ``rsample((chunk,))``, the T-SNF op on z0 [chunk, B, d] with the flow
    parameters of h [B, H] computed once), so no posterior parameter is
    copied per sample; the log-mean-exp is kept running. What grows with k
    is only the time: peak memory is that of ``chunk`` samples (the decoder's
    chunk * B * P outputs dominate), whatever k (docs/dropin.md)."""
    if k < 1 or chunk < 1:
        raise ValueError(f"k and chunk must be >= 1, got k={k}, chunk={chunk}")
    h = model.encode(x)
    total = None
    for start in range(0, k, chunk):
        z, log_q = model.sample(h, min(chunk, k - start), generator=generator)
        log_w = model.log_likelihood(x, z) + model.log_prior(z) - log_q
        part = torch.logsumexp(log_w, dim=0)
        total = part if total is None else torch.logaddexp(total, part)
    return total - math.log(k)
