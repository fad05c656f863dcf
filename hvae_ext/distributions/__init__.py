"""Hyperspherical distributions in the torch.distributions API.

* ``VonMisesFisher(loc, concentration)``: the vMF law on S^{m-1}, with
  reparameterized sampling (hvae_ext's sampler op), log_prob, entropy, mean,
  mode; KLs to ``HypersphericalUniform`` and to another vMF are registered
  with ``torch.distributions.kl_divergence``.
* ``HypersphericalUniform(dim)``: the uniform law on S^{dim-1} (``dim`` is
  the ambient dimension m, as for ``VonMisesFisher``).
* ``vmf_log_normalizer(m, kappa)``: log C_m(kappa), with derivative -A_m(kappa).
* ``vmf_kl_uniform(m, kappa)``, ``vmf_entropy(m, kappa)``,
  ``vmf_kl_vmf(m, kappa1, kappa2, d)``: the KLs and entropy as functions of
  the concentrations (one fused op each; the distributions call the same ops).
* ``vmf_mle(x, weights=None)``: the maximum-likelihood ``VonMisesFisher`` of
  unit vectors x ``[..., N, m]`` (optionally weighted, e.g. by EM
  responsibilities): loc = the normalised mean, kappa =
  ``hvae_ext.special.iv_ratio_inverse(m/2 - 1, |mean|)``; batched and
  differentiable, and finite at every m (no I_v overflow).
* ``PowerSpherical(loc, scale)``: the Power Spherical law (De Cao & Aziz
  2020) on S^{m-1}, fused sampler and density ops; KL to
  ``HypersphericalUniform`` registered.
* ``power_spherical_log_normalizer(m, kappa)``, ``power_spherical_entropy(m, kappa)``,
  ``power_spherical_kl_uniform(m, kappa)``: its functions of kappa (one fused op each).
"""

from . import kl as _kl  # noqa: F401  (registers the KL divergences)
from ._normalizer import vmf_entropy, vmf_kl_uniform, vmf_kl_vmf, vmf_log_normalizer
from .constraints import sphere
from ._power_spherical_normalizer import (
    power_spherical_entropy,
    power_spherical_kl_uniform,
    power_spherical_log_normalizer,
)
from .hyperspherical_uniform import HypersphericalUniform
from .mle import vmf_mle
from .power_spherical import PowerSpherical
from .von_mises_fisher import VonMisesFisher

__all__ = [
    "VonMisesFisher",
    "HypersphericalUniform",
    "PowerSpherical",
    "vmf_log_normalizer",
    "vmf_kl_uniform",
    "vmf_entropy",
    "vmf_kl_vmf",
    "vmf_mle",
    "power_spherical_log_normalizer",
    "power_spherical_entropy",
    "power_spherical_kl_uniform",
    "sphere",
]
