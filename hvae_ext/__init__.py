"""hvae_ext: fast, exact ops for hyperspherical and flow-based VAEs."""

from . import distributions, flows, special
from .distributions import HypersphericalUniform, PowerSpherical, VonMisesFisher
from .flows import (
    AmortizedTriangularSylvester,
    TriangularSylvester,
    TriangularSylvesterHead,
    sylvester_triangular,
    sylvester_triangular_inverse,
)
from .special import iv_ratio, iv_ratio_inverse, log_iv, log_ive

__all__ = [
    "special", "log_iv", "log_ive", "iv_ratio", "iv_ratio_inverse",
    "distributions", "VonMisesFisher", "HypersphericalUniform", "PowerSpherical",
    "flows", "TriangularSylvester", "TriangularSylvesterHead", "AmortizedTriangularSylvester",
    "sylvester_triangular", "sylvester_triangular_inverse",
]
__version__ = "0.1.0"
