"""hvae_ext: fast, exact ops for hyperspherical and flow-based VAEs."""

from . import special
from .special import iv_ratio, log_iv, log_ive
from . import flows
from .flows import AmortizedTriangularSylvester, TriangularSylvester, TriangularSylvesterHead
from .flows import sylvester_triangular, sylvester_triangular_inverse

__all__ = ["special", "log_iv", "log_ive", "iv_ratio"]
__all__ += ["flows", "TriangularSylvester", "TriangularSylvesterHead", "AmortizedTriangularSylvester"]
__all__ += ["sylvester_triangular", "sylvester_triangular_inverse"]
__version__ = "0.1.0"
