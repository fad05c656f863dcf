"""The `step` benchmark suite (benchmarks/suites/step.py): its cases, their
baselines and targets, and that every timed callable runs a real training
step. Nothing is timed here."""

import torch

from benchmarks import suites  # noqa: F401  (registers the suites)
from benchmarks.registry import SUITES
from benchmarks.suites.step import StepModel


def test_quick_cases_and_targets():
    cases = list(SUITES["step"](["cpu"], [torch.float32], True))
    names = [c.name for c in cases]
    kinds = ("gaussian", "vmf", "vmf-reference", "tsnf")
    assert names == [f"{part} {kind} B=64 z=10" for part in ("step", "latent") for kind in kinds]
    for case in cases:
        part, kind = case.name.split()[:2]
        assert case.dtype == torch.float32 and case.elements == 64
        if kind == "gaussian":
            assert not case.baselines and case.target is None
            continue
        assert list(case.baselines) == ["gaussian"]
        # the promised ratios to the Gaussian step, as speedups
        want = {"latent": 1 / 1.5, "step": 1 / 1.1}[part] if kind == "vmf" else None
        assert case.target == want
    assert SUITES["step"](["cpu"], [torch.float64], True) == []  # a float32 model only


def test_every_callable_runs_a_step():
    for case in SUITES["step"](["cpu"], [torch.float32], True):
        for fn in (case.ours, *case.baselines.values()):
            loss = fn()
            assert loss.dim() == 0 and torch.isfinite(loss), case.name


def test_models_train_their_latent():
    x = (torch.rand(16, 784) < 0.3).float()
    for kind in ("gaussian", "vmf", "vmf-reference", "tsnf"):
        torch.manual_seed(0)
        model = StepModel(kind, 10)
        model.loss(x).backward()
        head = model.fc_var.weight.grad
        assert head is not None and head.abs().sum() > 0, kind
        if kind == "tsnf":
            assert model.flow.head.r1.weight.grad.abs().sum() > 0
