"""Benchmark suites; importing this package registers them."""

from . import bessel  # noqa: F401
from . import iwae  # noqa: F401
from . import step  # noqa: F401
from . import sylvester  # noqa: F401
from . import vmf  # noqa: F401
