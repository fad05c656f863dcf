"""The latent spaces of an S-VAE (m = 3) and an N-VAE (d = 2) on the digits.

    python -m examples.vae.figure                       # writes docs/images/svae_sphere.png

Trains both models (same architecture, seed, and budget), then draws the
posterior means of the test images coloured by digit class: the vMF mean
directions mu(x) on the sphere S^2 (seen from two sides) and the Gaussian
means mu(x) in R^2, as in Davidson et al. (2018), "Hyperspherical
Variational Auto-Encoders".
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Optional, Sequence

import numpy as np
import torch

from .data import load
from .train import TrainConfig, fit, make_model

__all__ = ["latent_means", "draw", "main"]


def latent_means(config: TrainConfig, data, progress: bool = True) -> np.ndarray:
    """Train ``config``'s model and return the test posterior means [N, d]."""
    model = make_model(config, data.num_pixels)
    fit(model, data.x_train.to(config.device), config, progress=progress)
    model.eval()
    with torch.no_grad():
        return model.posterior_mean(data.x_test.to(config.device)).cpu().numpy()


def _sphere_panel(fig, position, points, colours, azim, title, elev=20.0):
    """Points on S^2 seen from (elev, azim): the near hemisphere opaque, the
    far one faint (matplotlib does not hide points behind the sphere)."""
    ax = fig.add_subplot(1, 3, position, projection="3d")
    u, v = np.mgrid[0:2 * np.pi:36j, 0:np.pi:18j]
    ax.plot_wireframe(np.cos(u) * np.sin(v), np.sin(u) * np.sin(v), np.cos(v), color="0.85", linewidth=0.3)
    e, a = np.radians(elev), np.radians(azim)
    near = points @ np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)]) >= 0
    for mask, alpha in ((~near, 0.08), (near, 1.0)):
        ax.scatter(*points[mask].T, c=colours[mask], cmap="tab10", vmin=-0.5, vmax=9.5, s=14, alpha=alpha,
                   depthshade=False, linewidths=0)
    ax.view_init(elev=elev, azim=azim)
    ax.set_xlim(-1, 1), ax.set_ylim(-1, 1), ax.set_zlim(-1, 1)
    ax.set_box_aspect((1, 1, 1), zoom=1.35)
    ax.set_axis_off()
    ax.set_title(title)


def draw(sphere: np.ndarray, plane: np.ndarray, labels: Optional[np.ndarray], path: str) -> None:
    """Three panels: the points on S^2 from the front and from the back, and
    the points in R^2; one colour per class."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = labels if labels is not None else np.zeros(len(sphere), dtype=int)
    fig = plt.figure(figsize=(13, 4.4))
    _sphere_panel(fig, 1, sphere, colours, azim=30.0, title="S-VAE, vMF means on $S^2$ (front)")
    _sphere_panel(fig, 2, sphere, colours, azim=210.0, title="(back)")
    ax = fig.add_subplot(1, 3, 3)
    points = ax.scatter(*plane.T, c=colours, cmap="tab10", vmin=-0.5, vmax=9.5, s=12, linewidths=0)
    ax.set_title("N-VAE, Gaussian means in $\\mathbb{R}^2$")
    ax.set_aspect("equal", adjustable="datalim")
    if labels is not None:
        fig.colorbar(points, ax=ax, ticks=range(10), label="digit", shrink=0.85)
    fig.tight_layout()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv: Optional[Sequence[str]] = None) -> str:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", default="docs/images/svae_sphere.png")
    p.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default=None, help=".npz of images (labels, if present, colour the points)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    data = load(args.data)
    t0 = time.perf_counter()
    common = dict(epochs=args.epochs, max_steps=args.max_steps, seed=args.seed, device=args.device, data=args.data)
    sphere = latent_means(TrainConfig(model="svae", latent_dim=3, **common), data, not args.no_progress)
    plane = latent_means(TrainConfig(model="nvae", latent_dim=2, **common), data, not args.no_progress)
    labels = None if data.y_test is None else data.y_test.numpy()
    draw(sphere, plane, labels, args.out)
    print(f"wrote {args.out} in {time.perf_counter() - t0:.0f} s", flush=True)
    return args.out


if __name__ == "__main__":
    main()
