"""hvae_ext: fast, exact ops for hyperspherical and flow-based VAEs."""

from . import special
from .special import iv_ratio, log_iv, log_ive

__all__ = ["special", "log_iv", "log_ive", "iv_ratio"]
__version__ = "0.1.0"
