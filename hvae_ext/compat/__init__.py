"""Drop-in replacements for the APIs of other hyperspherical-VAE packages.

* ``hvae_ext.compat.svae``: s-vae-pytorch's ``VonMisesFisher(loc, scale)``
  and ``HypersphericalUniform(dim)``, argument conventions and output shapes
  included, backed by hvae_ext's exact sampler and densities.

The native API (``hvae_ext.VonMisesFisher``, ``hvae_ext.HypersphericalUniform``)
is the recommended one for new code (docs/dropin.md).
"""

from . import svae

__all__ = ["svae"]
