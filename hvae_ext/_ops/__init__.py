"""Loads the compiled operator library and registers its Python parts.

The C++ library (`hvae_ext._C`) defines the schemas and the CPU/CUDA kernels
of `torch.ops.hvae.*`. The fake kernels (for torch.compile and meta tensors)
and the autograd formulas are registered here, one module per op family.
"""

from hvae_ext import _C  # noqa: F401  (importing it registers torch.ops.hvae)

from . import bessel  # noqa: F401
from . import sylvester  # noqa: F401
from . import vmf  # noqa: F401
from . import vmf_density  # noqa: F401
from . import power_spherical  # noqa: F401
from . import power_spherical_density  # noqa: F401
