"""hvae_ext: fast, exact ops for hyperspherical and flow-based VAEs."""

from . import special
from .special import iv_ratio, log_iv, log_ive
from . import distributions
from .distributions import HypersphericalUniform, VonMisesFisher

__all__ = ["special", "log_iv", "log_ive", "iv_ratio"]
__all__ += ["distributions", "VonMisesFisher", "HypersphericalUniform"]
__version__ = "0.1.0"
