"""Times the registered cases and reports medians, ratios and throughput."""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass, asdict
from typing import List, Optional

import numpy as np
import torch
from torch.utils import benchmark as tbench

from .registry import Case


@dataclass
class Row:
    suite: str
    case: str
    device: str
    dtype: str
    baseline: str
    ours_s: float
    baseline_s: Optional[float]
    speedup: Optional[float]
    elements_per_s: Optional[float]
    gb_per_s: Optional[float]
    target: Optional[float]
    # Peak bytes allocated by torch during one call, above what was allocated
    # before it (see peak_bytes), and ours relative to the case's param_bytes.
    ours_peak_bytes: Optional[int] = None
    baseline_peak_bytes: Optional[int] = None
    peak_per_param: Optional[float] = None
    peak_target: Optional[float] = None
    # Share of inf/NaN in one call's outputs (cases with count_nonfinite):
    # scipy's log(ive(v, x)) + x is -inf where ive underflows.
    ours_nonfinite: Optional[float] = None
    baseline_nonfinite: Optional[float] = None


def median_seconds(fn, threads: int, min_run_time: float) -> float:
    """Median time of one call of `fn`, by torch.utils.benchmark (which
    synchronises CUDA around each measurement) at an explicit thread count."""
    fn()  # warm up: lazy initialisation, allocator, compile caches
    timer = tbench.Timer(stmt="fn()", globals={"fn": fn}, num_threads=threads)
    return timer.blocked_autorange(min_run_time=min_run_time).median


def peak_bytes(fn, device: str) -> Optional[int]:
    """Peak bytes allocated by torch during one call of `fn`, above what was
    allocated when it started: temporaries, saved tensors, gradients and
    outputs count, inputs that exist before the call do not.

    CUDA: the caching allocator's statistics (allocated, not reserved, bytes).
    CPU: torch keeps no allocator statistics, so see _cpu_peak_bytes."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        before = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        fn()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - before
    return _cpu_peak_bytes(fn)


def _cpu_peak_bytes(fn) -> Optional[int]:
    """Torch's CPU allocator reports each allocation and free, with its size,
    to the profiler that is active on the calling thread. One call runs under
    the autograd profiler in its legacy (CPU-only) mode with memory events on;
    replaying the events in time order gives the peak. The legacy mode is used
    because torch.profiler's Kineto backend prints two USDT lines to stderr
    each time it starts and stops. It is torch's private entry point: None
    when this torch does not have it. Numpy/scipy allocations are not seen."""
    try:
        from torch._C._autograd import _disable_profiler_legacy, _enable_profiler_legacy
        from torch._C._profiler import ProfilerConfig, ProfilerState, _ExperimentalConfig

        config = ProfilerConfig(ProfilerState.CPU, False, True, False, False, False, _ExperimentalConfig())
    except (ImportError, TypeError):
        return None
    _enable_profiler_legacy(config)
    try:
        fn()
    finally:
        threads = _disable_profiler_legacy()
    # One list per thread, each in time order; a stable sort merges them.
    events = sorted(
        ((e.start_us(), e.cpu_memory_usage()) for thread in threads for e in thread
         if e.kind() == "memory_alloc" and e.cpu_memory_usage() != 0),
        key=lambda event: event[0],
    )
    live = peak = 0
    for _, nbytes in events:  # allocations are positive, frees negative
        live += nbytes
        peak = max(peak, live)
    return peak


def nonfinite_share(out) -> Optional[float]:
    """Share of inf/NaN values among the floating-point values `out` returns
    (a tensor, a numpy array, or a tuple/list of them); None if there are none."""
    arrays = []

    def collect(o):
        if isinstance(o, torch.Tensor):
            if o.is_floating_point():
                arrays.append(o.detach().cpu().double().numpy())
        elif isinstance(o, np.ndarray):
            if np.issubdtype(o.dtype, np.floating):
                arrays.append(o)
        elif isinstance(o, (tuple, list)):
            for item in o:
                collect(item)

    collect(out)
    total = sum(a.size for a in arrays)
    if total == 0:
        return None
    return sum(int(np.count_nonzero(~np.isfinite(a))) for a in arrays) / total


def run_case(case: Case, threads: int, min_run_time: float, memory: bool = True) -> List[Row]:
    ours = median_seconds(case.ours, threads, min_run_time)
    ours_peak = peak_bytes(case.ours, case.device) if memory else None
    common = dict(
        suite=case.suite,
        case=case.name,
        device=case.device,
        dtype=str(case.dtype).replace("torch.", ""),
        ours_s=ours,
        elements_per_s=case.elements / ours if case.elements else None,
        gb_per_s=case.bytes_moved / ours / 1e9 if case.bytes_moved else None,
        ours_peak_bytes=ours_peak,
        peak_per_param=ours_peak / case.param_bytes if (ours_peak is not None and case.param_bytes) else None,
        peak_target=case.peak_target,
        ours_nonfinite=nonfinite_share(case.ours()) if case.count_nonfinite else None,
    )
    if not case.baselines:
        return [Row(baseline="-", baseline_s=None, speedup=None, target=None, **common)]
    rows = []
    for i, (name, fn) in enumerate(case.baselines.items()):
        base = median_seconds(fn, threads, min_run_time)
        out = fn()
        # torch's allocator does not see numpy's memory: no peak for a numpy baseline.
        measurable = memory and not isinstance(out, np.ndarray)
        rows.append(
            Row(baseline=name, baseline_s=base, speedup=base / ours,
                target=case.target if i == 0 else None,
                baseline_peak_bytes=peak_bytes(fn, case.device) if measurable else None,
                baseline_nonfinite=nonfinite_share(out) if case.count_nonfinite else None, **common)
        )
    return rows


def _time(seconds: Optional[float]) -> str:
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def _bytes(n: Optional[int]) -> str:
    if n is None:
        return "-"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} B"


def _peak_ratio(r: Row) -> str:
    if r.peak_per_param is None:
        return "-"
    text = f"{r.peak_per_param:.2f}"
    if r.peak_target:
        text += f" (<={r.peak_target:g} {'ok' if r.peak_per_param <= r.peak_target else 'MISSED'})"
    return text


def _share(share: Optional[float]) -> str:
    if share is None:
        return "-"
    if share == 0:
        return "0"
    return f"{100 * share:.3g}%"


def _nonfinite(r: Row) -> str:
    if r.ours_nonfinite is None and r.baseline_nonfinite is None:
        return "-"
    return f"{_share(r.ours_nonfinite)} / {_share(r.baseline_nonfinite)}"


def format_table(rows: List[Row]) -> str:
    header = ("case", "device", "dtype", "ours", "baseline", "base time", "speedup", "target", "elem/s", "GB/s",
              "peak", "base peak", "peak/param", "non-finite ours/base")
    lines = [header]
    for r in rows:
        lines.append((
            f"{r.suite}/{r.case}",
            r.device,
            r.dtype,
            _time(r.ours_s),
            r.baseline,
            _time(r.baseline_s),
            f"{r.speedup:.1f}x" if r.speedup is not None else "-",
            f">={r.target:g}x {'ok' if r.speedup >= r.target else 'MISSED'}" if r.target else "",
            f"{r.elements_per_s:.3g}" if r.elements_per_s else "-",
            f"{r.gb_per_s:.3g}" if r.gb_per_s else "-",
            _bytes(r.ours_peak_bytes),
            _bytes(r.baseline_peak_bytes),
            _peak_ratio(r),
            _nonfinite(r),
        ))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for k, line in enumerate(lines):
        out.append("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def environment(threads: int) -> dict:
    env = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "threads": threads,
    }
    if torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name()
    return env


def write_json(path: str, rows: List[Row], threads: int) -> None:
    with open(path, "w") as f:
        json.dump({"environment": environment(threads), "rows": [asdict(r) for r in rows]}, f, indent=1)


def write_plot(path: str, rows: List[Row]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    timed = [r for r in rows if r.speedup is not None]
    labels = [f"{r.suite}/{r.case} {r.device} {r.dtype} vs {r.baseline}" for r in timed]
    fig, ax = plt.subplots(figsize=(9, 0.3 * len(timed) + 1.5))
    ax.barh(range(len(timed)), [r.speedup for r in timed], color="tab:blue")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yticks(range(len(timed)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("speedup over baseline (median time ratio)")
    ax.set_title("hvae_ext kernel benchmarks")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
