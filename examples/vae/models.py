"""One encoder/decoder architecture with three posteriors.

Every model maps binary images x [B, P] to encoder features h [B, H], draws
latent samples z from its posterior q(z|x), and decodes z to Bernoulli
logits [..., P]. The posteriors differ only in the head on h:

| name        | q(z|x)                                   | prior p(z)                 | z lives in |
|-------------|------------------------------------------|----------------------------|------------|
| "nvae"      | N(mu, diag(sigma^2))                     | N(0, I)                    | R^d        |
| "svae"      | vMF(mu, kappa), hvae_ext.VonMisesFisher  | hvae_ext.HypersphericalUniform(m) | S^{m-1} in R^m |
| "nvae_tsnf" | N(mu, diag(sigma^2)) then K T-SNF steps  | N(0, I)                    | R^d        |

``sample(h, n)`` returns z [n, B, d] with log q(z|x) [n, B]; for the flow,
log q_K(z_K|x) = log q_0(z_0|x) - log|det dz_K/dz_0| (change of variables).
``kl(h)`` is the analytic KL(q || p) [B] where there is one (Gaussian and
vMF), else None (the flow: the objective estimates it by Monte Carlo).
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import Independent, Normal, kl_divergence

import hvae_ext

__all__ = ["VAE", "GaussianVAE", "SphericalVAE", "SylvesterVAE", "MODELS", "build_model"]


def mlp(sizes: Sequence[int]) -> nn.Sequential:
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class VAE(nn.Module):
    """The shared architecture: encoder P -> hidden..., decoder d -> reversed
    hidden... -> P logits. Subclasses add the posterior head."""

    def __init__(self, num_pixels: int, latent_dim: int, hidden: Sequence[int] = (256, 128)):
        super().__init__()
        if latent_dim < 1:
            raise ValueError(f"latent_dim must be >= 1, got {latent_dim}")
        self.num_pixels, self.latent_dim, self.hidden = num_pixels, latent_dim, tuple(hidden)
        self.encoder = nn.Sequential(mlp([num_pixels, *hidden]), nn.ReLU())
        self.decoder = mlp([latent_dim, *reversed(hidden), num_pixels])

    @property
    def feature_dim(self) -> int:
        return self.hidden[-1]

    def encode(self, x: Tensor) -> Tensor:
        """x [B, P] -> features h [B, H]."""
        return self.encoder(x)

    def decode(self, z: Tensor) -> Tensor:
        """z [..., d] -> Bernoulli logits [..., P]."""
        return self.decoder(z)

    def log_likelihood(self, x: Tensor, z: Tensor) -> Tensor:
        """log p(x|z) = sum_pixels log Bernoulli(x; sigmoid(decode(z))), [..., B]."""
        logits = self.decode(z)
        return -F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").sum(-1)

    def sample(self, h: Tensor, n: int, generator: Optional[torch.Generator] = None) -> Tuple[Tensor, Tensor]:
        raise NotImplementedError

    def log_prior(self, z: Tensor) -> Tensor:
        raise NotImplementedError

    def kl(self, h: Tensor) -> Optional[Tensor]:
        return None

    def posterior_mean(self, x: Tensor) -> Tensor:
        """A point summary of q(z|x) for plots: mu (Gaussian) or the mean
        direction mu (vMF), [B, d]."""
        raise NotImplementedError


class GaussianVAE(VAE):
    """N-VAE: q(z|x) = N(mu(x), diag sigma(x)^2), p(z) = N(0, I)."""

    def __init__(self, num_pixels: int, latent_dim: int, hidden: Sequence[int] = (256, 128)):
        super().__init__(num_pixels, latent_dim, hidden)
        self.head = nn.Linear(self.feature_dim, 2 * latent_dim)

    def q(self, h: Tensor) -> Independent:
        mu, raw = self.head(h).chunk(2, dim=-1)
        # softplus keeps sigma positive without exp's overflow; the floor keeps
        # log q finite if the encoder pushes raw far negative.
        return Independent(Normal(mu, F.softplus(raw) + 1e-4), 1)

    def _base_sample(self, h: Tensor, n: int, generator: Optional[torch.Generator]) -> Tuple[Tensor, Tensor]:
        q = self.q(h)
        mu, sigma = q.base_dist.loc, q.base_dist.scale
        eps = torch.randn((n,) + mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        z = mu + sigma * eps
        return z, q.log_prob(z)

    def sample(self, h, n, generator=None):
        return self._base_sample(h, n, generator)

    def log_prior(self, z: Tensor) -> Tensor:
        return Normal(torch.zeros((), device=z.device, dtype=z.dtype), 1.0).log_prob(z).sum(-1)

    def kl(self, h: Tensor) -> Tensor:
        q = self.q(h)
        p = Independent(Normal(torch.zeros_like(q.base_dist.loc), torch.ones_like(q.base_dist.scale)), 1)
        return kl_divergence(q, p)

    def posterior_mean(self, x: Tensor) -> Tensor:
        return self.q(self.encode(x)).base_dist.loc


class SphericalVAE(VAE):
    """S-VAE: q(z|x) = vMF(mu(x), kappa(x)) on S^{m-1}, p(z) uniform on S^{m-1};
    ``latent_dim`` is the ambient dimension m (z has m coordinates)."""

    def __init__(self, num_pixels: int, latent_dim: int, hidden: Sequence[int] = (256, 128)):
        if latent_dim < 2:
            raise ValueError(f"the S-VAE needs latent_dim = m >= 2 (z on S^(m-1) in R^m), got {latent_dim}")
        super().__init__(num_pixels, latent_dim, hidden)
        self.head = nn.Linear(self.feature_dim, latent_dim + 1)

    def q(self, h: Tensor) -> hvae_ext.VonMisesFisher:
        out = self.head(h)
        loc = F.normalize(out[..., :-1], dim=-1)
        # kappa >= 1, as in s-vae-pytorch: the sampler is exact at every
        # kappa >= 0, the offset only keeps early training away from the
        # uniform law, where the decoder gets no signal.
        kappa = F.softplus(out[..., -1]) + 1.0
        # No argument/sample validation: loc and kappa are valid by
        # construction, and the checks (unit-norm loc, z on the sphere) cost
        # a reduction and a host sync every step.
        return hvae_ext.VonMisesFisher(loc, kappa, validate_args=False)

    def prior(self, like: Tensor) -> hvae_ext.HypersphericalUniform:
        return hvae_ext.HypersphericalUniform(self.latent_dim, device=like.device, dtype=like.dtype)

    def sample(self, h, n, generator=None):
        q = self.q(h)
        z = q.rsample((n,), generator=generator)
        return z, q.log_prob(z)

    def log_prior(self, z: Tensor) -> Tensor:
        return self.prior(z).log_prob(z)

    def kl(self, h: Tensor) -> Tensor:
        q = self.q(h)
        return kl_divergence(q, self.prior(q.loc))

    def posterior_mean(self, x: Tensor) -> Tensor:
        return self.q(self.encode(x)).loc


class SylvesterVAE(GaussianVAE):
    """N-VAE + T-SNF: z_0 ~ N(mu(x), diag sigma(x)^2), then K amortized
    triangular Sylvester steps z_K = f_K o ... o f_1(z_0) with parameters
    computed from h; log q_K(z_K|x) = log q_0(z_0|x) - sum_k log|det df_k/dz|."""

    def __init__(self, num_pixels: int, latent_dim: int, hidden: Sequence[int] = (256, 128), num_flows: int = 4):
        super().__init__(num_pixels, latent_dim, hidden)
        self.flow = hvae_ext.AmortizedTriangularSylvester(self.feature_dim, latent_dim, num_flows)

    def sample(self, h, n, generator=None):
        z0, log_q0 = self._base_sample(h, n, generator)
        # z0 [n, B, d] with h [B, H]: the head runs once and every draw of
        # data point b uses b's flow parameters in place (no repeat over n).
        zk, logdet = self.flow(z0, h)
        return zk, log_q0 - logdet

    def kl(self, h: Tensor) -> None:
        return None


MODELS = {"nvae": GaussianVAE, "svae": SphericalVAE, "nvae_tsnf": SylvesterVAE}


def build_model(name: str, num_pixels: int, latent_dim: int, hidden: Sequence[int] = (256, 128),
                num_flows: int = 4) -> VAE:
    """The model called ``name`` ("nvae", "svae" or "nvae_tsnf")."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
    if name == "nvae_tsnf":
        return SylvesterVAE(num_pixels, latent_dim, hidden, num_flows=num_flows)
    return MODELS[name](num_pixels, latent_dim, hidden)
