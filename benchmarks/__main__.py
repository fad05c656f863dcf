"""`python -m benchmarks`: time every suite and print a table.

Examples:
  python -m benchmarks                      # all suites, every available device
  python -m benchmarks --quick              # small sizes, < 2 minutes on 2 cores
  python -m benchmarks --suite bessel --device cpu --dtype float64 --out results.json --plot results.png
"""

from __future__ import annotations

import argparse
import sys

import torch

from . import suites  # noqa: F401  (registers the suites)
from .registry import SUITES
from .runner import format_table, run_case, write_json, write_plot

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suite", action="append", choices=sorted(SUITES), help="suite(s) to run (default: all)")
    p.add_argument("--device", choices=["cpu", "cuda", "all"], default="all",
                   help="'all' means cpu plus cuda when available (default)")
    p.add_argument("--dtype", action="append", choices=sorted(_DTYPES), help="dtype(s) (default: both)")
    p.add_argument("--threads", type=int, default=torch.get_num_threads(),
                   help="CPU threads for ours and the baselines (default: %(default)s)")
    p.add_argument("--quick", action="store_true", help="small sizes and short timing, for CI")
    p.add_argument("--min-run-time", type=float, default=None,
                   help="seconds of measurement per timing (default 0.05 quick, 0.5 full)")
    p.add_argument("--out", help="write the results as JSON to this path")
    p.add_argument("--plot", help="write a PNG of the speedups to this path (needs matplotlib)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda but torch.cuda.is_available() is False", file=sys.stderr)
        return 2
    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    devices = [d for d in devices if d == "cpu" or torch.cuda.is_available()]
    dtypes = [_DTYPES[d] for d in (args.dtype or sorted(_DTYPES))]
    min_run_time = args.min_run_time or (0.05 if args.quick else 0.5)
    torch.set_num_threads(args.threads)

    rows = []
    for name in args.suite or sorted(SUITES):
        for case in SUITES[name](devices, dtypes, args.quick):
            print(f"  timing {case.suite}/{case.name} [{case.device}, {case.dtype}] ...", file=sys.stderr, flush=True)
            new_rows = run_case(case, args.threads, min_run_time)
            rows.extend(new_rows)
            # each result as it comes, so that a run cut short keeps what it measured
            for r in new_rows:
                speedup = f"{r.speedup:.1f}x vs {r.baseline}" if r.speedup is not None else "no baseline"
                print(f"    ours {r.ours_s * 1e3:.4g} ms, {speedup}", file=sys.stderr, flush=True)
    print(format_table(rows))
    print(f"\n{args.threads} CPU thread(s); times are medians (torch.utils.benchmark); "
          "speedup = baseline time / our time, measured in this run.")
    print("peak = bytes allocated by torch during one call beyond its inputs (CUDA allocator statistics; "
          "CPU: the CPU allocator's events under the autograd profiler's legacy mode; numpy/scipy memory is not "
          "seen, '-'); peak/param = our peak / parameter bytes.")
    print("non-finite ours/base = share of inf/NaN in one call's outputs (scipy's log(ive(v, x)) + x is -inf "
          "where ive underflows).")
    if args.out:
        write_json(args.out, rows, args.threads)
        print(f"wrote {args.out}")
    if args.plot:
        write_plot(args.plot, rows)
        print(f"wrote {args.plot}")
    missed = [r for r in rows if r.target and r.speedup < r.target]
    if missed:
        print(f"{len(missed)} case(s) below their target speedup", file=sys.stderr)
    over = [r for r in rows if r.peak_target and r.peak_per_param is not None and r.peak_per_param > r.peak_target]
    if over:
        print(f"{len(over)} case(s) above their peak-memory bound", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
