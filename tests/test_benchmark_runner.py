"""The benchmark runner on a toy suite: table, JSON, peak memory, --quick.

Timings are not checked (they are not reproducible); what is checked is that
every case becomes rows with the right fields, and that the peak-memory
measure counts exactly the bytes a call allocates beyond its inputs.
"""

import json

import pytest
import torch

from benchmarks import __main__ as cli
from benchmarks.registry import SUITES, Case, suite
from benchmarks.runner import format_table, peak_bytes, run_case

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
