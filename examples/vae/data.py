"""Binarized image data sets with a fixed train/test split.

The likelihood of every model is Bernoulli over pixels, so the data are
binary: each grey-level image x in [0, 1] is binarized ONCE, by drawing
Bernoulli(x) with a fixed seed (static stochastic binarization, as for the
usual binarized MNIST). The test log-likelihoods are then log-probabilities
of a discrete data set, comparable across models and always <= 0.

* ``load_digits()``: scikit-learn's handwritten digits (1797 images of 8x8,
  grey levels 0..16, shipped inside the package: nothing is downloaded).
* ``load_npz(path)``: any user array ``images`` (or the file's only array)
  of shape [N, H, W] or [N, H*W] (or [N, C, H, W]), integer or float; an
  optional ``labels`` array [N] is used to colour figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
from torch import Tensor

__all__ = ["Dataset", "load_digits", "load_npz", "load", "split", "binarize"]

# The split and the binarization do not depend on the training seed: every
# model and every seed is evaluated on the same test images.
DATA_SEED = 1234
TEST_FRACTION = 0.2


@dataclass
class Dataset:
    """A binarized data set: ``x_train`` [N_train, P], ``x_test`` [N_test, P]
    (float32, values 0/1), labels (int64 or None), ``shape`` the image shape."""

    name: str
    x_train: Tensor
    x_test: Tensor
    y_train: Optional[Tensor]
    y_test: Optional[Tensor]
    shape: tuple

    @property
    def num_pixels(self) -> int:
        return self.x_train.shape[1]


def binarize(grey: Tensor, seed: int = DATA_SEED) -> Tensor:
    """x ~ Bernoulli(grey), drawn once with a fixed seed; grey in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    return torch.bernoulli(grey, generator=g)


def split(x: Tensor, y: Optional[Tensor], seed: int = DATA_SEED, test_fraction: float = TEST_FRACTION):
    """A fixed random train/test split (the permutation depends on ``seed`` only)."""
    n = x.shape[0]
    n_test = max(1, int(round(test_fraction * n)))
    if n - n_test < 1:
        raise ValueError(f"need at least 2 images to split into train and test, got {n}")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    test, train = perm[:n_test], perm[n_test:]
    return x[train], x[test], (None if y is None else y[train]), (None if y is None else y[test])


def _make(name: str, grey: np.ndarray, labels: Optional[np.ndarray], shape: tuple) -> Dataset:
    x = binarize(torch.as_tensor(grey, dtype=torch.float32))
    y = None if labels is None else torch.as_tensor(labels, dtype=torch.int64)
    x_train, x_test, y_train, y_test = split(x, y)
    return Dataset(name, x_train, x_test, y_train, y_test, shape)


def load_digits() -> Dataset:
    """scikit-learn's digits: 1797 images 8x8, grey levels 0..16 scaled to
    [0, 1] and binarized; 1438 train, 359 test."""
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError as e:
        raise ImportError("the digits data set needs scikit-learn: pip install scikit-learn") from e
    digits = sk_load_digits()
    return _make("digits", digits.data / 16.0, digits.target, (8, 8))


def load_npz(path: str) -> Dataset:
    """A user's image array from ``path`` (see the module docstring). Integer
    images are scaled by 255 (or by their maximum when it is below 255, e.g.
    0..16), float images must already lie in [0, 1]."""
    with np.load(path) as f:
        keys = list(f.keys())
        if "images" in f:
            images = f["images"]
        elif len(keys) == 1:
            images = f[keys[0]]
        else:
            raise ValueError(f"{path}: expected an array named 'images' (or a single array), found {keys}")
        labels = f["labels"] if "labels" in f else None
    if images.ndim < 2:
        raise ValueError(f"{path}: images must have shape [N, ...] with at least one pixel axis, got {images.shape}")
    n = images.shape[0]
    shape = tuple(images.shape[1:]) if images.ndim > 2 else (images.shape[1],)
    if np.issubdtype(images.dtype, np.integer) or images.dtype == bool:
        top = float(images.max()) if images.size else 1.0
        scale = 255.0 if top > 16 else max(top, 1.0)
        grey = images.reshape(n, -1).astype(np.float32) / scale
    else:
        grey = images.reshape(n, -1).astype(np.float32)
    if not np.isfinite(grey).all() or grey.min() < 0 or grey.max() > 1:
        raise ValueError(f"{path}: float images must lie in [0, 1] (found [{grey.min()}, {grey.max()}])")
    if labels is not None and labels.shape != (n,):
        raise ValueError(f"{path}: labels must have shape [{n}], got {labels.shape}")
    return _make(str(path), grey, labels, shape)


def load(path: Optional[str] = None) -> Dataset:
    """The digits when ``path`` is None, else ``load_npz(path)``."""
    return load_digits() if path is None else load_npz(path)
