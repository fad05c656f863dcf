"""Benchmark cases and the registry of suites."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import torch


@dataclass
class Case:
    """One timed workload: our op against one or more baselines, same inputs.

    `ours` and each baseline are argument-free callables that run the whole
    workload once (inputs are captured, so only the op is timed).
    """

    suite: str
    name: str
    device: str
    dtype: torch.dtype
    ours: Callable[[], object]
    baselines: Dict[str, Callable[[], object]] = field(default_factory=dict)
    elements: int = 0  # items processed per call, for elements/s
    bytes_moved: int = 0  # minimal bytes read + written per call, for GB/s (0: not reported)
    target: Optional[float] = None  # speedup the project promises against the first baseline
    param_bytes: int = 0  # bytes of the op's parameter tensors: the unit of peak memory (0: not reported)
    peak_target: Optional[float] = None  # promised bound on our peak memory / param_bytes
    count_nonfinite: bool = False  # report the share of inf/NaN in each callable's outputs


# suite name -> factory(devices, dtypes, quick) -> cases
Suite = Callable[[List[str], List[torch.dtype], bool], List[Case]]
SUITES: Dict[str, Suite] = {}


def suite(name: str):
    """Registers a suite factory under `name`."""

    def register(factory: Suite) -> Suite:
        SUITES[name] = factory
        return factory

    return register
