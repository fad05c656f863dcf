"""EM for a mixture of von Mises-Fisher distributions (Banerjee et al. 2005,
"Clustering on the Unit Hypersphere using von Mises-Fisher Distributions"),
in pure PyTorch + hvae_ext, at any dimension m:

    python -m examples.movmf --m 768 --kappa 300 800 2000        # fit a known mixture, print errors
    python -m examples.movmf.figure                               # -> docs/images/movmf_em.png

E-step: log-space responsibilities, log p_k(x) = log C_m(kappa_k) + kappa_k mu_k^T x
through hvae_ext.distributions.vmf_log_normalizer (finite at every m and kappa),
then logsumexp. M-step: hvae_ext.distributions.vmf_mle with the
responsibilities as weights, all components in one batched call
(x [1, N, m] against weights [K, N]); kappa = iv_ratio_inverse(m/2 - 1, rbar).
"""

from .em import MixtureFit, fit_movmf, log_densities, match_components, sample_mixture

__all__ = ["MixtureFit", "fit_movmf", "log_densities", "match_components", "sample_mixture"]
