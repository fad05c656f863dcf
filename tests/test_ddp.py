"""The S-VAE under DistributedDataParallel: 2 CPU processes (gloo), a few
synchronised steps (examples/vae/ddp.py)."""

import json
import socket

import pytest
import torch.distributed as dist
import torch.multiprocessing as mp

pytest.importorskip("sklearn", reason="the examples train on scikit-learn's digits (pip install scikit-learn)")
pytest.importorskip("tqdm", reason="the examples' progress bars need tqdm (pip install tqdm)")

from examples.vae import ddp  # noqa: E402
from examples.vae.train import TrainConfig  # noqa: E402

WORLD = 2
STEPS = 30


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(), reason="needs torch.distributed with gloo")
def test_ddp_ranks_stay_identical_and_the_loss_decreases(tmp_path):
    config = TrainConfig(model="svae", latent_dim=5, hidden=(64, 32), batch_size=64, lr=3e-3, seed=0)
    mp.spawn(ddp.spawn_entry, args=(WORLD, _free_port(), config, STEPS, str(tmp_path / "result")), nprocs=WORLD,
             join=True)
    results = [json.loads((tmp_path / f"result.{r}").read_text()) for r in range(WORLD)]
    for r in results:
        assert len(r["losses"]) == STEPS
        # Gradients are all-reduced before every Adam step: the ranks apply
        # the same update to the same parameters, bit for bit.
        assert r["max_parameter_difference"] == 0.0
        # A fixed probe batch, fixed sampler seed: -ELBO at initialisation is
        # 44.9 nats; 30 steps at lr 3e-3 take it to 29.0 (measured); asserted: 8 nats lower.
        assert r["loss_after"] < r["loss_before"] - 8.0, (r["loss_before"], r["loss_after"])
    # Each rank draws its own posterior samples (seed + rank) from its own
    # shard: the per-step losses differ between ranks.
    assert results[0]["sampler_seed"] != results[1]["sampler_seed"]
    assert results[0]["losses"][0] != results[1]["losses"][0]
