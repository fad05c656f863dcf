"""Training-step suite: what a user pays for a latent, in a whole VAE step.

The model is s-vae-pytorch's MNIST example (Davidson et al. 2018): a
784-256-128 ReLU MLP encoder, a head to the latent of dimension z, the
mirrored z-128-256-784 decoder, a Bernoulli likelihood (BCE with logits,
summed over pixels), the KL to the prior, the batch mean, and one Adam step.
Inputs are fixed random binary images. Latents:

* ``gaussian``: N(mu, sigma), sigma = softplus, KL to N(0, I) in closed form
  (torch.distributions), the baseline of every other case;
* ``vmf``: hvae_ext.VonMisesFisher(F.normalize(mu), softplus + 1), KL to
  hvae_ext.HypersphericalUniform (registered closed form);
* ``vmf-reference``: the same posterior drawn by the pure-PyTorch sampler
  hvae_ext.reference.vmf_rsample (same law and gradients; the KL is the same
  hvae_ext closed form, so the row isolates the sampler);
* ``tsnf``: the Gaussian posterior followed by K = 4 amortized triangular
  Sylvester steps (hvae_ext.AmortizedTriangularSylvester on the encoder's
  128 features); the KL becomes the one-sample estimate
  log q0(z0) - logdet - log p(z_K).

Each latent is timed twice: the whole step (``step``: zero_grad, forward,
loss, backward, Adam) and the latent path alone (``latent``: encoder
features h [B, 128] given, head -> q -> rsample -> KL -> backward, with the
distributions' default validation; the decoder's gradient is replaced by a
fixed one, (z * g).sum()). Every non-Gaussian case has the Gaussian case of
the same kind, size and device as its baseline, timed in the same run next
to it: "speedup" = Gaussian time / this latent's time, so the ratio to the
Gaussian step is 1 / speedup, and the targets (latent <= 1.5x, step <= 1.1x
the Gaussian at B = 64, z = 10) read as speedup >= 1/1.5 and >= 1/1.1.

Sizes: B in {64, 1024}, z in {10, 64}; --quick runs B = 64, z = 10.
float32 only (a model's dtype), so the suite has no cases without float32.
"""

from __future__ import annotations

from typing import Callable, Dict, List

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Normal, kl_divergence

import hvae_ext
from hvae_ext import reference

from ..registry import Case, suite

BATCHES = (64, 1024)
LATENTS = (10, 64)
KINDS = ("gaussian", "vmf", "vmf-reference", "tsnf")
NUM_FLOWS = 4
IMAGE = 784
HIDDEN = (256, 128)
# The promised ratios to the Gaussian step, at B = 64, z = 10.
TARGET_RATIO = {"latent": 1.5, "step": 1.1}
TARGET_SIZE = (64, 10)


class StepModel(nn.Module):
    """s-vae-pytorch's example VAE with one of the latents above."""

    def __init__(self, kind: str, z_dim: int):
        super().__init__()
        self.kind, self.z_dim = kind, z_dim
        self.encoder = nn.Sequential(nn.Linear(IMAGE, HIDDEN[0]), nn.ReLU(), nn.Linear(*HIDDEN), nn.ReLU())
        self.fc_mean = nn.Linear(HIDDEN[1], z_dim)
        # vMF: one concentration per data point; Gaussian: one scale per coordinate
        self.fc_var = nn.Linear(HIDDEN[1], 1 if kind.startswith("vmf") else z_dim)
        self.flow = hvae_ext.AmortizedTriangularSylvester(HIDDEN[1], z_dim, NUM_FLOWS) if kind == "tsnf" else None
        self.decoder = nn.Sequential(nn.Linear(z_dim, HIDDEN[1]), nn.ReLU(), nn.Linear(HIDDEN[1], HIDDEN[0]),
                                     nn.ReLU(), nn.Linear(HIDDEN[0], IMAGE))

    def latent(self, h: torch.Tensor) -> "tuple[torch.Tensor, torch.Tensor]":
        """(z [B, z_dim], KL or its one-sample estimate [B]) from features h."""
        mean = self.fc_mean(h)
        if self.kind.startswith("vmf"):
            loc = F.normalize(mean, dim=-1)
            kappa = F.softplus(self.fc_var(h)).squeeze(-1) + 1
            q = hvae_ext.VonMisesFisher(loc, kappa)
            prior = hvae_ext.HypersphericalUniform(self.z_dim, device=h.device, dtype=h.dtype)
            z = q.rsample() if self.kind == "vmf" else reference.vmf_rsample(loc, kappa)
            return z, kl_divergence(q, prior)
        q = Normal(mean, F.softplus(self.fc_var(h)))
        if self.kind == "gaussian":
            prior = Normal(torch.zeros_like(mean), torch.ones_like(mean))
            return q.rsample(), kl_divergence(q, prior).sum(-1)
        z0 = q.rsample()
        z_k, logdet = self.flow(z0, h)
        log_prior = -0.5 * (z_k * z_k).sum(-1) - 0.5 * self.z_dim * 1.8378770664093453  # log N(z_K; 0, I)
        return z_k, q.log_prob(z0).sum(-1) - logdet - log_prior

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        z, kl = self.latent(self.encoder(x))
        recon = F.binary_cross_entropy_with_logits(self.decoder(z), x, reduction="none").sum(-1)
        return (recon + kl).mean()


def _step_fns(kind: str, batch: int, z_dim: int, device: str) -> Dict[str, Callable[[], object]]:
    """The whole step and the latent path of one latent, on their own model
    and data (seeded: every kind starts from the same weights where shapes
    agree)."""
    torch.manual_seed(0)
    model = StepModel(kind, z_dim).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(batch, IMAGE, generator=g) < 0.3).float().to(device)
    h = torch.rand(batch, HIDDEN[1], generator=g).to(device).requires_grad_(True)
    grad_z = torch.randn(batch, z_dim, generator=g).to(device)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = model.loss(x)
        loss.backward()
        optimizer.step()
        return loss

    def latent():
        h.grad = None
        for p in model.parameters():
            p.grad = None
        z, kl = model.latent(h)
        loss = kl.mean() + (z * grad_z).sum()
        loss.backward()
        return loss

    return {"step": step, "latent": latent}


@suite("step")
def step_cases(devices: List[str], dtypes: List[torch.dtype], quick: bool) -> List[Case]:
    if torch.float32 not in dtypes:
        return []
    cases = []
    for device in devices:
        for batch in BATCHES[:1] if quick else BATCHES:
            for z_dim in LATENTS[:1] if quick else LATENTS:
                fns = {kind: _step_fns(kind, batch, z_dim, device) for kind in KINDS}
                for part in ("step", "latent"):
                    gaussian = fns["gaussian"][part]
                    cases.append(Case(suite="step", name=f"{part} gaussian B={batch} z={z_dim}", device=device,
                                      dtype=torch.float32, ours=gaussian, elements=batch))
                    for kind in KINDS[1:]:
                        promised = kind == "vmf" and (batch, z_dim) == TARGET_SIZE and device == "cpu"
                        cases.append(Case(
                            suite="step", name=f"{part} {kind} B={batch} z={z_dim}", device=device,
                            dtype=torch.float32, ours=fns[kind][part], baselines={"gaussian": gaussian},
                            elements=batch, target=1.0 / TARGET_RATIO[part] if promised else None,
                        ))
    return cases
