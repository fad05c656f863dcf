"""Train the VAE family and print the results table.

    python -m examples.vae.train                          # all three models, seeds 0 1 2, digits
    python -m examples.vae.train --model svae --seeds 0   # one model, one seed
    python -m examples.vae.train --data my_images.npz --device cuda

For each (model, seed): train with Adam on -ELBO, checkpoint to
``--out/<data>_<model>_d<latent>_seed<seed>.pt`` (every ``--checkpoint-every``
epochs and at the end; ``--resume`` continues from it), then evaluate the
test ELBO and the importance-sampled test log-likelihood (``--k`` samples).
The table (mean ± std over seeds) is printed and written to
``--out/results.md``.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import asdict, dataclass, field
from typing import List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from .data import Dataset, load
from .evaluate import EVAL_SEED, evaluate, results_table
from .models import MODELS, VAE, build_model
from .objectives import NegativeELBO

__all__ = ["TrainConfig", "make_model", "train_step", "fit", "run", "load_checkpoint", "main"]


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved in its checkpoint)."""

    model: str = "svae"
    latent_dim: int = 5
    hidden: Tuple[int, ...] = (256, 128)
    num_flows: int = 4
    epochs: int = 150
    max_steps: Optional[int] = None   # stop early after this many steps (smoke tests)
    batch_size: int = 64
    lr: float = 1e-3
    seed: int = 0
    device: str = "cpu"
    data: Optional[str] = None        # None: scikit-learn's digits; else an .npz path
    compile: bool = False             # torch.compile the loss (forward and backward)
    extra: dict = field(default_factory=dict)


def make_model(config: TrainConfig, num_pixels: int) -> VAE:
    """The model of ``config``, its initial weights drawn from ``config.seed``."""
    torch.manual_seed(config.seed)
    model = build_model(config.model, num_pixels, config.latent_dim, config.hidden, config.num_flows)
    return model.to(config.device)


def train_step(loss_fn: torch.nn.Module, optimizer: torch.optim.Optimizer, x: Tensor) -> Tensor:
    """One optimizer step on ``loss_fn(x)`` (a ``NegativeELBO``, possibly
    compiled or wrapped in DistributedDataParallel); returns the loss
    (detached)."""
    optimizer.zero_grad(set_to_none=True)
    loss = loss_fn(x)
    loss.backward()
    optimizer.step()
    return loss.detach()


def checkpoint_path(out: str, config: TrainConfig) -> str:
    data = "digits" if config.data is None else os.path.splitext(os.path.basename(config.data))[0]
    return os.path.join(out, f"{data}_{config.model}_d{config.latent_dim}_seed{config.seed}.pt")


def save_checkpoint(path: str, model: VAE, optimizer, config: TrainConfig, epoch: int, step: int,
                    order: torch.Generator, train_seconds: float) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    state = {
        "config": asdict(config), "model": model.state_dict(), "optimizer": optimizer.state_dict(),
        "num_pixels": model.num_pixels, "epoch": epoch, "step": step, "train_seconds": train_seconds,
        "rng": torch.get_rng_state(), "order_rng": order.get_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)   # a run killed while saving leaves the previous checkpoint intact


def load_checkpoint(path: str, device: str = "cpu") -> Tuple[VAE, dict]:
    """The trained model of a checkpoint (on ``device``) and the raw state."""
    state = torch.load(path, map_location=device, weights_only=False)
    c = state["config"]
    model = build_model(c["model"], state["num_pixels"], c["latent_dim"],
                        tuple(c["hidden"]), c["num_flows"])
    model.load_state_dict(state["model"])
    return model.to(device), state


def fit(model: VAE, x_train: Tensor, config: TrainConfig, progress: bool = True,
        checkpoint: Optional[str] = None, checkpoint_every: int = 50, resume: bool = False) -> List[float]:
    """Train ``model`` on ``x_train`` [N, P] (on config.device). Returns the
    mean loss of every epoch. Randomness: the batch order comes from a
    generator seeded with config.seed, the posterior samples from torch's
    global generator, seeded with config.seed here, so the same config gives
    the same parameters."""
    from tqdm.auto import tqdm

    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    order = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)
    start_epoch, step, seconds = 0, 0, 0.0
    if resume and checkpoint and os.path.exists(checkpoint):
        # On the CPU: the RNG states must stay CPU byte tensors; load_state_dict
        # copies the weights and the Adam moments to the model's device.
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start_epoch, step, seconds = state["epoch"], state["step"], state["train_seconds"]
        torch.set_rng_state(state["rng"])
        order.set_state(state["order_rng"])
        if state["cuda_rng"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
    n = x_train.shape[0]
    steps_per_epoch = -(-n // config.batch_size)
    total = config.epochs * steps_per_epoch
    if config.max_steps is not None:
        total = min(total, config.max_steps)
    loss_fn = NegativeELBO(model)
    if config.compile:
        loss_fn = torch.compile(loss_fn)
    history: List[float] = []
    bar = tqdm(total=total, initial=min(step, total), disable=not progress, leave=False,
               desc=f"{config.model} seed {config.seed}", unit="step")
    model.train()
    t0 = time.perf_counter()
    for epoch in range(start_epoch, config.epochs):
        if step >= total:
            break
        perm = torch.randperm(n, generator=order).to(x_train.device)
        losses = []
        for i in range(0, n, config.batch_size):
            if step >= total:
                break
            losses.append(train_step(loss_fn, optimizer, x_train[perm[i:i + config.batch_size]]))
            step += 1
            bar.update(1)
        history.append(torch.stack(losses).mean().item())
        bar.set_postfix(loss=f"{history[-1]:.2f}")
        done = epoch + 1 == config.epochs or step >= total
        if checkpoint and ((epoch + 1) % checkpoint_every == 0 or done):
            save_checkpoint(checkpoint, model, optimizer, config, epoch + 1, step, order,
                            seconds + time.perf_counter() - t0)
    bar.close()
    config.extra["train_seconds"] = seconds + time.perf_counter() - t0
    return history


def run(config: TrainConfig, data: Dataset, out: Optional[str] = None, k: int = 500, progress: bool = True,
        resume: bool = False, checkpoint_every: int = 50) -> dict:
    """Train one (model, seed) and evaluate it on the test set; returns a
    row of the results table."""
    model = make_model(config, data.num_pixels)
    ckpt = checkpoint_path(out, config) if out else None
    fit(model, data.x_train.to(config.device), config, progress=progress, checkpoint=ckpt,
        checkpoint_every=checkpoint_every, resume=resume)
    result = evaluate(model, data.x_test.to(config.device), k=k, seed=EVAL_SEED + config.seed)
    return {"model": config.model, "latent_dim": config.latent_dim, "seed": config.seed,
            "train_seconds": config.extra["train_seconds"], **result}


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    d = TrainConfig()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", nargs="+", choices=sorted(MODELS), default=["nvae", "svae", "nvae_tsnf"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--latent-dim", type=int, default=d.latent_dim,
                   help="d for the Gaussian models, the ambient m for the S-VAE (z on S^(m-1))")
    p.add_argument("--hidden", nargs="+", type=int, default=list(d.hidden))
    p.add_argument("--num-flows", type=int, default=d.num_flows, help="T-SNF steps K")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--max-steps", type=int, default=None, help="stop each run after this many steps")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--data", default=None, help=".npz of images (default: scikit-learn's digits)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--k", type=int, default=500, help="importance samples per test image")
    p.add_argument("--threads", type=int, default=1,
                   help="CPU threads (these MLPs are small: one thread is the fastest, more only synchronise)")
    p.add_argument("--out", default="runs/vae", help="checkpoints and results.md go here")
    p.add_argument("--checkpoint-every", type=int, default=50, help="epochs between checkpoints")
    p.add_argument("--resume", action="store_true", help="continue from existing checkpoints")
    p.add_argument("--compile", action="store_true", help="torch.compile the loss")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bars")
    return p.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> str:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    data = load(args.data)
    print(f"data: {data.name}, {data.x_train.shape[0]} train / {data.x_test.shape[0]} test images of "
          f"{data.num_pixels} pixels; device {args.device}", flush=True)
    rows = []
    t0 = time.perf_counter()
    for name in args.model:
        for seed in args.seeds:
            config = TrainConfig(model=name, latent_dim=args.latent_dim, hidden=tuple(args.hidden),
                                 num_flows=args.num_flows, epochs=args.epochs, max_steps=args.max_steps,
                                 batch_size=args.batch_size, lr=args.lr, seed=seed, device=args.device,
                                 data=args.data, compile=args.compile)
            row = run(config, data, out=args.out, k=args.k, progress=not args.no_progress, resume=args.resume,
                      checkpoint_every=args.checkpoint_every)
            rows.append(row)
            print(f"{name} seed {seed}: test ELBO {row['elbo']:.2f}, test log p(x) {row['log_likelihood']:.2f} "
                  f"(k={args.k}), {row['train_seconds']:.0f} s", flush=True)
    table = results_table(rows, args.k)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(table)
    print(f"\n{table}\ntotal {time.perf_counter() - t0:.0f} s; table written to "
          f"{os.path.join(args.out, 'results.md')}", flush=True)
    return table


if __name__ == "__main__":
    main()
