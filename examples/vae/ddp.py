"""Train the S-VAE with DistributedDataParallel (one process per device).

    torchrun --nproc_per_node=2 -m examples.vae.ddp                 # 2 CPU processes, gloo
    torchrun --nproc_per_node=2 -m examples.vae.ddp --device cuda   # 2 GPUs, nccl

hvae_ext's ops are ordinary dispatcher ops, so DDP needs nothing special:
each rank computes the loss of its shard of every batch, DDP all-reduces
the gradients, and the ranks' parameters stay identical. What must differ
between ranks is the posterior sampler's randomness: every rank seeds
torch's generator (from which the vMF sampler draws its Philox key) with
``seed + rank`` after the model is built, so the ranks draw independent
samples. The model is built from ``seed`` on every rank (DDP also
broadcasts rank 0's parameters at construction).

Rank 0 evaluates the test set (``--k`` importance samples) and writes a
checkpoint to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import List, Optional, Sequence

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from .data import load
from .evaluate import EVAL_SEED, evaluate
from .objectives import NegativeELBO, elbo
from .train import TrainConfig, make_model, train_step

__all__ = ["train", "max_parameter_difference", "main"]


def max_parameter_difference(model: torch.nn.Module) -> float:
    """max over ranks and parameters of |p_rank - p_0| (all_gather of the
    flattened parameters): 0.0 when the ranks are synchronised."""
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    gathered = [torch.empty_like(flat) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, flat)
    return max((g - gathered[0]).abs().max().item() for g in gathered)


@torch.no_grad()
def _fixed_loss(model, x: torch.Tensor, seed: int) -> float:
    """-ELBO of x with a fixed sampler seed (the same on every rank)."""
    torch.manual_seed(seed)
    return -elbo(model, x).mean().item()


def train(config: TrainConfig, max_steps: Optional[int] = None, k: int = 500, out: Optional[str] = None,
          progress: bool = True) -> dict:
    """The training loop of one rank (the process group must be initialised).
    Each global batch of ``config.batch_size`` images is split between the
    ranks. Returns the per-step losses of this rank, the loss on a fixed
    subset of the training set before and after training, and the parameter
    spread across ranks; on rank 0 also the test metrics."""
    rank, world = dist.get_rank(), dist.get_world_size()
    data = load(config.data)
    device = torch.device(config.device)
    model = make_model(config, data.num_pixels)
    ddp = DistributedDataParallel(NegativeELBO(model), device_ids=[device.index] if device.type == "cuda" else None)
    x_train = data.x_train.to(device)
    probe = x_train[:256]
    before = _fixed_loss(model, probe, EVAL_SEED)
    sampler_seed = config.seed + rank
    torch.manual_seed(sampler_seed)   # each rank its own sampler stream
    optimizer = torch.optim.Adam(ddp.parameters(), lr=config.lr)
    order = torch.Generator().manual_seed(config.seed)   # the same permutation on every rank
    per_rank = max(1, config.batch_size // world)
    n = (x_train.shape[0] // (per_rank * world)) * per_rank * world   # every rank runs the same number of steps
    if n == 0:
        raise ValueError(f"{x_train.shape[0]} training images are fewer than one batch of {per_rank} per rank "
                         f"x {world} ranks")
    total = config.epochs * n // (per_rank * world)
    total = total if max_steps is None else min(total, max_steps)
    losses: List[float] = []
    show = progress and rank == 0
    if show:
        from tqdm.auto import tqdm
        bar = tqdm(total=total, desc=f"svae ddp x{world}", unit="step", leave=False)
    t0 = time.perf_counter()
    while len(losses) < total:
        perm = torch.randperm(x_train.shape[0], generator=order)[:n].to(device)
        mine = perm.view(-1, world, per_rank)[:, rank]
        for idx in mine:
            if len(losses) >= total:
                break
            losses.append(train_step(ddp, optimizer, x_train[idx]).item())
            if show:
                bar.update(1)
                bar.set_postfix(loss=f"{losses[-1]:.2f}")
    seconds = time.perf_counter() - t0
    if show:
        bar.close()
    result = {"rank": rank, "world_size": world, "sampler_seed": sampler_seed, "losses": losses, "train_seconds": seconds,
              "loss_before": before, "loss_after": _fixed_loss(model, probe, EVAL_SEED),
              "max_parameter_difference": max_parameter_difference(model)}
    if rank == 0 and k > 0:
        result.update(evaluate(model, data.x_test.to(device), k=k, seed=EVAL_SEED + config.seed))
    if rank == 0 and out:
        os.makedirs(out, exist_ok=True)
        torch.save({"config": {**config.__dict__, "extra": {}}, "model": model.state_dict(),
                    "num_pixels": model.num_pixels, "train_seconds": seconds},
                   os.path.join(out, f"ddp{world}_svae_d{config.latent_dim}_seed{config.seed}.pt"))
    return result


def spawn_entry(rank: int, world_size: int, port: int, config: TrainConfig, max_steps: Optional[int],
                result_path: str) -> None:
    """Entry point of a process started by ``torch.multiprocessing.spawn``
    (what tests/test_ddp.py does; torchrun users go through ``main``)."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    try:
        result = train(config, max_steps=max_steps, k=0, progress=False)
        with open(f"{result_path}.{rank}", "w") as f:
            json.dump(result, f)
        # Both ranks past their last collective before either tears gloo
        # down: without it a rank aborted at exit in about 1 run in 5 here
        # ("terminate called without an active exception" in gloo's
        # teardown; none in 14 runs with it).
        dist.barrier()
    finally:
        dist.destroy_process_group()


def main(argv: Optional[Sequence[str]] = None) -> dict:
    d = TrainConfig()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--device", default="cpu", help="cpu (gloo) or cuda (nccl, one GPU per rank)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--latent-dim", type=int, default=d.latent_dim)
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="global batch, split between ranks")
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--data", default=None)
    p.add_argument("--k", type=int, default=500)
    p.add_argument("--out", default="runs/vae_ddp")
    args = p.parse_args(argv)
    cuda = args.device.startswith("cuda")
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    if cuda:
        torch.cuda.set_device(local_rank)
    dist.init_process_group("nccl" if cuda else "gloo")
    try:
        config = TrainConfig(model="svae", latent_dim=args.latent_dim, epochs=args.epochs, batch_size=args.batch_size,
                             lr=args.lr, seed=args.seed, device=f"cuda:{local_rank}" if cuda else "cpu",
                             data=args.data)
        result = train(config, max_steps=args.max_steps, k=args.k, out=args.out)
        if result["rank"] == 0:
            print(f"{result['world_size']} ranks, {len(result['losses'])} steps in {result['train_seconds']:.0f} s; "
                  f"max parameter difference across ranks {result['max_parameter_difference']:.1e}; "
                  f"test ELBO {result.get('elbo', float('nan')):.2f}, "
                  f"test log p(x) {result.get('log_likelihood', float('nan')):.2f} (k={args.k})", flush=True)
        dist.barrier()  # as in spawn_entry
        return result
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
