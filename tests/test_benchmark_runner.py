"""The benchmark runner on a toy suite: table, JSON, peak memory, --quick.

Timings are not checked (they are not reproducible); what is checked is that
every case becomes rows with the right fields, and that the peak-memory
measure counts exactly the bytes a call allocates beyond its inputs.
"""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from benchmarks import __main__ as cli
from benchmarks.registry import SUITES, Case, suite
from benchmarks.runner import format_table, nonfinite_share, peak_bytes, run_case

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MB = 1 << 20


def _temporary_then_result(device):
    """Allocates 4 MiB, then 2 MiB while the first is alive, frees the first
    and returns the second: peak 6 MiB, 2 MiB still alive at the end."""
    x = torch.ones(MB // 4, device=device)  # an input: allocated before the call

    def fn():
        a = x.repeat(4)  # 4 MiB
        b = torch.empty(MB // 2, device=device)  # 2 MiB while `a` is alive
        del a
        return b

    return fn


@pytest.fixture
def toy_suite():
    calls = []

    @suite("toy")
    def toy(devices, dtypes, quick):
        calls.append(quick)
        for device in devices:
            for dtype in dtypes:
                n = 1 << (10 if quick else 12)
                x = torch.linspace(0, 1, n, device=device, dtype=dtype)
                yield Case(
                    suite="toy", name=f"sin n={n}", device=device, dtype=dtype,
                    ours=lambda x=x: torch.sin(x), baselines={"cos": lambda x=x: torch.cos(x)},
                    elements=n, bytes_moved=2 * n * x.element_size(), target=0.01,
                    param_bytes=n * x.element_size(), peak_target=3.0,
                )

    yield calls
    del SUITES["toy"]


def test_peak_bytes_counts_temporaries_not_inputs(device):
    fn = _temporary_then_result(device)
    peak = peak_bytes(fn, device)
    assert 6 * MB <= peak <= 6 * MB + 4096, peak


def test_peak_bytes_of_an_allocation_free_call(device):
    x = torch.ones(1000, device=device)
    assert peak_bytes(lambda: x.add_(x), device) == 0  # (a Python scalar would be wrapped in a 0-dim tensor)


def test_run_case_rows_and_table():
    x = torch.ones(MB // 4)
    case = Case(suite="toy", name="add", device="cpu", dtype=torch.float32, ours=lambda: x + x,
                baselines={"a": lambda: x * x, "b": lambda: (x + x) * x},
                elements=x.numel(), bytes_moved=8 * x.numel(), target=1e-3,
                param_bytes=4 * x.numel(), peak_target=1.5)
    rows = run_case(case, threads=1, min_run_time=0.01)
    assert [r.baseline for r in rows] == ["a", "b"]
    assert rows[0].target == 1e-3 and rows[1].target is None  # the target is against the first baseline
    for r in rows:
        assert r.ours_peak_bytes == MB  # one output of 1 MiB
        assert r.peak_per_param == 1.0 and r.peak_target == 1.5
        assert r.speedup == pytest.approx(r.baseline_s / r.ours_s)
    assert rows[0].baseline_peak_bytes == MB
    assert rows[1].baseline_peak_bytes == 2 * MB  # x + x alive while (x + x) * x is written
    table = format_table(rows)
    assert "peak/param" in table and "1.00 (<=1.5 ok)" in table and "1.05 MB" in table


def test_run_case_without_memory_or_baselines():
    case = Case(suite="toy", name="noop", device="cpu", dtype=torch.float32, ours=lambda: None)
    (row,) = run_case(case, threads=1, min_run_time=0.01, memory=False)
    assert row.baseline == "-" and row.speedup is None
    assert row.ours_peak_bytes is None and row.peak_per_param is None
    assert "noop" in format_table([row])


def test_cli_quick_table_and_json(toy_suite, tmp_path, capsys):
    out = tmp_path / "results.json"
    code = cli.main(["--suite", "toy", "--device", "cpu", "--dtype", "float32", "--dtype", "float64",
                     "--quick", "--threads", "1", "--min-run-time", "0.01", "--out", str(out)])
    assert code == 0
    assert toy_suite == [True]  # --quick reaches the suite
    printed = capsys.readouterr().out
    assert "toy/sin n=1024" in printed and "peak/param" in printed and "(<=3 ok)" in printed
    data = json.loads(out.read_text())
    assert data["environment"]["threads"] == 1
    rows = data["rows"]
    assert {(r["dtype"], r["baseline"]) for r in rows} == {("float32", "cos"), ("float64", "cos")}
    for r in rows:
        size = 4 if r["dtype"] == "float32" else 8
        assert r["case"] == "sin n=1024" and r["target"] == 0.01 and r["peak_target"] == 3.0
        assert r["ours_peak_bytes"] == 1024 * size  # the output
        assert r["baseline_peak_bytes"] == 1024 * size
        assert r["peak_per_param"] == 1.0


def test_cli_full_sizes_without_quick(toy_suite, capsys):
    assert cli.main(["--suite", "toy", "--device", "cpu", "--dtype", "float32",
                     "--threads", "1", "--min-run-time", "0.01"]) == 0
    assert toy_suite == [False]
    assert "toy/sin n=4096" in capsys.readouterr().out


def test_sylvester_suite_quick_cases():
    # The registered T-SNF suite: the promised case is in --quick with its
    # targets, and its byte counts follow the packed layout. Nothing is timed.
    from benchmarks import suites  # noqa: F401  (registers the suites)

    cases = list(SUITES["sylvester"](["cpu"], [torch.float32], True))
    names = [c.name for c in cases]
    assert "fwd B=256 D=64 K=8" in names and "fwd+bwd B=256 D=64 K=8" in names
    for case in cases:
        batch, dim, num_flows = (int(part.split("=")[1]) for part in case.name.split()[1:])
        tri = dim * (dim + 1) // 2
        assert case.param_bytes == 4 * batch * num_flows * (2 * tri + dim)
        assert case.peak_target == 3.0 and case.elements == batch * num_flows
        assert list(case.baselines) == ["reference (dense bmm)"]
        promised = case.name == "fwd+bwd B=256 D=64 K=8"
        assert case.target == (20.0 if promised else None)
        extra = 4 * (4 * batch * dim + 2 * batch) if case.name.startswith("fwd+bwd") else 4 * (2 * batch * dim + batch)
        params_passes = 3 if case.name.startswith("fwd+bwd") else 1
        assert case.bytes_moved == params_passes * case.param_bytes + extra
    small = cases[1]  # fwd+bwd B=256 D=16 K=4: run ours once
    grads = small.ours()
    assert [g.shape for g in grads] == [(256, 16), (256, 4, 136), (256, 4, 136), (256, 4, 16)]


def test_iwae_suite_quick_cases():
    # The registered IWAE suite: the promised cases are in --quick with their
    # targets and peak units (the samples' bytes); a small case's ours and
    # baseline compute the same thing. Only the small case is run.
    from benchmarks import suites  # noqa: F401  (registers the suites)

    cases = list(SUITES["iwae"](["cpu"], [torch.float32, torch.float64], True))
    by_name = {c.name: c for c in cases}
    assert {c.dtype for c in cases} == {torch.float32}
    target = by_name["T-SNF fwd S=256 B=64 D=32 K=8"]
    assert target.target == 3.0 and list(target.baselines) == ["flattened copy"]
    assert target.param_bytes == 4 * 256 * 64 * 32
    vmf = by_name["vMF sample((2000,)) B=100 m=512"]
    assert vmf.peak_target == 1.3 and vmf.param_bytes == 4 * 2000 * 100 * 512
    small = by_name["T-SNF fwd S=64 B=16 D=16 K=4"]
    (z_k, logdet), (z_f, logdet_f) = small.ours(), small.baselines["flattened copy"]()
    assert z_k.shape == (64, 16, 16) and logdet.shape == (64, 16)
    torch.testing.assert_close(z_k, z_f.view(64, 16, 16), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(logdet, logdet_f.view(64, 16), rtol=1e-5, atol=1e-5)


def _tensors(out):
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _tensors(o)]
    return []


def test_bessel_suite_cases_compute_in_their_dtype():
    # Each case must time its own inputs: the cases are built in a loop over
    # dtypes and run after it, so a callable that looked its tensors up late
    # would run every case on the last dtype's data (this happened once).
    from benchmarks import suites  # noqa: F401  (registers the suites)

    cases = list(SUITES["bessel"](["cpu"], [torch.float32, torch.float64], True))
    assert {c.dtype for c in cases} == {torch.float32, torch.float64}
    for case in cases:
        for fn in [case.ours, *case.baselines.values()]:
            outs = _tensors(fn())
            assert all(t.dtype == case.dtype for t in outs), (case.name, case.dtype)


def test_peak_bytes_sees_allocations_inside_our_ops():
    # The kernels allocate their outputs (and the vMF scratch) in C++: the
    # CPU measure must see those, not only Python-level tensors.
    import hvae_ext

    x = torch.rand(1 << 16, dtype=torch.float64) + 0.5
    assert peak_bytes(lambda: hvae_ext.log_iv(3.0, x), "cpu") >= x.numel() * 8


def test_nonfinite_share_counts_inf_and_nan_in_any_output():
    assert nonfinite_share(np.array([0.0, -np.inf, np.nan, 1.0])) == 0.5
    assert nonfinite_share(torch.tensor([1.0, float("inf")])) == 0.5
    assert nonfinite_share((torch.ones(3), np.array([np.inf]))) == 0.25
    assert nonfinite_share(torch.arange(3)) is None and nonfinite_share(None) is None


def test_run_case_counts_the_baselines_nonfinite_outputs():
    case = Case(suite="toy", name="log", device="cpu", dtype=torch.float64,
                ours=lambda: torch.zeros(4), baselines={"numpy": lambda: np.full(4, -np.inf)},
                count_nonfinite=True)
    (row,) = run_case(case, threads=1, min_run_time=0.01)
    assert row.ours_nonfinite == 0 and row.baseline_nonfinite == 1.0
    assert row.ours_peak_bytes == 16 and row.baseline_peak_bytes is None  # numpy memory is not torch's
    assert "0 / 100%" in format_table([row])


def test_benchmark_cli_keeps_stderr_clean():
    # The CLI as a user runs it, on the Bessel suite (scipy baseline whose
    # -inf used to warn; peak memory measured for every case, which used to
    # print the profiler's USDT lines). stderr may hold only the progress
    # lines; the table goes to stdout with the non-finite column.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    env["PYTHONPATH"] = ROOT
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--suite", "bessel", "--device", "cpu", "--dtype", "float64",
         "--quick", "--threads", "1", "--min-run-time", "0.01"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    err = proc.stderr
    assert "USDT" not in err and "Warning" not in err and "warn" not in err.lower(), err
    for line in err.splitlines():
        assert line.startswith(("  timing ", "    ours ")) or "below their target" in line, line
    assert "non-finite ours/base" in proc.stdout
    # scipy's log(ive) + x is -inf on part of these inputs; ours is finite everywhere.
    scipy_rows = [line for line in proc.stdout.splitlines() if "log_iv vMF orders" in line and " scipy " in line]
    assert len(scipy_rows) == 1, proc.stdout
    share = re.search(r"  0 / ([0-9.]+)%$", scipy_rows[0])
    assert share and float(share.group(1)) > 0, scipy_rows
