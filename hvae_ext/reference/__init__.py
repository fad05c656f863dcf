"""Slow, plainly written pure-PyTorch versions of the ops.

These are the baselines of the benchmarks and the oracles of the tests for
small cases: what an expert would write in plain PyTorch, vectorised, on any
device, short enough to check by eye against the formulas they cite. The
exact oracles for accuracy are mpmath and closed forms. One module per op
family; the public names are re-exported here.
"""

from .bessel import iv_ratio, log_iv, log_ive
from .power_spherical import (
    ps_entropy_reference,
    ps_log_normalizer_reference,
    ps_log_prob_reference,
    ps_sample_reference,
)
from .sylvester import sylvester_triangular
from .vmf import vmf_rsample

__all__ = [
    "log_iv", "log_ive", "iv_ratio", "sylvester_triangular", "vmf_rsample",
    "ps_log_normalizer_reference", "ps_entropy_reference", "ps_log_prob_reference", "ps_sample_reference",
]
