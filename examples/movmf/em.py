"""EM for a mixture of vMFs: init, E-step, M-step, the loop, and data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import torch
from torch import Tensor

from hvae_ext.distributions import VonMisesFisher, vmf_log_normalizer, vmf_mle

__all__ = ["MixtureFit", "log_densities", "init_kmeanspp", "fit_movmf", "sample_mixture", "match_components"]


@dataclass
class MixtureFit:
    weights: Tensor  # [K] mixture weights pi_k
    loc: Tensor  # [K, m] mean directions
    kappa: Tensor  # [K] concentrations
    log_likelihood: List[float] = field(default_factory=list)  # mean log p(x) per point, per iteration
    converged: bool = False


def log_densities(x: Tensor, loc: Tensor, kappa: Tensor) -> Tensor:
    """log p_k(x_n) = log C_m(kappa_k) + kappa_k mu_k^T x_n, [K, N], in the
    scaled form [log C + kappa] - kappa (1 - mu^T x): both terms stay O(m log
    kappa) where log C alone is ~ -kappa."""
    m = x.shape[-1]
    log_c_scaled = vmf_log_normalizer(m, kappa, scaled=True)
    return log_c_scaled[:, None] + kappa[:, None] * (loc @ x.T - 1)


def _e_step(x: Tensor, fit: MixtureFit) -> Tuple[Tensor, Tensor]:
    """Responsibilities [K, N] and the mean log-likelihood, all in log space."""
    joint = log_densities(x, fit.loc, fit.kappa) + torch.log(fit.weights)[:, None]
    log_px = torch.logsumexp(joint, dim=0)
    return torch.exp(joint - log_px), log_px.mean()


def _m_step(x: Tensor, resp: Tensor) -> MixtureFit:
    # A component no point belongs to keeps a positive (tiny) total weight.
    resp = resp.clamp_min(torch.finfo(resp.dtype).tiny)
    vmf = vmf_mle(x[None], resp, validate_args=False)
    weights = resp.sum(1) / resp.sum()
    return MixtureFit(weights, vmf.loc, vmf.concentration)


def init_kmeanspp(x: Tensor, k: int, generator: torch.Generator) -> MixtureFit:
    """k-means++ seeding on the sphere (Arthur & Vassilvitskii 2007) with the
    distance 1 - cos (= half the squared chordal distance), then one M-step
    from the hard assignment to the nearest seed."""
    n = x.shape[0]
    first = torch.randint(n, (1,), generator=generator, device=generator.device).to(x.device)
    seeds = [x[first[0]]]
    closest = 1 - x @ seeds[0]
    for _ in range(1, k):
        p = closest.clamp_min(0)
        p = p / p.sum() if p.sum() > 0 else torch.full_like(p, 1.0 / n)
        idx = torch.multinomial(p.to(generator.device), 1, generator=generator).to(x.device)
        seeds.append(x[idx[0]])
        closest = torch.minimum(closest, 1 - x @ seeds[-1])
    centres = torch.stack(seeds)
    hard = torch.nn.functional.one_hot((centres @ x.T).argmax(0), k).T.to(x.dtype)
    return _m_step(x, hard)


def _run_em(x: Tensor, fit: MixtureFit, max_iter: int, tol: float, history: Optional[List[float]] = None) -> MixtureFit:
    history = list(history or [])
    converged = False
    for _ in range(max_iter):
        resp, ll = _e_step(x, fit)
        history.append(ll.item())  # one scalar read per iteration: the convergence test
        if len(history) > 1 and abs(history[-1] - history[-2]) <= tol * max(1.0, abs(history[-1])):
            converged = True
            break
        fit = _m_step(x, resp)
    fit.log_likelihood = history
    fit.converged = converged
    return fit


def fit_movmf(
    x: Tensor,
    k: int,
    max_iter: int = 200,
    tol: float = 1e-10,
    seed: int = 0,
    n_init: int = 4,
    init_iter: int = 5,
    init: Optional[MixtureFit] = None,
) -> MixtureFit:
    """EM for a K-component vMF mixture on unit vectors x [N, m].

    Stops when the mean log-likelihood per point changes by less than
    ``tol * max(1, |value|)`` (EM increases it monotonically), or after
    ``max_iter`` iterations. EM finds a local maximum, and in high dimension
    a k-means++ seeding can put two seeds in one diffuse cluster (its points
    are nearly orthogonal to each other). So ``n_init`` seedings (generator
    seeded with ``seed``) each get ``init_iter`` EM iterations, and the one of
    the highest log-likelihood is continued to convergence; its
    ``log_likelihood`` history includes those first iterations. ``init``
    gives one starting point instead.
    """
    if init is not None:
        return _run_em(x, init, max_iter, tol)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    best = None
    for _ in range(n_init):
        fit = _run_em(x, init_kmeanspp(x, k, generator), init_iter, tol)
        if best is None or fit.log_likelihood[-1] > best.log_likelihood[-1]:
            best = fit
    if best.converged:
        return best
    # the last E-step's responsibilities were not used yet: continue from them
    return _run_em(x, _m_step(x, _e_step(x, best)[0]), max_iter - init_iter, tol, best.log_likelihood)


def sample_mixture(
    weights: Tensor, loc: Tensor, kappa: Tensor, n: int, generator: torch.Generator
) -> Tuple[Tensor, Tensor]:
    """n points of the mixture (our VonMisesFisher sampler) and their labels."""
    labels = torch.multinomial(weights.to(generator.device), n, replacement=True, generator=generator)
    labels = labels.to(loc.device)
    counts = torch.bincount(labels, minlength=weights.shape[0]).tolist()
    x = torch.empty(n, loc.shape[-1], dtype=loc.dtype, device=loc.device)
    for j, c in enumerate(counts):
        if c:
            x[labels == j] = VonMisesFisher(loc[j], kappa[j]).sample((c,), generator=generator)
    return x, labels


def match_components(true_loc: Tensor, est_loc: Tensor) -> List[int]:
    """The permutation p with est component p[j] matched to true component j,
    maximising the total cosine (exhaustive: K is small)."""
    from itertools import permutations

    cos = true_loc @ est_loc.T
    k = cos.shape[0]
    best = max(permutations(range(k)), key=lambda p: sum(cos[j, p[j]].item() for j in range(k)))
    return list(best)
