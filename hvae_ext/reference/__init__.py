"""Slow, plainly written pure-PyTorch versions of the ops.

These are the baselines of the benchmarks and the oracles of the tests for
small cases: what an expert would write in plain PyTorch, vectorised, on any
device, short enough to check by eye against the formulas they cite. The
exact oracles for accuracy are mpmath and closed forms. One module per op
family; the public names are re-exported here.
"""

from .bessel import iv_ratio, log_iv, log_ive
from .vmf import vmf_rsample

__all__ = ["log_iv", "log_ive", "iv_ratio", "vmf_rsample"]
