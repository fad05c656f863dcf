"""Test-set metrics of a trained model and the results table.

``python -m examples.vae.evaluate CHECKPOINT... [--k 500]`` re-evaluates
checkpoints written by ``examples.vae.train`` and prints the table.
"""

from __future__ import annotations

import argparse
import math
import statistics
from typing import Dict, List, Optional, Sequence

import torch
from torch import Tensor

from .models import VAE
from .objectives import elbo, log_likelihood

__all__ = ["evaluate", "results_table", "EVAL_SEED"]

# Evaluation draws its samples from this seed (plus the training seed), so a
# checkpoint always gets the same numbers.
EVAL_SEED = 10_000

LABELS = {"nvae": "N-VAE (Gaussian)", "svae": "S-VAE (vMF)", "nvae_tsnf": "N-VAE + T-SNF"}


@torch.no_grad()
def evaluate(model: VAE, x: Tensor, k: int = 500, elbo_samples: int = 10, batch_size: int = 512,
             seed: int = EVAL_SEED) -> Dict[str, float]:
    """Mean test ELBO (``elbo_samples`` samples per image) and mean
    importance-sampled log-likelihood (k samples, log-mean-exp), in nats per
    image."""
    was_training = model.training
    model.eval()
    torch.manual_seed(seed)
    total_elbo, total_ll = 0.0, 0.0
    for start in range(0, x.shape[0], batch_size):
        xb = x[start:start + batch_size]
        total_elbo += elbo(model, xb, n=elbo_samples).sum().item()
        total_ll += log_likelihood(model, xb, k=k).sum().item()
    model.train(was_training)
    return {"elbo": total_elbo / x.shape[0], "log_likelihood": total_ll / x.shape[0]}


def _mean_std(values: Sequence[float]) -> str:
    std = statistics.stdev(values) if len(values) > 1 else math.nan
    return f"{statistics.mean(values):.2f} ± {std:.2f}" if len(values) > 1 else f"{values[0]:.2f}"


def results_table(rows: List[dict], k: int) -> str:
    """A markdown table, one line per (model, latent_dim): mean ± std over the
    seeds of the test ELBO and the test log-likelihood, and the mean training
    time. ``rows``: dicts with model, latent_dim, seed, elbo, log_likelihood,
    train_seconds."""
    groups: Dict[tuple, List[dict]] = {}
    for row in rows:
        groups.setdefault((row["model"], row["latent_dim"]), []).append(row)
    lines = [
        f"| model | latent | seeds | test ELBO | test log p(x), k = {k} | train time / seed |",
        "|---|---|---|---|---|---|",
    ]
    for (name, d), group in groups.items():
        latent = f"S^{d - 1} ⊂ R^{d}" if name == "svae" else f"R^{d}"
        lines.append(
            f"| {LABELS.get(name, name)} | {latent} | {len(group)} | {_mean_std([r['elbo'] for r in group])} | "
            f"{_mean_std([r['log_likelihood'] for r in group])} | "
            f"{statistics.mean(r['train_seconds'] for r in group):.0f} s |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> str:
    from .data import load
    from .train import load_checkpoint

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--k", type=int, default=500, help="importance samples per test image")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    rows = []
    for path in args.checkpoints:
        model, state = load_checkpoint(path, device=args.device)
        config = state["config"]
        data = load(config["data"])
        result = evaluate(model, data.x_test.to(args.device), k=args.k, seed=EVAL_SEED + config["seed"])
        rows.append({**config, **result, "train_seconds": state.get("train_seconds", math.nan)})
    table = results_table(rows, args.k)
    print(table)
    return table


if __name__ == "__main__":
    main()
