"""examples/movmf: EM for a mixture of vMFs recovers a known 3-component
mixture at m in {10, 256, 768} with kappa up to 2000 (parameters within the
sampling error of the sample size), and the log-likelihood never decreases."""

import math

import pytest
import torch

from examples.movmf import __main__ as movmf_cli
from examples.movmf import fit_movmf, log_densities, match_components, sample_mixture
from hvae_ext.distributions import VonMisesFisher
from hvae_ext.special import iv_ratio, iv_ratio_inverse

CASES = {10: [50.0, 300.0, 2000.0], 256: [100.0, 600.0, 2000.0], 768: [300.0, 800.0, 2000.0]}
WEIGHTS = [0.5, 0.3, 0.2]
N = 3000


def _kappa_centre_and_sd(m, kappa, n):
    """First-order sampling law of the MLE kappa from n points of one vMF
    (as in test_vmf_mle): centred on A^{-1}(sqrt(A^2 + (1 - A^2)/n)), sd
    1/sqrt(n A'(kappa))."""
    v = 0.5 * m - 1
    k = torch.tensor([kappa], dtype=torch.float64)
    a = iv_ratio(v, k)
    a_prime = torch.ops.hvae._iv_ratio_backward(torch.ones_like(k), torch.tensor(v, dtype=torch.float64), k)
    return iv_ratio_inverse(v, torch.sqrt(a * a + (1 - a * a) / n)).item(), 1 / math.sqrt(n * a_prime.item())


@pytest.mark.parametrize("m", sorted(CASES))
def test_em_recovers_a_known_mixture(m, device):
    (w, loc, kappa) = movmf_cli.known_mixture(m, CASES[m], WEIGHTS, seed=m, device=device)
    g = torch.Generator(device=device).manual_seed(100 + m)
    x, labels = sample_mixture(w, loc, kappa, N, generator=g)
    fit = fit_movmf(x, 3, seed=0)
    assert fit.converged
    ll = torch.tensor(fit.log_likelihood)
    assert (ll[1:] - ll[:-1] >= -1e-9 * ll.abs()[1:]).all()  # EM is monotone
    perm = match_components(loc, fit.loc)
    counts = torch.bincount(labels, minlength=3).tolist()
    for j, e in enumerate(perm):
        n_j = counts[j]
        # weights: the fraction of points drawn from j exactly, up to the
        # responsibilities of the (few) points in the overlap
        assert abs(fit.weights[e].item() - n_j / N) <= 2e-3, (m, j)
        a = iv_ratio(0.5 * m - 1, kappa[j : j + 1].cpu()).item()
        cos = (loc[j] @ fit.loc[e]).item()
        # 1 - cos ~ chi^2_{m-1} (1 - A^2)/(2 n A^2 (m-1)): 15x the mean is never reached by chance
        assert 1 - cos <= 15 * (1 - a * a) / (2 * n_j * a * a), (m, j, cos)
        centre, sd = _kappa_centre_and_sd(m, kappa[j].item(), n_j)
        assert abs(fit.kappa[e].item() - centre) <= 5 * sd, (m, j, fit.kappa[e].item(), centre, sd)
        # and the plain relative error, for the record: a few percent at this N
        assert abs(fit.kappa[e].item() / kappa[j].item() - 1) <= 0.06


def test_log_densities_match_the_distribution():
    g = torch.Generator().manual_seed(0)
    loc = torch.nn.functional.normalize(torch.randn(3, 768, dtype=torch.float64, generator=g), dim=-1)
    kappa = torch.tensor([1.0, 700.0, 2000.0], dtype=torch.float64)
    x = VonMisesFisher(loc[1], kappa[1]).sample((5,), generator=g)
    got = log_densities(x, loc, kappa)
    for k in range(3):
        want = VonMisesFisher(loc[k], kappa[k]).log_prob(x)
        torch.testing.assert_close(got[k], want, rtol=1e-12, atol=1e-9)


def test_cli_runs(capsys):
    movmf_cli.main(["--m", "32", "--kappa", "50", "500", "--n", "400", "--device", "cpu"])
    out = capsys.readouterr().out
    assert "k-means++ seedings" in out and "converged" in out
